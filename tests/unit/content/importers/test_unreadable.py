"""The problem listed for a file of a folder or archive that could not be read: English for
JSON, and still said in French once the file's name (which the location gives) is taken off.

The French is read from the compiled catalogue here, never copied from a run.
"""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest

from vault.content.importers import SKIPPED_WHOLE, markdown, unreadable
from vault.core import i18n
from vault.core.errors import MalformedInput
from vault.core.vault import Vault
from vault.personas import add_persona

_FR = gettext.translation(i18n.DOMAIN, i18n.LOCALE_DIR, languages=["fr"])


def fr(template: str, **values: object) -> str:
    translated = _FR.gettext(template)
    assert translated != template, f"no French for {template!r}"
    return translated.format(**values)


@pytest.fixture
def french(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE", "fr")


def _bad_front_matter(name: str) -> MalformedInput:
    with pytest.raises(MalformedInput) as caught:
        markdown.split_front_matter(b"---\ntitle: never closed\n\nbody\n", name)
    return caught.value


def test_a_files_own_name_is_taken_off_and_the_rest_said_in_french(french: None) -> None:
    issue = unreadable("posts/a.md", _bad_front_matter("posts/a.md"))
    assert issue.location == "posts/a.md"
    assert issue.problem == f"the YAML front matter is not closed: {SKIPPED_WHOLE}"
    assert i18n.localise(issue.problem) == fr(
        "{reason}: {skipped}",
        reason=fr("the {fmt} front matter is not closed", fmt="YAML"),
        skipped=fr("skipped whole, nothing imported from this file"),
    )


def test_a_name_that_is_not_the_location_stays_in_the_problem(french: None) -> None:
    issue = unreadable("posts/b.md", _bad_front_matter("posts/a.md"))
    assert issue.problem.startswith("posts/a.md: the YAML front matter is not closed")
    assert i18n.localise(issue.problem).startswith(
        fr(
            "{name}: {problem}",
            name="posts/a.md",
            problem=fr("the {fmt} front matter is not closed", fmt="YAML"),
        )
    )


def test_other_failures_name_only_their_kind(french: None) -> None:
    missing = unreadable("c.md", FileNotFoundError(2, "No such file or directory"))
    assert missing.problem == f"cannot be read (No such file or directory): {SKIPPED_WHOLE}"
    assert i18n.localise(missing.problem).startswith(
        fr("cannot be read ({reason})", reason="No such file or directory")
    )
    odd = unreadable("d.md", KeyError("secret content"))
    assert odd.problem == f"unexpected KeyError: {SKIPPED_WHOLE}"
    assert "secret" not in i18n.localise(odd.problem)


def test_a_fixed_reason_inside_a_sentence_is_said_in_french(french: None) -> None:
    inner = i18n.sentence(i18n.N_("not UTF-8 text"))
    outer = i18n.Text(i18n.N_("{name}: {reason}"), name="x.csv", reason=inner)
    assert i18n.localise(outer) == fr("{name}: {reason}", name="x.csv", reason=fr("not UTF-8 text"))
    # Braces are no template: such text (a file's name) is kept as it is, not formatted.
    assert i18n.sentence("{x}.md") == "{x}.md" and not isinstance(
        i18n.sentence("{x}.md"), i18n.Text
    )


def test_a_location_that_is_a_name_is_never_translated(french: None) -> None:
    assert i18n.localise("Data") == fr("Data")  # a word the catalogue has...
    assert i18n.localise_name("Data") == "Data"  # ...is still a folder's name here
    track = i18n.Text(i18n.N_("{name} track {number}"), name="run.gpx", number=2)
    assert i18n.localise_name(track) == fr("{name} track {number}", name="run.gpx", number=2)


def test_a_markdown_folders_summary_lists_the_bad_file_in_french(
    fresh_vault: Vault, tmp_path: Path, french: None
) -> None:
    add_persona(fresh_vault, "Ada")
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\n\nFine.\n")
    (folder / "bad.md").write_text("---\ntitle: x\n")
    summary = markdown.import_markdown(fresh_vault, folder)
    assert summary.added == len(["good.md"])
    (issue,) = summary.errors
    assert issue.location == "bad.md"
    said = i18n.localise(issue.problem)
    assert said.startswith(fr("the {fmt} front matter is not closed", fmt="YAML"))
    assert said.endswith(fr("skipped whole, nothing imported from this file"))


def test_a_sentence_crosses_a_process_boundary_whole(french: None) -> None:
    """An import's helper process pickles its issues: a sentence comes back with its
    template and values, even when a file's name in it holds braces."""
    import pickle

    sent = i18n.Text(
        i18n.N_("{name}: {problem}"), name="{x}.md", problem=i18n.sentence("nests too deeply")
    )
    back = pickle.loads(pickle.dumps(sent))  # noqa: S301 - its own bytes
    assert back == "{x}.md: nests too deeply" and back.values["name"] == "{x}.md"
    assert i18n.localise(back) == fr(
        "{name}: {problem}", name="{x}.md", problem=fr("nests too deeply")
    )
