"""Coffre in English and French: the catalogues are complete and compiled, what people read
goes through them, and what scripts read (JSON, exit codes) never changes with the language.

When a test here fails on a message, run `make catalogues`, translate the new or fuzzy
entries of vault/locale/fr/LC_MESSAGES/coffre.po, and run `make catalogues` again.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from vault.cli import catalogues
from vault.core import i18n
from vault.core.errors import VaultError
from vault.core.vault import Vault

ROOT = Path(__file__).resolve().parents[1]
FRONT_ENDS = [*sorted((ROOT / "vault" / "cli").glob("*.py")), *sorted((ROOT / "tui").rglob("*.py"))]


@pytest.fixture(scope="module")
def template() -> catalogues.Catalog:
    return catalogues.template()


def test_every_message_has_a_french_translation(template: catalogues.Catalog) -> None:
    lacking = catalogues.missing("fr", template)
    assert not lacking, (
        f"{len(lacking)} message(s) lack a French translation: "
        + "; ".join(repr(m) for m in lacking[:20])
        + f". To fix it: {catalogues.UPDATE_HINT}."
    )


def test_the_compiled_catalogue_is_the_po_compiled() -> None:
    with catalogues.po_path("fr").open("rb") as source:
        po = read_po(source, locale="fr", domain=i18n.DOMAIN)
    assert catalogues.mo_path("fr").read_bytes() == catalogues.compiled(po), (
        f"vault/locale/fr/LC_MESSAGES/coffre.mo is not the .po compiled: {catalogues.UPDATE_HINT}"
    )


def test_the_template_holds_every_message(template: catalogues.Catalog) -> None:
    shipped = {m.id if isinstance(m.id, str) else m.id[0] for m in _read(catalogues.TEMPLATE)}
    found = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    new = sorted(found - shipped)
    assert not new, f"coffre.pot lacks {new[:20]}: {catalogues.UPDATE_HINT}"


def _read(path: Path) -> catalogues.Catalog:
    with path.open("rb") as source:
        return read_po(source)


def test_french_keeps_every_placeholder_of_the_english(template: catalogues.Catalog) -> None:
    """A translation that drops or renames `{name}` would fail at `.format()`."""
    fields = re.compile(r"\{([A-Za-z_0-9]*)")
    po = catalogues.read("fr")
    wrong = []
    for message in po:
        if not message.id or not message.string:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for english, french in zip(ids, strings, strict=False):
            if set(fields.findall(english)) - {""} > set(fields.findall(french)) | {"len"}:
                wrong.append(english)
    assert not wrong, f"placeholders lost in French: {wrong[:10]}"


# What the front ends print or draw: a literal passed here must be wrapped in _() or N_().
SHOWN_FIRST = {
    "say",
    "info",
    "warn",
    "detail",
    "heading",
    "error_line",
    "Label",
    "Static",
    "Button",
    "Checkbox",
    "TabPane",
    "notify",
    "show_error",
    "StderrProgress",
}


def _literals(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = func.value if isinstance(func, ast.Attribute) else None
        if name not in SHOWN_FIRST or getattr(owner, "attr", getattr(owner, "id", "")) == "log":
            continue  # `self.log.info(...)`: Textual's developer log, not for people
        first = node.args[0]
        text = ""
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            text = first.value
        elif isinstance(first, ast.JoinedStr):
            text = "".join(
                v.value
                for v in first.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
        if re.search(r"[A-Za-z]{2}", text):
            yield node.lineno, text


@pytest.mark.parametrize("path", FRONT_ENDS, ids=lambda p: str(p.relative_to(ROOT)))
def test_front_ends_show_no_untranslated_literal(path: Path) -> None:
    found = list(_literals(path))
    assert not found, (
        f"{path.relative_to(ROOT)} shows text without _(): {found[:5]}; wrap it "
        f'(_("...").format(name=...)), then {catalogues.UPDATE_HINT}'
    )


def test_no_f_string_inside_a_translation_call() -> None:
    """`_(f"...")` would look up the formatted text, which no catalogue holds."""
    bad = []
    for path in FRONT_ENDS:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"_", "N_", "ngettext"}
                and any(isinstance(a, ast.JoinedStr) for a in node.args)
            ):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, f"f-strings passed to _(): {bad}"


def test_every_error_class_message_is_translated() -> None:
    from vault.core.errors import ALL_ERRORS

    po = catalogues.read("fr")
    untranslated = [
        cls.__name__
        for cls in ALL_ERRORS
        if not (po.get(cls().summary) and po[cls().summary].string)
    ]
    assert not untranslated, f"error messages without French: {untranslated}"


# --- the language at run time ----------------------------------------------------------------


@pytest.fixture
def french(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE", "fr")


def test_the_language_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert i18n.language() == "fr"
    assert i18n._("Nothing changed.") == "Rien n'a changé."
    monkeypatch.setenv("LC_ALL", "C.UTF-8")  # LC_ALL comes before LANG
    assert i18n.language() == "en"
    monkeypatch.setenv("LANGUAGE", "fr")  # and LANGUAGE before both
    assert i18n.language() == "fr"


def test_plural_forms_follow_each_language(french: None) -> None:
    # French says "0 fichier", "1 fichier", "2 fichiers": the catalogue's rule, not "(s)".
    forms = [i18n.ngettext("{n} rule", "{n} rules", n).format(n=n) for n in (0, 1, 2)]
    assert forms == ["0 règle", "1 règle", "2 règles"]


def test_numbers_are_written_the_french_way(french: None) -> None:
    assert i18n.number(12345) == "12\u202f345"
    assert i18n.decimal(3.5, 1) == "3,5"


def test_dates_are_written_in_words_in_french_and_iso_in_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LANGUAGE", "fr")
    assert i18n.day("2026-06-15") == "15 juin 2026"
    assert i18n.day("not a date") == "not a date"
    monkeypatch.setenv("LANGUAGE", "en")
    assert i18n.day("2026-06-15") == "2026-06-15"


def test_numbers_in_english_are_as_python_writes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE", "en")
    assert i18n.number(12345) == f"{12345:,}"
    assert i18n.number(2.25, 1) == f"{2.25:,.1f}"


def test_an_error_message_keeps_its_detail_in_french(french: None) -> None:
    from vault.core.errors import RecordNotFound

    assert i18n.error_message(RecordNotFound("persona x")) == (
        "Enregistrement introuvable\u00a0: persona x"
    )


def _coffre(
    *args: str, lang: str, vault: Path, passphrase: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")},
        "LANG": lang,
        "COFFRE_PASSPHRASE": passphrase,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-c", "from vault.cli import main; main()", "--vault", str(vault), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_help_and_demo_speak_french(tmp_path: Path) -> None:
    helped = _coffre("--help", lang="fr_FR.UTF-8", vault=tmp_path / "v", passphrase="x")
    assert helped.returncode == 0
    assert "Usage\u00a0: coffre" in helped.stdout and "Commandes\u00a0:" in helped.stdout
    assert "Show this message" not in helped.stdout and "Options\u00a0:" in helped.stdout
    built = _coffre(
        "demo", "--dir", str(tmp_path / "demo"), lang="fr_FR.UTF-8", vault=tmp_path, passphrase="x"
    )
    assert built.returncode == 0, built.stderr
    assert built.stderr.startswith("Coffre de démonstration construit dans")
    assert "mesures" in built.stderr and "règle de conservation" in built.stderr


def test_lang_option_overrides_the_environment(tmp_path: Path) -> None:
    english = _coffre("--lang", "en", "--help", lang="fr_FR.UTF-8", vault=tmp_path, passphrase="x")
    french = _coffre("--lang", "fr", "--help", lang="C.UTF-8", vault=tmp_path, passphrase="x")
    assert "Show this message and exit." in english.stdout
    assert "Afficher ce message et quitter." in french.stdout


def test_json_and_exit_codes_do_not_change_with_the_language(tmp_path: Path) -> None:
    """The same commands under LANG=fr_FR.UTF-8 and C.UTF-8: identical JSON on stdout and
    identical exit codes, refusals included; only the text for people differs."""
    demo = tmp_path / "demo"
    built = _coffre("demo", "--dir", str(demo), lang="C.UTF-8", vault=tmp_path, passphrase="x")
    passphrase = built.stdout.strip()
    commands = [
        ("status", "--json"),
        ("persona", "list", "--json"),
        ("data", "metrics", "--persona", "Camille", "--json"),
        ("data", "show", "steps", "--persona", "Camille", "--every", "week", "--json"),
        ("content", "list", "--json"),
        ("grant", "list", "--json"),
        ("recipient", "list", "--json"),
        ("ledger", "--json"),
        ("rules", "list", "--json"),
        ("audit", "--verify", "--json"),
        ("persona", "show", "nobody", "--json"),  # not found: exit 4
        ("export", "nothing-such", "--dry-run", "--json"),  # not found
        ("grant", "create", "--recipient", "x", "--persona", "y", "--purpose", "z"),  # usage
    ]
    for command in commands:
        english = _coffre(*command, lang="C.UTF-8", vault=demo, passphrase=passphrase)
        french = _coffre(*command, lang="fr_FR.UTF-8", vault=demo, passphrase=passphrase)
        assert english.returncode == french.returncode, command
        assert english.stdout == french.stdout, command
        if english.returncode not in (0,):
            assert english.stderr != french.stderr, command  # the refusal itself is translated


def test_what_leaves_for_a_recipient_is_in_the_persons_language_and_english(
    tmp_path: Path,
) -> None:
    """An erasure request's text (and a bundle's README, built the same way) says it in
    French, then in English; its signed JSON is the same whatever the language."""
    demo = tmp_path / "demo"
    built = _coffre("demo", "--dir", str(demo), lang="C.UTF-8", vault=tmp_path, passphrase="x")
    passphrase = built.stdout.strip()
    listed = _coffre("grant", "list", "--json", lang="C.UTF-8", vault=demo, passphrase=passphrase)
    withdrawn = next(g["id"] for g in json.loads(listed.stdout) if g["status"] == "withdrawn")
    french = _coffre("notice", withdrawn, lang="fr_FR.UTF-8", vault=demo, passphrase=passphrase)
    english = _coffre("notice", withdrawn, lang="C.UTF-8", vault=demo, passphrase=passphrase)
    assert french.returncode == english.returncode == 0
    assert french.stdout.startswith("Retrait du consentement et demande d'effacement")
    assert french.stdout.endswith(english.stdout)  # the English follows the French
    assert english.stdout.startswith("Withdrawal of consent and request for erasure")
    assert "\n---\n" not in english.stdout
    as_json = [
        _coffre("notice", withdrawn, "--json", lang=lang, vault=demo, passphrase=passphrase)
        for lang in ("fr_FR.UTF-8", "C.UTF-8")
    ]
    assert as_json[0].stdout == as_json[1].stdout


def test_the_bundle_readme_has_a_french_text(french: None) -> None:
    from vault.sharing.bundles import export

    assert i18n.person_languages() == ("fr", "en")
    readme = i18n.translator("fr")(export.README_TEXT)
    assert readme.startswith("# Paquet Coffre {bundle_id}")
    assert i18n.translator("en")(export.README_TEXT) == export.README_TEXT


def test_a_fixed_library_detail_is_translated_with_its_error(
    fresh_vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library marks a fixed detail with N_; the front end shows it translated, with the
    class's message, and the exit code of its class."""
    from vault import personas
    from vault.core.errors import RecordNotFound

    with pytest.raises(RecordNotFound) as caught:
        personas.get_persona(fresh_vault, "nobody at all")
    monkeypatch.setenv("LANGUAGE", "fr")
    assert i18n.error_message(caught.value) == (
        "Enregistrement introuvable\u00a0: persona (aucun id, nom ou UID ne correspond)"
    )
    assert caught.value.exit_code == 4
    assert caught.value.message == "No such record: persona (no id, name or UID matches)"


# --- what the library composes -----------------------------------------------------------------

# Calls whose first text a person reads: an error's detail, an import's issue or note.
_SHOWN_BY_FRONT_ENDS = {"ImportIssue", "append", "issue", "note", "skip"}


def _composed(node: ast.expr) -> bool:
    """An f-string, a `.format()` or a `+`/`%` with text: English that no catalogue holds."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        # `_("...").format(...)` (a text written in several languages at once, with the
        # translator of each) fills in a catalogue's template: only other text is composed.
        translated = isinstance(node.func.value, ast.Call) and getattr(
            node.func.value.func, "id", ""
        ) in {"_", "ngettext", "pgettext"}
        return node.func.attr == "format" and not translated
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        sides = (node.left, node.right)
        return any(
            isinstance(s, ast.JoinedStr)
            or (isinstance(s, ast.Constant) and isinstance(s.value, str))
            for s in sides
        )
    return False


def _composed_sentences(path: Path) -> Iterator[int]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            if _composed(node.exc.args[0]):
                yield node.lineno
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in _SHOWN_BY_FRONT_ENDS and any(_composed(a) for a in node.args):
                yield node.lineno


LIBRARY = sorted(p for p in (ROOT / "vault").rglob("*.py") if "cli" not in p.parts)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_library_composes_sentences_from_templates(path: Path) -> None:
    """A detail or note with values is `N_("... {name} ...")` plus the values (`VaultError`
    and `i18n.Text` take them), so the front ends can say it in French."""
    name = str(path.relative_to(ROOT))
    found = list(_composed_sentences(path))
    assert not found, (
        f"{name} composes sentences at lines {found[:10]}: write "
        f'Error(N_("... {{name}} ..."), name=...) or Text(N_("..."), ...), then '
        f"{catalogues.UPDATE_HINT}"
    )


def test_a_composed_detail_is_said_in_french(monkeypatch: pytest.MonkeyPatch) -> None:
    """The template is translated, then filled in; the English stays what scripts see."""
    import pickle

    from vault.core.errors import MalformedInput
    from vault.core.i18n import N_plural, Text

    error = MalformedInput(N_plural("{n} problem found", "{n} problems found"), n=3)
    assert error.message == "The input file is malformed: 3 problems found"
    assert json.dumps(error.detail) == '"3 problems found"'
    again = pickle.loads(pickle.dumps(error.detail))  # noqa: S301 - its own bytes
    assert again == "3 problems found" and again.values == {"n": 3}
    monkeypatch.setenv("LANGUAGE", "fr")
    assert i18n.localise(Text(N_plural("{n} device", "{n} devices"), n=1)) == "1 appareil"
    assert i18n.error_message(error).endswith("3 problèmes trouvés")


def test_states_and_moments_are_said_in_french_and_kept_in_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the library records in English (a grant's state, an erasure request's cause, an
    ISO time) is shown in French words; English shows it as recorded, as scripts read it."""
    monkeypatch.setenv("LANGUAGE", "en")
    assert [i18n.state("withdrawn"), i18n.reason("forgotten")] == ["withdrawn", "forgotten"]
    assert i18n.moment("2026-11-29T09:00:00Z") == "2026-11-29T09:00:00Z"
    monkeypatch.setenv("LANGUAGE", "fr")
    assert [i18n.state("given"), i18n.state("withdrawn")] == ["donnée", "retirée"]
    assert i18n.reason("withdrawn") == "retrait"
    assert i18n.state("unheard-of") == "unheard-of"  # a newer state is shown, not dropped
    assert i18n.moment("2026-11-29T09:00:00Z") == "29 novembre 2026 à 09:00 UTC"
    assert i18n.moment("2026-11-29T10:30:00+01:00") == "29 novembre 2026 à 09:30 UTC"
    assert i18n.moment("not a time") == "not a time"
    assert [i18n.content_kind("post"), i18n.audience("followers")] == ["message", "abonnés"]


# --- the library's own messages, end to end in French ------------------------------------------

FR = i18n.translator("fr")  # the French catalogue, whatever the current language


def _refusal(error: type[VaultError], template: str, **values: object) -> str:
    """The French line a refusal shows, put together from the catalogue: the class's
    message, then its detail (a template and its values; `Text` values are said in French)."""
    said = {k: FR(v) if isinstance(v, i18n.Text) else v for k, v in values.items()}
    detail = FR(template).format(**said)
    return FR("{message}: {detail}").format(message=FR(error().summary), detail=detail)


def _french_env(**more: str) -> dict[str, str | None]:
    return {"LANGUAGE": "fr", "LC_ALL": None, "LC_MESSAGES": None, **more}


def test_a_tampered_bundle_is_refused_in_french(tmp_path: Path) -> None:
    """A bundle whose manifest was changed and signed again by a stranger: `bundle open`
    refuses it with the class's message and the detail, both from the French catalogue."""
    from tests.builders import build_world, forge_bundle
    from tests.cli.conftest import checked
    from tests.conftest import PASSPHRASE
    from vault.core.errors import TamperedBundle

    vault_dir = tmp_path / "vault"
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        world = build_world(v, tmp_path)
    grant = checked(
        vault_dir, "grant", "create", "--recipient", "Health Lab", "--persona", "Pro self",
        "--metrics", "steps", "--purpose", "dpv:AcademicResearch", "--expires", "2099-12-31",
    ).stdout.strip()  # fmt: skip
    sent, forged = tmp_path / "b.age", tmp_path / "forged.age"
    checked(vault_dir, "export", grant, "-o", str(sent))

    def no_offset(manifest: dict[str, object], receipt: dict[str, object]) -> None:
        manifest["valid_until"] = "2099-12-31T23:59:59"

    forge_bundle(sent, world, forged, change=no_offset)
    opened = checked(
        None, "bundle", "open", str(forged), "-i", str(world.identity_file),
        "-o", str(tmp_path / "opened"), env=_french_env(), code=5,
    )  # fmt: skip
    expected = _refusal(
        TamperedBundle,
        "{what} is not a date and time with an offset",
        what=i18n.Text("the manifest's valid_until"),
    )
    assert FR("error: {message}").format(message=expected) in opened.stderr
    assert "is not a date" not in opened.stderr  # no English left
    assert not (tmp_path / "opened").exists()


def test_an_invalid_remote_url_is_refused_in_french(tmp_path: Path) -> None:
    from tests.cli.conftest import checked, init_vault
    from vault.core.errors import InvalidParameter

    vault_dir = init_vault(tmp_path / "vault")
    # Keys in the environment (never used: the URL is refused before anything is sent).
    keys = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s" * 40}
    url = "s3://bucket?colour=blue"
    refused = checked(vault_dir, "--lang", "fr", "remote", "add", "backup", url, env=keys, code=7)
    expected = _refusal(
        InvalidParameter, "unknown S3 URL parameter {option!r} (endpoint, region)", option="colour"
    )
    assert expected in refused.stderr
    assert "unknown S3 URL parameter" not in refused.stderr


def test_a_forget_plan_is_shown_in_french(tmp_path: Path) -> None:
    """The plan's labels are the library's templates: the preview says them in French, and
    its JSON keeps the English."""
    from tests.cli.conftest import checked, init_vault

    vault_dir = init_vault(tmp_path / "vault", "Ana")
    shown = checked(vault_dir, "forget", "--persona", "Ana", "--dry-run", env=_french_env())
    label = FR("persona {name}").format(name="Ana")
    assert label != "persona Ana"  # the catalogue does say it otherwise
    assert FR("Would forget: ") + label in shown.stdout
    as_json = checked(
        vault_dir, "forget", "--persona", "Ana", "--dry-run", "--json", env=_french_env()
    )
    assert json.loads(as_json.stdout)["what"] == ["persona Ana"]


def test_a_refusal_naming_a_format_says_its_nouns_in_french(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A detail whose values are themselves marked text (the formats' nouns) is said in
    French whole."""
    from vault import imports
    from vault.core.errors import WrongFormat

    page = tmp_path / "blog.xml"
    page.write_text("<!DOCTYPE html><html><body><p>hello</p></body></html>\n" + " " * 600)
    with pytest.raises(WrongFormat) as caught:
        imports.get_format("wordpress").check(page)
    assert caught.value.message == (
        "The file is not in this import's format: "
        "blog.xml is not a WordPress export (it looks like an HTML page)"
    )
    monkeypatch.setenv("LANGUAGE", "fr")
    assert i18n.error_message(caught.value) == _refusal(
        WrongFormat,
        "{file} is not {noun} (it looks like {named})",
        file="blog.xml",
        noun=i18n.Text("a WordPress export"),
        named=i18n.Text("an HTML page"),
    )


def test_an_archive_refusal_is_said_in_french(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    from vault.core import archive
    from vault.core.errors import UnsafeArchive

    bomb = tmp_path / "climb.zip"
    with zipfile.ZipFile(bomb, "w") as z:
        z.writestr("../outside.txt", b"x")
    monkeypatch.setenv("LANGUAGE", "fr")
    with pytest.raises(UnsafeArchive) as caught:
        archive.open_archive(bomb)
    assert i18n.error_message(caught.value) == _refusal(
        UnsafeArchive,
        "{archive}: member {member!r} climbs out of the archive (..)",
        archive="climb.zip",
        member="../outside.txt",
    )
    assert caught.value.message.endswith("member '../outside.txt' climbs out of the archive (..)")


@pytest.mark.parametrize(
    ("n", "english", "french"),
    [
        (0, "0 B", "0\u00a0o"),
        (1023, "1023 B", "1023\u00a0o"),
        (1536, "1.5 KiB", "1,5\u00a0Kio"),
        (5 * 1024**2, "5.0 MiB", "5,0\u00a0Mio"),
        (3 * 1024**3 // 2, "1.5 GiB", "1,5\u00a0Gio"),
        (4096 * 1024**3, "4096.0 GiB", "4096,0\u00a0Gio"),
    ],
)
def test_sizes_are_written_in_each_languages_units(
    n: int, english: str, french: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANGUAGE", "en")
    assert i18n.size(n) == english
    monkeypatch.setenv("LANGUAGE", "fr")
    assert i18n.size(n) == french


def test_a_coarse_size_shows_mebibytes_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE", "fr")
    assert i18n.size(3 * 1024**2 + 200_000, coarse=True) == "3\u00a0Mio"
    assert i18n.size(1536, coarse=True) == "1,5\u00a0Kio"  # kibibytes keep their decimal


HELPED = [
    ("import", "garmin"),
    ("grant", "create"),
    ("export",),
    ("remote", "add"),
    ("forget",),
]


@pytest.mark.parametrize("command", HELPED, ids=" ".join)
def test_lang_fr_gives_the_help_of_a_french_environment(command: tuple[str, ...]) -> None:
    """`--lang fr` in an English environment and LANG=fr_FR without it: the same help, its
    placeholders (click's types, Coffre's metavars, `[required]`) in French too."""
    from tests.cli.conftest import checked

    plain = {"LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None}
    asked = checked(None, "--lang", "fr", *command, "--help", env={**plain, "LANG": "C.UTF-8"})
    french = checked(None, *command, "--help", env={**plain, "LANG": "fr_FR.UTF-8"})
    english = checked(None, *command, "--help", env={**plain, "LANG": "C.UTF-8"})
    assert asked.stdout == french.stdout
    assert asked.stdout != english.stdout
    words = re.compile(r"(?<![\w-])(TEXT|PATH|FILE|GRANT|NAME)(?![\w-])|\[required\]")
    assert words.search(english.stdout), english.stdout
    assert not words.search(french.stdout), french.stdout


def test_a_usage_error_under_lang_fr_is_all_in_french() -> None:
    """click prints a usage error after the command's context has closed: `--lang` still
    holds then."""
    from tests.cli.conftest import checked

    plain = {"LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None}
    asked = checked(
        None, "--lang", "fr", "import", "garmin", env={**plain, "LANG": "C.UTF-8"}, code=2
    )
    french = checked(None, "import", "garmin", env={**plain, "LANG": "fr_FR.UTF-8"}, code=2)
    assert asked.stderr == french.stderr
    assert "'CHEMIN'" in asked.stderr and "PATH" not in asked.stderr


def test_units_read_as_words_are_said_in_french(monkeypatch: pytest.MonkeyPatch) -> None:
    """A braced UCUM unit and a category's duration are words: French says them; units
    that are symbols (kg, /min) are shown as they are."""
    from vault.data import display

    monkeypatch.setenv("LANGUAGE", "fr")
    assert i18n.localise_name(display.unit_label("steps", "{steps}")) == "pas"
    assert i18n.localise_name(display.unit_label("sleep", "min")) == "durée"
    assert i18n.localise_name(display.unit_label("body_mass", "kg")) == "kg"
    assert display.unit_label("steps", "{steps}") == "steps"  # the English stays the value
