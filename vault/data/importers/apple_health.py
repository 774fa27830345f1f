"""Apple Health `export.zip` / `export.xml`: records, correlations, workouts (events,
statistics, GPX routes), activity summaries and metadata, streamed in bounded memory.

Real exports exceed a million records and several GB, so export.xml is read as a stream
(from inside the zip when given one) and parsed by expat with tight handlers. Two quirks of
real exports are handled on the byte stream before the parse: the internal DTD that iOS 16
writes broken (it is blanked out, keeping line numbers) and stray control characters such
as \\x0b in attribute values (removed). Beat lists, one element a heartbeat, are read off the
stream too (`BeatLifter`): each run of beats becomes one placeholder element that the
parser's handler exchanges for the run, keeping every line and column expat reports.

Beside export.xml: `electrocardiograms/*.csv` become ECG records (voltages in a blob), the
beat-to-beat lists inside heart rate variability records become `heart_rate_beat` samples,
and `clinical-records/*.json` (FHIR resources) are kept as FHIR. `export_cda.xml` is not
read: it holds again, as an HL7 CDA document, readings export.xml already holds.
"""

from __future__ import annotations

import contextlib
import csv
import re
import secrets
import zipfile
from array import array
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from functools import partial
from itertools import pairwise
from math import isfinite
from pathlib import Path
from typing import IO, TYPE_CHECKING
from xml.parsers import expat

from vault.core.errors import InvalidParameter, MalformedInput, UnsafeArchive
from vault.core.i18n import N_, N_plural, Text
from vault.core.progress import Progress
from vault.data import health_records, metrics
from vault.data.importers import apple_hearing, apple_profile, common
from vault.data.importers.common import Item, Note, ReportIssue
from vault.data.importers.tracks import gpx_points
from vault.data.model import (
    SLEEP_STAGES,
    UNKNOWN_PREFIX,
    ActivitySummary,
    Ecg,
    RoutePoint,
    Sample,
    Series,
    Workout,
    WorkoutEvent,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from vault.core.importing import ImportSummary
    from vault.core.progress import ProgressCallback
    from vault.core.vault import Vault

PARALLEL_MIN_BYTES = 8 << 20  # below this, starting a helper process costs more than it saves
CHUNK = 1 << 20  # bytes fed to expat at a time: memory stays bounded whatever the size
HEAD_LIMIT = 8 << 20  # the DTD and header must end within this many bytes
_CONTROL = bytes([*range(9), 11, 12, *range(14, 32)])  # not allowed in XML 1.0
_ROOT = re.compile(rb"<HealthData[\s>/]")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MINUTES = {f":{m:02d}": m * 60 for m in range(60)}
_SECONDS = {f":{s:02d}": s for s in range(61)}  # 60: a leap second

SLEEP_VALUES: dict[str, int] = {
    "HKCategoryValueSleepAnalysisInBed": SLEEP_STAGES["in_bed"],
    "HKCategoryValueSleepAnalysisAsleep": SLEEP_STAGES["asleep"],
    "HKCategoryValueSleepAnalysisAsleepUnspecified": SLEEP_STAGES["asleep"],
    "HKCategoryValueSleepAnalysisAwake": SLEEP_STAGES["awake"],
    "HKCategoryValueSleepAnalysisAsleepCore": SLEEP_STAGES["core"],
    "HKCategoryValueSleepAnalysisAsleepDeep": SLEEP_STAGES["deep"],
    "HKCategoryValueSleepAnalysisAsleepREM": SLEEP_STAGES["rem"],
}
# Raw values of common category enums (HealthKit's own numbering), for non-sleep categories.
CATEGORY_VALUES: dict[str, float] = {
    "HKCategoryValueNotApplicable": 0.0,
    "HKCategoryValueAppleStandHourStood": 0.0,
    "HKCategoryValueAppleStandHourIdle": 1.0,
    "HKCategoryValueSeverityUnspecified": 0.0,
    "HKCategoryValueSeverityNotPresent": 1.0,
    "HKCategoryValueSeverityMild": 2.0,
    "HKCategoryValueSeverityModerate": 3.0,
    "HKCategoryValueSeveritySevere": 4.0,
    "HKCategoryValueEnvironmentalAudioExposureEventMomentaryLimit": 1.0,
    "HKCategoryValueHeadphoneAudioExposureEventSevenDayLimit": 1.0,
    "HKCategoryValueLowCardioFitnessEventLowFitness": 1.0,
}
_STAT_TOTALS = {
    "HKQuantityTypeIdentifierDistanceWalkingRunning": "distance",
    "HKQuantityTypeIdentifierDistanceCycling": "distance",
    "HKQuantityTypeIdentifierDistanceSwimming": "distance",
    "HKQuantityTypeIdentifierDistanceWheelchair": "distance",
    "HKQuantityTypeIdentifierDistanceDownhillSnowSports": "distance",
    "HKQuantityTypeIdentifierActiveEnergyBurned": "energy",
}
_LENGTH_M = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "ft": 0.3048, "yd": 0.9144, "cm": 0.01}
_ENERGY_KCAL = {"kcal": 1.0, "Cal": 1.0, "kJ": 1 / 4.184, "cal": 0.001, "J": 1 / 4184}
_TIME_S = {"s": 1.0, "min": 60.0, "hr": 3600.0, "h": 3600.0, "ms": 0.001, "d": 86400.0}


class AppleTimes:
    """Parses Apple's `2019-01-01 08:00:00 -0500` into (UTC ms, offset minutes), caching the
    hour and the offset parts, which repeat across millions of records."""

    def __init__(self) -> None:
        self._hours: dict[str, int] = {}
        self._offsets: dict[str, int] = {}

    def __call__(self, s: str) -> tuple[int, int]:
        if len(s) != 25 or s[19] != " ":
            raise ValueError("not an Apple date")
        hour = self._hours.get(s[:13])
        if hour is None:
            hour = self._hour(s[:13])
        off = self._offsets.get(s[20:])
        if off is None:
            off = self._offset(s[20:])
        # ":MM" and ":SS" through tables: faster than int(), and they validate the range
        return (hour + _MINUTES[s[13:16]] + _SECONDS[s[16:19]] - off * 60) * 1000, off

    def _hour(self, text: str) -> int:
        """Seconds from the epoch to `YYYY-MM-DD HH` read as UTC (validated, then cached)."""
        if text[4] != "-" or text[7] != "-" or text[10] != " ":
            raise ValueError("not an Apple date")
        h = int(text[11:13])
        if not 0 <= h <= 23:
            raise ValueError("impossible time of day")
        day = date(int(text[:4]), int(text[5:7]), int(text[8:10])).toordinal() - _EPOCH_ORDINAL
        secs = day * 86400 + h * 3600
        if len(self._hours) > 200_000:
            self._hours.clear()
        self._hours[text] = secs
        return secs

    def _offset(self, text: str) -> int:
        if len(text) != 5 or text[0] not in "+-" or not text[1:].isdigit():
            raise ValueError("bad UTC offset")
        hh, mm = int(text[1:3]), int(text[3:5])
        if hh > 18 or mm > 59:
            raise ValueError("impossible UTC offset")
        off = (hh * 60 + mm) * (-1 if text[0] == "-" else 1)
        self._offsets[text] = off
        return off


def pick_export_xml(names: list[str]) -> str | None:
    """The main document among an export's files: `export.xml`, else (localised exports
    name it differently) the one XML file beside the routes that is not the CDA document."""
    candidates = [
        n
        for n in names
        if n.lower().endswith(".xml")
        and not n.startswith("__MACOSX/")
        and not n.lower().endswith("_cda.xml")
        and n.count("/") <= 1
    ]
    exact = [n for n in candidates if n.rsplit("/", 1)[-1].lower() == "export.xml"]
    chosen = exact or candidates
    return min(chosen, key=lambda n: (n.count("/"), n)) if chosen else None


def device_name(raw: str) -> str:
    """Apple's device string without the per-record object address: `<<HKDevice: 0x…>,
    name:Apple Watch, …>` becomes `name:Apple Watch, …`."""
    if raw.startswith("<<HKDevice:"):
        _, _, rest = raw.partition(">, ")
        return rest[:-1] if rest.endswith(">") else rest
    return raw


# --- beat-to-beat lists --------------------------------------------------------------------------

BEAT_METRIC = "heart_rate_beat"
_DAY_MS = 86_400_000
_HALF_DAY_MS = _DAY_MS // 2
_SPACES = " \u202f\u00a0"  # iOS 17 writes a narrow no-break space before AM/PM


def time_of_day_ms(text: str) -> int:
    """An `InstantaneousBeatsPerMinute` time as ms after local midnight. Exports write it in
    the phone's locale: `6:14:48.94 PM`, `3:10:02,11\u202fAM`, `20:14:07.68`, `08:34:05,10`.
    ValueError for anything else."""
    t = text.strip(_SPACES)
    suffix = t[-2:].upper()
    twelve = suffix in ("AM", "PM")
    if twelve:
        t = t[:-2].rstrip(_SPACES)
    h, m, sec = t.split(":")
    hour, minute, second = int(h), int(m), float(sec.replace(",", "."))
    if twelve:
        if not 1 <= hour <= 12:
            raise ValueError("impossible hour")
        hour = hour % 12 + (12 if suffix == "PM" else 0)
    if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 61):
        raise ValueError("impossible time of day")
    return round((hour * 3600 + minute * 60 + second) * 1000)


class BeatClock:
    """`time_of_day_ms` for the many beats of an export, with the hour and minute part of
    each time read once (a minute holds some sixty beats) and only the seconds each time."""

    def __init__(self) -> None:
        self._minutes: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        # The common shapes have the seconds at a fixed place from the end: `8:29:59.42 PM`
        # (any one space character before AM/PM) and `20:14:07.68` (or `,68`).
        if text[-1:] == "M":
            key, seconds, colon = text[:-9] + text[-2:], text[-8:-3], text[-9:-8]
            fixed = text[-3:-2] in _SPACES
        else:
            key, seconds, colon = text[:-6], text[-5:], text[-6:-5]
            fixed = True
        if not (fixed and colon == ":" and seconds[2:3] in (".", ",")):
            return time_of_day_ms(text)
        base = self._minutes.get(key)
        if base is None:
            base = time_of_day_ms(text) - round(_seconds(seconds) * 1000)
            if len(self._minutes) > 100_000:
                self._minutes.clear()
            self._minutes[key] = base
        return base + round(_seconds(seconds) * 1000)


def _seconds(text: str) -> float:
    """`SS.ss` or `SS,ss` as seconds; ValueError unless both parts are digits."""
    whole, frac = text[:2], text[3:]
    if not (whole.isdigit() and frac.isdigit()):
        raise ValueError("impossible seconds")
    sec = int(whole) + int(frac) / float(10 ** len(frac))
    if sec >= 61:
        raise ValueError("impossible seconds")
    return sec


# Elements read as part of another (records, workouts, correlations...) or that hold nothing
# to import (the export's date): anything else is named in the summary as not imported.
_READ_ELSEWHERE = frozenset(
    {
        "ExportDate",
        "HeartRateVariabilityMetadataList",
        "WorkoutActivity",
        # Children of the vision prescriptions, which are counted as not imported.
        "RightEye",
        "LeftEye",
        "Attachment",
    }
)
# A time of day in the shapes locales write, as bytes: `8:29:59.42 PM` (a space, a narrow
# no-break space or a no-break space before AM/PM), `20:14:07,68`.
_BEAT_SHAPE = re.compile(
    rb"([0-9]{1,2}):([0-9]{2}):([0-9]{2})[.,]([0-9]{1,3})"
    rb"(?:(?: |\xe2\x80\xaf|\xc2\xa0)([AaPp][Mm]))?"
)
_TO_MS_REST = (60_000.0, 1000.0, 1.0)  # minutes, seconds and milliseconds to milliseconds
_SHAPE_TRIES = 4  # shapes tried per width before the rest of its times are read one by one


class _Shape:
    """Where the digits and separators of one time shape are (byte columns), and the weights
    that turn its digit columns into hour, minute, second and milliseconds in one product
    (in floating point, exact for these small integers, so that BLAS does it)."""

    __slots__ = ("digits", "meridiem", "other_bytes", "others", "weights")

    def __init__(self, m: re.Match[bytes]) -> None:
        import numpy as np

        self.digits = [i for g in (1, 2, 3, 4) for i in range(*m.span(g))]
        self.meridiem = m.start(5) if m.group(5) is not None else -1  # the A or P of AM/PM
        self.others = [
            i for i in range(len(m.string)) if i not in self.digits and i != self.meridiem
        ]
        self.other_bytes = np.frombuffer(m.string, dtype=np.uint8)[self.others]
        self.weights = np.zeros((len(self.digits), 4))
        for column, group in enumerate((1, 2, 3, 4)):
            lo, hi = m.span(group)
            for i in range(lo, hi):
                place = 10 ** (hi - 1 - i)
                if group == 4:  # the fraction: its digits are tenths, hundredths...
                    place = 10 ** (2 - (i - lo))
                self.weights[self.digits.index(i), column] = place

    def read(
        self, grid: npt.NDArray[np.uint8]
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
        """Which rows of `grid` (one time a row) have this shape, and their times as ms after
        midnight (meaningless where they do not)."""
        import numpy as np

        cells = grid[:, self.digits] - np.uint8(48)  # below "0" wraps past 9
        ok = (cells <= 9).all(axis=1) & (grid[:, self.others] == self.other_bytes).all(axis=1)
        parts = cells @ self.weights  # hour, minute, second, milliseconds
        hour = parts[:, 0]
        if self.meridiem >= 0:
            letter = grid[:, self.meridiem] | 0x20  # lower case
            pm = letter == ord("p")
            ok &= (pm | (letter == ord("a"))) & (hour >= 1) & (hour <= 12)
            hour = hour % 12 + pm * 12
        else:
            ok &= hour <= 23
        ok &= (parts[:, 1] <= 59) & (parts[:, 2] <= 60)  # 60: a leap second
        ms = hour * 3_600_000 + parts[:, 1:] @ _TO_MS_REST
        return ok, ms.astype(np.int64)


_SHAPES: dict[bytes, _Shape | None] = {}
# A time with its digits as 0 and its A or P as `a` stands for its shape (the key of _SHAPES).
_SHAPE_KEY = bytes.maketrans(b"0123456789AaPp", b"0000000000aaaa")


def _shape(row: bytes) -> _Shape | None:
    """The shape of the time `row`, None when it has none of the bulk-readable shapes."""
    key = row.translate(_SHAPE_KEY)
    try:
        return _SHAPES[key]
    except KeyError:
        pass
    m = _BEAT_SHAPE.fullmatch(row)
    if len(_SHAPES) > 1000:  # bounded, whatever a file holds
        _SHAPES.clear()
    found = _SHAPES[key] = None if m is None else _Shape(m)
    return found


def _values(small: npt.NDArray[np.int64]) -> list[int]:
    """The distinct values of an array of small non-negative integers (widths), in order:
    counted rather than sorted."""
    import numpy as np

    found: list[int] = np.flatnonzero(np.bincount(small)).tolist()
    return found


def times_of_day(
    data: bytes, lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64], clock: Callable[[str], int]
) -> npt.NDArray[np.int64]:
    """The times `data[lo[i]:hi[i]]` (UTF-8) as ms after local midnight, -1 where a time
    cannot be read: `clock`'s reading of each, done in bulk. Times of one width that share
    the shape of the first (the same separators, digits where digits go) are read as one
    byte grid; any other is given to `clock` (which also refuses the bad ones)."""
    import numpy as np

    buf = np.frombuffer(data, dtype=np.uint8)
    out = np.full(len(lo), -2, dtype=np.int64)  # -2: not read yet
    widths = hi - lo
    if not widths.size:
        return out
    one = int(widths[0])
    groups = [one] if (widths == one).all() else _values(widths)
    for width in groups:
        rows = np.arange(widths.size) if len(groups) == 1 else np.flatnonzero(widths == width)
        for _ in range(_SHAPE_TRIES):
            if not rows.size or not 0 < width <= 96:
                break
            first = int(lo[rows[0]])
            shape = _shape(data[first : first + width])
            if shape is None:
                break
            ok, ms = shape.read(buf[lo[rows, None] + np.arange(width)])
            out[rows[ok]] = ms[ok]
            rows = rows[~ok]
    for i in np.flatnonzero(out == -2).tolist():
        try:
            out[i] = clock(data[lo[i] : hi[i]].decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            out[i] = -1
    return out


# The most beats one record keeps: a real list covers a minute or so (about 60 to 120 beats),
# and millions in one record would otherwise be held whole until the record ends.
MAX_LIST_BEATS = 100_000

# A beat list as kept until its block is read: its record's local midnight and the bounds
# past which a time belongs to the day before or after (UTC ms), its times of day (ms, -1
# where unreadable) and rates (NaN where unreadable), and who measured it (source, device,
# UTC offset).
BeatOwner = tuple[str, str, int]
BeatList = tuple[int, int, int, "array[int]", "array[float]", BeatOwner]


def beat_instant(record_start: int, offset_min: int, time_of_day: int) -> int:
    """The UTC instant of a beat given as a local time of day, on the day of its record's
    start, or the next day when the list runs past midnight."""
    local = record_start + offset_min * 60_000
    moment = local - local % _DAY_MS + time_of_day
    if moment < local - _HALF_DAY_MS:
        moment += _DAY_MS
    elif moment > local + _HALF_DAY_MS:
        moment -= _DAY_MS
    return moment - offset_min * 60_000


def read_beat_lists(lists: list[BeatList]) -> tuple[list[Series], int]:
    """Many beat lists at once (those of one block of export.xml) as series of their good
    beats, one per source, device, offset and UTC day (what a day's chunk stores), and the
    number of the others (an unreadable time or rate, a rate out of 10 to 300)."""
    import numpy as np

    sizes = [len(item[3]) for item in lists]
    tod = np.frombuffer(b"".join(item[3] for item in lists), dtype=np.int64)
    rate = np.frombuffer(b"".join(item[4] for item in lists), dtype=np.float64)
    midnight, early, late = (
        np.repeat(np.array([item[k] for item in lists], dtype=np.int64), sizes) for k in range(3)
    )
    t = midnight + tod
    t = np.where(t < early, t + _DAY_MS, t)
    t = np.where(t > late, t - _DAY_MS, t)
    ok = (tod >= 0) & (rate >= 10.0) & (rate <= 300.0)  # NaN fails
    owners: dict[BeatOwner, int] = {}
    mine = np.repeat(np.array([owners.setdefault(item[5], len(owners)) for item in lists]), sizes)
    t, rate, mine = t[ok], rate[ok], mine[ok]
    series: list[Series] = []
    if t.size:
        day = t // _DAY_MS
        key = mine * (int(day.max()) - int(day.min()) + 1) + (day - day.min())
        order = np.argsort(key, kind="stable")  # beats keep their order within a series
        t, rate, key = t[order], rate[order], key[order]
        cuts = [0, *(np.flatnonzero(key[1:] != key[:-1]) + 1).tolist(), t.size]
        by_id = list(owners)
        times, rates = array("q", t.tobytes()), array("d", rate.tobytes())
        for a, b in pairwise(cuts):
            source, device, offset = by_id[int(mine[order[a]])]
            series.append(
                Series(BEAT_METRIC, "/min", times[a:b], rates[a:b], source, device, offset)
            )
    return series, len(ok) - int(np.count_nonzero(ok))


def read_beat(bpm: str, when: str, clock: Callable[[str], int]) -> tuple[int, float]:
    """One beat element as expat reports it: (time of day in ms, rate), -1 and NaN where
    they cannot be read (an attribute the element lacks is "", which neither accepts)."""
    try:
        tod = clock(when)
    except ValueError:
        tod = -1
    try:
        rate = float(bpm)
    except ValueError:
        rate = _NAN
    return tod, rate


# Beat lists read off the byte stream. A beat element costs expat an attribute dict and a
# start and an end callback into Python, which made beats most of an export's parsing time;
# the strict shape iOS writes is found by one regex per run of beats and read as numbers in
# bulk (all the runs of a block at once) instead.
LIFT_BEATS = True  # False: expat reads every beat element (the tests compare both ways)
# Possessive (`+`) quantifiers: what follows each can never be what it repeats (a quote
# after digits or a time, `<` after spaces), so giving back is useless and is not tried.
_BEAT = rb'<InstantaneousBeatsPerMinute bpm="[0-9]{1,16}+" time="[^"<&>\-\t\n\r]{0,96}+"/>'
_BEAT_RUN = re.compile(_BEAT + rb"(?:[ \t\r\n]*+" + _BEAT + rb")*+")
_BEAT_MAX = 160  # bytes: no element _BEAT matches is longer
_BEAT_START = b'<InstantaneousBeatsPerMinute bpm="'
_QUOTE = 34
_NAN = float("nan")
_LINE_END = re.compile(rb"\r\n?|\n")
_NOT_CONTINUATION = bytes(range(0x80)) + bytes(range(0xC0, 0x100))
_DECLARED = re.compile(rb"(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)")


class BeatLifter:
    """Takes runs of `<InstantaneousBeatsPerMinute bpm="…" time="…"/>` out of export.xml's
    bytes before expat reads them, each run replaced by one placeholder element whose only
    attribute is named by a random token drawn per import, its number the key of the run's
    beats in `runs` (times of day and rates, as `read_beat` reads them). The parser's handler
    claims a run where it meets its placeholder, as it would have read the beats themselves.

    Guarantees that keep the result identical to expat reading every element:
    - Only the strict shape is taken (ASCII digits, a time free of markup, `-`, `>` and
      whitespace other than spaces, valid UTF-8): anything else (other quoting or order,
      entities, more attributes) is left for expat. In that shape each element holds exactly
      four quotes, which is how the runs of a block are read as numbers at once.
    - The placeholder keeps the run's line ends and pads the last line with spaces, so every
      later line and column expat reports (issue locations, XML errors) is unchanged.
    - Inside a comment, CDATA section or processing instruction a placeholder stays text
      that expat never reports, so its beats are dropped as expat drops commented beats; a
      time holds no `-` or `>`, so lifting cannot end or start such a section. Runs not
      claimed by the end of a block are dropped (`clear`), so memory stays bounded.
    - A file cannot forge a placeholder: the token is unknown to whoever wrote the file, so
      a look-alike in the file is a beat element with an unknown attribute, read as expat
      reads it (a beat without bpm and time).
    """

    def __init__(self) -> None:
        self.token = "b" + secrets.token_hex(8)
        self.runs: dict[str, tuple[array[int], array[float]]] = {}
        self._opening = b"<InstantaneousBeatsPerMinute " + self.token.encode() + b'="'
        self.count = 0  # runs lifted so far
        self._carry = b""
        # Times the byte grids cannot read; the parser gives its own, so both share a cache.
        self.clock: Callable[[str], int] = BeatClock()
        self._pending = 0  # runs of the block being lifted, numbered from `count`

    def feed(self, data: bytes) -> bytes:
        """`data` with its runs lifted, up to the last `<` that may open a beat element; the
        rest is held for the next call (a beat element holds one `<`, so none is cut)."""
        buffer = self._carry + data if self._carry else data
        cut = buffer.rfind(b"<", max(0, len(buffer) - _BEAT_MAX))
        if cut < 0 or not _BEAT_START.startswith(buffer[cut : cut + len(_BEAT_START)]):
            cut = len(buffer)  # no beat element starts near the end: nothing to hold back
        self._carry = buffer[cut:]
        return self._sub(buffer[:cut] if cut < len(buffer) else buffer)

    def flush(self) -> bytes:
        """What `feed` held back, lifted: the end of the file."""
        rest, self._carry = self._carry, b""
        return self._sub(rest)

    def clear(self) -> None:
        """Drop the runs no handler claimed (in comments or CDATA): once expat has parsed a
        block, every placeholder of that block it will ever report has been reported."""
        self.runs.clear()

    def _sub(self, data: bytes) -> bytes:
        # A block without beats (most of an export) is passed on at the speed of a search.
        if _BEAT_START not in data:
            return data
        pieces: list[bytes] = []
        runs: list[bytes] = []
        done = 0
        for m in _BEAT_RUN.finditer(data):
            run = m.group()
            placeholder = self._placeholder(run)
            if placeholder is not None:
                pieces += (data[done : m.start()], placeholder)
                runs.append(run)
                done = m.end()
        if not runs:
            return data
        pieces.append(data[done:])
        self._read(runs)
        return b"".join(pieces)

    def _placeholder(self, run: bytes) -> bytes | None:
        """The element that stands for `run`, keeping its lines and the last one's width;
        None when the run is left for expat."""
        try:
            text = run.decode("utf-8")
        except UnicodeDecodeError:
            return None  # expat refuses it, as it would have
        if "\ufffe" in text or "\uffff" in text:  # not XML characters: expat refuses them
            return None
        placeholder = self._opening + str(self.count + self._pending).encode() + b'"/>'
        # As many line ends as expat counts: CR LF, a lone CR and a lone LF are one each (a CR
        # and an LF apart, `\r \n`, are two). Most runs have only LF, counted the fast way.
        ends = len(_LINE_END.findall(run)) if b"\r" in run else run.count(b"\n")
        breaks = b"\n" * ends
        last = run[max(run.rfind(b"\n"), run.rfind(b"\r")) + 1 :]
        # expat counts columns in characters: UTF-8 continuation bytes do not count
        width = len(last) - len(last.translate(None, _NOT_CONTINUATION))
        if not breaks:
            width -= len(placeholder)
            if width < 0:  # a single short beat: not worth keeping columns by other means
                return None
        self._pending += 1
        return placeholder + breaks + b" " * width

    def _read(self, runs: list[bytes]) -> None:
        """The beats of a block's lifted runs, read as numbers at once into `runs`."""
        import numpy as np

        data = b"".join(runs)
        buf = np.frombuffer(data, dtype=np.uint8)
        quotes = np.flatnonzero(buf == _QUOTE).reshape(-1, 4)  # bpm="…" time="…": four a beat
        tod = times_of_day(data, quotes[:, 2] + 1, quotes[:, 3], self.clock)
        rate = read_digits(buf, quotes[:, 0] + 1, quotes[:, 1])
        ends = np.cumsum([len(run) for run in runs])
        cuts = [0, *np.searchsorted(quotes[:, 0], ends).tolist()]  # the beats of each run
        times, rates = array("q", tod.tobytes()), array("d", rate.tobytes())
        for i, (a, b) in enumerate(pairwise(cuts)):
            self.runs[str(self.count + i)] = (times[a:b], rates[a:b])
        self.count += len(runs)
        self._pending = 0


def read_digits(
    buf: npt.NDArray[np.uint8], lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """The runs of ASCII digits `buf[lo[i]:hi[i]]` (1 to 16 of them) as numbers, as `float`
    reads them: right-aligned in a grid, the columns before each number read as zeros."""
    import numpy as np

    if not len(lo):
        return np.zeros(0, dtype=np.float64)
    width = int((hi - lo).max())
    at = hi[:, None] - np.arange(width, 0, -1)  # never before the element's `bpm="`
    cells = buf[at].astype(np.int64) - 48
    cells[at < lo[:, None]] = 0
    places = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    values: npt.NDArray[np.float64] = (cells @ places).astype(np.float64)
    return values


def _utf8_document(head: bytes) -> bool:
    """Whether export.xml is UTF-8 (declared so or not declared), as the lifted beats are
    decoded: any other encoding is left to expat whole."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return False
    m = _DECLARED.match(head)
    return m is None or m.group(1).lower() == b"utf-8"


# --- electrocardiograms/*.csv -------------------------------------------------------------------

MAX_ECG_BYTES = 64 << 20  # a 30 s recording is about 150 kB; this allows hours
MAX_ECG_SAMPLES = 4_000_000
MAX_ECG_HEADER = 64 << 10  # characters before the first voltage; real headers hold about 300
_VOLTAGE = re.compile(r"-?\d+(?:[.,]\d+)?")
_RATE = re.compile(r"\d+(?:[.,]\d+)?")
_NOT_VOLTAGE = dict.fromkeys(map(ord, "0123456789.-\r\n \t"))  # str.translate deletes these
_VOLT_UNITS = {"\u00b5v": "uV", "\u03bcv": "uV", "uv": "uV", "mv": "mV", "v": "V"}
# The ECG app's results as the English CSV writes them, to HKElectrocardiogram.Classification.
_ECG_CLASSES = {
    "sinus rhythm": "sinus_rhythm",
    "atrial fibrillation": "atrial_fibrillation",
    "heart rate under 50": "inconclusive_low_heart_rate",
    "low heart rate": "inconclusive_low_heart_rate",
    "heart rate over 120": "inconclusive_high_heart_rate",
    "heart rate over 150": "inconclusive_high_heart_rate",
    "high heart rate": "inconclusive_high_heart_rate",
    "poor recording": "inconclusive_poor_reading",
    "inconclusive": "inconclusive_other",
}


def number_bounds(
    text: bytes, limit: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
    """Where the whitespace-separated words of `text` start and end ([start, end)), for a
    text of digits, `.`, `-` and whitespace (every byte above a space is part of a word);
    None when there are more than `limit` (counted before their places are listed, so a
    file of one-digit words costs no list of them)."""
    import numpy as np

    inside = np.frombuffer(text, dtype=np.uint8) > 32
    edges = np.diff(inside.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starting = edges == 1
    if np.count_nonzero(starting) > limit:
        return None
    return np.flatnonzero(starting), np.flatnonzero(edges == -1)


_DECIMALS_AT_ONCE = 1 << 16  # numbers read together: bounded memory, whatever the file


def read_decimals(
    text: bytes, starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """The numbers `text[starts[i]:ends[i]]` (digits, `.` and `-`; whitespace between) as
    `float` reads each (`-48.673`, `5`, `.5`, `5.`), with array operations rather than a
    string and a `float` call a number; ValueError when one is not a number `float` reads.

    The numbers are read some 65,000 at a time, so that the arrays this takes stay small
    whatever the file; a group that holds a number longer than 15 characters is left to
    `float`, number by number.
    """
    import numpy as np

    out = np.empty(starts.size)
    for lo in range(0, starts.size, _DECIMALS_AT_ONCE):
        hi = min(lo + _DECIMALS_AT_ONCE, starts.size)
        base, stop = int(starts[lo]), int(ends[hi - 1])
        group = np.frombuffer(text, dtype=np.uint8, count=stop - base, offset=base)
        got = _decimals(group, starts[lo:hi] - base, ends[lo:hi] - base)
        if got is None:  # a number too long to be exact in the grid
            got = np.array(text[base:stop].split(), dtype=np.float64)
        out[lo:hi] = got
    return out


def _decimals(
    a: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64] | None:
    """`read_decimals` for one group, None when a number is longer than 15 characters.

    The numbers of each length are read as one grid of bytes: a number's digits as one
    integer (exact, below 10**15) divided by the power of ten its point stands for (exact):
    one correctly rounded division, so the same double `float` gives.
    """
    import numpy as np

    lengths = ends - starts
    if int(lengths.max()) > 15:
        return None
    signed = a[starts] == 45
    point = a == 46
    if np.count_nonzero(point) > starts.size:  # some number has two: refused before listing
        raise ValueError("not a number")
    points = np.flatnonzero(point)
    holder = np.searchsorted(starts, points, side="right") - 1  # the number of each point
    dots = np.bincount(holder, minlength=starts.size)
    if (
        np.count_nonzero(a == 45) != np.count_nonzero(signed)  # a sign only first
        or (dots > 1).any()
        or (lengths - dots - signed < 1).any()  # at least one digit
    ):
        raise ValueError("not a number")
    pow10 = np.array([float(10**k) for k in range(16)])
    whole = np.empty(starts.size)
    for width in _values(lengths):
        rows = np.flatnonzero(lengths == width)
        cells = a[starts[rows, None] + np.arange(width)] - np.uint8(48)
        cells[cells > 9] = 0  # the point and the sign: they take a place, add nothing
        whole[rows] = cells @ pow10[width - 1 :: -1]
    # The point took a place: the digits left of it are one place too far left.
    decimals = np.zeros(starts.size, dtype=np.int64)
    decimals[holder] = ends[holder] - points - 1
    digits = whole.astype(np.int64)
    right = 10**decimals
    digits = np.where(dots == 1, digits // (right * 10) * right + digits % right, digits)
    values: npt.NDArray[np.float64] = digits / pow10[decimals]
    values[signed] *= -1.0
    return values


def parse_ecg_csv(data: bytes, name: str, times: AppleTimes | None = None) -> Ecg:
    """One `electrocardiograms/ecg_*.csv`: a header of `key,value` lines (Name, Date of Birth,
    Recorded Date, Classification, Symptoms, Software Version, Device, Sample Rate, Lead, Unit)
    then one voltage per line, with the locale's decimal separator (`-48.673`, `-265,868`).

    The name and birth date are the persona's own and are not kept. MalformedInput (naming
    the file, never quoting it) when the header lacks the date or rate, or a line is not a
    number.
    """

    if len(data) > MAX_ECG_BYTES:
        raise MalformedInput(N_("{name}: larger than an ECG recording can be"), name=name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MalformedInput(N_("{name}: not UTF-8 text"), name=name) from None
    header: dict[str, str] = {}
    pos = 0
    while pos < len(text):  # the header, line by line, up to the first voltage
        if pos > MAX_ECG_HEADER:  # a dozen lines in real files: no voltage follows this
            raise MalformedInput(
                N_("{name}: no voltage in its first {kib} KiB (not an ECG recording)"),
                name=name,
                kib=MAX_ECG_HEADER >> 10,
            )
        nl = text.find("\n", pos, MAX_ECG_HEADER + 1)  # a longer line is not read at all
        if nl < 0:
            nl = len(text)
            if nl > MAX_ECG_HEADER:
                raise MalformedInput(
                    N_("{name}: no voltage in its first {kib} KiB (not an ECG recording)"),
                    name=name,
                    kib=MAX_ECG_HEADER >> 10,
                )
        line = text[pos:nl].rstrip("\r")
        stripped = line.strip()
        if stripped and _VOLTAGE.fullmatch(stripped):
            break
        if stripped:
            try:
                row = next(csv.reader([line]), [])
            except csv.Error:  # a stray line break or NUL inside the header
                raise MalformedInput(
                    N_("{name}: a header line cannot be read"), name=name
                ) from None
            if row:
                header[row[0].strip().lower()] = ",".join(row[1:]).strip()
        pos = nl + 1
    if "recorded date" not in header or "sample rate" not in header:
        raise MalformedInput(
            N_("{name}: no Recorded Date or Sample Rate line in its header (a localised export?)"),
            name=name,
        )
    try:
        start, offset = (times or AppleTimes())(header["recorded date"])
    except (ValueError, KeyError, IndexError):
        raise MalformedInput(N_("{name}: impossible Recorded Date"), name=name) from None
    rate_match = _RATE.search(header["sample rate"])
    rate = float(rate_match.group().replace(",", ".")) if rate_match else 0.0
    if not 1.0 <= rate <= 100_000.0:
        raise MalformedInput(N_("{name}: impossible Sample Rate"), name=name)
    unit = _VOLT_UNITS.get(header.get("unit", "\u00b5V").replace(" ", "").lower())
    if unit is None:
        raise MalformedInput(N_("{name}: the Unit line names no voltage unit"), name=name)
    # The locale's decimal comma becomes a point; then only digits, signs, points and line
    # breaks may remain (checked in one pass), and each line must read as a number.
    samples = text[pos:].replace(",", ".")
    if samples.translate(_NOT_VOLTAGE):
        raise MalformedInput(N_("{name}: a sample line is not a number"), name=name)
    raw = samples.encode("ascii")  # only the characters checked above are left
    bounds = number_bounds(raw, MAX_ECG_SAMPLES)
    if bounds is None:
        raise MalformedInput(N_("{name}: more samples than an ECG recording can hold"), name=name)
    starts, ends = bounds
    if not starts.size:
        raise MalformedInput(N_("{name}: no voltage samples"), name=name)
    try:
        volts = read_decimals(raw, starts, ends)
    except ValueError:
        raise MalformedInput(N_("{name}: a sample line is not a number"), name=name) from None
    average = header.get("average heart rate")
    avg_match = _RATE.search(average) if average else None
    text_class = header.get("classification", "")
    return Ecg(
        start=start,
        offset_min=offset,
        sample_rate_hz=rate,
        voltages=volts.astype("<f4").tobytes(),
        unit=unit,
        classification=_ECG_CLASSES.get(text_class.lower(), "unrecognized"),
        classification_text=text_class,
        symptoms=header.get("symptoms", ""),
        lead=header.get("lead", ""),
        software_version=header.get("software version", ""),
        average_heart_rate=float(avg_match.group().replace(",", ".")) if avg_match else None,
        device=header.get("device", ""),
        source="ECG",
        file=name.rsplit("/", 1)[-1],
    )


class _Metric:
    """What a record type maps to, resolved once per type: the registry entry, and the
    (factor, offset) that takes each accepted unit to the canonical one for range checks."""

    __slots__ = ("category", "fraction", "id", "known", "metric", "units")

    def __init__(self, type_id: str) -> None:
        m = metrics.lookup("apple", type_id)
        self.metric = m
        self.category = type_id.startswith("HKCategoryTypeIdentifier")
        self.units: dict[str, tuple[float, float]] = {}
        if m is None:
            self.id = UNKNOWN_PREFIX + type_id
            self.fraction = self.known = False
        else:
            self.id = m.id
            self.known = True
            self.fraction = m.apple_fraction
            self.units = {m.unit: (1.0, 0.0), "": (1.0, 0.0), **m.conversions}


class _Export:
    """Where the export's parts are: the export.xml stream and the workout routes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        self.xml_name = "export.xml"
        self.size: int | None = None
        self._prefix = ""  # folder of export.xml inside the zip
        self._dir = path.parent

    @contextlib.contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        path = self.path
        if path.is_dir():
            names = [
                f.relative_to(path).as_posix()
                for sub in (path, path / "apple_health_export")
                if sub.is_dir()
                for f in sub.iterdir()
                if f.is_file()
            ]
            found = pick_export_xml(names)
            if found is None:
                raise MalformedInput(
                    N_("{name}: no export.xml in this folder"), name=self.path.name
                )
            path = path / found
        if not path.is_file():
            raise MalformedInput(N_("{name}: no such file"), name=path.name)
        if zipfile.is_zipfile(path):
            self.zip = common.open_zip(path)
            try:
                by_name = {i.filename: i for i in self.zip.infolist() if not i.is_dir()}
                found = pick_export_xml(list(by_name))
                if found is None:
                    raise MalformedInput(
                        N_("{name}: no export.xml inside the archive"), name=path.name
                    )
                info = by_name[found]
                self.xml_name = f"{path.name}:{info.filename}"
                self._prefix = info.filename[: info.filename.rfind("/") + 1]
                self.size = info.file_size
                with self.zip.open(info) as stream:
                    yield stream
            finally:
                self.zip.close()
        else:
            self.xml_name = path.name
            self._dir = path.parent
            self.size = path.stat().st_size
            with path.open("rb") as stream:
                yield stream

    def members(self, folder: str, suffix: str) -> list[str]:
        """The files directly in `folder` beside export.xml whose names end with `suffix`
        (zip member names, or paths relative to export.xml's folder; links are not followed)."""
        if self.zip is not None:
            base = self._prefix + folder + "/"
            return sorted(
                i.filename
                for i in self.zip.infolist()
                if not i.is_dir()
                and i.filename.startswith(base)
                and "/" not in i.filename[len(base) :]
                and i.filename.lower().endswith(suffix)
            )
        where = self._dir / folder
        if where.is_symlink() or not where.is_dir():
            return []
        return sorted(
            f"{folder}/{f.name}"
            for f in where.iterdir()
            if f.name.lower().endswith(suffix) and not f.is_symlink() and f.is_file()
        )

    def has(self, name: str) -> bool:
        """Whether the export holds `name` beside export.xml."""
        if self.zip is not None:
            try:
                self.zip.getinfo(self._prefix + name)
            except KeyError:
                return False
            return True
        return (self._dir / name).is_file()

    def read(self, member: str, limit: int) -> bytes:
        """A member's bytes (MalformedInput beyond `limit`, without reading further)."""
        if self.zip is not None:
            info = self.zip.getinfo(member)
            if info.file_size > limit:
                raise MalformedInput(N_("{name}: larger than such a file can be"), name=member)
            with self.zip.open(info) as f:
                return f.read(limit + 1)
        with (self._dir / member).open("rb") as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise MalformedInput(N_("{name}: larger than such a file can be"), name=member)
        return data

    def route(self, ref: str, report: ReportIssue, location: str) -> list[RoutePoint]:
        """The points of a `workout-routes/…gpx` FileReference, all or none: a route file
        that cannot be read is skipped whole and named (its workout is kept without it)."""
        rel = ref.lstrip("/")
        if ".." in rel.split("/") or "\\" in rel:
            report(location, N_("route file path climbs out of the export: ignored"))
            return []
        where = self._prefix + rel if self.zip is not None else rel
        issues: list[tuple[str, str]] = []
        try:
            if self.zip is not None:
                with self.zip.open(self._prefix + rel) as f:
                    points = gpx_points(f, rel, lambda *i: issues.append(i))
            else:
                with (self._dir / rel).open("rb") as f:
                    points = gpx_points(f, rel, lambda *i: issues.append(i))
        except (KeyError, FileNotFoundError):
            base = rel.rsplit("/", 1)[-1]
            report(
                location,
                Text(N_("route file {file} is missing: workout kept without it"), file=base),
            )
            return []
        except UnsafeArchive:
            raise  # a hostile archive, not a bad file: the whole import is refused
        except Exception as exc:  # any failure of one file skips that file
            report(where, _skipped_whole(exc))
            return []
        for issue in issues:
            report(*issue)
        return points


def _prepare_head(stream: IO[bytes], name: str) -> tuple[bytes, bool]:
    """Read up to the root element and blank out the internal DTD (iOS 16 writes it broken;
    nothing in it is needed), saying whether it was broken. Newlines are kept so expat's line
    numbers stay true."""
    head = b""
    while True:
        block = stream.read(CHUNK)
        head += block
        m = _ROOT.search(head)
        if m or not block or len(head) > HEAD_LIMIT:
            break
    if m is None:
        if not head.strip():
            raise MalformedInput(N_("{name}: empty file"), name=name)
        raise MalformedInput(
            N_("{name}: not an Apple Health export (no <HealthData> element)"), name=name
        )
    start = head.find(b"<!DOCTYPE", 0, m.start())
    if start < 0:
        return head, False
    dtd = head[start : m.start()]
    broken = _malformed_prolog(head[: m.start()])
    return head[:start] + b"\n" * dtd.count(b"\n") + head[m.start() :], broken


def _malformed_prolog(prolog: bytes) -> bool:
    """Whether the XML declaration and internal DTD fail to parse on their own, as the DTD
    iOS 16 writes does (HealthKit Export Version 12: an ATTLIST left unclosed). A well-formed
    DTD (iOS 12 and 17 exports) is skipped as well, silently: nothing in it is needed, and an
    entity it declared could not be expanded."""
    probe = expat.ParserCreate()
    probe.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        probe.Parse(prolog + b"<HealthData/>", True)
    except expat.ExpatError:
        return True
    return False


# What the hot loop produces: a sample as a plain tuple of Sample's fields (cheap to build
# and to send between processes), or a finished Workout or ActivitySummary.
RawItem = tuple[str, int, int, float, str, str, str, int, tuple[tuple[str, str], ...]] | Item
ByteProgress = Callable[[int, int | None], None]  # (bytes just read, total bytes or None)


def _parse_head(
    parser: expat.XMLParserType, lifter: BeatLifter, data: bytes, stats: dict[str, int]
) -> None:
    """Parse a block read before the root element started: nothing is lifted until expat
    has reported `<HealthData>` (before it, the first of a run of beats would be the
    document's element and the next one an error, which a placeholder would hide). The
    block is parsed up to its first possible beat; if the root has started by then, the
    rest is lifted, else it goes to expat as it is. Two calls at most: expat reads an open
    comment again from its start at each call, so one call per beat would be quadratic."""
    beat = data.find(_BEAT_START)
    if beat < 0:
        parser.Parse(data, False)
        return
    parser.Parse(data[:beat], False)  # the root's start tag, if it comes first
    rest = data[beat:]
    parser.Parse(lifter.feed(rest) if stats["root"] else rest, False)


def _parse_raw(
    path: Path, report_issue: ReportIssue, note: Note, on_bytes: ByteProgress
) -> Iterator[list[RawItem]]:
    """The parse itself, yielding one batch of raw items per block of export.xml read."""
    export = _Export(path)
    read_errors = common.zip_read_errors()
    with export.open() as stream:
        name = export.xml_name
        out: list[RawItem] = []
        # clinical record file -> the provider that sent it and the FHIR version it wrote
        providers: dict[str, tuple[str, str]] = {}
        lifter = BeatLifter()
        parser, stats, finish, settle = _make_parser(
            out, report_issue, export, name, providers=providers, note=note, lifter=lifter
        )
        on_bytes(0, export.size)
        try:
            block, broken_dtd = _prepare_head(stream, name)
            if broken_dtd:
                note(
                    N_(
                        "the export's internal DTD is malformed (as iOS 16 writes it): it was "
                        "skipped"
                    )
                )
            removed = 0
            lift = LIFT_BEATS and _utf8_document(block.translate(None, _CONTROL))
            while block:
                clean = block.translate(None, _CONTROL)
                removed += len(block) - len(clean)
                try:
                    if not lift:
                        parser.Parse(clean, False)
                    elif stats["root"]:
                        parser.Parse(lifter.feed(clean), False)
                    else:
                        _parse_head(parser, lifter, clean, stats)
                except expat.ExpatError as exc:
                    raise _expat_error(name, exc) from None
                lifter.clear()
                settle()
                if out:
                    batch = out.copy()
                    out.clear()
                    yield batch
                on_bytes(len(block), export.size)
                block = stream.read(CHUNK)
            try:
                parser.Parse(lifter.flush(), True)
            except expat.ExpatError as exc:
                raise _expat_error(name, exc) from None
            finish()
            if out:
                yield out.copy()
            yield from _beside_export(export, report_issue, note, providers)
        except read_errors as exc:
            raise common.truncated(name, exc) from None
    if removed:
        note(
            Text(
                N_plural(
                    "{n} stray control character was removed from {name}",
                    "{n} stray control characters were removed from {name}",
                ),
                n=removed,
                name=name,
            )
        )
    if stats["twins"]:
        note(
            Text(
                N_plural(
                    "{n} reading inside correlations (blood pressure, food) also appears on "
                    "its own: it was imported once",
                    "{n} readings inside correlations (blood pressure, food) also appear on "
                    "their own: each was imported once",
                ),
                n=stats["twins"],
            )
        )
    if stats["nested_only"]:
        note(
            Text(
                N_plural(
                    "{n} reading that appears only inside correlations (blood pressure, food) "
                    "was imported",
                    "{n} readings that appear only inside correlations (blood pressure, food) "
                    "were imported",
                ),
                n=stats["nested_only"],
            )
        )
    skipped = stats["clinical"]
    if skipped:
        note(
            Text(
                N_plural(
                    "{n} vision prescription was not imported",
                    "{n} vision prescriptions were not imported",
                ),
                n=skipped,
            )
        )
    if stats["bad_beats"]:
        note(
            Text(
                N_plural(
                    "{n} beat-to-beat reading with an unreadable time or an impossible rate "
                    "was skipped",
                    "{n} beat-to-beat readings with an unreadable time or an impossible rate "
                    "were skipped",
                ),
                n=stats["bad_beats"],
            )
        )
    if stats["beats_over"]:
        note(
            Text(
                N_plural(
                    "{n:,} beat-to-beat reading past the first {most:,} of its record was not "
                    "imported",
                    "{n:,} beat-to-beat readings past the first {most:,} of their records were "
                    "not imported",
                ),
                n=stats["beats_over"],
                most=MAX_LIST_BEATS,
            )
        )
    if stats["me"]:
        note(
            Text(
                N_plural(
                    "{n} profile characteristic of a kind or value Coffre does not read was "
                    "not imported",
                    "{n} profile characteristics of kinds or values Coffre does not read were "
                    "not imported",
                ),
                n=stats["me"],
            )
        )
    if not stats["root"]:
        raise MalformedInput(
            N_("{name}: not an Apple Health export (no <HealthData> element)"), name=name
        )


def _beside_export(
    export: _Export,
    report_issue: ReportIssue,
    note: Note,
    providers: dict[str, tuple[str, str]],
) -> Iterator[list[RawItem]]:
    """The files beside export.xml: ECG recordings and clinical records, one batch per file.
    A file that cannot be read is skipped whole and named; the rest of the export is kept."""
    times = AppleTimes()
    for member in export.members("electrocardiograms", ".csv"):
        try:
            ecg = parse_ecg_csv(export.read(member, MAX_ECG_BYTES), member, times)
        except UnsafeArchive:
            raise
        except Exception as exc:  # one bad file skips that file
            report_issue(member, _skipped_whole(exc))
            continue
        yield [ecg]
    for member in export.members("clinical-records", ".json"):
        try:
            data = export.read(member, health_records.MAX_FHIR_BYTES)
            source, version = providers.get(member.rsplit("/", 1)[-1], ("", ""))
            record = health_records.read_fhir_resource(data, member, source, version)
        except UnsafeArchive:
            raise
        except Exception as exc:  # one bad file skips that file
            report_issue(member, _skipped_whole(exc))
            continue
        yield [replace(record, file=member.rsplit("/", 1)[-1])]
    if export.has("export_cda.xml"):
        note(
            N_(
                "export_cda.xml was not read: it repeats, as an HL7 CDA document, readings "
                "that export.xml holds and that were imported from there"
            )
        )


def _cook(batches: Iterator[list[RawItem]]) -> Iterator[Item]:
    """Raw batches as model values."""
    for batch in batches:
        for raw in batch:
            yield Sample(*raw) if type(raw) is tuple else raw  # type: ignore[misc]


def _progress_bar(progress: ProgressCallback | None) -> tuple[Progress, ByteProgress]:
    bar = Progress(N_("Reading Apple Health export"), progress, unit="bytes")
    started = False

    def on_bytes(n: int, total: int | None) -> None:
        nonlocal started
        if not started:
            bar.start(total)
            started = True
        if n:
            bar.advance(n)

    return bar, on_bytes


def parse_apple_health(
    path: str | Path,
    report_issue: ReportIssue,
    note: Note = common.ignore_note,
    *,
    progress: ProgressCallback | None = None,
    parallel: bool = False,
) -> Iterator[Item]:
    """Yield every sample, workout and activity summary of an Apple Health export.

    Recoverable problems (one bad record) go to `report_issue(location, problem)` and the
    record is skipped; malformed XML raises MalformedInput, a damaged zip TruncatedArchive.
    With `parallel`, the XML is parsed in a helper process while the caller consumes the
    items (about twice the throughput on two cores); the results are the same.
    """
    bar, on_bytes = _progress_bar(progress)
    if parallel:
        from vault.data.importers.parallel import batches_from_process

        batches = batches_from_process(
            _parse_raw_in_child, (str(path),), report_issue, note, on_bytes
        )
    else:
        batches = _parse_raw(Path(path), report_issue, note, on_bytes)
    yield from _cook(batches)
    bar.finish()


def _parse_raw_in_child(
    path: str, report_issue: ReportIssue, note: Note, on_bytes: ByteProgress
) -> Iterator[list[RawItem]]:
    return _parse_raw(Path(path), report_issue, note, on_bytes)


def _expat_error(name: str, exc: expat.ExpatError) -> MalformedInput:
    return MalformedInput(
        N_("{name} line {line} column {column}: malformed XML ({problem})"),
        name=name,
        line=exc.lineno,
        column=exc.offset + 1,
        problem=expat.ErrorString(exc.code),
    )


def _skipped_whole(exc: BaseException) -> Text:
    """Why one file beside export.xml was skipped, safe to show (`common.skip_reason`)."""
    return Text(
        N_("{problem}: skipped whole, nothing imported from this file"),
        problem=common.skip_reason(exc),
    )


def _make_parser(
    out: list[RawItem],
    report_issue: ReportIssue,
    export: _Export,
    name: str,
    *,
    providers: dict[str, tuple[str, str]],
    note: Note = common.ignore_note,
    lifter: BeatLifter | None = None,
) -> tuple[expat.XMLParserType, dict[str, int], Callable[[], None], Callable[[], None]]:
    """An expat parser whose handlers append finished items to `out`, its counters, the
    function that ends the file (readings found only inside correlations are added and the
    record-level problems reported, once per problem with a count), and the one that reads
    the beat lists kept since it last ran (after each block, so they are read in bulk).

    Closures over local state keep the per-element cost small: this is the hot loop. Runs of
    beats `lifter` took off the stream are claimed where their placeholder stands.
    """
    parser = expat.ParserCreate()
    parser.buffer_text = False
    # Expat 2.6+ may hold complete tokens back until more data comes ("reparse deferral"):
    # lifted runs are dropped after each block on the promise that every placeholder of the
    # block has been reported, so the parser must report each block whole.
    defer = getattr(parser, "SetReparseDeferralEnabled", None)
    if defer is not None:
        defer(False)
    times = AppleTimes()
    clock = BeatClock()
    lifted, token = (lifter.runs, lifter.token) if lifter is not None else ({}, "")
    if lifter is not None:
        lifter.clock = clock  # one cache of minutes for lifted and parsed beats
    types: dict[str, _Metric] = {}
    devices: dict[str, str] = {}
    clean_devices: dict[str, str] = {}
    sources: dict[str, str] = {}
    stats = {
        "twins": 0,
        "nested_only": 0,
        "clinical": 0,
        "root": 0,
        "me": 0,
        "bad_beats": 0,
        "beats_over": 0,  # beats past MAX_LIST_BEATS in one list
        "unknown_more": 0,
    }
    unknown: dict[str, int] = {}  # elements of no known kind, by name
    append = out.append
    report = common.IssueTally(report_issue)
    # Values out of their metric's physical range, per metric: (count, first location, an
    # example as written, the canonical value).
    out_of_range: dict[str, tuple[int, str, str, float]] = {}
    # Readings inside a <Correlation> also appear on their own in most exports, but not in
    # all: a reading is kept once, from whichever copy comes first. `top` holds the keys of
    # top-level records of types that correlations hold; `nested` the correlation readings
    # not (yet) seen at top level, added when the file ends.
    top: set[tuple[str, ...]] = set()
    nested: dict[tuple[str, ...], RawItem] = {}
    correlated = {
        "HKQuantityTypeIdentifierBloodPressureSystolic",
        "HKQuantityTypeIdentifierBloodPressureDiastolic",
    }

    def lineno() -> int:
        return parser.CurrentLineNumber

    # State of the element being built (records and workouts gather children first).
    rec: dict[str, str] | None = None
    rec_md: list[tuple[str, str]] = []
    # The beats of an SDNN record's list: times of day (ms) and rates, as read_beat reads them.
    rec_tod: array[int] = array("q")
    rec_bpm: array[float] = array("d")
    beat_lists: list[BeatList] = []  # lists of this block, read together by `settle`
    rec_nested = False
    workout: dict[str, str] | None = None
    w_md: list[tuple[str, str]] = []
    w_events: list[WorkoutEvent] = []
    w_totals: dict[str, float] = {}
    w_route: list[RoutePoint] = []
    w_line = 0
    in_correlation = 0
    in_route = False
    in_activity = 0
    # An audiogram being read: its attributes, its points and the line it starts at.
    hearing: dict[str, str] | None = None
    hearing_points: list[dict[str, str]] = []
    hearing_line = 0

    def where(kind: str, line: int | None = None) -> str:
        return Text(
            N_("{name} line {line} ({kind})"),
            name=name,
            line=line if line is not None else lineno(),
            kind=kind,
        )

    def build_record(a: dict[str, str], md: list[tuple[str, str]]) -> RawItem | None:
        try:
            type_id = a["type"]
            start_text, end_text = a["startDate"], a["endDate"]
        except KeyError:
            report(where("Record"), N_("record without a type, start or end date: skipped"))
            return None
        m = types.get(type_id)
        if m is None:
            m = types[type_id] = _Metric(type_id)
            if type_id.startswith("HKQuantityTypeIdentifierDietary"):
                correlated.add(type_id)  # food correlations hold these
        try:
            start, off = times(start_text)
            end = start if end_text == start_text else times(end_text)[0]
        except (ValueError, IndexError, KeyError):
            report(where(type_id), N_("impossible start or end date: skipped"))
            return None
        if end < start:
            report(where(type_id), N_("ends before it starts: skipped"))
            return None
        raw = a.get("value")
        if m.category:
            unit = ""
            if m.id == "sleep":
                value = SLEEP_VALUES.get(raw or "")
                if value is None:
                    report(where(type_id), N_("unknown sleep value: skipped"))
                    return None
                v = float(value)
            else:
                v = CATEGORY_VALUES.get(raw or "", 0.0)
                if raw and raw not in CATEGORY_VALUES:
                    md = [*md, ("HKCategoryValue", raw)]
        else:
            unit = a.get("unit", "")
            try:
                v = float(raw)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                report(where(type_id), N_("missing or non-numeric value: skipped"))
                return None
            if not isfinite(v):
                report(where(type_id), N_("value is not a finite number: skipped"))
                return None
            if m.known:
                conv = m.units.get(unit)
                if conv is None:
                    report(
                        where(type_id),
                        Text(
                            N_("unit {unit} is not known for {metric}: skipped"),
                            unit=repr(unit),
                            metric=m.id,
                        ),
                    )
                    return None
                if m.fraction and unit == "%":
                    v *= 100.0  # HealthKit's percent unit holds fractions: 0.97 is 97 %
                canonical = v * conv[0] + conv[1]
                if not m.metric.in_range(canonical):  # type: ignore[union-attr]
                    seen = out_of_range.get(m.id)
                    out_of_range[m.id] = (
                        (1, where(type_id), f"{raw} {unit}".strip(), canonical)
                        if seen is None
                        else (seen[0] + 1, *seen[1:])
                    )
                    return None
        dev = a.get("device", "")
        if dev:
            # Keyed by the raw string (object addresses repeat within an export); the value
            # is one shared string without the address, so the writer sees few distinct ones.
            d = devices.get(dev)
            if d is None:
                clean = device_name(dev)
                if len(clean_devices) > 10_000:
                    clean_devices.clear()
                d = clean_devices.setdefault(clean, clean)
                if len(devices) > 50_000:
                    devices.clear()
                devices[dev] = d
            dev = d
        source = a.get("sourceName", "")
        src = sources.get(source)
        if src is None:
            if len(sources) > 10_000:
                sources.clear()
            src = sources[source] = source
        return (m.id, start, end, v, unit, src, dev, off, tuple(md) if md else ())

    def add_beats(item: RawItem | None) -> None:
        """Keep the beat list of the SDNN record just built, to be read with the others of
        this block (`settle`): instant heart-rate samples on the day of the record's start
        (its times are local times of day)."""
        nonlocal rec_tod, rec_bpm
        tod, bpm = rec_tod, rec_bpm
        rec_tod, rec_bpm = array("q"), array("d")
        if type(item) is not tuple or item[0] != "hrv_sdnn":
            stats["bad_beats"] += len(tod)
            return
        start, off = item[1], item[7]
        local = start + off * 60_000
        midnight = local - local % _DAY_MS - off * 60_000  # the local day's start, in UTC
        early, late = local - _HALF_DAY_MS - off * 60_000, local + _HALF_DAY_MS - off * 60_000
        beat_lists.append((midnight, early, late, tod, bpm, (item[5], item[6], off)))

    def settle() -> None:
        """Read the beat lists kept so far, all at once, into series."""
        if beat_lists:
            series, bad = read_beat_lists(beat_lists)
            stats["bad_beats"] += bad
            out.extend(series)
            beat_lists.clear()

    def end_record(a: dict[str, str], md: list[tuple[str, str]], inside: bool) -> None:
        """A finished <Record>: appended, or held back while its twin may still come."""
        item = build_record(a, md)
        if rec_tod:
            add_beats(item)
        if item is None:
            return
        type_id = a["type"]
        if not inside and type_id not in correlated:
            append(item)  # the hot path: no correlation ever holds this type
            return
        key = (
            type_id,
            a.get("sourceName", ""),
            a["startDate"],
            a["endDate"],
            a.get("value", ""),
            a.get("unit", ""),
        )
        if inside:
            correlated.add(type_id)
            if key in top:
                stats["twins"] += 1
            elif key not in nested:
                nested[key] = item
        else:
            top.add(key)
            if nested.pop(key, None) is not None:
                stats["twins"] += 1
            append(item)

    def finish() -> None:
        """The end of the file: correlation-only readings, then the problems, counted."""
        settle()
        stats["nested_only"] = len(nested)
        out.extend(nested.values())
        nested.clear()
        top.clear()
        for metric_id, (count, location, example, canonical) in out_of_range.items():
            low, high = metrics.get(metric_id).valid or (0.0, 0.0)
            unit = metrics.get(metric_id).unit
            report_issue(
                location,
                Text(
                    N_plural(
                        "{n} {metric} record outside {low:g}–{high:g} {unit} skipped (the "
                        "first: {example}, {value:g} {unit})",
                        "{n} {metric} records outside {low:g}–{high:g} {unit} skipped (the "
                        "first: {example}, {value:g} {unit})",
                    ),
                    n=count,
                    metric=metric_id,
                    low=low,
                    high=high,
                    unit=unit,
                    example=example,
                    value=canonical,
                ),
            )
        out_of_range.clear()
        report.flush()
        if unknown:
            # element names, as the export spells them: no sentence to translate
            listed = ", ".join(f"{tag} ({n})" for tag, n in sorted(unknown.items()))
            if stats["unknown_more"]:
                text = Text(
                    N_(
                        "elements of kinds Coffre does not read were not imported: {kinds} and "
                        "{more} more"
                    ),
                    kinds=listed,
                    more=stats["unknown_more"],
                )
            else:
                text = Text(
                    N_("elements of kinds Coffre does not read were not imported: {kinds}"),
                    kinds=listed,
                )
            note(text)

    def build_workout() -> None:
        a = workout
        if a is None:
            return
        try:
            start, off = times(a["startDate"])
            end = times(a["endDate"])[0]
        except (KeyError, ValueError, IndexError):
            report(where("Workout", w_line), N_("missing or impossible start or end date: skipped"))
            return
        if end < start:
            report(where("Workout", w_line), N_("ends before it starts: skipped"))
            return
        try:
            duration = _scaled(a.get("duration"), a.get("durationUnit", "min"), _TIME_S)
            distance = _scaled(a.get("totalDistance"), a.get("totalDistanceUnit", "m"), _LENGTH_M)
            energy = _scaled(
                a.get("totalEnergyBurned"), a.get("totalEnergyBurnedUnit", "kcal"), _ENERGY_KCAL
            )
        except (ValueError, KeyError):
            report(
                where("Workout", w_line), N_("non-numeric totals or unknown units: totals dropped")
            )
            duration = distance = energy = None
        distance = distance or w_totals.get("distance")
        energy = energy or w_totals.get("energy")
        dev = a.get("device", "")
        append(
            Workout(
                activity=common.activity_name(a.get("workoutActivityType", "")),
                start=start,
                end=end,
                offset_min=off,
                duration_s=duration if duration is not None else (end - start) / 1000,
                distance_m=distance,
                energy_kcal=energy,
                source=a.get("sourceName", ""),
                device=device_name(dev) if dev else "",
                events=tuple(w_events),
                route=tuple(w_route),
                metadata=tuple(w_md),
            )
        )

    def start(tag: str, a: dict[str, str]) -> None:
        nonlocal rec, rec_md, rec_nested, workout, w_md, w_events, w_totals, w_route, w_line
        nonlocal in_correlation, in_route, in_activity, hearing, hearing_points, hearing_line
        if tag == "Record":
            rec = a
            rec_md = []
            rec_nested = in_correlation > 0
        elif tag == "InstantaneousBeatsPerMinute":
            if rec is not None:
                run = lifted.pop(a[token], None) if token in a else None
                room = MAX_LIST_BEATS - len(rec_tod)
                if run is None:
                    if room > 0:
                        tod, bpm = read_beat(a.get("bpm", ""), a.get("time", ""), clock)
                        rec_tod.append(tod)
                        rec_bpm.append(bpm)
                    else:
                        stats["beats_over"] += 1
                elif len(run[0]) <= room:
                    rec_tod.extend(run[0])
                    rec_bpm.extend(run[1])
                else:
                    room = max(room, 0)
                    rec_tod.extend(run[0][:room])
                    rec_bpm.extend(run[1][:room])
                    stats["beats_over"] += len(run[0]) - room
        elif tag == "MetadataEntry":
            if rec is not None:
                rec_md.append((a.get("key", ""), a.get("value", "")))
            elif workout is not None and not in_route and not in_activity:
                w_md.append((a.get("key", ""), a.get("value", "")))
        elif tag == "Workout":
            workout, w_md, w_events, w_totals, w_route = a, [], [], {}, []
            w_line = lineno()
        elif tag == "WorkoutEvent":
            if workout is not None and not in_activity:
                try:
                    t0, _ = times(a["date"])
                    dur = _scaled(a.get("duration"), a.get("durationUnit", "min"), _TIME_S) or 0.0
                    kind = a.get("type", "").removeprefix("HKWorkoutEventType")
                    w_events.append(WorkoutEvent(_snake(kind), t0, t0 + round(dur * 1000)))
                except (KeyError, ValueError):
                    report(where("WorkoutEvent"), N_("event with a bad date or duration: skipped"))
        elif tag == "WorkoutStatistics":
            total = _STAT_TOTALS.get(a.get("type", ""))
            if workout is not None and not in_activity and total is None:
                # Other statistics (heart rate average, min, max...) stay with the workout.
                short = a.get("type", "").removeprefix("HKQuantityTypeIdentifier")
                for key in ("sum", "average", "minimum", "maximum"):
                    if key in a:
                        w_md.append((f"{short}.{key}", f"{a[key]} {a.get('unit', '')}".strip()))
            elif workout is not None and not in_activity and total is not None:
                table = _LENGTH_M if total == "distance" else _ENERGY_KCAL
                try:
                    value = _scaled(a.get("sum"), a.get("unit", ""), table)
                except (ValueError, KeyError):
                    report(
                        where("WorkoutStatistics"), N_("non-numeric sum or unknown unit: skipped")
                    )
                else:
                    if value is not None:
                        w_totals[total] = w_totals.get(total, 0.0) + value
        elif tag == "WorkoutRoute":
            in_route = True
        elif tag == "Location":
            if in_route and workout is not None:
                try:
                    t, _ = times(a["date"])
                    alt = a.get("altitude")
                    w_route.append(
                        RoutePoint(
                            t,
                            float(a["latitude"]),
                            float(a["longitude"]),
                            float(alt) if alt is not None else None,
                        )
                    )
                except (KeyError, ValueError):
                    report(
                        where("Location"), N_("route point with a bad date or position: skipped")
                    )
        elif tag == "FileReference":
            if in_route and workout is not None:
                w_route.extend(export.route(a.get("path", ""), report, where("WorkoutRoute")))
        elif tag == "WorkoutActivity":
            in_activity += 1
        elif tag == "Correlation":
            in_correlation += 1
        elif tag == "ActivitySummary":
            _summary(a)
        elif tag == "ClinicalRecord":
            # The resource itself is a file in clinical-records/; this names its provider.
            ref = a.get("resourceFilePath", "").rsplit("/", 1)[-1]
            if ref and len(providers) < 1_000_000:
                providers[ref] = (a.get("sourceName", ""), a.get("fhirVersion", "")[:16])
        elif tag == "Audiogram":
            hearing, hearing_points, hearing_line = a, [], lineno()
        elif tag == "SensitivityPoint":
            if hearing is None and rec is not None and rec.get("type") == apple_hearing.TYPE:
                # Written as a Record: read as the audiogram it is, not as a value.
                hearing, hearing_points, hearing_line, rec = rec, [], lineno(), None
            if hearing is not None:
                hearing_points.append(a)
        elif tag == "VisionPrescription":
            stats["clinical"] += 1
        elif tag == "HealthData":
            stats["root"] = 1
        elif tag == "Me":
            profile, unread = apple_profile.read_me(a)
            if profile is not None:
                append(profile)
            stats["me"] += len(unread)
        elif tag not in _READ_ELSEWHERE:
            # An element this importer does not know (a type newer than it: State of Mind,
            # medication doses...) is named in the summary, never dropped silently.
            if len(unknown) < 100:
                unknown[tag] = unknown.get(tag, 0) + 1
            else:
                stats["unknown_more"] += 1

    def _summary(a: dict[str, str]) -> None:
        day = a.get("dateComponents", "")
        try:
            date.fromisoformat(day)
            append(
                ActivitySummary(
                    day=day,
                    active_energy_kcal=_scaled(
                        a.get("activeEnergyBurned"),
                        a.get("activeEnergyBurnedUnit", "kcal"),
                        _ENERGY_KCAL,
                    ),
                    active_energy_goal_kcal=_scaled(
                        a.get("activeEnergyBurnedGoal"),
                        a.get("activeEnergyBurnedUnit", "kcal"),
                        _ENERGY_KCAL,
                    ),
                    exercise_min=_num(a.get("appleExerciseTime")),
                    exercise_goal_min=_num(a.get("appleExerciseTimeGoal")),
                    stand_hours=_num(a.get("appleStandHours")),
                    stand_goal_hours=_num(a.get("appleStandHoursGoal")),
                )
            )
        except (ValueError, KeyError):
            report(
                where("ActivitySummary"), N_("bad date, non-numeric value or unknown unit: skipped")
            )

    def end_hearing() -> None:
        nonlocal hearing
        if hearing is not None:
            dev = hearing.get("device", "")
            out.extend(
                apple_hearing.audiogram(
                    hearing,
                    hearing_points,
                    times,
                    device=device_name(dev) if dev else "",
                    where=where("Audiogram", hearing_line),
                    report=report,
                )
            )
            hearing = None

    def end(tag: str) -> None:
        nonlocal rec, workout, in_correlation, in_route, in_activity
        if tag == "Record":
            if rec is not None:
                end_record(rec, rec_md, rec_nested)
                rec = None
            elif hearing is not None:
                end_hearing()  # an audiogram written as a Record
        elif tag == "Audiogram":
            end_hearing()
        elif tag == "Workout":
            if workout is not None:
                build_workout()
                workout = None
        elif tag == "WorkoutRoute":
            in_route = False
        elif tag == "WorkoutActivity":
            in_activity -= 1
        elif tag == "Correlation":
            in_correlation -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    return parser, stats, finish, settle


def _num(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    v = float(text)
    if not isfinite(v):
        raise ValueError("not a finite number")
    return v


def _scaled(text: str | None, unit: str, table: dict[str, float]) -> float | None:
    """`text` in `unit`, converted with `table` (KeyError for a unit it does not hold)."""
    v = _num(text)
    return None if v is None else v * table[unit]


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def import_apple_health(
    vault: Vault,
    persona_id: str,
    path: str | Path,
    progress: ProgressCallback | None = None,
    *,
    parallel: bool | None = None,
) -> ImportSummary:
    """Import an Apple Health export into the persona's data, all or nothing.

    `parallel` (default: for exports of PARALLEL_MIN_BYTES or more when a second core is
    free) parses in a helper process while this one encrypts and stores.
    """
    p = Path(path)
    if not p.exists():
        raise InvalidParameter(N_("{name}: no such file or folder"), name=p.name)
    if parallel is None:
        from vault.data.importers.parallel import spare_core

        parallel = p.is_file() and p.stat().st_size >= PARALLEL_MIN_BYTES and spare_core()
    parse = partial(parse_apple_health, p, progress=progress, parallel=parallel)
    return common.feed(vault, persona_id, parse, fmt="apple-health")
