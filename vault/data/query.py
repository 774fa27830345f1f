"""Reading quantified-self data back: raw samples, aggregates, per-source breakdowns.

A range query enumerates the persona's stored days for the metric (from the encrypted day
index), decrypts those chunks and works on whole columns with numpy. Samples belong to a
range by their start instant, half open: ``start <= sample.start < end``.

Totals of overlapping sources follow a source priority, as Apple Health does: for a summed
metric (steps, distance, energy...) and for sleep stages, a lower-priority source counts only
for the part of its interval no higher-priority source already covers. The default priority
is watches, then phones, then everything else; the person can set an explicit order, stored
encrypted in the vault. Rates (heart rate, weight...) use every sample.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vault.core.errors import InvalidParameter
from vault.core.i18n import N_
from vault.data import catalog, chunks, metrics
from vault.data.model import SLEEP_STAGE_NAMES, SLEEP_STAGES, UNKNOWN_PREFIX, Sample

if TYPE_CHECKING:
    import numpy.typing as npt

    from vault.core.vault import Vault

Every = Literal["hour", "day", "week", "month"]
EVERY: Final[tuple[str, ...]] = ("hour", "day", "week", "month")
DAY_MS: Final = chunks.DAY_MS
ASLEEP_STAGES: Final = frozenset({"asleep", "core", "deep", "rem"})
_WATCH_WORDS: Final = ("watch", "garmin", "fitbit", "polar", "suunto", "coros", "whoop", "oura")
_PHONE_WORDS: Final = ("iphone", "phone", "pixel", "galaxy", "android")
PRIORITY_SETTING: Final = "source_priority"
SLEEP_DAY_SHIFT_MS: Final = 6 * 3_600_000


# --- metrics and ranges ----------------------------------------------------------------------


@dataclass(frozen=True)
class MetricInfo:
    """One metric a persona has: the shape of `coffre data metrics --json`."""

    metric: str
    unit: str
    samples: int
    first: int | None  # UTC ms
    last: int | None  # UTC ms
    sources: dict[str, int] = field(default_factory=dict)


def list_metrics(vault: Vault, persona_id: str) -> list[MetricInfo]:
    """The persona's metrics, from the catalogue record alone (no scan of the samples)."""
    _, stats = catalog.load_catalog(vault.store, persona_id)
    return [
        MetricInfo(m, s.unit, s.samples, s.first, s.last, dict(sorted(s.sources.items())))
        for m, s in sorted(stats.items())
        if s.samples
    ]


def check_metric(metric: str) -> str:
    """`metric` if the registry knows it or it is an `x:` id; InvalidParameter otherwise."""
    if not metric.startswith(UNKNOWN_PREFIX):
        metrics.get(metric)
    return metric


def unit_of(vault: Vault, persona_id: str, metric: str) -> str:
    """The canonical unit the metric is stored in."""
    if not metric.startswith(UNKNOWN_PREFIX):
        return metrics.get(metric).unit
    _, stats = catalog.load_catalog(vault.store, persona_id)
    return stats[metric].unit if metric in stats else ""


def iter_columns(
    vault: Vault,
    persona_id: str,
    metric: str,
    start: int | None = None,
    end: int | None = None,
) -> Iterator[chunks.Columns]:
    """The stored samples with start in [start, end), one UTC day of columns at a time."""
    check_metric(metric)
    _, days = catalog.load_days(vault.store, persona_id, metric)
    lo = chunks.utc_day(start) if start is not None else ""
    hi = chunks.utc_day(end - 1) if end is not None else "9999"
    for day in sorted(d for d in days if lo <= d <= hi):
        cols = chunks.decode(vault.store.get(catalog.KIND_CHUNK, days[day]).data)
        if start is not None and int(cols.start[0]) < start:
            cols = cols.take(cols.start >= start)
        if end is not None and len(cols) and int(cols.start[-1]) >= end:
            cols = cols.take(cols.start < end)
        if len(cols):
            yield cols


def load(
    vault: Vault, persona_id: str, metric: str, start: int | None = None, end: int | None = None
) -> chunks.Columns:
    """Every stored sample of the range as one set of columns (sorted by start)."""
    parts = list(iter_columns(vault, persona_id, metric, start, end))
    if not parts:
        return chunks.empty(unit_of(vault, persona_id, metric))
    return chunks.concat(parts)


def samples(
    vault: Vault, persona_id: str, metric: str, start: int | None = None, end: int | None = None
) -> Iterator[Sample]:
    """Stored samples as `Sample` values in the canonical unit, streamed day by day."""
    for cols in iter_columns(vault, persona_id, metric, start, end):
        names = cols.strings
        meta_cache: dict[int, tuple[tuple[str, str], ...]] = {0: ()}
        for s, e, v, off, src, dev, m in zip(
            cols.start.tolist(),
            cols.end.tolist(),
            cols.value.tolist(),
            cols.offset.tolist(),
            cols.source.tolist(),
            cols.device.tolist(),
            cols.meta.tolist(),
            strict=True,
        ):
            md = meta_cache.get(m)
            if md is None:
                md = meta_cache[m] = tuple(sorted(json.loads(names[m]).items()))
            yield Sample(metric, s, e, v, cols.unit, names[src], names[dev], off, md)


# --- source priority -------------------------------------------------------------------------


def default_class(source: str) -> int:
    """0 for watches and wearables, 1 for phones, 2 for apps and everything else."""
    low = source.lower()
    if any(w in low for w in _WATCH_WORDS):
        return 0
    if any(w in low for w in _PHONE_WORDS):
        return 1
    return 2


def get_source_priority(vault: Vault) -> list[str]:
    """The person's explicit source order (highest first); empty means the default order."""
    found = vault.store.find(catalog.KIND_SETTINGS, "name", PRIORITY_SETTING)
    return list(found[0].json()["order"]) if found else []


def set_source_priority(vault: Vault, order: Sequence[str]) -> None:
    """Store an explicit source order (highest priority first); sources not named follow in
    the default order (watches, phones, then the rest)."""
    body = json.dumps({"order": list(order)}).encode()
    terms = [("name", PRIORITY_SETTING)]
    with vault.store.write() as txn:
        found = vault.store.find(catalog.KIND_SETTINGS, "name", PRIORITY_SETTING)
        if found:
            txn.update(catalog.KIND_SETTINGS, found[0].id, body, terms=terms, compress=True)
        else:
            txn.put(catalog.KIND_SETTINGS, body, terms=terms, compress=True)
        txn.audit("qs.priority", sources=len(order))


def rank_sources(names: Sequence[str], order: Sequence[str]) -> list[int]:
    """A distinct rank per source name (0 = highest priority)."""
    explicit = {n: i for i, n in enumerate(order)}
    keyed = sorted(
        range(len(names)),
        key=lambda i: (
            (0, explicit[names[i]], "") if names[i] in explicit
            else (1, default_class(names[i]), names[i])
        ),
    )  # fmt: skip
    ranks = [0] * len(names)
    for r, i in enumerate(keyed):
        ranks[i] = r
    return ranks


def _union(starts: Any, ends: Any) -> tuple[Any, Any]:
    """Merge intervals into sorted disjoint ones."""
    import numpy as np

    if not len(starts):
        return starts, ends
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    reach = np.maximum.accumulate(e)
    new = np.empty(len(s), dtype=bool)
    new[0] = True
    new[1:] = s[1:] > reach[:-1]
    group_end = np.r_[np.flatnonzero(new)[1:] - 1, len(s) - 1]
    return s[new], reach[group_end]


def _covered(us: Any, ue: Any, s: Any, e: Any) -> tuple[Any, Any]:
    """For each interval [s, e]: the length covered by the union (us, ue), and whether its
    start lies inside the union (for instants)."""
    import numpy as np

    if not len(us):
        return np.zeros(len(s)), np.zeros(len(s), dtype=bool)
    lengths = ue - us
    cum = np.r_[0, np.cumsum(lengths)]

    def before(t: Any) -> Any:
        k = np.searchsorted(us, t, side="right") - 1
        kk = np.maximum(k, 0)
        part = np.clip(t - us[kk], 0, lengths[kk])
        return np.where(k >= 0, cum[kk] + part, 0)

    k = np.searchsorted(us, s, side="right") - 1
    kk = np.maximum(k, 0)
    inside = (k >= 0) & (s < ue[kk])
    return before(e) - before(s), inside


def priority_weights(cols: chunks.Columns, order: Sequence[str] = ()) -> npt.NDArray[Any]:
    """The fraction of each sample that counts toward totals under the source priority."""
    import numpy as np

    weights = np.ones(len(cols))
    present = np.unique(cols.source)
    if len(present) < 2:
        return weights
    names = [cols.strings[i] for i in present.tolist()]
    ranks = rank_sources(names, order)
    us = ue = np.zeros(0, dtype=np.int64)
    for pos in np.argsort(ranks).tolist():
        sel = np.flatnonzero(cols.source == present[pos])
        s, e = cols.start[sel], cols.end[sel]
        covered, inside = _covered(us, ue, s, e)
        dur = (e - s).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(dur > 0, 1.0 - covered / np.where(dur > 0, dur, 1), np.where(inside, 0, 1))
        weights[sel] = np.clip(w, 0.0, 1.0)
        spans = dur > 0
        us, ue = _union(np.r_[us, s[spans]], np.r_[ue, e[spans]])
    return weights


# --- aggregates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    """One period's aggregate: the shape of `coffre data show --every ... --json`.

    For summed metrics `sum` is the priority-resolved total; for rates, min/avg/max are over
    the samples; for categories (sleep, mindful minutes, workouts) values are durations in
    minutes, `sum` is the time asleep (sleep) or in total, and `stages` splits it per stage.
    Sleep days run from 18:00 to 18:00 (a sample counts in the period of its start plus six
    hours), so a night belongs to the morning after.
    """

    start: int  # UTC ms
    end: int  # UTC ms
    offset_min: int  # the zone's offset at the bucket's start
    count: int
    sum: float
    min: float
    avg: float
    max: float
    unit: str
    stages: dict[str, float] | None = None


@lru_cache(maxsize=64)
def zone(name: str) -> dt.tzinfo:
    """A time zone by IANA name, or a fixed offset such as +02:00 or UTC."""
    if name.upper() in ("UTC", "Z"):
        return dt.UTC
    if name[:1] in "+-" and len(name) in (3, 6):
        try:
            hours, minutes = int(name[1:3]), int(name[4:6]) if len(name) == 6 else 0
        except ValueError:
            raise InvalidParameter(N_("time zone {name!r}"), name=name) from None
        sign = -1 if name[0] == "-" else 1
        return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidParameter(N_("unknown time zone {name!r}"), name=name) from None


def _ms(d: dt.datetime) -> int:
    return round(d.timestamp() * 1000)


def bucket_edges(first: int, last: int, every: str, tz: dt.tzinfo) -> list[int]:
    """UTC ms edges of the periods (in `tz`) covering [first, last]."""
    if every not in EVERY:
        raise InvalidParameter(N_("--every must be one of {choices}"), choices=", ".join(EVERY))
    local = dt.datetime.fromtimestamp(first / 1000, tz)
    if every == "hour":
        cur = local.replace(minute=0, second=0, microsecond=0)
        edges = [_ms(cur)]
        while edges[-1] <= last:
            edges.append(edges[-1] + 3_600_000)
        return edges
    d = local.date()
    if every == "week":
        d -= dt.timedelta(days=d.weekday())  # ISO weeks start on Monday
    elif every == "month":
        d = d.replace(day=1)
    edges = []
    while True:
        edge = _ms(dt.datetime(d.year, d.month, d.day, tzinfo=tz))
        edges.append(edge)
        if edge > last:
            return edges
        if every == "day":
            d += dt.timedelta(days=1)
        elif every == "week":
            d += dt.timedelta(days=7)
        else:
            d = (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def aggregate(
    vault: Vault,
    persona_id: str,
    metric: str,
    every: str,
    *,
    start: int | None = None,
    end: int | None = None,
    tz: str = "UTC",
    priority: Sequence[str] | None = None,
) -> list[Bucket]:
    """Per-period aggregates of the range, empty periods left out."""
    cols = load(vault, persona_id, metric, start, end)
    order = get_source_priority(vault) if priority is None else priority
    return aggregate_columns(cols, metric, every, tz=tz, priority=order)


def aggregate_columns(
    cols: chunks.Columns,
    metric: str,
    every: str,
    *,
    tz: str = "UTC",
    priority: Sequence[str] = (),
) -> list[Bucket]:
    """Aggregate already-loaded columns (see `aggregate`)."""
    import numpy as np

    tzinfo = zone(tz)
    if not len(cols):
        bucket_edges(0, 0, every, tzinfo)  # still validate `every`
        return []
    kind = "rate" if metric.startswith(UNKNOWN_PREFIX) else metrics.get(metric).aggregation
    # A night belongs to the morning after: a sleep day runs from 18:00 to 18:00, so sleep
    # samples count in the period of their start plus six hours.
    when = cols.start + SLEEP_DAY_SHIFT_MS if metric == "sleep" and every != "hour" else cols.start
    edges = np.asarray(bucket_edges(int(when.min()), int(when.max()), every, tzinfo))
    if len(when) > 1 and bool(np.all(when[1:] >= when[:-1])):
        # Sorted (the usual case): place the few edges among the samples, not the reverse.
        cuts = np.searchsorted(when, edges, side="left")
        idx = np.repeat(np.arange(len(edges) - 1), np.diff(cuts))
    else:
        idx = np.searchsorted(edges, when, side="right") - 1
    unit = cols.unit
    stage_of: Any = None
    if kind == "category":
        values = (cols.end - cols.start) / 60_000.0
        unit = "min"
        weights = np.ones(len(cols))
        if metric == "sleep":
            # Time in bed is one layer, the stages within it another: a lower-priority source
            # counts only where no higher one recorded a stage (whatever stage it was).
            stage_of = cols.value.astype(np.int64)
            in_bed = stage_of == SLEEP_STAGES["in_bed"]
            for sel in (np.flatnonzero(in_bed), np.flatnonzero(~in_bed)):
                weights[sel] = priority_weights(cols.take(sel), priority)
        else:
            weights = priority_weights(cols, priority)
    elif kind == "sum":
        values = cols.value
        weights = priority_weights(cols, priority)
    else:
        values = cols.value
        weights = np.ones(len(cols))
    counted = weights > 0
    nb = len(edges) - 1
    count = np.bincount(idx[counted], minlength=nb)
    weighted = values * weights
    if stage_of is not None:
        asleep = np.isin(stage_of, [SLEEP_STAGES[s] for s in ASLEEP_STAGES])
        total = np.bincount(idx, weights=np.where(asleep, weighted, 0.0), minlength=nb)
    else:
        total = np.bincount(idx, weights=weighted, minlength=nb)
    vmin = np.full(nb, np.inf)
    vmax = np.full(nb, -np.inf)
    vsum = np.bincount(idx[counted], weights=values[counted], minlength=nb)
    ci, cv = idx[counted], values[counted]
    if len(ci) and bool(np.all(ci[1:] >= ci[:-1])):  # sorted: one reduce per run of a bucket
        bounds = np.flatnonzero(np.r_[True, ci[1:] != ci[:-1]])
        vmin[ci[bounds]] = np.minimum.reduceat(cv, bounds)
        vmax[ci[bounds]] = np.maximum.reduceat(cv, bounds)
    else:
        np.minimum.at(vmin, ci, cv)
        np.maximum.at(vmax, ci, cv)
    stages: dict[int, Any] = {}
    if stage_of is not None:
        for code in np.unique(stage_of).tolist():
            sel = stage_of == code
            stages[code] = np.bincount(idx[sel], weights=weighted[sel], minlength=nb)
    out = []
    for b in np.flatnonzero(count).tolist():
        n = int(count[b])
        offset = dt.datetime.fromtimestamp(edges[b] / 1000, tzinfo).utcoffset()
        out.append(
            Bucket(
                start=int(edges[b]),
                end=int(edges[b + 1]),
                offset_min=int(offset.total_seconds() // 60) if offset else 0,
                count=n,
                sum=float(total[b]),
                min=float(vmin[b]),
                avg=float(vsum[b] / n),
                max=float(vmax[b]),
                unit=unit,
                stages=(
                    {
                        SLEEP_STAGE_NAMES.get(code, str(code)): float(arr[b])
                        for code, arr in sorted(stages.items())
                        if arr[b]
                    }
                    if stage_of is not None
                    else None
                ),
            )
        )
    return out


@dataclass(frozen=True)
class SourceStats:
    """One source's share of a metric over a range."""

    source: str
    count: int
    sum: float
    min: float
    avg: float
    max: float
    rank: int  # 0 = highest priority
    counted: float  # what this source contributes to totals under the priority


def by_source(
    vault: Vault,
    persona_id: str,
    metric: str,
    start: int | None = None,
    end: int | None = None,
    *,
    priority: Sequence[str] | None = None,
) -> list[SourceStats]:
    """Per-source breakdown of the range, highest priority first."""
    import numpy as np

    cols = load(vault, persona_id, metric, start, end)
    if not len(cols):
        return []
    order = get_source_priority(vault) if priority is None else priority
    kind = "rate" if metric.startswith(UNKNOWN_PREFIX) else metrics.get(metric).aggregation
    values = (cols.end - cols.start) / 60_000.0 if kind == "category" else cols.value
    weights = priority_weights(cols, order) if kind != "rate" else np.ones(len(cols))
    present = np.unique(cols.source).tolist()
    names = [cols.strings[i] for i in present]
    ranks = rank_sources(names, order)
    out = []
    for i, name, rank in zip(present, names, ranks, strict=True):
        sel = cols.source == i
        v = values[sel]
        out.append(
            SourceStats(
                name,
                int(sel.sum()),
                float(v.sum()),
                float(v.min()),
                float(v.mean()),
                float(v.max()),
                rank,
                float((v * weights[sel]).sum()),
            )
        )
    return sorted(out, key=lambda s: s.rank)


# --- workouts and summaries ------------------------------------------------------------------


def workouts(
    vault: Vault, persona_id: str, start: int | None = None, end: int | None = None
) -> list[Any]:
    """The persona's workouts starting in [start, end), oldest first."""
    from vault.data.ingest import workout_from_json

    found = [
        workout_from_json(r.json())
        for r in vault.store.find(catalog.KIND_WORKOUT, "persona", persona_id)
    ]
    return sorted(
        (
            w
            for w in found
            if (start is None or w.start >= start) and (end is None or w.start < end)
        ),
        key=lambda w: w.start,
    )


def activity_summaries(vault: Vault, persona_id: str) -> list[Any]:
    """The persona's daily activity summaries, by day."""
    from vault.data.ingest import summary_from_json

    found = vault.store.find(catalog.KIND_SUMMARY, "persona", persona_id)
    return sorted((summary_from_json(r.json()) for r in found), key=lambda s: s.day)


# --- time formatting -------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _fixed(offset_min: int) -> dt.timezone:
    return dt.timezone(dt.timedelta(minutes=offset_min))


def iso(ms: int, offset_min: int = 0) -> str:
    """ISO 8601 with the given UTC offset (seconds, or milliseconds when there are some)."""
    d = dt.datetime.fromtimestamp(ms / 1000, _fixed(offset_min))
    return d.isoformat(timespec="milliseconds" if ms % 1000 else "seconds")


def utc_iso(ms: int) -> str:
    """RFC 3339 in UTC ending in `Z` (seconds, or milliseconds when there are some): the one
    form of an instant in the command line's JSON."""
    return iso(ms).replace("+00:00", "Z")


def parse_instant(text: str, *, end_of_day: bool = False) -> int:
    """UTC ms of an ISO 8601 date or date-time; a date or a time without offset is UTC.

    With `end_of_day`, a bare date means the end of that day (for inclusive `--to` bounds).
    """
    try:
        if len(text) == 10:
            d = dt.date.fromisoformat(text)
            ms = (d - dt.date(1970, 1, 1)).days * DAY_MS
            return ms + DAY_MS if end_of_day else ms
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(
            N_("{text!r} is not an ISO 8601 date or date-time"), text=text
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return _ms(parsed)
