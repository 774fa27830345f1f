"""Output files: never over a file without `force`, 0600 whatever the umask or the file
replaced, never through a link, complete or not at all, and no leftover that could be taken
for the output."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from vault.core import outputs
from vault.core.errors import InvalidParameter, OutputExists
from vault.core.outputs import output_file, staging_directory, write_files


@pytest.fixture
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_new_file_is_private_and_appears_only_when_complete(
    tmp_path: Path, loose_umask: None
) -> None:
    target = tmp_path / "out.txt"
    with output_file(target, force=False) as f:
        f.write(b"first half ")
        assert not target.exists()  # still under its temporary name
        (temp,) = tmp_path.iterdir()
        assert temp.name.startswith(".out.txt.") and temp.name.endswith(outputs.PART_SUFFIX)
        assert _mode(temp) == 0o600
        f.write(b"second half")
    assert target.read_bytes() == b"first half second half"
    assert _mode(target) == 0o600
    assert _left(tmp_path) == ["out.txt"]


def test_an_existing_file_is_replaced_only_with_force_and_loses_its_loose_mode(
    tmp_path: Path, loose_umask: None
) -> None:
    target = tmp_path / "mine.txt"
    target.write_bytes(b"precious")
    target.chmod(0o644)
    with pytest.raises(OutputExists, match=r"mine\.txt"), output_file(target, force=False) as f:
        f.write(b"never")
    assert target.read_bytes() == b"precious" and _left(tmp_path) == ["mine.txt"]
    with output_file(target, force=True) as f:
        f.write(b"replaced")
    assert target.read_bytes() == b"replaced" and _mode(target) == 0o600


def test_a_failure_removes_the_temporary_file_and_never_the_users_file(tmp_path: Path) -> None:
    target = tmp_path / "mine.txt"
    target.write_bytes(b"precious")
    with pytest.raises(RuntimeError), output_file(target, force=True) as f:
        f.write(b"half of it")
        raise RuntimeError("the source failed to authenticate")
    assert target.read_bytes() == b"precious" and _left(tmp_path) == ["mine.txt"]


def test_a_link_at_the_target_is_refused_then_replaced_itself(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"not yours")
    link = tmp_path / "out.txt"
    link.symlink_to(victim)
    with pytest.raises(OutputExists), output_file(link, force=False) as f:
        f.write(b"through the link?")
    dangling = tmp_path / "dangling.txt"
    dangling.symlink_to(tmp_path / "nowhere.txt")
    with pytest.raises(OutputExists), output_file(dangling, force=False) as f:
        f.write(b"through the link?")
    assert not (tmp_path / "nowhere.txt").exists()
    with output_file(link, force=True) as f:
        f.write(b"mine")
    assert not link.is_symlink() and link.read_bytes() == b"mine"
    assert victim.read_bytes() == b"not yours"


def test_a_directory_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(InvalidParameter, match="is a directory"):
        write_files({tmp_path / "dir": b"x"}, force=True)


def test_a_file_appearing_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with pytest.raises(OutputExists), output_file(target, force=False) as f:
        f.write(b"mine")
        target.write_bytes(b"someone else's")
    assert target.read_bytes() == b"someone else's" and _left(tmp_path) == ["out.txt"]


def test_leftovers_and_planted_names_are_never_taken_for_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A killed run leaves `.NAME.XXXXXXXX.part`; a later run draws another name, and a link
    planted under the name it draws first is neither followed nor removed."""
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"not yours")
    planted = tmp_path / ".out.txt.aaaaaaaa.part"
    planted.symlink_to(victim)
    draws = iter(["aaaaaaaa", "bbbbbbbb"])
    monkeypatch.setattr(outputs.secrets, "token_hex", lambda n: next(draws))
    with output_file(tmp_path / "out.txt", force=False) as f:
        f.write(b"mine")
    assert (tmp_path / "out.txt").read_bytes() == b"mine"
    assert victim.read_bytes() == b"not yours" and planted.is_symlink()
    assert _left(tmp_path) == [".out.txt.aaaaaaaa.part", "out.txt", "victim.txt"]


def test_files_that_belong_together_are_all_checked_first(tmp_path: Path) -> None:
    first, second = tmp_path / "statement.json", tmp_path / "statement.json.minisig"
    second.write_bytes(b"old signature")
    with pytest.raises(OutputExists, match="minisig"):
        write_files({first: b"{}", second: b"sig"}, force=False)
    assert _left(tmp_path) == ["statement.json.minisig"]
    assert write_files({first: b"{}", second: b"sig"}, force=True) == [first, second]
    assert second.read_bytes() == b"sig" and _mode(first) == _mode(second) == 0o600


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="cannot write in"):
        write_files({tmp_path / "no" / "such" / "file": b"x"}, force=False)


def test_a_staging_directory_is_private_and_named_like_a_leftover(
    tmp_path: Path, loose_umask: None
) -> None:
    staging = staging_directory(tmp_path / "opened")
    assert staging.name.startswith(".opened.") and staging.name.endswith(outputs.PART_SUFFIX)
    assert _mode(staging) == 0o700 and not any(staging.iterdir())
