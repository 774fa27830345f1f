"""`coffre import FORMAT` given the wrong kind of file: refused with exit 7 and a message that
names what the file looks like, the vault unchanged. Truncated archives are named truncated,
a tar made with `tar czf archive.tar.gz .` is read, a file name that is not UTF-8 is named."""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.builders import WXR_ITEMS, build, default_files, twitter_files, wxr
from tests.cli.conftest import checked, init_vault
from vault.content.importers.markdown import SUFFIXES
from vault.imports import MARKDOWN_SUFFIXES

GPX = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">\n'
    '<trk><trkseg><trkpt lat="45.0" lon="6.0"><time>2024-03-01T10:00:00Z</time></trkpt>'
    "</trkseg></trk></gpx>\n"
)
HTML = "<!DOCTYPE html>\n<html><head><title>My blog</title></head><body><p>hi</p></body></html>"


@pytest.fixture
def sams_vault(vault_dir: Path) -> Path:
    """A new vault with one persona, Sam Runner."""
    return init_vault(vault_dir, "Sam Runner")


def _counts(vault_dir: Path) -> dict[str, int]:
    """Every record count, the audit log's included: a refusal writes nothing at all."""
    counts: dict[str, int] = json.loads(checked(vault_dir, "status", "--json").stdout)["counts"]
    return counts


def _write(name: str, text: str) -> Callable[[Path], Path]:
    def write(tmp: Path) -> Path:
        (tmp / name).write_text(text, encoding="utf-8")
        return tmp / name

    return write


def _folder_without_markdown(tmp: Path) -> Path:
    (tmp / "photos").mkdir()
    (tmp / "photos" / "cat.jpg").write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    return tmp / "photos"


def _truncated(name: str, files: Callable[[], dict[str, bytes]]) -> Callable[[Path], Path]:
    def write(tmp: Path) -> Path:
        whole = build(tmp / "whole.zip", files()).read_bytes()
        (tmp / name).write_bytes(whole[: len(whole) // 2])
        return tmp / name

    return write


def _apple_files() -> dict[str, bytes]:
    return {"apple_health_export/export.xml": b"<HealthData>" + b" " * 4000 + b"</HealthData>"}


def _takeout_files() -> dict[str, bytes]:
    return {"Takeout/Fit/All Sessions/run.json": b"{}" + b" " * 4000}


# format, input, what the message says
WRONG: dict[str, tuple[str, Callable[[Path], Path], str]] = {
    "a WordPress export renamed .gpx, to garmin": (
        "garmin",
        _write("track.gpx", wxr(WXR_ITEMS)),
        "track.gpx looks like a WordPress export: try `coffre import wordpress`",
    ),
    "a GPX file, to wordpress": (
        "wordpress",
        _write("blog.xml", GPX),
        "blog.xml looks like a GPX file: try `coffre import garmin`",
    ),
    "an HTML page, to wordpress": (
        "wordpress",
        _write("blog.xml", HTML),
        "blog.xml is not a WordPress export (it looks like an HTML page)",
    ),
    "a folder without Markdown, to markdown": (
        "markdown",
        _folder_without_markdown,
        "photos is not Markdown (no .md",
    ),
    "a Mastodon archive, to twitter": (
        "twitter",
        lambda tmp: build(tmp / "archive.zip", default_files()),
        "archive.zip looks like a Mastodon archive: try `coffre import mastodon`",
    ),
    "a Twitter archive, to mastodon": (
        "mastodon",
        lambda tmp: build(tmp / "archive.zip", twitter_files()),
        "archive.zip looks like a Twitter/X archive: try `coffre import twitter`",
    ),
    "a GPX file, to apple-health": (
        "apple-health",
        _write("export.xml", GPX),
        "export.xml looks like a GPX file: try `coffre import garmin`",
    ),
    "a truncated Apple Health zip": (
        "apple-health",
        _truncated("export.zip", _apple_files),
        "The archive is truncated or damaged: export.zip: not a complete zip file",
    ),
    "a truncated Google Takeout zip": (
        "google-takeout",
        _truncated("takeout.zip", _takeout_files),
        "The archive is truncated or damaged: takeout.zip: not a complete zip file",
    ),
}


@pytest.mark.parametrize("case", list(WRONG))
def test_the_wrong_kind_of_file_is_refused_by_name(
    case: str, sams_vault: Path, tmp_path: Path
) -> None:
    name, make, message = WRONG[case]
    before = _counts(sams_vault)
    result = checked(sams_vault, "import", name, str(make(tmp_path)), code=7)
    assert message in result.stderr
    assert "added" not in result.stdout
    assert _counts(sams_vault) == before


def test_the_registry_sniffs_the_markdown_importers_suffixes() -> None:
    assert set(MARKDOWN_SUFFIXES) == SUFFIXES


def test_a_mastodon_tar_made_from_its_folder_is_read(sams_vault: Path, tmp_path: Path) -> None:
    """`tar czf archive.tar.gz .` names the top `./` and every member `./...`."""
    path = tmp_path / "archive.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        top = tarfile.TarInfo(".")
        top.type = tarfile.DIRTYPE
        tar.addfile(top)
        for member, data in default_files().items():
            info = tarfile.TarInfo("./" + member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    summary = json.loads(checked(sams_vault, "import", "mastodon", str(path), "--json").stdout)
    assert summary["added"] > 0 and summary["errors"] == []


def test_a_tar_that_climbs_out_is_still_refused(sams_vault: Path, tmp_path: Path) -> None:
    path = tmp_path / "archive.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for member, data in {**default_files(), "./../outside.json": b"{}"}.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    before = _counts(sams_vault)
    result = checked(sams_vault, "import", "mastodon", str(path), code=7)
    assert "climbs out of the archive" in result.stderr
    assert _counts(sams_vault) == before


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses file names not in UTF-8")
def test_a_markdown_file_name_not_in_utf8_is_named_and_skipped(
    sams_vault: Path, tmp_path: Path
) -> None:
    """The file is listed in the errors, its name's undecodable bytes shown as `\\xNN`; the
    rest of the folder is imported (before, the whole import failed)."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "fine.md").write_text("# Fine\n")
    try:
        with open(os.fsencode(folder) + b"/caf\xe9.md", "wb") as handle:
            handle.write(b"# Cafe\n")
    except OSError:
        pytest.skip("this file system refuses file names not in UTF-8")
    text = checked(sams_vault, "import", "markdown", str(folder))
    assert "caf\\xe9.md: the file name is not valid UTF-8; rename it: skipped whole" in text.stderr
    assert "internal error" not in text.stderr
    listed = json.loads(checked(sams_vault, "content", "list", "--json").stdout)
    assert [e["title"] for e in listed] == ["fine"]
    summary = json.loads(checked(sams_vault, "import", "markdown", str(folder), "--json").stdout)
    assert (summary["added"], summary["duplicates"]) == (0, 1)
    assert [e["location"] for e in summary["errors"]] == ["caf\\xe9.md"]


def test_a_single_markdown_file_is_imported(sams_vault: Path, tmp_path: Path) -> None:
    """`coffre import markdown note.md` imports that one file (click refused a file before);
    a note beginning with HTML is still a note, a GPX named .md is not."""
    note = tmp_path / "note.md"
    note.write_text('<p align="center">A banner</p>\n\n# Note\n')
    summary = json.loads(checked(sams_vault, "import", "markdown", str(note), "--json").stdout)
    assert (summary["added"], summary["errors"]) == (1, [])
    track = tmp_path / "track.md"
    track.write_text(GPX)
    refused = checked(sams_vault, "import", "markdown", str(track), code=7)
    assert "track.md looks like a GPX file: try `coffre import garmin`" in refused.stderr
    page = tmp_path / "page.html"
    page.write_text(HTML)
    refused = checked(sams_vault, "import", "markdown", str(page), code=7)
    assert "page.html is not Markdown: give a .md/" in refused.stderr
