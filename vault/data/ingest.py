"""The quantified-self writer: every importer streams its samples, workouts and summaries here.

One `QSWriter` is one import and one write transaction: it all lands or none of it does.
Samples are converted to their metric's canonical unit and buffered per (metric, UTC day) in
compact arrays; a full or cold buffer is flushed into its encrypted chunk record (merged with
the chunk already stored for that day, exact duplicates dropped), so memory stays bounded
whatever the size of the export. Catalogue and day indexes are written once, at the end.
"""

from __future__ import annotations

import dataclasses
import json
import math
from array import array
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from vault.core.errors import InvalidParameter, RecordNotFound
from vault.core.i18n import N_, N_plural, Text
from vault.core.importing import ImportIssue, ImportSummary, RecordCounts
from vault.core.progress import Progress, ProgressCallback
from vault.core.records import SHRED_KIND, SYNC_DEVICE_KIND
from vault.data import catalog, chunks, metrics
from vault.data.health_records import CLINICAL_METRIC
from vault.data.model import (
    MAX_MS,
    MIN_MS,
    UNKNOWN_PREFIX,
    ActivitySummary,
    ClinicalRecord,
    Ecg,
    HealthProfile,
    Sample,
    Series,
    Workout,
)

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    import numpy as np
    import numpy.typing as npt

    from vault.core.txn import Txn
    from vault.core.vault import Vault
    from vault.data.health_records import ClinicalIndex, KnownClinical

DAY_MS: Final = chunks.DAY_MS
MAX_PENDING: Final = 200_000  # buffered samples across all buffers before cold ones flush
MAX_BUFFERS: Final = 4_000  # open (metric, day) buffers before cold ones flush
MAX_CHUNK_BUFFER: Final = 50_000  # one buffer flushes on its own past this size
MAX_LISTED_ISSUES: Final = 1_000  # problems listed one by one; beyond, only counted
WORKOUT_METRIC: Final = "workout"
# Metrics whose samples stand for things the summary counts in their own words (workouts,
# clinical records), not as samples added or duplicates skipped.
_COUNTED_APART: Final = frozenset({WORKOUT_METRIC, CLINICAL_METRIC})


class _Buffer:
    """Samples of one (metric, UTC day) waiting to be written, as typed arrays."""

    __slots__ = (
        "device",
        "end",
        "meta",
        "offset",
        "source",
        "start",
        "strings",
        "table",
        "touched",
        "unit",
        "value",
    )

    def __init__(self, unit: str) -> None:
        self.start = array("q")
        self.end = array("q")
        self.value = array("d")
        self.offset = array("h")
        self.source = array("L")
        self.device = array("L")
        self.meta = array("L")
        self.strings: list[str] = [""]
        self.table: dict[str, int] = {"": 0}
        self.unit = unit
        self.touched = 0

    def intern(self, s: str) -> int:
        i = self.table.get(s)
        if i is None:
            i = self.table[s] = len(self.strings)
            self.strings.append(s)
        return i

    def __len__(self) -> int:
        return len(self.start)


def _meta_string(metadata: tuple[tuple[str, str], ...]) -> str:
    return json.dumps(dict(metadata), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class QSWriter:
    """Writes one import of a persona's samples, workouts and summaries, atomically.

    Use as a context manager: the transaction opens on enter and commits on a clean exit;
    an exception rolls everything back. `summary` is complete after the exit. `fmt` names the
    import format the summary reports (empty for data written by other means, as the demo's).
    """

    def __init__(
        self,
        vault: Vault,
        persona_id: str,
        *,
        fmt: str = "",
        progress: ProgressCallback | None = None,
    ) -> None:
        self.vault = vault
        self.persona_id = persona_id
        self.fmt = fmt
        # The summary's counts, kept here while the import runs (the summary itself is frozen).
        self._added = self._duplicates = self._workouts = self._summaries = 0
        self._unknown: dict[str, int] = {}
        self._by_metric: dict[str, int] = {}  # samples added, per metric
        self._errors: list[ImportIssue] = []
        self._notes: list[str] = []
        self._progress = Progress(N_("store"), progress, unit="samples")
        self._cm: AbstractContextManager[Txn] | None = None
        self._txn: Txn | None = None
        self._bufs: dict[tuple[str, int], _Buffer] = {}
        self._pending = 0
        self._tick = 0
        # (metric, unit) -> (factor, offset, canonical unit, unknown to the registry)
        self._conv: dict[tuple[str, str], tuple[float, float, str, bool]] = {}
        self._last_key: tuple[str, int] | None = None
        self._last_buf = _Buffer("")
        self._days: dict[str, tuple[str | None, dict[str, str]]] = {}
        self._days_dirty: set[str] = set()
        self._catalog_id: str | None = None
        self._catalog: dict[str, catalog.MetricStats] = {}
        self._workout_keys: set[str] = set()
        self._meta_text: dict[tuple[tuple[str, str], ...], str] = {}
        self._issue_count = 0
        # Clinical records: what each resource did (added, updated...), the stored ones by
        # identity (read at the first), the metrics whose samples were removed (their
        # catalogue entry is computed again) and the records and chunks whose old version
        # was replaced (shredded like a forget's rewrites).
        self._clinical: dict[str, int] = {}
        self._known_clinical: ClinicalIndex | None = None
        self._restat: set[str] = set()
        self._replaced: list[str] = []
        self._shredded: list[str] = []  # chunks deleted because their one sample moved

    # --- transaction ---

    def __enter__(self) -> QSWriter:
        cm = self.vault.store.write()
        self._txn = cm.__enter__()
        try:
            self._catalog_id, self._catalog = catalog.load_catalog(
                self.vault.store, self.persona_id
            )
        except BaseException as failure:
            self._txn = None
            if not cm.__exit__(type(failure), failure, failure.__traceback__):
                raise
        self._cm = cm
        self._progress.start(None)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        cm, self._cm = self._cm, None
        if cm is None:
            return
        try:
            if exc_type is None:
                try:
                    self._finish()
                except BaseException as failure:
                    if not cm.__exit__(type(failure), failure, failure.__traceback__):
                        raise
                    return
                cm.__exit__(None, None, None)
            else:
                cm.__exit__(exc_type, exc, tb)
        finally:
            self._bufs.clear()
            self._last_key = None
            self._txn = None

    def _finish(self) -> None:
        for key in list(self._bufs):
            self._flush(key)
        txn = self._require_txn()
        for metric in sorted(self._restat):
            _, days = self._day_index(metric)
            unit = self._catalog[metric].unit if metric in self._catalog else ""
            fresh = catalog.stats_from_chunks(self.vault.store, unit, days.values())
            if fresh.samples:
                self._catalog[metric] = fresh
            else:
                self._catalog.pop(metric, None)
        for metric in sorted(self._days_dirty):
            rid, days = self._days[metric]
            if days:
                catalog.save_days(txn, self.persona_id, metric, rid, days)
            elif rid is not None:  # its last sample was removed (a replaced record's)
                txn.delete(catalog.KIND_DAYS, rid)
        if self._days_dirty or self._workouts:
            self._catalog_id = catalog.save_catalog(
                txn, self.persona_id, self._catalog_id, self._catalog
            )
        if self._issue_count > len(self._errors):
            hidden = self._issue_count - len(self._errors)
            self._notes.append(
                Text(
                    N_plural(
                        "{n} more problem was counted but not listed",
                        "{n} more problems were counted but not listed",
                    ),
                    n=hidden,
                )
            )
        if self._replaced or self._shredded:
            self._shred_replaced(txn)
        clinical = {f"clinical_{k}": v for k, v in self._clinical.items() if k != "undated"}
        txn.audit(
            "qs.import",
            persona=self.persona_id,
            added=self._added,
            duplicates=self._duplicates,
            workouts=self._workouts,
            summaries=self._summaries,
            unknown_types=sum(self._unknown.values()),
            errors=self._issue_count,
            **clinical,
        )
        self._progress.finish()

    def _shred_replaced(self, txn: Txn) -> None:
        """The old versions of replaced records go as a forget's rewrites do: each was
        overwritten in place under a fresh key (secure delete zeroes the freed bytes), the
        WAL that still holds them is truncated after the commit, and a vault that syncs
        tells its other devices and its remote copies to rewrite them too."""
        txn.scrub_wal = True
        if self.vault.store.count(SYNC_DEVICE_KIND):
            note = {
                "time": self.vault.clock.iso(),
                "all": False,
                "deleted": sorted(set(self._shredded)),
                "rewritten": sorted(set(self._replaced)),
            }
            txn.put(SHRED_KIND, json.dumps(note, separators=(",", ":")).encode())

    @property
    def summary(self) -> ImportSummary:
        """What the import did so far (all of it once the `with` block has ended)."""
        return ImportSummary(
            self.fmt,
            added=self._added,
            duplicates=self._duplicates,
            workouts=self._workouts,
            summaries=self._summaries,
            unknown_types=self._unknown,
            by_metric=dict(sorted(self._by_metric.items())),
            errors=tuple(self._errors),
            notes=tuple(self._notes),
            clinical_records=RecordCounts(**self._clinical),
        )

    def _require_txn(self) -> Txn:
        if self._txn is None:
            raise InvalidParameter(N_("the QS writer is used outside its `with` block"))
        return self._txn

    # --- samples ---

    def _conversion(self, metric: str, unit: str) -> tuple[float, float, str, bool] | None:
        """Factor, offset, canonical unit and unknown flag for (metric, unit); None if bad."""
        conv: tuple[float, float, str, bool]
        if metric.startswith(UNKNOWN_PREFIX):
            conv = (1.0, 0.0, unit, True)
        else:
            try:
                m = metrics.get(metric)
                if unit == m.unit or not unit:
                    conv = (1.0, 0.0, m.unit, False)
                else:
                    factor, off = m.conversions[unit]
                    conv = (factor, off, m.unit, False)
            except (InvalidParameter, KeyError):
                return None
        self._conv[(metric, unit)] = conv
        return conv

    def add(self, sample: Sample) -> None:
        """Buffer one sample (converted to the canonical unit); bad ones become issues."""
        metric = sample.metric
        conv = self._conv.get((metric, sample.unit))
        if conv is None:
            conv = self._conversion(metric, sample.unit)
            if conv is None:
                if metric.startswith(UNKNOWN_PREFIX) or metric in metrics.METRICS:
                    problem = Text(
                        N_("unit {unit!r} is not known for {metric}"),
                        unit=sample.unit,
                        metric=metric,
                    )
                else:
                    problem = Text(N_("unknown metric {metric!r}"), metric=metric)
                self.issue(
                    Text(N_("{metric} sample at {start} ms"), metric=metric, start=sample.start),
                    problem,
                )
                return
        start, end, value = sample.start, sample.end, sample.value
        if not (MIN_MS <= start <= end <= MAX_MS) or not math.isfinite(value):
            self.issue(
                Text(N_("{metric} sample at {start} ms"), metric=metric, start=start),
                N_("impossible time range or value"),
            )
            return
        if conv[0] != 1.0 or conv[1] != 0.0:
            value = value * conv[0] + conv[1]
        key = (metric, start // DAY_MS)
        # Exports come grouped by type and time: most samples go to the previous buffer.
        if key == self._last_key:
            buf = self._last_buf
        else:
            found = self._bufs.get(key)
            if found is None:
                if len(self._bufs) >= MAX_BUFFERS:
                    self._flush_cold()
                found = self._bufs[key] = _Buffer(conv[2])
            buf = found
            self._tick += 1
            buf.touched = self._tick  # order of first use in a run is enough to find cold ones
            self._last_key, self._last_buf = key, buf
        buf.start.append(start)
        buf.end.append(end)
        buf.value.append(value)
        buf.offset.append(sample.offset_min)
        table = buf.table
        s = table.get(sample.source)
        buf.source.append(buf.intern(sample.source) if s is None else s)
        d = table.get(sample.device)
        buf.device.append(buf.intern(sample.device) if d is None else d)
        if sample.metadata:
            text = self._meta_text.get(sample.metadata)
            if text is None:
                if len(self._meta_text) > 50_000:  # bounded: per-sample unique metadata
                    self._meta_text.clear()
                text = self._meta_text[sample.metadata] = _meta_string(sample.metadata)
            m = table.get(text)
            buf.meta.append(buf.intern(text) if m is None else m)
        else:
            buf.meta.append(0)
        if conv[3]:
            unknown = self._unknown
            unknown[metric] = unknown.get(metric, 0) + 1
        self._pending += 1
        if len(buf.start) >= MAX_CHUNK_BUFFER:
            self._flush(key)
        elif self._pending >= MAX_PENDING:
            self._flush_cold()

    def add_series(self, series: Series) -> None:
        """Buffer a series of instant samples at once (a beat list): the arrays go into the
        day's buffer as they are, so a beat costs no Sample and no call of its own. A series
        that straddles a UTC day, or whose unit needs converting, goes sample by sample."""
        n = len(series.times)
        if not n:
            return
        import numpy as np

        metric = series.metric
        conv = self._conv.get((metric, series.unit)) or self._conversion(metric, series.unit)
        times = np.frombuffer(series.times, dtype=np.int64)
        first, last = int(times.min()), int(times.max())
        values = series.values
        if (
            conv is None
            or conv[0] != 1.0
            or conv[1] != 0.0
            or conv[3]
            or first // DAY_MS != last // DAY_MS
            or not (first >= MIN_MS and last <= MAX_MS)
            or not np.isfinite(np.frombuffer(values, dtype=np.float64)).all()
        ):
            for t, v in zip(series.times, values, strict=True):
                self.add(
                    Sample(
                        metric,
                        t,
                        t,
                        v,
                        series.unit,
                        series.source,
                        series.device,
                        series.offset_min,
                    )
                )
            return
        key = (metric, first // DAY_MS)
        buf = self._bufs.get(key)
        if buf is None:
            if len(self._bufs) >= MAX_BUFFERS:
                self._flush_cold()
            buf = self._bufs[key] = _Buffer(conv[2])
        self._tick += 1
        buf.touched = self._tick
        buf.start.extend(series.times)
        buf.end.extend(series.times)
        buf.value.extend(values)
        buf.offset.extend(array("h", [series.offset_min]) * n)
        buf.source.extend(array("L", [buf.intern(series.source)]) * n)
        buf.device.extend(array("L", [buf.intern(series.device)]) * n)
        buf.meta.extend(array("L", [0]) * n)
        self._pending += n
        if len(buf.start) >= MAX_CHUNK_BUFFER:
            self._flush(key)
        elif self._pending >= MAX_PENDING:
            self._flush_cold()

    def _flush_cold(self) -> None:
        """Flush the least recently touched buffers until half the budget is free."""
        by_age = sorted(self._bufs.items(), key=lambda kv: kv[1].touched)
        for key, _ in by_age:
            if self._pending <= MAX_PENDING // 2 and len(self._bufs) <= MAX_BUFFERS // 2:
                break
            self._flush(key)

    def _day_index(self, metric: str) -> tuple[str | None, dict[str, str]]:
        found = self._days.get(metric)
        if found is None:
            found = self._days[metric] = catalog.load_days(
                self.vault.store, self.persona_id, metric
            )
        return found

    def _flush(self, key: tuple[str, int]) -> None:
        """Write one buffer into its day's chunk (merging with what is stored)."""
        import numpy as np

        buf = self._bufs.pop(key)
        if key == self._last_key:
            self._last_key = None
        n = len(buf)
        self._pending -= n
        if not n:
            return
        metric, dayno = key
        txn = self._require_txn()
        columns = (buf.start, buf.end, buf.value, buf.offset, buf.source, buf.device, buf.meta)
        cols = chunks.from_lists(columns, buf.strings, buf.unit)
        day = chunks.utc_day(dayno * DAY_MS)
        _, days = self._day_index(metric)
        rid = days.get(day)
        old = chunks.decode(self.vault.store.get(catalog.KIND_CHUNK, rid).data) if rid else None
        merged, _ = chunks.merge(old, cols)
        old_n = len(old) if old is not None else 0
        added = len(merged) - old_n
        if metric not in _COUNTED_APART:
            self._added += added
            self._duplicates += n - added
            if added:
                self._by_metric[metric] = self._by_metric.get(metric, 0) + added
        kept = self._unknown.get(metric)
        if kept is not None and n > added:  # samples of unknown types already stored: not kept
            if kept > n - added:
                self._unknown[metric] = kept - (n - added)
            else:
                del self._unknown[metric]
        self._progress.advance(n)
        if added == 0:
            return
        body = chunks.encode(merged)
        terms = [catalog.chunk_term(self.persona_id, metric, day)]
        if rid:
            txn.update(catalog.KIND_CHUNK, rid, body, terms=terms, compress=True)
        else:
            days[day] = txn.put(catalog.KIND_CHUNK, body, terms=terms, compress=True)
        self._days_dirty.add(metric)
        stats = self._catalog.get(metric)
        if stats is None:
            stats = self._catalog[metric] = catalog.MetricStats(merged.unit)
        stats.unit = merged.unit
        stats.samples += added
        first, last = int(merged.start[0]), int(merged.end.max())
        stats.first = first if stats.first is None else min(stats.first, first)
        stats.last = last if stats.last is None else max(stats.last, last)
        counts = np.bincount(merged.source, minlength=len(merged.strings))
        if old is not None:
            old_counts = np.bincount(old.source, minlength=len(old.strings))
            for i, c in enumerate(old_counts.tolist()):
                if c:
                    name = old.strings[i]
                    stats.sources[name] = stats.sources.get(name, 0) - c
        for i, c in enumerate(counts.tolist()):
            if c:
                name = merged.strings[i]
                stats.sources[name] = stats.sources.get(name, 0) + c
        stats.sources = {k: v for k, v in stats.sources.items() if v > 0}

    # --- workouts and summaries ---

    def add_workout(self, workout: Workout) -> None:
        """Store a workout (with its events and route) unless the same one is already stored."""
        txn = self._require_txn()
        w = workout
        if not (MIN_MS <= w.start <= w.end <= MAX_MS):
            self.issue(
                Text(N_("workout at {start} ms"), start=w.start), N_("impossible time range")
            )
            return
        dedup = f"{self.persona_id}:{w.activity}:{w.start}:{w.end}:{w.source}"
        if dedup in self._workout_keys or self.vault.store.find(catalog.KIND_WORKOUT, "wk", dedup):
            self._duplicates += 1
            return
        self._workout_keys.add(dedup)
        txn.put(
            catalog.KIND_WORKOUT,
            json.dumps(workout_to_json(w), separators=(",", ":")).encode(),
            terms=[("persona", self.persona_id), ("wk", dedup)],
            compress=True,
        )
        self._workouts += 1
        minutes = w.duration_s / 60 if w.duration_s is not None else (w.end - w.start) / 60_000
        self.add(
            Sample(
                WORKOUT_METRIC,
                w.start,
                w.end,
                minutes,
                "min",
                w.source,
                w.device,
                w.offset_min,
                (("activity", w.activity),),
            )
        )

    def add_summary(self, summary: ActivitySummary) -> None:
        """Store a day's activity summary (a later import of the same day replaces it)."""
        txn = self._require_txn()
        body = json.dumps(summary_to_json(summary), separators=(",", ":")).encode()
        key = f"{self.persona_id}:{summary.day}"
        terms = [("persona", self.persona_id), ("psd", key)]
        found = self.vault.store.find(catalog.KIND_SUMMARY, "psd", key)
        if found and found[0].data == body:
            self._duplicates += 1
            return
        if found:
            txn.update(catalog.KIND_SUMMARY, found[0].id, body, terms=terms, compress=True)
        else:
            txn.put(catalog.KIND_SUMMARY, body, terms=terms, compress=True)
        self._summaries += 1

    def add_ecg(self, ecg: Ecg) -> None:
        """Store an ECG recording (header and voltages) with its `ecg` sample, unless the
        same recording is already stored."""
        from vault.data import health_records

        if not (MIN_MS <= ecg.start <= MAX_MS) or not ecg.count:
            self.issue(
                Text(N_("ECG {ecg}"), ecg=ecg.file or ecg.start),
                N_("impossible date or no samples"),
            )
            return
        if not health_records.store_ecg(
            self._require_txn(), self.vault.store, self.persona_id, ecg
        ):
            self._duplicates += 1
            return
        details = [("classification", ecg.classification)]
        if ecg.average_heart_rate is not None:
            details.append(("average_heart_rate", f"{ecg.average_heart_rate:g}"))
        self.add(
            Sample(
                health_records.ECG_METRIC,
                ecg.start,
                ecg.end,
                1.0,
                "",
                ecg.source,
                ecg.device,
                ecg.offset_min,
                tuple(details),
            )
        )

    def add_clinical(self, record: ClinicalRecord) -> None:
        """Store a FHIR resource as a new clinical record, or as the new version of the one it
        is (health_records.store_clinical), with one `clinical_record` sample at its date
        (when it has one) that names the record, so records at one instant stay apart."""
        from vault.data import health_records

        txn = self._require_txn()
        if self._known_clinical is None:
            self._known_clinical = health_records.known_clinical(self.vault.store, self.persona_id)
            self._rekey_legacy_samples(self._known_clinical.records())
        done = health_records.store_clinical(txn, self._known_clinical, self.persona_id, record)
        self._clinical[done.outcome] = self._clinical.get(done.outcome, 0) + 1
        for twin in done.folded:  # deleted: its sample goes, and it is shredded
            self._shredded.append(twin.record_id)
            if twin.date is not None and MIN_MS <= twin.date <= MAX_MS:
                self._drop_record_sample(CLINICAL_METRIC, twin.date, twin.record_id)
        new, old = done.new, done.old
        if new is None:
            return
        date = record.date
        dated = date is not None and MIN_MS <= date <= MAX_MS
        if old is not None:
            self._replaced.append(new.record_id)
            if old.date == date and dated:
                return  # its sample (same record, source, type and instant) stands as it is
            if old.date is not None and MIN_MS <= old.date <= MAX_MS:
                self._drop_record_sample(CLINICAL_METRIC, old.date, old.record_id)
        if date is None or not dated:
            self._clinical["undated"] = self._clinical.get("undated", 0) + 1
            return
        self._add_record_sample(new)

    def _add_record_sample(self, rec: KnownClinical) -> None:
        """The record's `clinical_record` sample: at its date, naming it (chunks.RECORD_KEY)."""
        if rec.date is None:
            return
        self.add(
            Sample(
                CLINICAL_METRIC,
                rec.date,
                rec.date,
                1.0,
                "",
                rec.source,
                "",
                0,
                ((chunks.RECORD_KEY, rec.record_id), ("resource_type", rec.resource_type)),
            )
        )

    def _rekey_legacy_samples(self, records: list[KnownClinical]) -> None:
        """Samples stored before they named their record (one per instant and source, however
        many records shared it) are replaced by one naming each record there. A sample that
        stands for no stored record (written by other means) is left as it is."""
        import numpy as np

        # The merge kept one sample per instant and source, whatever the resource types.
        by_place: dict[tuple[int, str], list[KnownClinical]] = {}
        for rec in records:
            if rec.date is not None and MIN_MS <= rec.date <= MAX_MS:
                by_place.setdefault((rec.date, rec.source), []).append(rec)
        if not by_place:
            return
        _, days = self._day_index(CLINICAL_METRIC)
        for day, rid in sorted(days.items()):  # a copy: _take_out may delete a day
            cols = chunks.decode(self.vault.store.get(catalog.KIND_CHUNK, rid).data)
            keyless = np.flatnonzero(chunks.record_keys(cols) == 0)
            if not len(keyless):
                continue
            names, legacy, found = cols.strings, np.zeros(len(cols), dtype=bool), []
            for i in keyless.tolist():
                recs = by_place.pop((int(cols.start[i]), names[cols.source[i]]), None)
                if recs is not None:
                    legacy[i] = True
                    found.extend(recs)
            if not legacy.any():
                continue
            self._take_out(CLINICAL_METRIC, day, rid, cols, legacy)
            for rec in found:
                self._add_record_sample(rec)

    def _drop_record_sample(self, metric: str, at: int, record_id: str) -> None:
        """Remove the sample that names `record_id` from the chunk of the day of `at` (the
        record was replaced by a version placed elsewhere); the chunk's old version goes as
        the replaced record's does."""
        key = (metric, at // DAY_MS)
        if key in self._bufs:
            self._flush(key)  # the sample may still wait in its buffer
        day = chunks.utc_day(at)
        _, days = self._day_index(metric)
        rid = days.get(day)
        if rid is None:
            return
        cols = chunks.decode(self.vault.store.get(catalog.KIND_CHUNK, rid).data)
        gone = chunks.naming(cols, record_id)
        if not gone.any():
            return
        if self._take_out(metric, day, rid, cols, gone):
            self._shredded.append(rid)
        else:
            self._replaced.append(rid)

    def _take_out(
        self, metric: str, day: str, rid: str, cols: chunks.Columns, gone: npt.NDArray[np.bool_]
    ) -> bool:
        """Remove the samples `gone` marks from the day's chunk `rid` (whose columns are
        `cols`): the chunk is deleted when none is left (True), else rewritten."""
        txn = self._require_txn()
        if gone.all():
            txn.delete(catalog.KIND_CHUNK, rid)
            del self._day_index(metric)[1][day]
            deleted = True
        else:
            txn.update(
                catalog.KIND_CHUNK,
                rid,
                chunks.encode(cols.take(~gone)),
                terms=[catalog.chunk_term(self.persona_id, metric, day)],
                compress=True,
            )
            deleted = False
        self._days_dirty.add(metric)
        self._restat.add(metric)
        return deleted

    def add_profile(self, profile: HealthProfile) -> None:
        """Keep the characteristics an export states as sensitive attributes of the persona
        (vault.data.health_profile), in this import's transaction; the notes say which."""
        from vault.data import health_profile

        self._require_txn()
        try:
            added, differing = health_profile.apply(self.vault, self.persona_id, profile)
        except RecordNotFound:
            # Data written under an id that names no persona (as the library allows): the
            # profile has nowhere to go, and is not turned into samples instead.
            self._notes.append(
                Text(
                    N_("{source}'s profile was not kept: no persona holds this data"),
                    source=profile.source,
                )
            )
            return
        if added:
            self._notes.append(
                Text(
                    N_(
                        "{source}'s profile kept as sensitive attributes of the persona: "
                        "{keys} (shared only under a grant that names them)"
                    ),
                    source=profile.source,
                    keys=", ".join(added),
                )
            )
        if differing:
            self._notes.append(
                Text(
                    N_(
                        "{source}'s profile differs from the persona's attributes, which were "
                        "kept: {keys}"
                    ),
                    source=profile.source,
                    keys=", ".join(differing),
                )
            )

    def issue(self, location: str, problem: str) -> None:
        """Record a recoverable problem (the record is skipped, counted and reported)."""
        self._issue_count += 1
        if len(self._errors) < MAX_LISTED_ISSUES:
            self._errors.append(ImportIssue(location, problem))


def workout_to_json(w: Workout) -> dict[str, Any]:
    """A workout as stored (and exported): plain JSON, route as [time, lat, lon, elevation]."""
    return {
        "activity": w.activity,
        "start": w.start,
        "end": w.end,
        "offset_min": w.offset_min,
        "duration_s": w.duration_s,
        "distance_m": w.distance_m,
        "energy_kcal": w.energy_kcal,
        "source": w.source,
        "device": w.device,
        "events": [[e.kind, e.start, e.end] for e in w.events],
        "route": [[p.time, p.lat, p.lon, p.elevation] for p in w.route],
        "metadata": [list(kv) for kv in w.metadata],
    }


def workout_from_json(d: dict[str, Any]) -> Workout:
    from vault.data.model import RoutePoint, WorkoutEvent

    return Workout(
        activity=d["activity"],
        start=d["start"],
        end=d["end"],
        offset_min=d["offset_min"],
        duration_s=d["duration_s"],
        distance_m=d["distance_m"],
        energy_kcal=d["energy_kcal"],
        source=d["source"],
        device=d["device"],
        events=tuple(WorkoutEvent(k, s, e) for k, s, e in d["events"]),
        route=tuple(RoutePoint(t, la, lo, el) for t, la, lo, el in d["route"]),
        metadata=tuple((k, v) for k, v in d["metadata"]),
    )


def summary_to_json(s: ActivitySummary) -> dict[str, Any]:
    """A day's summary as stored: its fields by name, in their order (`summary_from_json`
    reads them back)."""
    return dataclasses.asdict(s)


def summary_from_json(d: dict[str, Any]) -> ActivitySummary:
    return ActivitySummary(**d)
