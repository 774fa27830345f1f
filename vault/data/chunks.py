"""Columnar encoding of one (persona, metric, UTC day) chunk of samples.

A chunk holds its samples sorted by (start, end, source, device, value) as parallel arrays,
plus a string table for sources, devices and metadata. The bytes are compact and compress
well (start deltas, durations and values are byte-shuffled), so the store's compress-then-
encrypt step keeps the vault small, and decoding is a handful of numpy calls, not a Python
loop per sample. The store encrypts the result; nothing here is ever written in the clear.

Layout (little-endian): magic ``QSC1``, u32 sample count, u32 string-table length, the
string table (JSON list; entry 0 is always ""), the unit (u16 length + UTF-8), then the
columns: start deltas (i64, shuffled), durations (i64, shuffled), values (f64, shuffled),
UTC offsets in minutes (i16), and source, device and metadata indexes (u16 or u32, by flag).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from vault.core.errors import TamperedRecord
from vault.core.i18n import N_

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    I64 = npt.NDArray[np.int64]
    F64 = npt.NDArray[np.float64]
    I16 = npt.NDArray[np.int16]
    IDX = npt.NDArray[np.int64]

MAGIC: Final = b"QSC1"
DAY_MS: Final = 86_400_000
# The metadata key of a sample that stands for a record of its own (a clinical record): two
# such samples are duplicates only if they name the same record, so two resources of one
# provider at one instant stay two samples.
RECORD_KEY: Final = "record"
_HEAD = struct.Struct("<4sIIB")
_WIDE = 1  # flag: string indexes are u32


@dataclass(frozen=True)
class Columns:
    """Samples of one metric as parallel arrays (sorted when they come from a chunk).

    `source`, `device` and `meta` index into `strings`, whose entry 0 is "" (none).
    """

    start: I64
    end: I64
    value: F64
    offset: I16
    source: IDX
    device: IDX
    meta: IDX
    strings: tuple[str, ...]
    unit: str

    def __len__(self) -> int:
        return int(self.start.shape[0])

    def take(self, index: Any) -> Columns:
        """The rows selected by a boolean mask or an index array (same string table)."""
        return Columns(
            self.start[index],
            self.end[index],
            self.value[index],
            self.offset[index],
            self.source[index],
            self.device[index],
            self.meta[index],
            self.strings,
            self.unit,
        )

    def source_names(self) -> list[str]:
        """The source name of every row (for callers that want Python values)."""
        names = self.strings
        return [names[i] for i in self.source.tolist()]


def empty(unit: str = "") -> Columns:
    import numpy as np

    z = np.zeros(0, dtype=np.int64)
    return Columns(
        z, z.copy(), np.zeros(0), np.zeros(0, dtype=np.int16), z.copy(), z.copy(), z.copy(),
        ("",), unit,
    )  # fmt: skip


def _shuffle(arr: Any) -> bytes:
    """Byte-transpose an 8-byte array: the high bytes line up, so zlib squeezes them."""
    import numpy as np

    raw = np.ascontiguousarray(arr).view(np.uint8).reshape(-1, 8)
    return bytes(raw.T.tobytes())


def _unshuffle(buf: bytes, n: int, dtype: Any) -> Any:
    import numpy as np

    raw = np.frombuffer(buf, dtype=np.uint8).reshape(8, n)
    return np.ascontiguousarray(raw.T).view(dtype).reshape(n)


def compact(cols: Columns) -> Columns:
    """The same rows with the string table cut to the entries they use ("" stays at 0), so
    a chunk never carries a source, device or metadata of rows that were removed."""
    import numpy as np

    used = np.zeros(len(cols.strings), dtype=bool)
    used[0] = True
    for arr in (cols.source, cols.device, cols.meta):
        used[arr] = True
    if used.all():
        return cols
    newpos = np.cumsum(used) - 1
    strings = tuple(s for s, u in zip(cols.strings, used.tolist(), strict=True) if u)
    return Columns(
        cols.start, cols.end, cols.value, cols.offset,
        newpos[cols.source], newpos[cols.device], newpos[cols.meta], strings, cols.unit,
    )  # fmt: skip


def encode(cols: Columns) -> bytes:
    """Serialise columns (sorted and deduplicated) into chunk bytes; strings no row uses
    are dropped."""
    import numpy as np

    cols = compact(cols)
    n = len(cols)
    strings = json.dumps(list(cols.strings), ensure_ascii=False, separators=(",", ":")).encode()
    wide = len(cols.strings) > 0xFFFF
    idx_type = np.uint32 if wide else np.uint16
    unit = cols.unit.encode()
    deltas = np.diff(cols.start, prepend=np.int64(0)).astype(np.int64)
    parts = [
        _HEAD.pack(MAGIC, n, len(strings), _WIDE if wide else 0),
        strings,
        struct.pack("<H", len(unit)),
        unit,
        _shuffle(deltas),
        _shuffle((cols.end - cols.start).astype(np.int64)),
        _shuffle(cols.value.astype(np.float64)),
        cols.offset.astype("<i2").tobytes(),
        cols.source.astype(idx_type).tobytes(),
        cols.device.astype(idx_type).tobytes(),
        cols.meta.astype(idx_type).tobytes(),
    ]
    return b"".join(parts)


def decode(data: bytes) -> Columns:
    """Parse chunk bytes back into columns (bulk numpy reads, no per-sample Python)."""
    import numpy as np

    try:
        magic, n, slen, flags = _HEAD.unpack_from(data)
        if magic != MAGIC:
            raise ValueError("magic")
        pos = _HEAD.size
        strings = tuple(str(s) for s in json.loads(data[pos : pos + slen]))
        pos += slen
        (ulen,) = struct.unpack_from("<H", data, pos)
        pos += 2
        unit = data[pos : pos + ulen].decode()
        pos += ulen
        w = 8 * n
        start = np.cumsum(_unshuffle(data[pos : pos + w], n, np.int64), dtype=np.int64)
        pos += w
        end = start + _unshuffle(data[pos : pos + w], n, np.int64)
        pos += w
        value = _unshuffle(data[pos : pos + w], n, np.float64)
        pos += w
        offset = np.frombuffer(data, dtype="<i2", count=n, offset=pos).astype(np.int16)
        pos += 2 * n
        idx_type = np.dtype("<u4") if flags & _WIDE else np.dtype("<u2")
        iw = idx_type.itemsize * n
        source = np.frombuffer(data, dtype=idx_type, count=n, offset=pos).astype(np.int64)
        device = np.frombuffer(data, dtype=idx_type, count=n, offset=pos + iw).astype(np.int64)
        meta = np.frombuffer(data, dtype=idx_type, count=n, offset=pos + 2 * iw).astype(np.int64)
        if pos + 3 * iw != len(data) or not strings or strings[0] != "":
            raise ValueError("length")
        if n and max(int(source.max()), int(device.max()), int(meta.max())) >= len(strings):
            raise ValueError("index")
    except (ValueError, struct.error, UnicodeDecodeError, TypeError) as exc:
        # The record authenticated, so this is a bug or a format mismatch, never tampering
        # that went unnoticed; still refuse to return wrong data.
        raise TamperedRecord(N_("a quantified-self chunk cannot be decoded")) from exc
    return Columns(start, end, value, offset, source, device, meta, strings, unit)


def from_lists(columns: Sequence[Any], strings: Sequence[str], unit: str) -> Columns:
    """Columns from the writer's buffers (start, end, value, offset, source, device, meta as
    array.array or lists), not yet sorted."""
    import numpy as np

    start, end, value, offset, source, device, meta = columns
    return Columns(
        np.asarray(start, dtype=np.int64),
        np.asarray(end, dtype=np.int64),
        np.asarray(value, dtype=np.float64),
        np.asarray(offset, dtype=np.int16),
        np.asarray(source, dtype=np.int64),
        np.asarray(device, dtype=np.int64),
        np.asarray(meta, dtype=np.int64),
        tuple(strings),
        unit,
    )


def concat(parts: Sequence[Columns]) -> Columns:
    """The rows of several parts (at least one), one part after another, with the first
    part's unit and one string table for all: "" at 0, then each string where it first
    appears (parts that already share one table keep it)."""
    import numpy as np

    if all(p.strings == parts[0].strings for p in parts):  # no remapping needed
        strings = parts[0].strings
        srcs = [p.source for p in parts]
        devs = [p.device for p in parts]
        metas = [p.meta for p in parts]
    else:
        names: list[str] = [""]
        table: dict[str, int] = {"": 0}
        srcs, devs, metas = [], [], []
        for p in parts:
            mapping = np.empty(len(p.strings), dtype=np.int64)
            for i, name in enumerate(p.strings):
                j = table.get(name)
                if j is None:
                    j = table[name] = len(names)
                    names.append(name)
                mapping[i] = j
            srcs.append(mapping[p.source])
            devs.append(mapping[p.device])
            metas.append(mapping[p.meta])
        strings = tuple(names)
    return Columns(
        np.concatenate([p.start for p in parts]),
        np.concatenate([p.end for p in parts]),
        np.concatenate([p.value for p in parts]),
        np.concatenate([p.offset for p in parts]),
        np.concatenate(srcs),
        np.concatenate(devs),
        np.concatenate(metas),
        strings,
        parts[0].unit,
    )


def _names_record(text: str) -> str | None:
    """The record a metadata string names (`RECORD_KEY`), None if it names none."""
    if f'"{RECORD_KEY}":' not in text:  # most strings: no JSON parsed
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    value = found.get(RECORD_KEY) if isinstance(found, dict) else None
    return value if isinstance(value, str) else None


def record_keys(cols: Columns) -> IDX:
    """Per row, what tells its record apart: its metadata's index in the string table if that
    metadata names a record (`RECORD_KEY`), else 0. Equal keys with equal start, end, value,
    source and device make an exact duplicate."""
    import numpy as np

    named = np.array(
        [i if i and _names_record(s) is not None else 0 for i, s in enumerate(cols.strings)],
        dtype=np.int64,
    )
    return named[cols.meta]


def naming(cols: Columns, record_id: str) -> Any:
    """The mask of the rows whose metadata names `record_id`."""
    import numpy as np

    idx = [i for i, s in enumerate(cols.strings) if i and _names_record(s) == record_id]
    return np.isin(cols.meta, np.array(idx, dtype=np.int64))


def merge(old: Columns | None, new: Columns) -> tuple[Columns, int]:
    """Merge new samples into a chunk: sort, drop exact duplicates, compact the strings.

    An exact duplicate has the same start, end, value, source and device as another sample
    (re-importing an export adds nothing; the same reading from two sources stays twice) and,
    for a sample that stands for a record, names the same record (`RECORD_KEY`).
    Returns the merged columns and how many of the new samples were duplicates.
    """
    import numpy as np

    parts = [c for c in (old, new) if c is not None and len(c)]
    if not parts:
        return empty(new.unit), 0
    joined = concat(parts)
    start, end, value, offset = joined.start, joined.end, joined.value, joined.offset
    source, device, meta = joined.source, joined.device, joined.meta
    keys = record_keys(joined)  # in the joined table, equal strings have one index
    order = np.lexsort((keys, value, device, source, end, start))
    start, end, value, keys = start[order], end[order], value[order], keys[order]
    offset, source, device, meta = offset[order], source[order], device[order], meta[order]
    if len(start) > 1:
        same = (
            (start[1:] == start[:-1])
            & (end[1:] == end[:-1])
            & (value[1:] == value[:-1])
            & (source[1:] == source[:-1])
            & (device[1:] == device[:-1])
            & (keys[1:] == keys[:-1])
        )
        keep = np.concatenate(([True], ~same))
        start, end, value = start[keep], end[keep], value[keep]
        offset, source, device, meta = offset[keep], source[keep], device[keep], meta[keep]
    before = sum(len(c) for c in parts)
    dups = before - len(start)
    unit = new.unit or (old.unit if old is not None else "")
    merged = compact(Columns(start, end, value, offset, source, device, meta, joined.strings, unit))
    return merged, dups


def utc_day(ms: int) -> str:
    """The UTC date (YYYY-MM-DD) of an instant in ms: the day a sample's chunk is filed under."""
    import datetime as dt

    return (dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=ms - ms % DAY_MS)).strftime(
        "%Y-%m-%d"
    )


def day_start_ms(day: str) -> int:
    """The first UTC ms of a YYYY-MM-DD date."""
    import datetime as dt

    d = dt.date.fromisoformat(day)
    return (d - dt.date(1970, 1, 1)).days * DAY_MS
