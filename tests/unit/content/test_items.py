"""Authored content: items, versions, streaming bodies, licences."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from tests.conftest import raw_vault_bytes
from vault import content
from vault.core import blobs, crypto
from vault.core.errors import (
    InvalidParameter,
    MalformedInput,
    RecordNotFound,
)
from vault.core.vault import Vault
from vault.personas import add_persona


def _meta(title: str = "A note", **kw: object) -> content.ItemMeta:
    return content.ItemMeta(title=title, **kw)  # type: ignore[arg-type]


def test_add_and_read_back(vault: Vault) -> None:
    item = content.add(
        vault,
        io.BytesIO(b"# Hello\n\nworld\n"),
        _meta(tags=("Poetry", "#draft"), license="cc-by-sa-4.0"),
    )
    got = content.get(vault, item.id)
    assert got == item
    assert got.tags == ("draft", "poetry")
    assert got.license == "CC-BY-SA-4.0"
    assert got.size == 15
    assert got.sha256 == hashlib.sha256(b"# Hello\n\nworld\n").hexdigest()
    assert b"".join(content.read(vault, item.id[:8])) == b"# Hello\n\nworld\n"
    assert [i.id for i in content.list_items(vault)] == [item.id]


def test_nothing_readable_on_disk(vault: Vault) -> None:
    content.add(vault, [b"secret words of a poem"], _meta("Unique title xyzzy"))
    vault.store.checkpoint()
    raw = raw_vault_bytes(vault.path)
    assert b"secret words" not in raw
    assert b"xyzzy" not in raw


@pytest.mark.parametrize("size", [0, 1, 65536, 200_001, 2_200_000])
def test_large_bodies_stream(vault: Vault, size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    item = content.add(vault, io.BytesIO(data), _meta(kind="file", media_type="x/y"))
    chunks = list(content.read(vault, item.id))
    assert b"".join(chunks) == data
    # Constant memory: pieces of at most one group of chunks, whatever the body's size.
    assert all(len(c) <= blobs.GROUP_CHUNKS * crypto.CHUNK_SIZE for c in chunks)


def test_licences() -> None:
    assert content.normalize_license(None) == "all-rights-reserved"
    assert content.normalize_license("All Rights Reserved") == "all-rights-reserved"
    assert content.normalize_license("mit") == "MIT"
    assert content.normalize_license("CC0") == "CC0-1.0"
    with pytest.raises(InvalidParameter, match="unknown licence"):
        content.normalize_license("CC-BY-SA-9.0")


def test_unknown_kind_is_refused(vault: Vault) -> None:
    with pytest.raises(InvalidParameter, match="kind"):
        content.add(vault, [b"x"], _meta(kind="hologram"))
    assert vault.store.count(content.ITEM) == 0


def test_filters(vault: Vault) -> None:
    other = add_persona(vault, "Pseudonym")
    a = content.add(vault, [b"a"], _meta("a", tags=("x",), kind="post"), persona="Ada")
    b = content.add(vault, [b"b"], _meta("b", tags=("y",)), persona=other.id)
    assert [i.id for i in content.list_items(vault, tag="x")] == [a.id]
    assert [i.id for i in content.list_items(vault, kind="note")] == [b.id]
    assert [i.id for i in content.list_items(vault, persona=other.id)] == [b.id]
    assert content.list_items(vault, tag="x", kind="note") == []


def test_several_personas_need_a_choice(vault: Vault) -> None:
    add_persona(vault, "Other")
    with pytest.raises(InvalidParameter, match="--persona"):
        content.add(vault, [b"x"], _meta())


def test_no_persona_is_a_clear_error(fresh_vault: Vault) -> None:
    with pytest.raises(InvalidParameter, match="persona add"):
        content.add(fresh_vault, [b"x"], _meta())


def test_edit_keeps_versions_until_forgotten(vault: Vault) -> None:
    item = content.add(vault, [b"v1 body"], _meta("First"))
    edited = content.edit(vault, item.id, body=[b"v2 body"], title="Second", license="MIT")
    assert (edited.version, edited.versions, edited.title) == (2, (1, 2), "Second")
    assert b"".join(content.read(vault, item.id)) == b"v2 body"
    assert b"".join(content.read(vault, item.id, 1)) == b"v1 body"
    meta_only = content.edit(vault, item.id, tags="a,b")
    assert b"".join(content.read(vault, item.id)) == b"v2 body"
    assert meta_only.tags == ("a", "b")
    vs = content.versions(vault, item.id)
    assert [(v.number, v.title, v.license) for v in vs] == [
        (1, "First", "all-rights-reserved"),
        (2, "Second", "MIT"),
        (3, "Second", "MIT"),
    ]
    with pytest.raises(InvalidParameter):
        content.forget_version(vault, item.id, 3)
    after = content.forget_version(vault, item.id, 1)
    assert after.versions == (2, 3)
    with pytest.raises(RecordNotFound):
        list(content.read(vault, item.id, 1))
    assert vault.check() == []


def test_remove_deletes_records_and_blobs(vault: Vault) -> None:
    item = content.add(vault, [b"x" * 100_000], _meta())
    content.edit(vault, item.id, body=[b"y"])
    assert content.remove(vault, item.id) == 2
    assert vault.store.count(content.ITEM) == 0
    assert vault.store.count(content.VERSION) == 0
    assert vault.store.counts()["blob_chunks"] == 0
    with pytest.raises(RecordNotFound):
        content.get(vault, item.id)
    actions = [e.action for e in vault.audit_log()]
    assert actions[-3:] == ["content.add", "content.edit", "content.rm"][-3:]


def test_short_or_ambiguous_ids(vault: Vault) -> None:
    with pytest.raises(InvalidParameter, match="4 hexadecimal"):
        content.get(vault, "ab")
    with pytest.raises(RecordNotFound):
        content.get(vault, "abcd")


def test_add_file_reads_front_matter(vault: Vault, tmp_path: Path) -> None:
    src = tmp_path / "post.md"
    src.write_text(
        "---\ntitle: Front title\ntags: [one, Two]\ndate: 2021-03-04\nlicense: CC-BY-4.0\n"
        "series: travel\n---\n\nBody text.\n",
        encoding="utf-8",
    )
    item = content.add_file(vault, src)
    assert (item.title, item.tags, item.license) == ("Front title", ("one", "two"), "CC-BY-4.0")
    assert item.created == "2021-03-04T00:00:00Z"
    assert item.extra == {"series": "travel"}
    assert b"".join(content.read(vault, item.id)) == b"Body text.\n"
    flagged = content.add_file(vault, src, title="Flag title", tags="z", license="MIT")
    assert (flagged.title, flagged.tags, flagged.license) == ("Flag title", ("z",), "MIT")


def test_add_file_guesses_kind(vault: Vault, tmp_path: Path) -> None:
    for name, kind in [("a.png", "photo"), ("b.stl", "model"), ("c.ogg", "audio"), ("d.x", "file")]:
        (tmp_path / name).write_bytes(b"\x00\xff binary")
        assert content.add_file(vault, tmp_path / name).kind == kind
    (tmp_path / "e.txt").write_text("plain")
    assert content.add_file(vault, tmp_path / "e.txt").kind == "note"


def test_add_file_rejects_bad_text(vault: Vault, tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"---\ntitle: x\n---\nok \xff\xfe broken")
    with pytest.raises(MalformedInput, match=r"bad\.md: invalid UTF-8 at byte"):
        content.add_file(vault, bad)
    unclosed = tmp_path / "unclosed.md"
    unclosed.write_text("---\ntitle: x\nno end\n")
    with pytest.raises(MalformedInput, match=r"unclosed\.md: the YAML front matter is not closed"):
        content.add_file(vault, unclosed)
    wrong_licence = tmp_path / "lic.md"
    wrong_licence.write_text("---\nlicense: Nope-1.0\n---\nx\n")
    with pytest.raises(MalformedInput, match=r"lic\.md: unknown licence"):
        content.add_file(vault, wrong_licence)
    assert vault.store.count(content.ITEM) == 0


def test_author_persona_is_kept_while_items_exist(vault: Vault) -> None:
    from vault.personas import delete_persona

    item = content.add(vault, [b"x"], _meta())
    with pytest.raises(InvalidParameter, match="authored by this persona"):
        delete_persona(vault, "Ada")
    content.remove(vault, item.id)
    delete_persona(vault, "Ada")
