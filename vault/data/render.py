"""Bulk text rendering of sample columns: ISO 8601 instants, numbers, escaped strings, ids.

The FHIR, Open mHealth and CSV exports write hundreds of thousands of samples; formatting
each field of each sample in Python (a datetime, a dict, a json.dumps) costs far more than
the data. These helpers turn whole numpy columns into the bytes of the rows: each distinct
value's text is computed once, instants are gathered from tables of dates and times of day,
and rows are laid out in byte matrices, so nothing is formatted per sample. The output is
exactly what the per-sample code writes (`query.iso`, `repr`, `json.dumps`, `csv`).
"""

from __future__ import annotations

import json
import math
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

MINUTE_MS = 60_000


def offset_suffix(offset_min: int) -> str:
    """The `+HH:MM` / `-HH:MM` suffix `datetime.isoformat` writes for a fixed UTC offset."""
    sign = "-" if offset_min < 0 else "+"
    hours, minutes = divmod(abs(offset_min), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


Formatter = Callable[[list[float]], list[str]]  # the texts of a list of values


class _LastDistinct:
    """The distinct values of the last column asked about, and their texts: the FHIR, Open
    mHealth and CSV documents of one metric are made one after the other from the same
    value column, and finding its distinct values (a sort) and formatting them is the larger
    part of the work on numbers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: weakref.ref[Any] | None = None
        self._found: tuple[list[float], Any] = ([], None)
        self._texts: dict[Formatter, list[str]] = {}

    def get(
        self, values: npt.NDArray[np.float64], fmt: Formatter
    ) -> tuple[list[str], npt.NDArray[np.int64]]:
        """(the text of each distinct value, by bit pattern, so 0.0 and -0.0 keep their
        own; per row, the index of its text)."""
        import numpy as np

        with self._lock:
            if self._values is not None and self._values() is values:
                distinct, inverse = self._found
                texts = self._texts.get(fmt)
                if texts is None:
                    texts = self._texts[fmt] = fmt(distinct)
                return texts, inverse
        bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
        found, inverse = np.unique(bits, return_inverse=True)
        distinct = found.view(np.float64).tolist()
        texts = fmt(distinct)
        with self._lock:
            self._values = weakref.ref(values, self._forget)
            self._found = (distinct, inverse.reshape(-1))
            self._texts = {fmt: texts}
            return texts, self._found[1]

    def _forget(self, gone: weakref.ref[Any]) -> None:
        """Drop what was found once its column is gone (it is as long as the column)."""
        with self._lock:
            if self._values is gone:
                self._values, self._found, self._texts = None, ([], None), {}


_DISTINCT = _LastDistinct()


def distinct_values(
    values: npt.NDArray[np.float64], fmt: Formatter
) -> tuple[list[str], npt.NDArray[np.int64]]:
    """The text `fmt` gives each distinct value and, per row, the index of its text."""
    return _DISTINCT.get(values, fmt)


def iso_lengths(ms: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The length of `query.iso` for every row: 25 characters, 29 with milliseconds (years
    1900 to 2199, the range the vault accepts, always have four digits)."""
    import numpy as np

    return np.where(ms % 1000 != 0, 29, 25).astype(np.int64)


def json_number(v: float) -> str:
    """A float as json.dumps writes it (finite values are their repr)."""
    return repr(v) if math.isfinite(v) else json.dumps(v)


@lru_cache(maxsize=8)
def json_rounded(digits: int) -> Formatter:
    """The JSON text of round(v, digits) for each value, as json.dumps writes it (one
    formatter per precision, so the texts made for one document serve the next)."""

    def fmt(values: list[float]) -> list[str]:
        if all(map(math.isfinite, values)):
            return [repr(round(v, digits)) for v in values]
        return [json_number(round(v, digits)) for v in values]

    return fmt


def shortest(values: list[float]) -> list[str]:
    """Each value's shortest exact text, without a trailing `.0` on whole numbers."""
    return [r[:-2] if r.endswith(".0") else r for r in map(repr, values)]


def json_string(s: str) -> str:
    """A JSON string literal, as json.dumps(ensure_ascii=False) writes it."""
    return json.dumps(s, ensure_ascii=False)


def random_uuids(n: int) -> list[str]:
    """`n` random (version 4) UUIDs in their 36-character text form, made in bulk."""
    if n <= 0:
        return []
    ids: list[str] = _uuid_bytes(n).view("S36").reshape(n).astype("U36").tolist()
    return ids


def _uuid_bytes(n: int) -> npt.NDArray[np.uint8]:
    """The text of `n` random (version 4) UUIDs, one 36-byte row each."""
    import numpy as np

    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexdigits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    digits = np.empty((n, 32), dtype=np.uint8)
    digits[:, 0::2] = hexdigits[raw >> 4]
    digits[:, 1::2] = hexdigits[raw & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for lo, hi, at in ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24)):
        out[:, at : at + hi - lo] = digits[:, lo:hi]
    return out


# --- rows as bytes --------------------------------------------------------------------------
#
# A row of an export is literal text with fields between: an id, two instants, a number, a
# source. For a slice of rows, each field becomes a matrix of bytes (one row of the matrix per
# sample) and the rows are laid side by side in a few matrices whose bytes are the output:
# no string is formatted per sample. A field whose texts differ in length (a number: "52.3",
# "112.7") is padded with NUL, which no rendered text holds, and ends its matrix, so that
# numpy's fixed-width bytes drop the padding when the matrix rows become `bytes`; the rows'
# pieces are then interleaved and joined once.


@dataclass(frozen=True)
class Column:
    """One field for every row of a slice: an (n, width) matrix whose rows are the field's
    UTF-8 text. `lengths` (per row) is set when some texts are shorter than `width`, the
    rest of their matrix row being NUL; `strippable` is False when a text itself ends with
    NUL (a CSV source may), which then cannot be told from the padding."""

    data: npt.NDArray[np.uint8]
    lengths: npt.NDArray[np.int64] | None = None
    strippable: bool = True

    @property
    def width(self) -> int:
        return int(self.data.shape[1])

    def take(self, rows: npt.NDArray[np.int64]) -> Column:
        lengths = None if self.lengths is None else self.lengths[rows]
        return Column(self.data[rows], lengths, self.strippable)


Part = bytes | Column  # literal bytes, the same in every row, or a field's column


@dataclass(frozen=True)
class Table:
    """Texts to gather rows from (the distinct numbers of a chunk, its string table), as
    UTF-8 in a NUL-padded matrix."""

    data: npt.NDArray[np.uint8]
    lengths: npt.NDArray[np.int64]
    ragged: bool
    strippable: bool

    @classmethod
    def of(cls, texts: Sequence[str]) -> Table:
        import numpy as np

        if not texts:
            return cls(np.zeros((0, 0), dtype=np.uint8), np.zeros(0, dtype=np.int64), False, True)
        joined = "".join(texts)
        if joined.isascii() and "\0" not in joined:
            # numbers and offsets: converted and measured by numpy, no work per text
            table = np.array(texts, dtype="S")
            lengths = np.char.str_len(table).astype(np.int64)
            strippable = True
        else:
            encoded = [t.encode("utf-8") for t in texts]
            table = np.array(encoded, dtype="S")
            lengths = np.array([len(e) for e in encoded], dtype=np.int64)
            strippable = not any(e.endswith(b"\0") for e in encoded)
        width = int(lengths.max())
        data = table.view(np.uint8).reshape(len(texts), -1)[:, :width]
        return cls(data, lengths, bool((lengths != width).any()), strippable)

    def column(self, index: npt.NDArray[Any]) -> Column:
        """The texts of `index[i]` for every row."""
        return Column(
            self.data[index], self.lengths[index] if self.ragged else None, self.strippable
        )


def take(parts: Sequence[Part], rows: npt.NDArray[np.int64]) -> list[Part]:
    """The parts of the rows `rows` only."""
    return [p if isinstance(p, bytes) else p.take(rows) for p in parts]


def _units(parts: Sequence[Part]) -> list[list[Part]]:
    """The parts cut after each ragged column (literals merged, empty fields left out): the
    pieces whose rows can be laid in one matrix and stripped of their padding."""
    units: list[list[Part]] = []
    unit: list[Part] = []
    for part in parts:
        if isinstance(part, bytes):
            if part:
                if unit and isinstance(unit[-1], bytes):
                    unit[-1] += part
                else:
                    unit.append(part)
        elif part.width:
            unit.append(part)
            if part.lengths is not None:
                units.append(unit)
                unit = []
    if unit:
        units.append(unit)
    return units


def _strippable(parts: Sequence[Part]) -> bool:
    """Whether the rows may be cut at their trailing NULs: no text ends with one (a CSV
    field may; a fixed-width column, an id or a date, holds none)."""
    return all(not p.endswith(b"\0") if isinstance(p, bytes) else p.strippable for p in parts)


class Assembler:
    """Lays rows out in byte matrices kept from one slice to the next: the literal text of
    a layout is written into its matrix once, and each slice then writes only its fields
    (an id, instants, a number: a fifth of a FHIR item)."""

    _KEPT = 32  # layouts kept; a document has a few (instants, intervals, milliseconds)

    def __init__(self) -> None:
        self._matrices: dict[tuple[bytes | int, ...], npt.NDArray[np.uint8]] = {}

    def _matrix(self, unit: Sequence[Part], n: int) -> npt.NDArray[np.uint8]:
        import numpy as np

        key = tuple(p if isinstance(p, bytes) else p.width for p in unit)
        kept = self._matrices.get(key)
        if kept is None or kept.shape[0] < n:
            width = sum(len(p) if isinstance(p, bytes) else p for p in key)
            kept = np.empty((n, width), dtype=np.uint8)
            at = 0
            for piece in key:
                if isinstance(piece, bytes):
                    kept[:, at : at + len(piece)] = np.frombuffer(piece, dtype=np.uint8)
                    at += len(piece)
                else:
                    at += piece
            if len(self._matrices) >= self._KEPT:
                self._matrices.clear()
            self._matrices[key] = kept
        out = kept[:n]
        at = 0
        for p in unit:
            if isinstance(p, bytes):
                at += len(p)
            else:
                out[:, at : at + p.width] = p.data
                at += p.width
        return out

    def _unit_rows(self, unit: Sequence[Part], n: int) -> list[bytes]:
        """The bytes of each row of a unit, its padding dropped."""
        if len(unit) == 1 and isinstance(unit[0], bytes):
            return [unit[0]] * n
        matrix = self._matrix(unit, n)
        rows: list[bytes] = matrix.view(f"S{matrix.shape[1]}").reshape(n).tolist()
        return rows

    def join(self, parts: Sequence[Part], n: int) -> list[bytes]:
        """The `n` rows, each the concatenation of `parts`, one after the other, in pieces
        of at most about `PIECE` bytes: a larger `bytes` is fresh memory the system maps
        anew each time, which cost as much as making the rows; pieces this size reuse it."""
        if n <= 0:
            return []
        if not _strippable(parts):
            return _pieces(_rows_by_lengths(parts, n), 1, sum(_width(p) for p in parts))
        units = _units(parts)
        if not units:
            return []
        if len(units) == 1 and not any(
            isinstance(p, Column) and p.lengths is not None for p in units[0]
        ):
            if len(units[0]) == 1 and isinstance(units[0][0], bytes):
                return _pieces([units[0][0]] * n, 1, len(units[0][0]))
            matrix = self._matrix(units[0], n)
            per = max(1, PIECE // max(1, matrix.shape[1]))
            return [matrix[i : i + per].tobytes() for i in range(0, n, per)]
        rows = [self._unit_rows(u, n) for u in units]
        k = len(rows)
        out: list[bytes] = rows[0] if k == 1 else [b""] * (n * k)
        if k > 1:
            for i, unit in enumerate(rows):
                out[i::k] = unit
        return _pieces(out, k, sum(_width(p) for u in units for p in u))

    def rows(self, parts: Sequence[Part], n: int) -> list[bytes]:
        """The bytes of each of the `n` rows (the concatenation of `parts`), one per row."""
        if n <= 0:
            return []
        if not _strippable(parts):
            return _rows_by_lengths(parts, n)
        pieces = [self._unit_rows(u, n) for u in _units(parts)]
        if not pieces:
            return [b""] * n
        if len(pieces) == 1:
            return pieces[0]
        return [b"".join(row) for row in zip(*pieces, strict=True)]


PIECE = 64 * 1024  # bytes of rows joined at a time, below where malloc maps fresh memory


def _width(part: Part) -> int:
    return len(part) if isinstance(part, bytes) else part.width


def _pieces(items: list[bytes], per_row: int, row_width: int) -> list[bytes]:
    """`items` (`per_row` of them a row, a row at most `row_width` bytes) joined in pieces
    of at most about `PIECE` bytes."""
    per = max(1, PIECE // max(1, row_width)) * per_row
    return [b"".join(items[i : i + per]) for i in range(0, len(items), per)]


def _rows_by_lengths(parts: Sequence[Part], n: int) -> list[bytes]:
    """Rows cut by their recorded lengths: the slow way, for a text that ends in NUL."""
    columns: list[list[bytes]] = []
    for p in parts:
        if isinstance(p, bytes):
            columns.append([p] * n)
        elif p.lengths is None:
            columns.append([bytes(r) for r in p.data])
        else:
            columns.append([bytes(r[:k]) for r, k in zip(p.data, p.lengths.tolist(), strict=True)])
    return [b"".join(row) for row in zip(*columns, strict=True)]


@lru_cache(maxsize=1)
def _clock_tables() -> tuple[Any, Any]:
    """The text of every second of a day ("THH:MM:SS", 760 KiB) and of every millisecond
    (".001" to ".999", row 0 empty), as byte matrices to gather from."""
    import numpy as np

    two = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), dtype=np.uint8)
    two = two.reshape(100, 2)
    second = np.arange(86_400)
    clock = np.empty((86_400, 9), dtype=np.uint8)
    clock[:, 0] = ord("T")
    clock[:, 1:3] = two[second // 3600]
    clock[:, 3] = clock[:, 6] = ord(":")
    clock[:, 4:6] = two[second // 60 % 60]
    clock[:, 7:9] = two[second % 60]
    frac = np.zeros((1000, 4), dtype=np.uint8)
    frac[1:, 0] = ord(".")
    milli = np.arange(1, 1000)
    frac[1:, 1] = ord("0") + milli // 100
    frac[1:, 2:4] = two[milli % 100]
    return clock, frac


def iso_parts(ms: npt.NDArray[np.int64], offset: npt.NDArray[Any]) -> list[Part]:
    """`query.iso(ms[i], offset[i])` for every row, as parts: the date and time to the
    second (local time at the recorded offset), the milliseconds when some rows have them,
    and the UTC offset."""
    import numpy as np

    n = int(ms.shape[0])
    clock, frac = _clock_tables()
    off = offset.astype(np.int64)
    seconds, milli = np.divmod(ms + off * MINUTE_MS, 1000)
    days, of_day = np.divmod(seconds, 86_400)
    first, last = int(days.min()), int(days.max())
    if last - first < n:  # sorted samples: a slice spans a few days, a dense table
        span = np.arange(first, last + 1)
        which = days - first
    else:
        span, which = np.unique(days, return_inverse=True)
        which = which.reshape(-1)
    # numpy writes dates as ISO 8601, four-digit years for the years the vault holds
    dates = span.astype("datetime64[D]").astype("S10").view(np.uint8).reshape(-1, 10)
    text = np.empty((n, 19), dtype=np.uint8)
    text[:, :10] = dates[which]
    text[:, 10:] = clock[of_day]
    parts: list[Part] = [Column(text)]
    some = milli != 0
    if some.any():
        lengths = None if some.all() else np.where(some, 4, 0).astype(np.int64)
        parts.append(Column(frac[milli], lengths))
    first_off = int(off[0])
    if (off == first_off).all():
        parts.append(offset_suffix(first_off).encode("ascii"))
    else:
        distinct, index = np.unique(off, return_inverse=True)
        table = Table.of([offset_suffix(int(o)) for o in distinct.tolist()])
        parts.append(table.column(index.reshape(-1)))
    return parts


def uuid_column(n: int) -> Column:
    """`n` random (version 4) UUIDs in their 36-character text form."""
    return Column(_uuid_bytes(n))
