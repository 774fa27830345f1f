"""`coffre import FORMAT` given awkward real-world input: a tar made with `tar czf
archive.tar.gz .` is read, a Markdown file name that is not UTF-8 is named, and the vault is
unchanged after each refusal."""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
from pathlib import Path

import pytest

from tests.builders import default_files
from tests.cli.conftest import checked, init_vault


@pytest.fixture
def sams_vault(vault_dir: Path) -> Path:
    """A new vault with one persona, Sam Runner."""
    return init_vault(vault_dir, "Sam Runner")


def _counts(vault_dir: Path) -> dict[str, int]:
    """Every record count, the audit log's included: a refusal writes nothing at all."""
    counts: dict[str, int] = json.loads(checked(vault_dir, "status", "--json").stdout)["counts"]
    return counts


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
def test_a_markdown_file_name_not_in_utf8_is_named(sams_vault: Path, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "fine.md").write_text("# Fine\n")
    try:
        with open(os.fsencode(folder) + b"/caf\xe9.md", "wb") as handle:
            handle.write(b"# Cafe\n")
    except OSError:
        pytest.skip("this file system refuses file names not in UTF-8")
    before = _counts(sams_vault)
    result = checked(sams_vault, "import", "markdown", str(folder), code=7)
    assert "caf\\xe9.md: the file name is not valid UTF-8; rename it" in result.stderr
    assert "internal error" not in result.stderr
    assert _counts(sams_vault) == before
