"""GPX and TCX tracks: route points, workouts and heart rate, with hardened XML parsing.

defusedxml refuses entity declarations and external references, so a hostile file cannot
expand or read anything; iterparse keeps memory to one track point at a time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from vault.core.errors import MalformedInput
from vault.core.i18n import N_, N_plural, Text
from vault.data.importers.common import Item, Note, ReportIssue, activity_name, ignore_note
from vault.data.model import RoutePoint, Sample, Workout, WorkoutEvent

_EARTH_RADIUS_M = 6_371_008.8


def iso_ms(text: str) -> tuple[int, int]:
    """An ISO 8601 instant (`2019-06-11T22:00:42Z`, offsets allowed) as (UTC ms, offset min);
    ValueError when it is not one or carries no offset."""
    dt = datetime.fromisoformat(text.strip())
    off = dt.utcoffset()
    if off is None:
        raise ValueError("time without a UTC offset")
    return round(dt.timestamp() * 1000), int(off.total_seconds() // 60)


def distance_m(points: list[RoutePoint] | tuple[RoutePoint, ...]) -> float:
    """Length of a route along great circles (haversine), in metres."""
    total = 0.0
    for a, b in itertools.pairwise(points):
        p1, p2 = math.radians(a.lat), math.radians(b.lat)
        dp, dl = p2 - p1, math.radians(b.lon - a.lon)
        h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        total += 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
    return total


def counted(n: int, noun: str) -> str:
    """`1 track point`, `298 track points`: a count for a summary line."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _events(source: IO[bytes], name: str) -> Iterator[tuple[str, object]]:
    try:
        yield from iterparse(source, events=("start", "end"), forbid_dtd=True)
    except DefusedXmlException:
        raise MalformedInput(N_("{name}: declares a DTD or entities, refused"), name=name) from None
    except SyntaxError as exc:  # xml.etree.ElementTree.ParseError
        raise MalformedInput(
            N_("{name}: not well-formed XML ({problem})"), name=name, problem=exc.msg
        ) from None


def _refuse_dtd(*_args: object) -> None:
    raise _DtdRefused


class _DtdRefused(Exception):
    """A GPX file declared a DTD (where entity bombs live): refused before any expansion."""


def _time_ms(text: str) -> int:
    """A GPX `<time>`: `2019-06-11T22:00:42Z` fast, anything else ISO 8601; without an
    offset it is UTC, as the GPX schema says every time is."""
    if len(text) == 20 and text[19] == "Z" and text[10] == "T":
        return round(datetime.fromisoformat(text[:19]).replace(tzinfo=UTC).timestamp() * 1000)
    dt = datetime.fromisoformat(text.strip())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


def gpx_tracks(
    source: IO[bytes], name: str, report: ReportIssue, note: Note = ignore_note
) -> Iterator[tuple[str, list[RoutePoint]]]:
    """Each GPX track as (type or "", points), every segment joined in order.

    Parsed with expat directly (GPX routes are most of an Apple export's files); a DTD is
    refused outright, so no entity is ever declared or expanded. Points without a time or
    with a bad position are skipped and reported once for the file, with their count;
    waypoints and planned routes (`wpt`, `rte`) are counted in a note.
    """
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    tracks: list[tuple[str, list[RoutePoint]]] = []
    points: list[RoutePoint] = []
    kind = ""
    point: dict[str, str] | None = None
    field = ""  # the child of trkpt (or trk/type) whose text is being read
    text: list[str] = []
    values: dict[str, str] = {}
    untimed = bad = 0
    others: dict[str, int] = {"wpt": 0, "rtept": 0}

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal point, field, points, kind
        tag = tag.rpartition(":")[2]
        if tag == "trkpt":
            point = attrs
            values.clear()
        elif point is not None and tag in ("ele", "time"):
            field = tag
            text.clear()
        elif tag == "type" and point is None:
            field = "type"
            text.clear()
        elif tag == "trk":
            points, kind = [], ""
        elif tag in others:
            others[tag] += 1

    def chars(data: str) -> None:
        if field:
            text.append(data)

    def end(tag: str) -> None:
        nonlocal point, field, kind, untimed, bad
        tag = tag.rpartition(":")[2]
        if field and tag == field:
            if field == "type":
                kind = "".join(text).strip()
            else:
                values[field] = "".join(text).strip()
            field = ""
        elif tag == "trkpt" and point is not None:
            try:
                t = _time_ms(values["time"])
            except (KeyError, ValueError):
                untimed += 1
                point = None
                return
            try:
                lat, lon = float(point["lat"]), float(point["lon"])
                if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                    raise ValueError("position out of range")
                ele = values.get("ele")
                points.append(RoutePoint(t, lat, lon, float(ele) if ele else None))
            except (KeyError, ValueError):
                bad += 1
            point = None
        elif tag == "trk":
            tracks.append((kind, points))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        while block := source.read(1 << 16):
            parser.Parse(block, False)
            yield from tracks
            tracks.clear()
        parser.Parse(b"", True)
        yield from tracks
        _report_untimed(report, name, untimed)
        if bad:
            report(
                name,
                Text(
                    N_plural(
                        "{n:,} track point with a bad position or elevation skipped",
                        "{n:,} track points with a bad position or elevation skipped",
                    ),
                    n=bad,
                ),
            )
        if others["wpt"] or others["rtept"]:
            note(
                Text(
                    N_("{name}: {waypoints} and {points} not imported (only recorded tracks are)"),
                    name=name,
                    waypoints=Text(N_plural("{n:,} waypoint", "{n:,} waypoints"), n=others["wpt"]),
                    points=Text(
                        N_plural("{n:,} planned route point", "{n:,} planned route points"),
                        n=others["rtept"],
                    ),
                )
            )
    except _DtdRefused:
        raise MalformedInput(N_("{name}: declares a DTD or entities, refused"), name=name) from None
    except expat.ExpatError as exc:
        problem = expat.ErrorString(exc.code)
        raise MalformedInput(
            N_("{name} line {line}: not well-formed XML ({problem})"),
            name=name,
            line=exc.lineno,
            problem=problem,
        ) from None


def gpx_points(source: IO[bytes], name: str, report: ReportIssue) -> list[RoutePoint]:
    """Every track point of a GPX file, in file order (Apple Health workout routes)."""
    return [p for _, pts in gpx_tracks(source, name, report) for p in pts]


def parse_gpx(
    source: IO[bytes], name: str, report: ReportIssue, device: str = "", note: Note = ignore_note
) -> Iterator[Item]:
    """A GPX file as workouts, one per track (type from <type>, else `other`)."""
    for n, (kind, points) in enumerate(gpx_tracks(source, name, report, note), 1):
        if len(points) < 2:
            report(
                Text(N_("{name} track {number}"), name=name, number=n),
                N_("fewer than two timed points: not a workout"),
            )
            continue
        route = tuple(points)
        yield Workout(
            activity=activity_name(kind),
            start=route[0].time,
            end=route[-1].time,
            duration_s=(route[-1].time - route[0].time) / 1000,
            distance_m=round(distance_m(route), 1),
            source="GPX",
            device=device,
            route=route,
        )


def parse_tcx(
    source: IO[bytes], name: str, report: ReportIssue, note: Note = ignore_note
) -> Iterator[Item]:
    """A TCX file: each Activity as a workout (laps as events, track as route) plus its
    heart-rate readings as `heart_rate` samples. Track points without a time, or with a
    position or heart rate that is not a number, are reported once for the file with their
    count; Courses (planned routes) are counted in a note."""
    sport = ""
    laps: list[WorkoutEvent] = []
    route: list[RoutePoint] = []
    hr: list[tuple[int, float]] = []
    dist = cal = secs = 0.0
    creator = ""
    lap_start: str | None = None
    offset = 0
    n_act = untimed = bad = courses = 0
    for event, elem in _events(source, name):
        tag = _local(elem.tag)  # type: ignore[attr-defined]
        if event == "start":
            if tag == "Activity":
                sport = elem.get("Sport", "")  # type: ignore[attr-defined]
                laps, route, hr, dist, cal, secs, creator = [], [], [], 0.0, 0.0, 0.0, ""
                n_act += 1
            elif tag == "Lap":
                lap_start = elem.get("StartTime")  # type: ignore[attr-defined]
            elif tag == "Course":
                courses += 1
            continue
        if tag == "Trackpoint":
            fields = {_local(c.tag): c for c in elem.iter()}  # type: ignore[attr-defined]
            try:
                when = fields["Time"].text or ""
                t, offset = iso_ms(when)
            except (KeyError, ValueError):
                untimed += 1
                elem.clear()  # type: ignore[attr-defined]
                continue
            try:
                if "LatitudeDegrees" in fields and "LongitudeDegrees" in fields:
                    alt = fields.get("AltitudeMeters")
                    route.append(
                        RoutePoint(
                            t,
                            float(fields["LatitudeDegrees"].text or ""),
                            float(fields["LongitudeDegrees"].text or ""),
                            float(alt.text or "") if alt is not None else None,
                        )
                    )
                bpm = fields.get("HeartRateBpm")
                if bpm is not None:
                    value = fields.get("Value")
                    if value is not None:
                        hr.append((t, float(value.text or "")))
            except ValueError:
                bad += 1
            elem.clear()  # type: ignore[attr-defined]
        elif tag == "Lap":
            try:
                secs += float(_child_text(elem, "TotalTimeSeconds") or 0)
                dist += float(_child_text(elem, "DistanceMeters") or 0)
                cal += float(_child_text(elem, "Calories") or 0)
                if lap_start:
                    t0, _ = iso_ms(lap_start)
                    t1 = t0 + round(float(_child_text(elem, "TotalTimeSeconds") or 0) * 1000)
                    laps.append(WorkoutEvent("lap", t0, t1))
            except ValueError:
                report(
                    Text(N_("{name} activity {number}"), name=name, number=n_act),
                    N_("lap with non-numeric totals or a bad time"),
                )
            elem.clear()  # type: ignore[attr-defined]
        elif tag == "Name" and creator == "":
            creator = (elem.text or "").strip()  # type: ignore[attr-defined]
        elif tag == "Activity":
            start_candidates = [e.start for e in laps] + [p.time for p in route]
            end_candidates = [e.end for e in laps] + [p.time for p in route]
            if not start_candidates:
                report(
                    Text(N_("{name} activity {number}"), name=name, number=n_act),
                    N_("no laps or timed points: skipped"),
                )
                continue
            start, end = min(start_candidates), max(end_candidates)
            yield Workout(
                activity=activity_name(sport),
                start=start,
                end=end,
                offset_min=offset,
                duration_s=secs or (end - start) / 1000,
                distance_m=dist or (round(distance_m(route), 1) if route else None),
                energy_kcal=cal or None,
                source="TCX",
                device=creator,
                events=tuple(laps),
                route=tuple(route),
            )
            for t, bpm_value in hr:
                yield Sample("heart_rate", t, t, bpm_value, "/min", "TCX", creator, offset)
            elem.clear()  # type: ignore[attr-defined]
    if courses:
        note(
            Text(
                N_plural(
                    "{name}: {n:,} course (planned routes) not imported",
                    "{name}: {n:,} courses (planned routes) not imported",
                ),
                name=name,
                n=courses,
            )
        )
    _report_untimed(report, name, untimed)
    if bad:
        report(
            name,
            Text(
                N_plural(
                    "{n:,} track point with a position or heart rate that is not a number",
                    "{n:,} track points with a position or heart rate that is not a number",
                ),
                n=bad,
            ),
        )


def _report_untimed(report: ReportIssue, name: str, untimed: int) -> None:
    """Say how many track points of NAME were skipped for want of a valid time (if any)."""
    if untimed:
        report(
            name,
            Text(
                N_plural(
                    "{n:,} track point without a valid time skipped",
                    "{n:,} track points without a valid time skipped",
                ),
                n=untimed,
            ),
        )


def _child_text(elem: object, name: str) -> str | None:
    for child in elem:  # type: ignore[attr-defined]
        if _local(child.tag) == name:
            return child.text  # type: ignore[no-any-return]
    return None
