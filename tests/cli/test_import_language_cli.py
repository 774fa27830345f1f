"""Imports told in French: the problems, skipped input and notes an import reports come from
the catalogue under `--lang fr`, and its `--json` stays the same English for scripts.

The expected French is read from the compiled catalogue here (the template translated, then
filled in), never copied from a run.
"""

from __future__ import annotations

import base64
import gettext
import json
from pathlib import Path

import pytest

from tests.builders import build as build_mastodon
from tests.builders import default_files as mastodon_files
from tests.builders import note, outbox_text
from tests.cli.conftest import checked, init_vault
from vault.core import i18n

_FR = gettext.translation(i18n.DOMAIN, i18n.LOCALE_DIR, languages=["fr"])


def fr(template: str, **values: object) -> str:
    """TEMPLATE as the French catalogue says it, filled in with VALUES."""
    translated = _FR.gettext(template)
    assert translated != template, f"no French for {template!r}"
    return translated.format(**values)


def fr_counted(singular: str, plural: str, n: int, **values: object) -> str:
    """A counted template in French, the form chosen by N."""
    return _FR.ngettext(singular, plural, n).format(n=n, **values)


@pytest.fixture
def vault_path(vault_dir: Path) -> Path:
    return init_vault(vault_dir, "Ada")


def _json(vault: Path, lang: str, *args: str) -> dict[str, object]:
    found: dict[str, object] = json.loads(
        checked(vault, "--lang", lang, "import", *args, "--json").stdout
    )
    return found


def test_a_markdown_file_with_a_bad_front_matter_is_refused_in_french(
    vault_path: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("---\ntitle: never closed\n\nThe body.\n")
    # The person's language from the environment, as a French desktop sets it.
    refused = checked(vault_path, "import", "markdown", str(bad), env={"LANGUAGE": "fr"}, code=7)
    problem = fr("the {fmt} front matter is not closed", fmt="YAML")
    detail = fr("{name}: {problem}", name="bad.md", problem=problem)
    expected = fr("{message}: {detail}", message=fr("The input file is malformed"), detail=detail)
    assert fr("error: {message}", message=expected) in refused.stderr
    english = checked(vault_path, "--lang", "en", "import", "markdown", str(bad), code=7)
    assert "bad.md: the YAML front matter is not closed" in english.stderr


def test_a_markdown_folders_unreadable_file_is_listed_in_french(
    vault_path: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\n\nFine.\n")
    (folder / "bad.md").write_text("---\ntitle: never closed\n\nThe body.\n")
    before = _json(vault_path, "en", "markdown", str(folder))
    shown = checked(vault_path, "--lang", "fr", "import", "markdown", str(folder)).stderr
    problem = fr(
        "{reason}: {skipped}",
        reason=fr("the {fmt} front matter is not closed", fmt="YAML"),
        skipped=fr("skipped whole, nothing imported from this file"),
    )
    assert fr("  {location}: {problem}", location="bad.md", problem=problem) in shown
    assert [e["problem"] for e in before["errors"]] == [  # type: ignore[index]
        "the YAML front matter is not closed: skipped whole, nothing imported from this file"
    ]
    # Once imported, the same folder again says the same in both languages, to the byte.
    assert _json(vault_path, "fr", "markdown", str(folder)) == _json(
        vault_path, "en", "markdown", str(folder)
    )


def test_a_mastodon_archives_skipped_posts_are_told_in_french(
    vault_path: Path, tmp_path: Path
) -> None:
    files = mastodon_files()
    no_id = note(4)
    del no_id["object"]["id"]
    undated = [note(5, published="someday"), note(6, published="never")]
    posts = [note(1), no_id, *undated, "not an activity"]
    files["outbox.json"] = outbox_text(posts, []).encode()
    archive = build_mastodon(tmp_path / "m.zip", files)
    english = _json(vault_path, "en", "mastodon", str(archive))
    problems = {e["problem"] for e in english["errors"]}  # type: ignore[index,union-attr]
    assert problems == {
        "1 post skipped: no id",
        f"{len(undated)} posts skipped: a publication date that cannot be read",
        "1 item skipped: not an activity",
    }
    shown = checked(vault_path, "--lang", "fr", "import", "mastodon", str(archive)).stderr
    post_skipped = ("{n:,} post skipped: {why}", "{n:,} posts skipped: {why}")
    for n, why in ((1, "no id"), (len(undated), "a publication date that cannot be read")):
        told = fr_counted(*post_skipped, n, why=fr(why))
        assert fr("  {location}: {problem}", location="outbox.json", problem=told) in shown
    not_activity = fr_counted(
        "{n:,} item skipped: not an activity", "{n:,} items skipped: not an activity", 1
    )
    assert not_activity in shown and "skipped" not in shown
    assert _json(vault_path, "fr", "mastodon", str(archive)) == _json(
        vault_path, "en", "mastodon", str(archive)
    )


def _card(name: str, *lines: str) -> str:
    return "\r\n".join(["BEGIN:VCARD", "VERSION:4.0", f"FN:{name}", *lines, "END:VCARD", ""])


def test_a_vcards_skipped_card_and_damaged_photo_are_told_in_french(
    vault_path: Path, tmp_path: Path
) -> None:
    photo = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"x" * 40).decode()
    cards = tmp_path / "friends.vcf"
    cards.write_text(
        _card("Grace Hopper", "PHOTO;ENCODING=b;TYPE=PNG:!!not base64!!")
        + _card("Chess club", "KIND:group")
        + _card("Lin", f"PHOTO;ENCODING=b;TYPE=PNG:{photo}"),
        newline="",
    )
    english = _json(vault_path, "en", "vcard", str(cards))
    assert english["skipped"] == ["friends.vcf, card 2: a vCard of KIND group is not a persona"]
    assert english["notes"] == ["friends.vcf: 1 PHOTO value not valid base64 left out"]
    shown = checked(vault_path, "--lang", "fr", "import", "vcard", str(cards)).stderr
    group = _FR.ngettext(
        "a vCard of KIND group is not a persona", "vCards of KIND group are not personas", 1
    )
    card = fr("{source}, card {number}: {why}", source="friends.vcf", number=2, why=group)
    assert fr("skipped {reason}", reason=card) in shown
    left_out = fr_counted(
        "{source}: {n} {name} value not valid base64 left out",
        "{source}: {n} {name} values not valid base64 left out",
        1,
        source="friends.vcf",
        name="PHOTO",
    )
    assert left_out in shown and "not a persona" not in shown
    assert _json(vault_path, "fr", "vcard", str(cards)) == _json(
        vault_path, "en", "vcard", str(cards)
    )
