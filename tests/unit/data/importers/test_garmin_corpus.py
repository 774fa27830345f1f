"""FIT, GPX and TCX files written by others (tests/corpus/fit, gpx, tcx) through the Garmin
importer, each compared with an independent count: fitdecode's own frames in its default
mode, xml.etree's count of track points. Then the defects real files showed, one by one."""

from __future__ import annotations

import functools
import io
import itertools
import shutil
import warnings
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import fitdecode  # type: ignore[import-untyped]
import pytest
from defusedxml import ElementTree

from tests.conftest import CORPUS
from vault.core.errors import InvalidParameter
from vault.core.vault import Vault
from vault.data import query
from vault.data.importers import FitDamaged, import_garmin, parse_garmin
from vault.data.importers.garmin import ScaleUsers
from vault.data.model import Sample, Workout

P = "0123456789abcdef0123456789abcdef"
FIT_EPOCH_S = 631_065_600
MULTISPORT = "activity-large-fenxi2-multisport.zip"

# The corpus files Coffre refuses, each with the error and the words it must say.
REFUSED: dict[str, tuple[type[Exception], str]] = {
    "activity-filecrc.fit": (FitDamaged, "checksum mismatch"),
    "activity-settings-corruptheader.fit": (FitDamaged, "bad header"),
    "activity-settings-nodata.fit": (FitDamaged, "truncated"),
    "activity-unexpected-eof.fit": (FitDamaged, "truncated"),
    "WeightScaleMultiUser.fit": (ScaleUsers, "user 0 .*user 1 .*--scale-user"),
}


def corpus_files() -> list[Path]:
    return sorted(
        p
        for folder in ("fit", "gpx", "tcx")
        for p in (CORPUS / folder).iterdir()
        if p.name != "SOURCES.md"
    )


def parse(
    path: Path, **options: Any
) -> tuple[list[Sample | Workout], list[tuple[str, str]], list[str]]:
    issues: list[tuple[str, str]] = []
    notes: list[str] = []
    items = list(
        parse_garmin(path, lambda loc, p: issues.append((loc, p)), notes.append, **options)
    )
    return items, issues, notes  # type: ignore[return-value]


@functools.cache
def parsed(path: Path) -> tuple[list[Sample | Workout], list[tuple[str, str]], list[str]]:
    """`parse(path)` once per run: fitdecode takes seconds on the largest corpus files."""
    return parse(path)


def fit_bytes(path: Path) -> bytes:
    """A corpus FIT file's bytes (the multisport file is kept zipped)."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            return zf.read(path.with_suffix(".fit").name)
    return path.read_bytes()


@functools.cache
def frames(data: bytes) -> list[tuple[str, dict[str, Any], Any]]:
    """Every data message as fitdecode reads it in its default mode (no Coffre code); once
    per file and run."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fitdecode.FitReader(io.BytesIO(data)) as reader:
            for f in reader:
                if isinstance(f, fitdecode.FitDataMessage):
                    values = {x.name: x.value for x in f.fields if x.value is not None}
                    out.append((f.name, values, f.time_offset))
    return out


def _tuple(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else () if value is None else (value,)


def timed(v: dict[str, Any]) -> bool:
    return isinstance(v.get("timestamp"), datetime | int)


def workouts(items: list[Sample | Workout]) -> list[Workout]:
    return [i for i in items if isinstance(i, Workout)]


def samples_of(items: list[Sample | Workout], metric: str) -> list[Sample]:
    return [i for i in items if isinstance(i, Sample) and i.metric == metric]


def check_fit(items: list[Sample | Workout], data: bytes) -> None:
    """Coffre's items against fitdecode's frames of the same file."""
    fs = frames(data)
    records = [v for n, v, _ in fs if n == "record" and timed(v)]
    sessions = [v for n, v, _ in fs if n == "session"]
    laps = [v for n, v, _ in fs if n == "lap" and "start_time" in v and "timestamp" in v]
    monitoring = any(n == "monitoring" for n, _, _ in fs)
    ws = workouts(items)
    assert len(ws) == (len(sessions) or (1 if records else 0))
    if not monitoring:
        # the records' readings, and some of those a strap stored (hr: test_garmin_hr.py)
        own = sum("heart_rate" in r for r in records)
        stored = sum(len(_tuple(v.get("filtered_bpm"))) for n, v, _ in fs if n == "hr")
        assert own <= len(samples_of(items, "heart_rate")) <= own + stored
    positions = sum("position_lat" in r and "position_long" in r for r in records)
    assert sum(len(w.route) for w in ws) == positions  # each point once, in one workout
    assert sum(e.kind == "lap" for w in ws for e in w.events) == len(laps)
    weighed = [v for n, v, _ in fs if n == "weight_scale" and "weight" in v]
    assert len(samples_of(items, "body_mass")) == len(weighed)
    intervals = [
        t
        for n, v, _ in fs
        if n == "hrv"
        for t in (v["time"] if isinstance(v.get("time"), tuple) else (v.get("time"),))
        if t is not None and t > 0
    ]
    beats = samples_of(items, "rr_interval")
    assert [s.value for s in beats] == pytest.approx([t * 1000 for t in intervals])
    assert all(a.start < b.start for a, b in itertools.pairwise(beats))


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_file_matches_an_independent_count_or_is_refused(path: Path) -> None:
    if path.name in REFUSED:
        error, words = REFUSED[path.name]
        with pytest.raises(error, match=words):
            parse(path)
        return
    items, issues, _ = parsed(path)
    if path.suffix in (".fit", ".zip"):
        check_fit(items, fit_bytes(path))
    elif path.suffix == ".gpx":
        check_gpx(items, issues, path)
    else:
        check_tcx(items, path)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def check_gpx(items: list[Sample | Workout], issues: list[tuple[str, str]], path: Path) -> None:
    """One workout per track with two timed points or more, holding exactly those points;
    untimed points reported once for the file, with their count."""
    root = ElementTree.parse(path).getroot()
    tracks = [t for t in root.iter() if _local(t.tag) == "trk"]
    per_track = []
    untimed = 0
    for trk in tracks:
        points = [p for p in trk.iter() if _local(p.tag) == "trkpt"]
        with_time = [p for p in points if any(_local(c.tag) == "time" for c in p)]
        untimed += len(points) - len(with_time)
        per_track.append(len(with_time))
    ws = workouts(items)
    assert [len(w.route) for w in ws] == [n for n in per_track if n >= 2]
    about_time = [p for loc, p in issues if "without a valid time" in p]
    assert about_time == (
        [f"{untimed:,} track point{'s' if untimed != 1 else ''} without a valid time skipped"]
        if untimed
        else []
    )


def check_tcx(items: list[Sample | Workout], path: Path) -> None:
    root = ElementTree.parse(path).getroot()
    points = [p for p in root.iter() if _local(p.tag) == "Trackpoint"]
    kids = [{_local(c.tag) for c in p.iter()} for p in points]
    timed_points = [k for k in kids if "Time" in k]
    (w,) = workouts(items)
    assert len(w.route) == sum("LatitudeDegrees" in k for k in timed_points)
    assert len(samples_of(items, "heart_rate")) == sum("HeartRateBpm" in k for k in timed_points)
    laps = [e for e in root.iter() if _local(e.tag) == "Lap"]
    assert sum(e.kind == "lap" for e in w.events) == len(laps)


# --- compressed timestamps, system time --------------------------------------------------


@pytest.mark.parametrize("name", ["compressed-speed-distance.fit", "antfs-dump.63.fit"])
def test_compressed_timestamps_of_an_older_watch_are_read(name: str) -> None:
    """Records with a compressed timestamp header (5-bit offset from the last full time),
    counted from the watch's power-on, placed by the activity message's local clock."""
    data = (CORPUS / "fit" / name).read_bytes()
    fs = frames(data)
    assert sum(off is not None for _, _, off in fs) > 100  # the file really uses them
    (activity,) = [v for n, v, _ in fs if n == "activity"]
    anchor_ms = round(activity["local_timestamp"].timestamp() * 1000) - activity["timestamp"] * 1000
    expected = [
        v["timestamp"] * 1000 + anchor_ms
        for n, v, _ in fs
        if n == "record" and "heart_rate" in v and isinstance(v.get("timestamp"), int)
    ]
    items, issues, notes = parse(CORPUS / "fit" / name)
    assert issues == []
    assert [s.start for s in samples_of(items, "heart_rate")] == expected
    (w,) = workouts(items)
    assert w.start <= expected[0] and expected[-1] <= w.end
    assert any("power-on" in n for n in notes)


def test_system_times_with_nothing_to_place_them_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reproduction: the real file without its activity message (what places system times
    in a day) has no date, and is refused rather than imported at 1990."""
    from vault.data.importers import garmin

    real = garmin._fit_messages

    def without_activity(data: bytes, name: str, note: Callable[[str], None]) -> list[Any]:
        return [m for m in real(data, name, note) if m.name != "activity"]

    monkeypatch.setattr(garmin, "_fit_messages", without_activity)
    with pytest.raises(FitDamaged, match="power-on"):
        parse(CORPUS / "fit/antfs-dump.63.fit")


# --- an unset device clock ---------------------------------------------------------------


def test_an_unset_device_clock_drops_the_offset_and_says_so(fresh_vault: Vault) -> None:
    """Zwift wrote a local time of 1989-12-31 (FIT's time zero): no 16-bit overflow."""
    path = CORPUS / "fit/null_compressed_speed_dist.fit"
    fs = frames(path.read_bytes())
    (activity,) = [v for n, v, _ in fs if n == "activity"]
    assert activity["local_timestamp"].timestamp() == FIT_EPOCH_S  # the real file's clock
    summary = import_garmin(fresh_vault, P, path)
    hr = {(v["timestamp"], v["heart_rate"]) for n, v, _ in fs if n == "record" and timed(v)}
    assert (summary.workouts, summary.added, summary.errors) == (1, len(hr), ())
    assert any("local clock was not set" in n for n in summary.notes)
    (w,) = query.workouts(fresh_vault, P)
    assert w.offset_min == 0 and w.source == "Zwift 0"


# --- multisport: sessions, laps, boundaries --------------------------------------------


def test_multisport_one_workout_per_session_with_its_own_laps() -> None:
    """The fenix 2 triathlon: its first leg's records began 45 minutes before the session's
    start_time (they are kept, in that leg), each leg has its own lap, none counted twice."""
    fs = frames(fit_bytes(CORPUS / "fit" / MULTISPORT))
    sessions = [v for n, v, _ in fs if n == "session"]
    laps = [v for n, v, _ in fs if n == "lap"]
    records = [v for n, v, _ in fs if n == "record" and timed(v)]
    early = [r for r in records if r["timestamp"] < sessions[0]["start_time"]]
    assert len(early) > 1000  # the real file's defect
    items, issues, notes = parsed(CORPUS / "fit" / MULTISPORT)
    assert issues == []
    ws = workouts(items)
    assert len(ws) == len(sessions)
    assert [sum(e.kind == "lap" for e in w.events) for w in ws] == [1] * len(sessions)
    assert sorted(e.start for w in ws for e in w.events if e.kind == "lap") == sorted(
        round(v["start_time"].timestamp() * 1000) for v in laps
    )
    first_lap = min(v["start_time"] for v in laps)
    assert ws[0].start == round(first_lap.timestamp() * 1000)
    assert any("session 1's laps begin" in n for n in notes)
    for w, s in zip(ws, sessions, strict=True):
        assert (w.end - w.start) / 1000 >= s["total_elapsed_time"] - 1  # its duration fits
        assert all(w.start <= p.time <= w.end for p in w.route)
    hr = samples_of(items, "heart_rate")
    assert len(hr) == sum("heart_rate" in r for r in records)  # the early ones included
    early_times = {round(r["timestamp"].timestamp() * 1000) for r in early}
    assert early_times <= {p.time for p in ws[0].route} | {s.start for s in hr}


def test_laps_follow_first_lap_index_and_boundary_records_count_once(
    fresh_vault: Vault,
) -> None:
    """A Forerunner 920XT triathlon (chained FIT files): each session names its laps, and a
    record at the instant one leg ends and the next begins belongs to one workout only."""
    path = CORPUS / "fit/sample_mulitple_header.fit"
    fs = frames(path.read_bytes())
    sessions = [v for n, v, _ in fs if n == "session"]
    records = [v for n, v, _ in fs if n == "record" and timed(v)]
    boundaries = {s["timestamp"] for s in sessions} & {s["start_time"] for s in sessions}
    assert any(r["timestamp"] in boundaries for r in records)  # the case is in the file
    items, _, _ = parse(path)
    ws = workouts(items)
    assert [sum(e.kind == "lap" for e in w.events) for w in ws] == [s["num_laps"] for s in sessions]
    times = [p.time for w in ws for p in w.route]
    assert len(times) == len(set(times))
    summary = import_garmin(fresh_vault, P, path)
    unique = {
        (round(r["timestamp"].timestamp() * 1000), float(r["heart_rate"]))
        for r in records
        if "heart_rate" in r
    }
    stored = {(s.start, s.value) for s in query.samples(fresh_vault, P, "heart_rate")}
    at_records = {t for t, _ in unique}
    assert {x for x in stored if x[0] in at_records} == unique  # each record's, once
    assert summary.added == len(stored)  # with the strap's own (test_garmin_hr.py)
    assert summary.workouts == len(sessions)


def test_records_before_every_session_are_kept_and_said(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reproduction: the 920XT triathlon without its first session message (as a watch
    that lost it would write), so the swim's records and lap precede every session. They
    are kept (heart rate, positions, the lap) with the first workout, and a note says so."""
    from vault.data.importers import garmin

    real = garmin._fit_messages

    def first_session_lost(data: bytes, name: str, note: Callable[[str], None]) -> list[Any]:
        msgs = real(data, name, note)
        first = next(i for i, m in enumerate(msgs) if m.name == "session")
        return msgs[:first] + msgs[first + 1 :]

    monkeypatch.setattr(garmin, "_fit_messages", first_session_lost)
    path = CORPUS / "fit/sample_mulitple_header.fit"
    fs = frames(path.read_bytes())
    records = [v for n, v, _ in fs if n == "record" and timed(v)]
    laps = [v for n, v, _ in fs if n == "lap"]
    items, _, notes = parse(path)
    ws = workouts(items)
    assert len(ws) == sum(n == "session" for n, _, _ in fs) - 1
    with_hr = {round(r["timestamp"].timestamp() * 1000) for r in records if "heart_rate" in r}
    from_records = [s for s in samples_of(items, "heart_rate") if s.start in with_hr]
    assert len(from_records) == sum("heart_rate" in r for r in records)
    assert sum(len(w.route) for w in ws) == sum("position_lat" in r for r in records)
    assert sum(e.kind == "lap" for w in ws for e in w.events) == len(laps)
    assert ws[0].start == round(min(v["start_time"] for v in laps).timestamp() * 1000)
    assert any("before its start time" in n or "outside its sessions" in n for n in notes)


# --- weight scales shared by several people ----------------------------------------------


def test_a_shared_weight_scale_file_is_refused_until_told_whose() -> None:
    path = CORPUS / "fit/WeightScaleMultiUser.fit"
    fs = frames(path.read_bytes())
    users = {v["user_profile_index"] for n, v, _ in fs if n == "weight_scale"}
    assert len(users) == 2
    with pytest.raises(ScaleUsers, match=r"user 0 \(1 weighing\), user 1 \(1 weighing\)"):
        parse(path)
    for user in sorted(users):
        items, _, notes = parse(path, scale_user=user)
        mine = [
            v["weight"] for n, v, _ in fs if n == "weight_scale" and v["user_profile_index"] == user
        ]
        assert [s.value for s in samples_of(items, "body_mass")] == mine
        assert any("of users other than" in n for n in notes)
    with pytest.raises(ScaleUsers, match="no user 7 in this file"):
        parse(path, scale_user=7)


def test_a_single_user_scale_file_is_unchanged_by_the_option() -> None:
    path = CORPUS / "fit/WeightScaleSingleUser.fit"
    alone, _, _ = parse(path)
    told, _, _ = parse(path, scale_user=3)
    assert told == alone and len(samples_of(alone, "body_mass")) == 2


def test_a_shared_scale_file_alone_leaves_the_vault_unchanged(fresh_vault: Vault) -> None:
    before = fresh_vault.store.counts()
    with pytest.raises(ScaleUsers):
        import_garmin(fresh_vault, P, CORPUS / "fit/WeightScaleMultiUser.fit")
    assert fresh_vault.store.counts() == before
    summary = import_garmin(fresh_vault, P, CORPUS / "fit/WeightScaleMultiUser.fit", scale_user="1")
    assert summary.added == 2  # user 1's weight and body fat
    with pytest.raises(InvalidParameter, match="user number"):
        import_garmin(fresh_vault, P, CORPUS / "fit/WeightScaleMultiUser.fit", scale_user="ana")


# --- device names, lenient reading ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "maker"),
    [
        ("elemnt-bolt-no-application-id-inside-developer-data-id.fit", "Wahoo Fitness"),
        ("coros-pace-2-cycling-misaligned-fields.fit", "COROS"),
        ("null_compressed_speed_dist.fit", "Zwift"),
        ("garmin-fenix-5-bike.fit", "Garmin"),
    ],
)
def test_the_source_is_the_manufacturers_real_name(name: str, maker: str) -> None:
    fs = frames((CORPUS / "fit" / name).read_bytes())
    (file_id,) = [v for n, v, _ in fs if n == "file_id"]
    product = file_id.get("garmin_product", file_id.get("product"))
    items, _, _ = parsed(CORPUS / "fit" / name)
    (w,) = workouts(items)
    assert w.source == f"{maker} {product}"
    assert ("Garmin" in w.source) == (file_id["manufacturer"] == "garmin")


def test_a_misaligned_developer_field_is_read_as_fitdecode_reads_it() -> None:
    """A COROS watch wrote 1-byte uint32 fields: fitdecode's strict mode refuses the file,
    its default mode reads it; so does Coffre, and says the file was damaged."""
    path = CORPUS / "fit/coros-pace-2-cycling-misaligned-fields.fit"
    strict = fitdecode.FitReader(path, error_handling=fitdecode.ErrorHandling.RAISE)
    with pytest.raises(fitdecode.FitParseError), strict as frames_read:
        for _ in frames_read:
            pass
    records = [v for n, v, _ in frames(path.read_bytes()) if n == "record" and timed(v)]
    items, issues, notes = parsed(path)
    assert issues == []
    assert len(samples_of(items, "heart_rate")) == sum("heart_rate" in r for r in records)
    assert any("read leniently" in n for n in notes)


# --- folders and zips: one bad file never stops the others ------------------------------


def _mixed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "watch"
    # the largest files are left out: fitdecode alone takes seconds on them
    big = shutil.ignore_patterns("*.md", "*.zip", "coros-*", "sample_mulitple_header.fit")
    shutil.copytree(CORPUS / "fit", folder, ignore=big)
    shutil.copy(CORPUS / "gpx/cerknicko-without-times.gpx", folder / "nested.gpx")
    return folder


def test_a_folder_imports_every_good_file_and_lists_each_bad_one(tmp_path: Path) -> None:
    folder = _mixed_folder(tmp_path)
    items, issues, _ = parse(folder)
    skipped = {loc: p for loc, p in issues if p.endswith("nothing imported from this file")}
    assert set(skipped) == set(REFUSED)
    assert skipped["activity-filecrc.fit"].startswith("checksum mismatch (damaged): skipped")
    assert "--scale-user" in skipped["WeightScaleMultiUser.fit"]
    assert workouts(items) == _good_workouts(folder)


def _good_workouts(folder: Path) -> list[Workout]:
    """The workouts of the folder's good files, each parsed alone."""
    good = [p for p in sorted(folder.iterdir()) if p.name not in REFUSED]
    return [
        w
        for p in good
        for w in workouts(parsed(CORPUS / "fit" / p.name)[0] if p.suffix == ".fit" else parse(p)[0])
    ]


def test_an_unexpected_failure_skips_that_file_only_and_quotes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parser bug (here an AttributeError whose message quotes the file) on one file: that
    file is listed by the exception's class only; what it had reported is not kept."""
    from vault.data.importers import garmin

    real = garmin.parse_fit

    def buggy(data: bytes, name: str, report: Any, note: Any, **kw: Any) -> list[Any]:
        if name.endswith("Activity.fit"):
            report(name, "an issue reported before the failure")
            raise AttributeError("'int' object has no attribute 'replace': SECRET 72 bpm")
        return real(data, name, report, note, **kw)  # type: ignore[no-any-return]

    monkeypatch.setattr(garmin, "parse_fit", buggy)
    folder = _mixed_folder(tmp_path)
    z = tmp_path / "watch.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f"export/{f.name}")
    for path, location in ((folder, "Activity.fit"), (z, "export/Activity.fit")):
        items, issues, _ = parse(path)
        assert (
            location,
            "cannot be read (unexpected AttributeError): skipped whole, "
            "nothing imported from this file",
        ) in issues
        assert not any("SECRET" in p or "before the failure" in p for _, p in issues)
        assert workouts(items)


def test_a_folder_import_lands_every_good_file(fresh_vault: Vault, tmp_path: Path) -> None:
    folder = _mixed_folder(tmp_path)
    summary = import_garmin(fresh_vault, P, folder)
    assert sorted(e.location for e in summary.errors if "skipped whole" in e.problem) == sorted(
        REFUSED
    )
    # Activity.fit and activity-settings.fit hold the same workout: it is stored once
    unique = {(w.activity, w.start, w.end, w.source) for w in _good_workouts(folder)}
    assert summary.workouts == len(query.workouts(fresh_vault, P)) == len(unique)
    again = import_garmin(fresh_vault, P, folder)
    assert (again.added, again.workouts) == (0, 0)


# --- GPX and TCX -----------------------------------------------------------------------------


def test_gpx_untimed_points_are_one_error_with_their_count() -> None:
    path = CORPUS / "gpx/cerknicko-without-times.gpx"
    root = ElementTree.parse(path).getroot()
    untimed = sum(
        1
        for p in root.iter()
        if _local(p.tag) == "trkpt" and not any(_local(c.tag) == "time" for c in p)
    )
    _, issues, _ = parse(path)
    about_points = [(loc, p) for loc, p in issues if "track point" in p]
    assert about_points == [(path.name, f"{untimed} track points without a valid time skipped")]


def test_gpx_waypoints_and_routes_are_said_to_be_left_out() -> None:
    path = CORPUS / "gpx/route.gpx"
    root = ElementTree.parse(path).getroot()
    rtept = sum(1 for p in root.iter() if _local(p.tag) == "rtept")
    items, _, notes = parse(path)
    assert items == []
    assert any(f"{rtept} planned route points not imported" in n for n in notes)


@pytest.mark.parametrize("folder", ["fit", "gpx", "tcx"])
def test_every_corpus_file_is_listed_with_its_origin(folder: str) -> None:
    sources = (CORPUS / folder / "SOURCES.md").read_text(encoding="utf-8")
    listed = {line.split("`")[1] for line in sources.splitlines() if line.startswith("| `")}
    assert listed == {p.name for p in (CORPUS / folder).iterdir() if p.name != "SOURCES.md"}
    size = sum(p.stat().st_size for f in ("fit", "gpx", "tcx") for p in (CORPUS / f).iterdir())
    assert size < 1_500_000  # the corpus stays small
