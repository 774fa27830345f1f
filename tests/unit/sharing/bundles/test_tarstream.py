"""The bundle's streaming tar writer and push-driven reader: what the writer produces is a
valid ustar archive, the reader gets the same files however the stream is split, and damaged
or hostile input only ever raises Coffre's own errors."""

from __future__ import annotations

import contextlib
import hashlib
import io
import tarfile
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.core.errors import TamperedBundle, UnsafeArchive, VaultError
from vault.sharing.bundles.tarstream import BLOCK, RECORD, Entry, TarReader, Written, tar_stream

names = st.lists(
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=40).filter(
        lambda s: s not in (".", "..") and not s.startswith(".")
    ),
    min_size=1,
    max_size=3,
).map("/".join)
files = st.dictionaries(names, st.binary(max_size=3000), min_size=1, max_size=6)


class _Sink:
    def __init__(self, store: dict[str, bytes], name: str) -> None:
        self.store, self.name = store, name
        store[name] = b""

    def write(self, data: bytes) -> None:
        self.store[self.name] += data

    def close(self) -> None:
        pass


def _build(content: dict[str, bytes]) -> tuple[bytes, list[Written]]:
    written: list[Written] = []
    entries = [Entry(n, len(d), lambda d=d: [d[:100], d[100:]]) for n, d in content.items()]
    return b"".join(tar_stream(entries, 0, written.append)), written


def _read(data: bytes, cuts: list[int]) -> dict[str, bytes]:
    got: dict[str, bytes] = {}
    reader = TarReader("t", lambda name, size: _Sink(got, name))
    start = 0
    for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
        reader.write(data[start:cut])
        start = max(start, cut)
    reader.close()
    return got


@settings(max_examples=60, deadline=None)
@given(files, st.lists(st.integers(min_value=0, max_value=1 << 20), max_size=8))
def test_written_archives_read_back_however_split(
    content: dict[str, bytes], cuts: list[int]
) -> None:
    if any(a != b and b.startswith(a + "/") for a in content for b in content):
        return  # a file cannot also be a directory
    data, written = _build(content)
    assert len(data) % RECORD == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert {m.name: tar.extractfile(m).read() for m in tar} == content  # type: ignore[union-attr]
    assert [w.name for w in written] == list(content)
    assert _read(data, cuts) == content


@settings(max_examples=120, deadline=None)
@given(files, st.integers(min_value=0), st.integers(min_value=1, max_value=255))
def test_damage_raises_only_coffre_errors(content: dict[str, bytes], where: int, xor: int) -> None:
    data = bytearray(_build(content)[0])
    data[where % len(data)] ^= xor
    with contextlib.suppress(VaultError):
        _read(bytes(data), [])


def test_truncated_archive_is_reported() -> None:
    data, _ = _build({"a.txt": b"x" * 1000})
    with pytest.raises(TamperedBundle, match="ends early"):
        _read(data[: BLOCK + 100], [])


def test_duplicates_links_and_extensions_are_refused() -> None:
    for build in (_duplicate, _symlink, _pax):
        with pytest.raises(UnsafeArchive):
            _read(build(), [])


def _tar(
    members: list[tuple[tarfile.TarInfo, bytes | None]], fmt: int = tarfile.USTAR_FORMAT
) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _duplicate() -> bytes:
    return _tar([_file("a", b"1"), _file("a", b"2")])


def _symlink() -> bytes:
    link = tarfile.TarInfo("a")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    return _tar([(link, None)])


def _pax() -> bytes:
    return _tar([_file("é" * 120, b"1")], fmt=tarfile.PAX_FORMAT)


def test_large_files_are_hashed_beside_the_stream_and_the_hasher_stops_on_failure() -> None:
    big = bytes(range(256)) * (3 * 4096 + 7)  # over 3 MiB: hashed on a second thread
    pieces = [big[i : i + 300_000] for i in range(0, len(big), 300_000)]
    written: list[Written] = []
    archive = b"".join(tar_stream([Entry("big.bin", len(big), lambda: pieces)], 0, written.append))
    assert written == [Written("big.bin", len(big), hashlib.sha256(big).hexdigest())]
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile("big.bin")
        assert member is not None and member.read() == big

    before = threading.active_count()
    short = Entry("big.bin", len(big) + 1, lambda: pieces)  # announces a byte too many
    with pytest.raises(ValueError, match="instead of"):
        b"".join(tar_stream([short], 0, written.append))
    stream = tar_stream([Entry("big.bin", len(big), lambda: pieces)], 0, written.append)
    next(stream), next(stream)  # the header and the first piece, then given up
    stream.close()
    assert threading.active_count() == before
