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

# Files whose composed sentences are not yet templates: this set only shrinks.
_NOT_YET_TEMPLATES = {
    "vault/content/audience.py",
    "vault/content/importers/__init__.py",
    "vault/content/importers/markdown.py",
    "vault/content/importers/mastodon.py",
    "vault/content/importers/twitter.py",
    "vault/content/importers/wordpress.py",
    "vault/content/items.py",
    "vault/content/proofs.py",
    "vault/core/archive.py",
    "vault/core/audit.py",
    "vault/core/blobs.py",
    "vault/core/config.py",
    "vault/core/importing.py",
    "vault/core/lookups.py",
    "vault/core/migrations.py",
    "vault/core/minisign.py",
    "vault/core/outputs.py",
    "vault/core/recovery.py",
    "vault/core/schema.py",
    "vault/core/sniff.py",
    "vault/core/store.py",
    "vault/core/strength.py",
    "vault/core/tokens.py",
    "vault/core/txn.py",
    "vault/core/vault.py",
    "vault/data/csvfmt.py",
    "vault/data/export.py",
    "vault/data/health_records.py",
    "vault/data/importers/common.py",
    "vault/data/importers/fitbit.py",
    "vault/data/importers/garmin_export.py",
    "vault/data/importers/google_takeout.py",
    "vault/data/importers/tracks.py",
    "vault/data/ingest.py",
    "vault/data/metrics.py",
    "vault/data/query.py",
    "vault/forget/plan.py",
    "vault/forget/rules.py",
    "vault/imports.py",
    "vault/personas/attributes.py",
    "vault/personas/derived.py",
    "vault/personas/jsonresume.py",
    "vault/personas/records.py",
    "vault/personas/vcard.py",
    "vault/remote/credentials.py",
    "vault/remote/engine.py",
    "vault/remote/local.py",
    "vault/remote/remotes.py",
    "vault/remote/s3.py",
    "vault/remote/storage.py",
    "vault/sharing/bundles/export.py",
    "vault/sharing/bundles/plan.py",
    "vault/sharing/bundles/recipient.py",
    "vault/sharing/bundles/tarstream.py",
    "vault/sharing/grants.py",
    "vault/sharing/recipients.py",
    "vault/sharing/revocation.py",
    "vault/sharing/scope.py",
    "vault/sharing/terms.py",
    "vault/sharing/tokens.py",
}
# Calls whose first text a person reads: an error's detail, an import's issue or note.
_SHOWN_BY_FRONT_ENDS = {"ImportIssue", "append", "issue", "note", "skip"}


def _composed(node: ast.expr) -> bool:
    """An f-string, a `.format()` or a `+`/`%` with text: English that no catalogue holds."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "format"
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
    if name in _NOT_YET_TEMPLATES:
        assert found, f"{name} has no composed sentence left: remove it from _NOT_YET_TEMPLATES"
        return
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
