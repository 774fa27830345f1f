"""Safe reading of the archives people export from platforms: zip, tar (.gz, .bz2, .xz) and
unpacked folders.

Every member is checked before anything is read: a path that is absolute or climbs with `..`,
a symbolic or hard link, a device, a duplicate name, too many members, too many bytes once
unpacked, or a compression ratio no real export has (a zip bomb) refuses the whole archive.
A truncated archive, invalid UTF-8 and malformed JSON each raise an error that names the
archive, the member and the problem. Nothing is ever extracted to disk: members stream.
A zip inside an archive is read in one forward pass over its bytes (`stream_zip`), with the
same rules checked entry by entry as its headers come.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, Final

from vault.core.errors import MalformedInput, MissingMedia, TruncatedArchive, UnsafeArchive
from vault.core.i18n import N_, Text

GIB: Final = 1024**3
MIB: Final = 1024**2
_READ: Final = 1 << 16
_DECODE_ERRORS: Final = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError)


@dataclass(frozen=True)
class Limits:
    """What an archive may hold before it is refused as a bomb or an attack."""

    max_members: int = 500_000
    max_total_size: int = 64 * GIB
    max_member_size: int = 16 * GIB
    max_ratio: int = 250
    ratio_floor: int = 4 * MIB
    max_document_size: int = 1 * GIB


DEFAULT_LIMITS: Final = Limits()


@dataclass(frozen=True)
class Member:
    """One regular file of an archive: its checked path and unpacked size."""

    name: str
    size: int


def safe_name(raw: str, archive: str, *, folder: bool = False) -> str:
    """The member's normalised relative path; refuses absolute paths and `..`.

    A folder may be the archive's top itself (`./`, which `tar czf a.tar.gz .` writes): its
    name is then ''.
    """
    if "\x00" in raw:
        raise UnsafeArchive(N_("{archive}: a member name contains a NUL byte"), archive=archive)
    text = raw.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":" and text[0].isalpha()):
        raise UnsafeArchive(
            N_("{archive}: member {member!r} has an absolute path"),
            archive=archive,
            member=raw[:200],
        )
    parts = [p for p in PurePosixPath(text).parts if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(
            N_("{archive}: member {member!r} climbs out of the archive (..)"),
            archive=archive,
            member=raw[:200],
        )
    if not parts and not folder:
        raise UnsafeArchive(N_("{archive}: a member has an empty name"), archive=archive)
    return "/".join(parts)


class Archive:
    """Checked members of an archive, readable by name or in one sequential pass."""

    def __init__(self, label: str, limits: Limits) -> None:
        self.label = label
        self.limits = limits
        self.members: dict[str, Member] = {}
        self._total = 0

    # --- building the member table (subclasses call `_admit`) ---

    def _admit(self, raw_name: str, size: int, compressed: int | None = None) -> str:
        name = safe_name(raw_name, self.label)
        lim = self.limits
        if name in self.members:
            raise UnsafeArchive(
                N_("{label}: member {name} appears twice"), label=self.label, name=name
            )
        if len(self.members) >= lim.max_members:
            raise UnsafeArchive(
                N_("{label}: more than {limit:,} members"), label=self.label, limit=lim.max_members
            )
        if size > lim.max_member_size:
            raise UnsafeArchive(
                N_("{label}: member {name} unpacks to {size:,} bytes"),
                label=self.label,
                name=name,
                size=size,
            )
        if (
            compressed is not None
            and size > lim.ratio_floor
            and size > lim.max_ratio * max(compressed, 1)
        ):
            raise UnsafeArchive(
                N_("{label}: member {name} expands {ratio:,} times (a zip bomb?)"),
                label=self.label,
                name=name,
                ratio=size // max(compressed, 1),
            )
        self._total += size
        if self._total > lim.max_total_size:
            raise UnsafeArchive(
                N_("{label}: unpacks to more than {limit:,} bytes (a bomb?)"),
                label=self.label,
                limit=lim.max_total_size,
            )
        self.members[name] = Member(name, size)
        return name

    def _check_total_ratio(self, packed_size: int) -> None:
        lim = self.limits
        if self._total > lim.ratio_floor and self._total > lim.max_ratio * max(packed_size, 1):
            raise UnsafeArchive(
                N_("{label}: expands {ratio:,} times (a compression bomb?)"),
                label=self.label,
                ratio=self._total // max(packed_size, 1),
            )

    # --- reading ---

    def has(self, name: str) -> bool:
        return name in self.members

    def locate(self, marker: str) -> str:
        """The folder prefix under which `marker` sits (exports often wrap everything in one
        top folder): '' or 'folder/'. Raises MalformedInput when absent."""
        found = [n for n in self.members if n == marker or n.endswith("/" + marker)]
        if not found:
            raise MalformedInput(
                N_("{label}: no {marker} in the archive"), label=self.label, marker=marker
            )
        best = min(found, key=lambda n: n.count("/"))
        return best[: len(best) - len(marker)]

    def require(self, name: str, referenced_by: str) -> Member:
        """The member `name`, or MissingMedia naming who refers to it."""
        member = self.members.get(name)
        if member is None:
            raise MissingMedia(
                N_("{label}: {referenced_by} refers to {name}, which is missing"),
                label=self.label,
                referenced_by=referenced_by,
                name=name,
            )
        return member

    def _open(self, name: str) -> IO[bytes]:
        raise NotImplementedError

    def chunks(self, name: str) -> Iterator[bytes]:
        """The bytes of one member, streamed; damage surfaces as TruncatedArchive."""
        if name not in self.members:
            raise MissingMedia(N_("{label}: {name} is missing"), label=self.label, name=name)
        try:
            with self._open(name) as handle:
                yield from _guarded(handle, self.label, name, self.members[name].size)
        except _DECODE_ERRORS as exc:
            raise TruncatedArchive(
                N_("{label}: {name} cannot be read ({reason})"),
                label=self.label,
                name=name,
                reason=_why(exc),
            ) from None

    def read_bytes(self, name: str) -> bytes:
        size = self.members[name].size if name in self.members else 0
        if size > self.limits.max_document_size:
            raise UnsafeArchive(
                N_("{label}: {name} is too large to parse ({size:,} bytes)"),
                label=self.label,
                name=name,
                size=size,
            )
        return b"".join(self.chunks(name))

    def read_text(self, name: str) -> str:
        raw = self.read_bytes(name)
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise MalformedInput(
                N_("{label}: {name} is not valid UTF-8 (byte {byte})"),
                label=self.label,
                name=name,
                byte=exc.start,
            ) from None

    def read_json(
        self,
        name: str,
        *,
        text: str | None = None,
        object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
    ) -> Any:
        """Parse a member (or `text` taken from it) as JSON, naming the place of an error."""
        source = self.read_text(name) if text is None else text
        try:
            return json.loads(source, object_pairs_hook=object_pairs_hook)
        except json.JSONDecodeError as exc:
            raise MalformedInput(
                N_("{label}: {name} is not valid JSON (line {line}, column {column}: {reason})"),
                label=self.label,
                name=name,
                line=exc.lineno,
                column=exc.colno,
                reason=exc.msg,
            ) from None
        except RecursionError:
            raise MalformedInput(
                N_("{label}: {name} nests too deeply"), label=self.label, name=name
            ) from None

    def stream(self, names: set[str]) -> Iterator[tuple[str, Iterator[bytes]]]:
        """Members in `names`, in archive order, each as a chunk iterator that must be consumed
        before the next one is taken (one pass, constant memory, fast for tar.gz)."""
        for name in self.members:
            if name in names:
                yield name, self.chunks(name)

    def close(self) -> None:
        """Release the underlying file."""

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _why(exc: BaseException) -> str:
    if isinstance(exc, EOFError | zlib.error):
        return Text(N_("truncated or corrupt compressed data"))
    if isinstance(exc, zipfile.BadZipFile):
        return Text(N_("damaged zip data"))
    if isinstance(exc, tarfile.TarError):
        return Text(N_("truncated or damaged tar data"))
    return type(exc).__name__


def _guarded(handle: IO[bytes], label: str, name: str, size: int) -> Iterator[bytes]:
    """Stream a member, refusing more or fewer bytes than its header declared."""
    done = 0
    while chunk := handle.read(_READ):
        done += len(chunk)
        if done > size:
            raise TruncatedArchive(
                N_("{label}: {name} holds more bytes than it declares"), label=label, name=name
            )
        yield chunk
    if done != size:
        raise TruncatedArchive(
            N_("{label}: {name} is truncated ({done:,} of {size:,} bytes)"),
            label=label,
            name=name,
            done=done,
            size=size,
        )


class ZipArchive(Archive):
    def __init__(self, path: Path, limits: Limits) -> None:
        super().__init__(path.name, limits)
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, EOFError, OSError):
            raise TruncatedArchive(
                N_("{file}: not a complete zip file (truncated or damaged)"), file=path.name
            ) from None
        self._infos: dict[str, zipfile.ZipInfo] = {}
        try:
            for info in self._zip.infolist():
                mode = info.external_attr >> 16
                if info.is_dir():
                    safe_name(info.filename, self.label, folder=True)
                    continue
                if stat.S_ISLNK(mode):
                    raise UnsafeArchive(
                        N_("{label}: member {member} is a symbolic link"),
                        label=self.label,
                        member=info.filename,
                    )
                if info.flag_bits & 0x1:
                    raise UnsafeArchive(
                        N_("{label}: member {member} is encrypted"),
                        label=self.label,
                        member=info.filename,
                    )
                name = self._admit(info.filename, info.file_size, info.compress_size)
                self._infos[name] = info
        except BaseException:
            self._zip.close()
            raise

    def _open(self, name: str) -> IO[bytes]:
        return self._zip.open(self._infos[name])

    def close(self) -> None:
        self._zip.close()


class TarArchive(Archive):
    def __init__(self, path: Path, limits: Limits) -> None:
        super().__init__(path.name, limits)
        self._path = path
        self._tar: tarfile.TarFile | None = None
        self._infos: dict[str, tarfile.TarInfo] = {}
        try:
            with tarfile.open(path, "r|*") as tar:
                for info in tar:
                    self._check(info)
        except _DECODE_ERRORS as exc:
            raise TruncatedArchive(
                N_("{label}: {reason}"), label=self.label, reason=_why(exc)
            ) from None
        self._check_total_ratio(path.stat().st_size)

    def _check(self, info: tarfile.TarInfo) -> None:
        if info.issym() or info.islnk():
            raise UnsafeArchive(
                N_("{label}: member {member} is a link"), label=self.label, member=info.name
            )
        if info.isdir():
            safe_name(info.name, self.label, folder=True)
            return
        if not info.isfile() or info.issparse():
            raise UnsafeArchive(
                N_("{label}: member {member} is not a regular file"),
                label=self.label,
                member=info.name,
            )
        name = self._admit(info.name, info.size)
        self._infos[name] = info

    def _open(self, name: str) -> IO[bytes]:
        # Random access re-reads a compressed tar from its start: fine for the few documents
        # read by name; media go through `stream`, one sequential pass.
        if self._tar is None:
            self._tar = tarfile.open(self._path, "r:*")  # noqa: SIM115  # closed by close()
        handle = self._tar.extractfile(self._infos[name])
        if handle is None:
            raise TruncatedArchive(
                N_("{label}: {name} cannot be read"), label=self.label, name=name
            )
        return handle

    def stream(self, names: set[str]) -> Iterator[tuple[str, Iterator[bytes]]]:
        try:
            with tarfile.open(self._path, "r|*") as tar:
                for info in tar:
                    if not info.isfile():
                        continue
                    name = safe_name(info.name, self.label)
                    if name in names:
                        handle = tar.extractfile(info)
                        if handle is None:
                            raise TruncatedArchive(
                                N_("{label}: {name} cannot be read"), label=self.label, name=name
                            )
                        yield name, _guarded(handle, self.label, name, info.size)
        except _DECODE_ERRORS as exc:
            raise TruncatedArchive(
                N_("{label}: {reason}"), label=self.label, reason=_why(exc)
            ) from None

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()


class FolderArchive(Archive):
    """An export already unpacked into a folder: same checks, symbolic links refused."""

    def __init__(self, path: Path, limits: Limits) -> None:
        super().__init__(path.name, limits)
        self._root = path
        for root, dirs, files in os.walk(path, followlinks=False):
            base = Path(root)
            for entry in sorted(dirs) + sorted(files):
                full = base / entry
                rel = full.relative_to(path).as_posix()
                if full.is_symlink():
                    raise UnsafeArchive(
                        N_("{label}: {rel} is a symbolic link"), label=self.label, rel=rel
                    )
                if entry in files:
                    if not full.is_file():
                        raise UnsafeArchive(
                            N_("{label}: {rel} is not a regular file"), label=self.label, rel=rel
                        )
                    self._admit(rel, full.stat().st_size)
            dirs.sort()

    def _open(self, name: str) -> IO[bytes]:
        return (self._root / name).open("rb")


def open_archive(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> Archive:
    """Open and check a zip, a tar (optionally compressed) or an unpacked folder."""
    path = Path(path)
    if path.is_dir():
        return FolderArchive(path, limits)
    try:
        with path.open("rb") as f:
            head = f.read(512)
    except OSError as exc:
        raise MalformedInput(
            N_("{file}: cannot read it ({reason})"), file=path.name, reason=exc.strerror
        ) from None
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return ZipArchive(path, limits)
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ")) or head[257:262] == b"ustar":
        return TarArchive(path, limits)
    if not head:
        raise TruncatedArchive(N_("{file}: the file is empty"), file=path.name)
    raise MalformedInput(N_("{file}: not a zip or tar archive"), file=path.name)


# --- zips inside an archive, read forward ---

_LOCAL: Final = struct.Struct("<4sHHHHHIIIHH")  # a zip entry's local header (APPNOTE 4.3.7)
_ENTRY: Final = b"PK\x03\x04"
_ENDS: Final = (b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07")
_DESCRIPTOR: Final = b"PK\x07\x08"
_STORED, _DEFLATED = 0, 8


class _Forward:
    """Bytes pulled from an iterator of chunks, with what was read too far put back."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def some(self, limit: int) -> bytes:
        """Up to LIMIT bytes (fewer at the end; b'' once there is nothing left)."""
        if not self._buffer:
            self._buffer = next(self._chunks, b"")
        out, self._buffer = self._buffer[:limit], self._buffer[limit:]
        return out

    def exact(self, n: int, label: str) -> bytes:
        parts: list[bytes] = []
        while n:
            part = self.some(n)
            if not part:
                raise TruncatedArchive(N_("{label}: the zip data ends early"), label=label)
            parts.append(part)
            n -= len(part)
        return b"".join(parts)

    def unread(self, data: bytes) -> None:
        self._buffer = data + self._buffer


def _zip64_sizes(extra: bytes, compressed: int, size: int) -> tuple[int, int]:
    """The sizes a Zip64 extra field (id 1) gives for those the header marks 0xFFFFFFFF."""
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, at)
        if kind == 1:
            fields = extra[at + 4 : at + 4 + length]
            values = [int.from_bytes(fields[i : i + 8], "little") for i in range(0, len(fields), 8)]
            if size == 0xFFFFFFFF and values:
                size = values.pop(0)
            if compressed == 0xFFFFFFFF and values:
                compressed = values.pop(0)
            return compressed, size
        at += 4 + length
    return compressed, size


def stream_zip(
    chunks: Iterator[bytes], label: str, limits: Limits = DEFAULT_LIMITS
) -> Iterator[tuple[str, Iterator[bytes]]]:
    """The files of a zip whose bytes come as CHUNKS (a member of another archive), in one
    forward pass: no seek, nothing on disk, memory bounded by one chunk.

    Each entry is checked as its local header comes (name, duplicate, count, encryption,
    declared and actual size, compression ratio, total) and its CRC-32 and sizes are checked
    when its data ends, before its iterator finishes: an entry that fails raises
    TruncatedArchive or UnsafeArchive and no later entry can be read. Each entry's iterator
    must be used before the next is taken (what is left of it is skipped). Entries of zips
    written to a stream (sizes after the data, as Java's ZipOutputStream writes them) are
    read when deflated; stored ones of that kind cannot be delimited and are refused.
    """
    src = _Forward(chunks)
    seen: set[str] = set()
    total = 0
    while True:
        sig = src.some(4)
        if len(sig) < 4 and sig:
            sig += src.exact(4 - len(sig), label)
        if not sig or sig in _ENDS:
            return  # the central directory: every entry has been read
        if sig != _ENTRY:
            raise TruncatedArchive(
                N_("{label}: damaged zip data (no entry where one should be)"), label=label
            )
        head = sig + src.exact(_LOCAL.size - 4, label)
        _, _, flags, method, _, _, crc, compressed, size, name_len, extra_len = _LOCAL.unpack(head)
        raw = src.exact(name_len, label)
        extra = src.exact(extra_len, label)
        raw_name = raw.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
        folder = raw_name.endswith(("/", "\\"))
        name = safe_name(raw_name, label, folder=folder)
        if flags & 0x1:
            raise UnsafeArchive(N_("{label}: member {name} is encrypted"), label=label, name=name)
        zip64 = compressed == 0xFFFFFFFF or size == 0xFFFFFFFF
        if zip64:
            compressed, size = _zip64_sizes(extra, compressed, size)
        streamed = bool(flags & 0x8)
        if method not in (_STORED, _DEFLATED):
            raise MalformedInput(
                N_("{label}: member {name} uses a compression Coffre does not read"),
                label=label,
                name=name,
            )
        if streamed and method == _STORED:
            raise MalformedInput(
                N_("{label}: member {name} is stored without its size"), label=label, name=name
            )
        if not folder:
            if name in seen:
                raise UnsafeArchive(
                    N_("{label}: member {name} appears twice"), label=label, name=name
                )
            if len(seen) >= limits.max_members:
                raise UnsafeArchive(
                    N_("{label}: more than {limit:,} members"),
                    label=label,
                    limit=limits.max_members,
                )
            seen.add(name)
        if not streamed and size > limits.max_member_size:
            raise UnsafeArchive(
                N_("{label}: member {name} unpacks to {size:,} bytes"),
                label=label,
                name=name,
                size=size,
            )
        body = _Entry(
            src, f"{label}: {name}", method=method, streamed=streamed, zip64=zip64, limits=limits
        )
        body.expect(crc, compressed, size)
        if folder:
            for _ in body:
                pass
            continue
        yield name, body
        for _ in body:  # what the caller left unread
            pass
        total += body.produced
        if total > limits.max_total_size:
            raise UnsafeArchive(
                N_("{label}: unpacks to more than {limit:,} bytes"),
                label=label,
                limit=limits.max_total_size,
            )


class _Entry:
    """One entry's bytes, decompressed as they are pulled, checked against its header (or
    the data descriptor after it) when they end."""

    def __init__(
        self, src: _Forward, where: str, *, method: int, streamed: bool, zip64: bool, limits: Limits
    ) -> None:
        self.src, self.where, self.method = src, where, method
        self.streamed, self.zip64, self.limits = streamed, zip64, limits
        self.produced = self.consumed = 0
        self.crc = self.compressed = self.size = 0
        self._run = self._chunks()

    def expect(self, crc: int, compressed: int, size: int) -> None:
        self.crc, self.compressed, self.size = crc, compressed, size

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._run)

    def _out(self, data: bytes) -> bytes:
        self.produced += len(data)
        lim = self.limits
        if self.produced > lim.max_member_size or (not self.streamed and self.produced > self.size):
            raise UnsafeArchive(
                N_("{where} unpacks to more bytes than allowed or declared"), where=self.where
            )
        if self.produced > lim.ratio_floor and self.produced > lim.max_ratio * max(
            self.consumed, 1
        ):
            raise UnsafeArchive(
                N_("{where} expands beyond safe limits (a zip bomb?)"), where=self.where
            )
        return data

    def _chunks(self) -> Iterator[bytes]:
        src, where = self.src, self.where
        running = 0
        if self.method == _STORED:
            left = self.compressed
            while left:
                data = src.some(min(left, _READ))
                if not data:
                    raise TruncatedArchive(N_("{where} is truncated"), where=where)
                left -= len(data)
                self.consumed += len(data)
                running = zlib.crc32(data, running)
                yield self._out(data)
        else:
            inflate = zlib.decompressobj(-15)
            rest: int | None = None if self.streamed else self.compressed
            while not inflate.eof:
                if rest == 0:
                    raise TruncatedArchive(N_("{where} is truncated or corrupt"), where=where)
                data = src.some(_READ if rest is None else min(rest, _READ))
                if not data:
                    raise TruncatedArchive(N_("{where} is truncated"), where=where)
                if rest is not None:
                    rest -= len(data)
                self.consumed += len(data)
                pending = data
                while True:
                    # bounded output per call: what is left waits in unconsumed_tail, or
                    # (with no input left) inside the decompressor, fetched with b""
                    try:
                        out = inflate.decompress(pending, _READ)
                    except zlib.error:
                        raise TruncatedArchive(
                            N_("{where} holds corrupt compressed data"), where=where
                        ) from None
                    if out:
                        running = zlib.crc32(out, running)
                        yield self._out(out)
                    if inflate.eof:
                        break
                    pending = inflate.unconsumed_tail
                    if not pending and len(out) < _READ:
                        break  # everything given was used: more input is needed
            # past the end, what was given too much is in unused_data (unconsumed_tail may
            # repeat it when the end came with the output limit reached)
            left_over = inflate.unused_data
            if left_over:
                src.unread(left_over)
                self.consumed -= len(left_over)
            if rest:
                raise TruncatedArchive(
                    N_("{where} holds more data than its compressed size"), where=where
                )
        if self.streamed:
            self._descriptor()
        if running != self.crc or self.produced != self.size:
            raise TruncatedArchive(
                N_("{where} is damaged (its checksum or size does not match)"), where=where
            )

    def _descriptor(self) -> None:
        """The CRC and sizes written after a streamed entry's data (signature optional)."""
        width = 8 if self.zip64 else 4
        first = self.src.exact(4, self.where)
        if first == _DESCRIPTOR:
            first = self.src.exact(4, self.where)
        rest = self.src.exact(2 * width, self.where)
        self.crc = int.from_bytes(first, "little")
        self.compressed = int.from_bytes(rest[:width], "little")
        self.size = int.from_bytes(rest[width:], "little")
        if self.compressed != self.consumed:
            raise TruncatedArchive(
                N_("{where} is damaged (its compressed size does not match)"), where=self.where
            )
