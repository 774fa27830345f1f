"""Bulk text rendering of sample columns: ISO 8601 instants, numbers, escaped strings, ids.

The FHIR, Open mHealth and CSV exports write hundreds of thousands of samples; formatting
each field of each sample in Python (a datetime, a dict, a json.dumps) costs far more than
the data. These helpers turn whole numpy columns into lists of ready-made text, computing
each distinct value's text once, so an export spends about one string format per sample.
The output is exactly what the per-sample code writes (`query.iso`, `repr`, `json.dumps`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

MINUTE_MS = 60_000
_EPOCH_DATE = dt.date(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH_DATE.toordinal()


def offset_suffix(offset_min: int) -> str:
    """The `+HH:MM` / `-HH:MM` suffix `datetime.isoformat` writes for a fixed UTC offset."""
    sign = "-" if offset_min < 0 else "+"
    hours, minutes = divmod(abs(offset_min), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


@lru_cache(maxsize=1)
def _clock_tables() -> tuple[Any, Any, Any]:
    """Texts of every minute of a day ("THH:MM"), second (":SS") and millisecond (".mmm",
    or "" for none), as object arrays to gather from."""
    hm = _objects([f"T{h:02d}:{m:02d}" for h in range(24) for m in range(60)])
    sec = _objects([f":{s:02d}" for s in range(60)])
    frac = _objects(["", *(f".{ms:03d}" for ms in range(1, 1000))])
    return hm, sec, frac


def _objects(texts: Sequence[str]) -> Any:
    import numpy as np

    table = np.empty(len(texts), dtype=object)
    table[:] = list(texts)
    return table


def iso_instants(ms: npt.NDArray[np.int64], offset: npt.NDArray[Any]) -> list[str]:
    """`query.iso(ms[i], offset[i])` for every row: local time at the recorded offset, to
    the second, or to the millisecond when there are some. Built from per-day, per-minute,
    per-second and per-millisecond texts, so nothing is formatted per row."""
    import numpy as np

    if not ms.shape[0]:
        return []
    hm, sec, frac = _clock_tables()
    off = offset.astype(np.int64)
    seconds, milli = np.divmod(ms + off * MINUTE_MS, 1000)
    days, of_day = np.divmod(seconds, 86_400)
    distinct, which = np.unique(days, return_inverse=True)
    dates = _objects(
        [dt.date.fromordinal(_EPOCH_ORDINAL + d).isoformat() for d in distinct.tolist()]
    )
    minute, second = np.divmod(of_day, 60)
    text = dates[which.reshape(-1)] + hm[minute] + sec[second] + frac[milli]
    first = int(off[0])
    if (off == first).all():
        text = text + offset_suffix(first)
    else:
        distinct, which = np.unique(off, return_inverse=True)
        text = (
            text + _objects([offset_suffix(int(o)) for o in distinct.tolist()])[which.reshape(-1)]
        )
    texts: list[str] = text.tolist()
    return texts


def pick(texts: Sequence[str], index: npt.NDArray[Any]) -> list[str]:
    """texts[index[i]] for every row, without a Python-level lookup per row."""
    picked: list[str] = _objects(texts)[index].tolist()
    return picked


def distinct_values(
    values: npt.NDArray[np.float64], fmt: Callable[[float], str], cache: dict[int, str]
) -> tuple[list[str], npt.NDArray[np.int64]]:
    """The text of each distinct value (distinct by bit pattern, so 0.0 and -0.0 keep their
    own text) and, per row, the index of its text. `cache` keeps texts across calls."""
    import numpy as np

    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
    distinct, inverse = np.unique(bits, return_inverse=True)
    texts = []
    for b, v in zip(distinct.tolist(), distinct.view(np.float64).tolist(), strict=True):
        text = cache.get(b)
        if text is None:
            text = cache[b] = fmt(v)
        texts.append(text)
    return texts, inverse.reshape(-1)


def per_value(
    values: npt.NDArray[np.float64],
    fmt: Callable[[float], str],
    cache: dict[int, str] | None = None,
) -> list[str]:
    """`fmt(values[i])` for every row, calling `fmt` once per distinct value."""
    if not values.shape[0]:
        return []
    return pick(*distinct_values(values, fmt, {} if cache is None else cache))


def utf8_lengths(texts: Sequence[str]) -> npt.NDArray[np.int64]:
    """The UTF-8 size of each text, as an array (for sizes computed without rendering)."""
    import numpy as np

    return np.array([len(t.encode("utf-8")) for t in texts], dtype=np.int64)


def iso_lengths(ms: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The length of `query.iso` for every row: 25 characters, 29 with milliseconds (years
    1900 to 2199, the range the vault accepts, always have four digits)."""
    import numpy as np

    return np.where(ms % 1000 != 0, 29, 25).astype(np.int64)


def per_index(
    index: npt.NDArray[Any], table: Sequence[str], fmt: Callable[[str], str]
) -> list[str]:
    """`fmt(table[index[i]])` for every row (a chunk's string table: sources, devices)."""
    return pick([fmt(s) for s in table], index)


def json_number(v: float) -> str:
    """A float as json.dumps writes it (finite values are their repr)."""
    return repr(v) if math.isfinite(v) else json.dumps(v)


def json_rounded(digits: int) -> Callable[[float], str]:
    """The JSON text of round(v, digits), as json.dumps writes it."""

    def fmt(v: float) -> str:
        return json_number(round(v, digits))

    return fmt


def json_string(s: str) -> str:
    """A JSON string literal, as json.dumps(ensure_ascii=False) writes it."""
    return json.dumps(s, ensure_ascii=False)


_HEX = b"0123456789abcdef"


def random_uuids(n: int) -> list[str]:
    """`n` random (version 4) UUIDs in their 36-character text form, made in bulk."""
    import numpy as np

    if n <= 0:
        return []
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexdigits = np.frombuffer(_HEX, dtype=np.uint8)
    digits = np.empty((n, 32), dtype=np.uint8)
    digits[:, 0::2] = hexdigits[raw >> 4]
    digits[:, 1::2] = hexdigits[raw & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for lo, hi, at in ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24)):
        out[:, at : at + hi - lo] = digits[:, lo:hi]
    text = out.view("S36").reshape(n).astype("U36")
    ids: list[str] = text.tolist()
    return ids
