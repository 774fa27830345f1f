"""`sniff`: the kind of a file from its first bytes, an XML document's root element past any
prolog, a zip's or folder's file names, and a truncated zip named as truncated."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from vault.core.errors import TruncatedArchive
from vault.core.sniff import Sniffed, sniff

APPLE_PROLOG = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE HealthData [\n'
    + "<!ATTLIST Record type CDATA #REQUIRED> <!-- a > inside -->\n" * 200
    + ']>\n<!-- exported -->\n<HealthData locale="en">'
)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (APPLE_PROLOG.encode(), Sniffed("xml", root="healthdata")),
        (b"\xef\xbb\xbf<gpx:gpx xmlns:gpx='x'/>", Sniffed("xml", root="gpx")),
        ("<?xml version='1.0' encoding='UTF-16'?><rss/>".encode("utf-16"), Sniffed("xml", "rss")),
        (b"<!DOCTYPE html>\n<html><body/></html>", Sniffed("xml", root="html")),
        (b"\x0e\x10\x00\x00\x00\x00\x00\x00.FIT\x00\x00", Sniffed("fit")),
        (b'  {"basics": {}}', Sniffed("json", root="object")),
        (b'["vcard", []]', Sniffed("json", root="array")),
        (b"begin:vcard\r\nVERSION:4.0", Sniffed("vcard")),
        (b"start,end,metric\n", Sniffed("text")),
        (b"\x00\x01\x02", Sniffed("binary")),
        (b"", Sniffed("empty")),
    ],
)
def test_a_file_is_told_by_its_first_bytes(head: bytes, expected: Sniffed, tmp_path: Path) -> None:
    path = tmp_path / "input"
    path.write_bytes(head)
    assert sniff(path) == expected


def test_a_zip_and_a_folder_list_their_files(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as zf:
        zf.writestr("top/outbox.json", "{}")
    (tmp_path / "folder" / "sub").mkdir(parents=True)
    (tmp_path / "folder" / "sub" / "note.md").write_text("hi")
    assert sniff(tmp_path / "a.zip") == Sniffed("zip", members=("top/outbox.json",))
    assert sniff(tmp_path / "folder") == Sniffed("folder", members=("sub/note.md",))


def test_a_truncated_zip_is_named_truncated(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as zf:
        zf.writestr("export.xml", "<HealthData/>" * 1000)
    whole = (tmp_path / "a.zip").read_bytes()
    (tmp_path / "a.zip").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(TruncatedArchive, match="not a complete zip file"):
        sniff(tmp_path / "a.zip")
