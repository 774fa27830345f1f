"""Archive safety: traversal, links, bombs, truncation, encodings, malformed documents."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from vault.core.archive import (
    FolderArchive,
    Limits,
    TarArchive,
    ZipArchive,
    open_archive,
    safe_name,
)
from vault.core.errors import MalformedInput, MissingMedia, TruncatedArchive, UnsafeArchive


def make_zip(path: Path, files: dict[str, bytes], *, symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16
            zf.writestr(info, "/etc/passwd")
    return path


def make_tar(path: Path, files: dict[str, bytes], *, links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE if target.startswith("sym:") else tarfile.LNKTYPE
            info.linkname = target.removeprefix("sym:")
            tar.addfile(info)
    return path


GOOD = {"outbox.json": b'{"a": 1}', "media/x.png": b"\x89PNG" + bytes(1000)}


@pytest.mark.parametrize("maker", [make_zip, make_tar])
def test_good_archives_read(tmp_path: Path, maker) -> None:  # type: ignore[no-untyped-def]
    with open_archive(maker(tmp_path / "a.bin", GOOD)) as ar:
        assert set(ar.members) == set(GOOD)
        assert ar.read_json("outbox.json") == {"a": 1}
        streamed = {name: b"".join(chunks) for name, chunks in ar.stream({"media/x.png"})}
        assert streamed == {"media/x.png": GOOD["media/x.png"]}
        assert b"".join(ar.chunks("media/x.png")) == GOOD["media/x.png"]


def test_kinds_are_detected(tmp_path: Path) -> None:
    assert isinstance(open_archive(make_zip(tmp_path / "a.zip", GOOD)), ZipArchive)
    assert isinstance(open_archive(make_tar(tmp_path / "a.tgz", GOOD)), TarArchive)
    folder = tmp_path / "dir"
    (folder / "media").mkdir(parents=True)
    for name, data in GOOD.items():
        (folder / name).write_bytes(data)
    assert isinstance(open_archive(folder), FolderArchive)
    (tmp_path / "plain.txt").write_text("hello")
    with pytest.raises(MalformedInput, match=r"plain\.txt: not a zip or tar archive"):
        open_archive(tmp_path / "plain.txt")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../evil.txt", "climbs out"),
        ("a/../../evil.txt", "climbs out"),
        ("/etc/passwd", "absolute path"),
        ("C:\\Windows\\x", "absolute path"),
        ("..\\evil", "climbs out"),
    ],
)
@pytest.mark.parametrize("maker", [make_zip, make_tar])
def test_traversal_is_refused(tmp_path: Path, maker, name: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    path = maker(tmp_path / "evil.bin", {"ok.txt": b"x", name: b"boom"})
    with pytest.raises(UnsafeArchive, match=rf"evil\.bin: .*{problem}"):
        open_archive(path)


def test_safe_name_normalises() -> None:
    assert safe_name("./a//b/./c.json", "x") == "a/b/c.json"


def test_zip_symlink_is_refused(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "link.zip", GOOD, symlink="media/link.png")
    with pytest.raises(UnsafeArchive, match=r"media/link\.png is a symbolic link"):
        open_archive(path)


@pytest.mark.parametrize("target", ["sym:/etc/passwd", "outbox.json"])
def test_tar_links_are_refused(tmp_path: Path, target: str) -> None:
    path = make_tar(tmp_path / "link.tgz", GOOD, links={"media/l.png": target})
    with pytest.raises(UnsafeArchive, match=r"media/l\.png is a link"):
        open_archive(path)


def test_folder_symlink_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "outbox.json").write_text("{}")
    os.symlink("/etc/passwd", folder / "secret")
    with pytest.raises(UnsafeArchive, match="secret is a symbolic link"):
        open_archive(folder)


def test_zip_bomb_ratio_is_refused(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "bomb.zip", {"zeros.bin": bytes(20 * 1024 * 1024)})
    with pytest.raises(UnsafeArchive, match=r"bomb\.zip: member zeros\.bin expands .* times"):
        open_archive(path)


def test_tar_bomb_ratio_is_refused(tmp_path: Path) -> None:
    path = make_tar(tmp_path / "bomb.tgz", {"zeros.bin": bytes(20 * 1024 * 1024)})
    with pytest.raises(UnsafeArchive, match=r"bomb\.tgz: expands .* times"):
        open_archive(path)


@pytest.mark.parametrize("maker", [make_zip, make_tar])
def test_total_size_and_member_limits(tmp_path: Path, maker) -> None:  # type: ignore[no-untyped-def]
    files = {f"f{i}": bytes(600) for i in range(3)}
    path = maker(tmp_path / "big.bin", files)
    with pytest.raises(UnsafeArchive, match="unpacks to more than 1,000 bytes"):
        open_archive(path, Limits(max_total_size=1000))
    with pytest.raises(UnsafeArchive, match="more than 2 members"):
        open_archive(path, Limits(max_members=2))
    with pytest.raises(UnsafeArchive, match="f0 unpacks to 600 bytes"):
        open_archive(path, Limits(max_member_size=500))


def test_duplicate_members_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.zip"
    with pytest.warns(UserWarning), zipfile.ZipFile(path, "w") as zf:
        zf.writestr("outbox.json", "{}")
        zf.writestr("outbox.json", '{"other": 1}')
    with pytest.raises(UnsafeArchive, match=r"outbox\.json appears twice"):
        open_archive(path)


def test_truncated_zip(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "cut.zip", GOOD)
    path.write_bytes(path.read_bytes()[:-60])
    with pytest.raises(TruncatedArchive, match=r"cut\.zip: not a complete zip file"):
        open_archive(path)


def test_truncated_tar_gz(tmp_path: Path) -> None:
    data = os.urandom(200_000)  # incompressible, so the cut lands inside the member
    path = make_tar(tmp_path / "cut.tgz", {"outbox.json": b"{}", "media/big.bin": data})
    path.write_bytes(path.read_bytes()[:120_000])
    with pytest.raises(TruncatedArchive, match=r"cut\.tgz: truncated"):
        open_archive(path)


def test_corrupt_zip_member_data(tmp_path: Path) -> None:
    data = os.urandom(50_000)
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("media/a.bin", data)
    raw = bytearray(path.read_bytes())
    raw[1000] ^= 0xFF
    path.write_bytes(bytes(raw))
    with open_archive(path) as ar, pytest.raises(TruncatedArchive, match=r"media/a\.bin"):
        b"".join(ar.chunks("media/a.bin"))


def test_invalid_utf8_and_json_name_the_member(tmp_path: Path) -> None:
    path = make_zip(
        tmp_path / "docs.zip",
        {"bad-utf8.json": b'{"a": "\xff"}', "bad.json": b'{"a": 1,\n "b": }'},
    )
    with open_archive(path) as ar:
        with pytest.raises(MalformedInput, match=r"docs\.zip: bad-utf8\.json is not valid UTF-8"):
            ar.read_json("bad-utf8.json")
        with pytest.raises(MalformedInput, match=r"bad\.json is not valid JSON \(line 2, column 7"):
            ar.read_json("bad.json")
        with pytest.raises(MissingMedia, match=r"post 3 refers to media/none\.png, which is"):
            ar.require("media/none.png", "post 3")


def test_locate_finds_a_wrapping_folder(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "w.zip", {"export-1/outbox.json": b"{}", "export-1/a": b""})
    with open_archive(path) as ar:
        assert ar.locate("outbox.json") == "export-1/"
        with pytest.raises(MalformedInput, match=r"no actor\.json"):
            ar.locate("actor.json")
