"""Generate a realistic Apple Health export.zip of N records, streaming (constant memory).

What real iOS 16+ exports hold, in their proportions: mostly heart rate, steps, energy and
distance Records with device strings and MetadataEntry children; sleep stages; blood
pressure Correlations whose nested Records also appear at top level; Workouts with events,
statistics and a GPX route in workout-routes/; one ActivitySummary a day; the broken
internal DTD of iOS 16 and stray \\x0b control characters in some attribute values; and an
export_cda.xml next to export.xml.

    python benchmarks/gen_apple_health.py OUT.zip --records 1000000
"""

from __future__ import annotations

import argparse
import random
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

DTD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 13 -->
<!ELEMENT HealthData (ExportDate,Me,
  (Record|Correlation|Workout|ActivitySummary|ClinicalRecord|Audiogram|VisionPrescription)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
  unit          CDATA #IMPLIED
  value         CDATA #IMPLIED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!-- Note: Any Records that appear as children of a correlation also appear as top-level
  records in this document. -->
<!ELEMENT Correlation ((MetadataEntry|Record)*)>
<!ELEMENT VisionPrescription ((RightEye|LeftEye|Attachment|MetadataEntry)*)>
<!ATTLIST VisionPrescription
  type             CDATA #REQUIRED
  dateIssued       CDATA #REQUIRED
  expirationDate   CDATA #REQUIRED
  brand            CDATA #IMPLIED
{close}
<!ELEMENT RightEye EMPTY>
]>
"""

WATCH = "Sam\u2019s Apple\u00a0Watch"
PHONE = "Sam\x0bs iPhone"  # the stray control character real exports carry
WATCH_DEV = (
    "&lt;&lt;HKDevice: 0x{:09x}&gt;, name:Apple Watch, manufacturer:Apple Inc., "
    "model:Watch, hardware:Watch6,2, software:9.1&gt;"
)
PHONE_DEV = (
    "&lt;&lt;HKDevice: 0x{:09x}&gt;, name:iPhone, manufacturer:Apple Inc., "
    "model:iPhone, hardware:iPhone14,5, software:16.1&gt;"
)
SLEEP = [
    "HKCategoryValueSleepAnalysisInBed",
    "HKCategoryValueSleepAnalysisAsleepCore",
    "HKCategoryValueSleepAnalysisAsleepDeep",
    "HKCategoryValueSleepAnalysisAsleepREM",
    "HKCategoryValueSleepAnalysisAwake",
]
# (type, unit, source, weight, value function)
KINDS = [
    ("HKQuantityTypeIdentifierHeartRate", "count/min", WATCH, 40, lambda r: r.randint(48, 165)),
    ("HKQuantityTypeIdentifierStepCount", "count", PHONE, 15, lambda r: r.randint(1, 900)),
    (
        "HKQuantityTypeIdentifierActiveEnergyBurned",
        "kcal",
        WATCH,
        15,
        lambda r: round(r.uniform(0.05, 12), 3),
    ),
    (
        "HKQuantityTypeIdentifierBasalEnergyBurned",
        "kcal",
        WATCH,
        12,
        lambda r: round(r.uniform(0.5, 2), 3),
    ),
    (
        "HKQuantityTypeIdentifierDistanceWalkingRunning",
        "km",
        PHONE,
        10,
        lambda r: round(r.uniform(0.001, 0.8), 5),
    ),
    (
        "HKQuantityTypeIdentifierOxygenSaturation",
        "%",
        WATCH,
        2,
        lambda r: round(r.uniform(0.92, 1.0), 2),
    ),
    (
        "HKQuantityTypeIdentifierHeartRateVariabilitySDNN",
        "ms",
        WATCH,
        2,
        lambda r: round(r.uniform(15, 120), 3),
    ),
    (
        "HKQuantityTypeIdentifierEnvironmentalAudioExposure",
        "dBASPL",
        WATCH,
        2,
        lambda r: round(r.uniform(35, 90), 2),
    ),
    ("HKCategoryTypeIdentifierSleepAnalysis", "", WATCH, 2, lambda r: r.choice(SLEEP)),
]
WEIGHTS = [k[3] for k in KINDS]


def _date(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S -0500")


def _beat_list(start: datetime, beats: int, rng: random.Random) -> str:
    """An SDNN record's beat list as iOS writes it: one InstantaneousBeatsPerMinute per beat,
    its time of day in the phone's 12-hour locale format."""
    lines = []
    t = start
    for _ in range(beats):
        bpm = rng.randint(52, 95)
        t += timedelta(seconds=60 / bpm)
        hour = t.hour % 12 or 12
        stamp = f"{hour}:{t:%M:%S}.{t.microsecond // 10_000:02d} {'PM' if t.hour >= 12 else 'AM'}"
        lines.append(f'   <InstantaneousBeatsPerMinute bpm="{bpm}" time="{stamp}"/>\n')
    return (
        "  <HeartRateVariabilityMetadataList>\n"
        + "".join(lines)
        + "  </HeartRateVariabilityMetadataList>\n"
    )


def ecg_csv(start: datetime, rng: random.Random, seconds: int = 30, rate: int = 512) -> str:
    """An `electrocardiograms/ecg_*.csv` in the export's layout: the header lines, then one
    voltage (µV) per line, a spike a beat over a small wander."""
    head = (
        "Name,Sam Example\n"
        'Date of Birth,"Mar 1, 1985"\n'
        f"Recorded Date,{_date(start)}\n"
        "Classification,Sinus Rhythm\n"
        "Symptoms,\n"
        "Software Version,2\n"
        'Device,"Watch6,2"\n'
        f"Sample Rate,{rate} hertz\n\n\n"
        "Lead,Lead I\n"
        "Unit,\u00b5V\n\n\n"
    )
    beat = rng.randint(380, 560)
    volts = (
        f"{(900.0 if i % beat < 6 else 0.0) + rng.uniform(-40, 40):.3f}"
        for i in range(seconds * rate)
    )
    return head + "\n".join(volts) + "\n"


def _record(
    kind: tuple[object, ...], start: datetime, rng: random.Random, quirks: bool = True
) -> str:
    indent = " "
    type_id, unit, source = kind[0], kind[1], kind[2]
    if not quirks and source is PHONE:
        source = PHONE.replace("\x0b", "’")
    value = kind[4](rng)  # type: ignore[operator]
    dur = 0 if type_id == "HKQuantityTypeIdentifierHeartRate" else rng.randint(30, 600)
    end = start + timedelta(seconds=dur)
    dev = (WATCH_DEV if source is WATCH else PHONE_DEV).format(rng.getrandbits(32))
    unit_attr = f' unit="{unit}"' if unit else ""
    head = (
        f'{indent}<Record type="{type_id}" sourceName="{source}" sourceVersion="9.1" '
        f'device="{dev}"{unit_attr} creationDate="{_date(end)}" startDate="{_date(start)}" '
        f'endDate="{_date(end)}" value="{value}"'
    )
    if type_id == "HKQuantityTypeIdentifierHeartRate":
        return (
            head + ">\n" + indent + ' <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" '
            f'value="{rng.randint(0, 2)}"/>\n{indent}</Record>\n'
        )
    if type_id == "HKCategoryTypeIdentifierSleepAnalysis":
        return (
            head + ">\n" + indent + ' <MetadataEntry key="HKTimeZone" value="America/New_York"/>\n'
            f"{indent}</Record>\n"
        )
    return head + "/>\n"


def _blood_pressure(start: datetime, rng: random.Random) -> tuple[str, str]:
    sys_v, dia_v = rng.randint(105, 140), rng.randint(65, 90)
    d = _date(start)
    recs = [
        f'<Record type="HKQuantityTypeIdentifierBloodPressure{k}" sourceName="Omron" '
        f'sourceVersion="1" unit="mmHg" creationDate="{d}" startDate="{d}" endDate="{d}" '
        f'value="{v}"/>\n'
        for k, v in (("Systolic", sys_v), ("Diastolic", dia_v))
    ]
    corr = (
        f' <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Omron" '
        f'sourceVersion="1" creationDate="{d}" startDate="{d}" endDate="{d}">\n'
        '  <MetadataEntry key="HKWasUserEntered" value="0"/>\n'
        + "".join("  " + r for r in recs)
        + " </Correlation>\n"
    )
    return corr, "".join(" " + r for r in recs)


def _route_gpx(start: datetime, minutes: int, rng: random.Random) -> str:
    lat, lon = 40.7 + rng.uniform(-0.05, 0.05), -74.0 + rng.uniform(-0.05, 0.05)
    pts = []
    for i in range(minutes * 6):
        lat += rng.uniform(-0.0002, 0.0003)
        lon += rng.uniform(-0.0002, 0.0003)
        t = (start + timedelta(seconds=10 * i)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        pts.append(
            f'<trkpt lon="{lon:.6f}" lat="{lat:.6f}"><ele>{rng.uniform(2, 30):.3f}</ele>'
            f"<time>{t}</time><extensions><speed>{rng.uniform(2, 4):.6f}</speed>"
            f"<course>{rng.uniform(0, 360):.6f}</course><hAcc>{rng.uniform(1, 9):.6f}</hAcc>"
            f"<vAcc>{rng.uniform(1, 7):.6f}</vAcc></extensions></trkpt>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="Apple Health '
        'Export" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>Route</name><trkseg>\n'
        + "\n".join(pts)
        + "\n</trkseg></trk></gpx>\n"
    )


def _workout(
    start: datetime, n: int, rng: random.Random, routes: list[tuple[str, datetime, int, int]]
) -> str:
    minutes = rng.randint(20, 70)
    end = start + timedelta(minutes=minutes)
    km = round(minutes / 6.0 * rng.uniform(0.8, 1.2), 3)
    kcal = round(minutes * rng.uniform(8, 12), 2)
    route = f"route_{start:%Y-%m-%d_%I.%M%p}_{n}.gpx"
    # Written after export.xml (a zip takes one member at a time), from its own seed.
    routes.append((route, start, minutes, rng.getrandbits(32)))
    pause = start + timedelta(minutes=minutes // 2)
    d0, d1 = _date(start), _date(end)
    return (
        f' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="{minutes}" '
        f'durationUnit="min" sourceName="{WATCH}" sourceVersion="9.1" creationDate="{d1}" '
        f'startDate="{d0}" endDate="{d1}">\n'
        '  <MetadataEntry key="HKIndoorWorkout" value="0"/>\n'
        '  <MetadataEntry key="HKTimeZone" value="America/New_York"/>\n'
        f'  <WorkoutEvent type="HKWorkoutEventTypePause" date="{_date(pause)}"/>\n'
        f'  <WorkoutEvent type="HKWorkoutEventTypeResume" '
        f'date="{_date(pause + timedelta(minutes=1))}"/>\n'
        f'  <WorkoutEvent type="HKWorkoutEventTypeSegment" date="{d0}" duration="{minutes}" '
        'durationUnit="min"/>\n'
        f'  <WorkoutStatistics type="HKQuantityTypeIdentifierActiveEnergyBurned" '
        f'startDate="{d0}" endDate="{d1}" sum="{kcal}" unit="kcal"/>\n'
        f'  <WorkoutStatistics type="HKQuantityTypeIdentifierDistanceWalkingRunning" '
        f'startDate="{d0}" endDate="{d1}" sum="{km}" unit="km"/>\n'
        f'  <WorkoutStatistics type="HKQuantityTypeIdentifierHeartRate" startDate="{d0}" '
        f'endDate="{d1}" average="142" minimum="98" maximum="171" unit="count/min"/>\n'
        f'  <WorkoutRoute sourceName="{WATCH}" sourceVersion="9.1" creationDate="{d1}" '
        f'startDate="{d0}" endDate="{d1}">\n'
        f'   <FileReference path="/workout-routes/{route}"/>\n'
        "  </WorkoutRoute>\n </Workout>\n"
    )


def _summary(day: datetime, rng: random.Random) -> str:
    return (
        f' <ActivitySummary dateComponents="{day:%Y-%m-%d}" '
        f'activeEnergyBurned="{rng.uniform(150, 900):.3f}" activeEnergyBurnedGoal="600" '
        f'activeEnergyBurnedUnit="kcal" appleMoveTime="0" appleMoveTimeGoal="0" '
        f'appleExerciseTime="{rng.randint(0, 90)}" appleExerciseTimeGoal="30" '
        f'appleStandHours="{rng.randint(4, 16)}" appleStandHoursGoal="12"/>\n'
    )


def generate(
    out: Path,
    records: int,
    seed: int = 4,
    *,
    quirks: bool = True,
    beats: int = 0,
    ecgs: int = 0,
) -> dict[str, int]:
    """Write an export.zip with `records` top-level Records; return what it holds.

    `quirks=False` writes a valid DTD and no control characters, for tools that cannot
    read real iOS 16 exports (healthkit-to-sqlite). `beats` gives every SDNN record a beat
    list of that many beats and `ecgs` adds that many 30 s ECG files; neither changes the
    records drawn, so the same seed with and without them gives the same export besides."""
    rng = random.Random(seed)
    extra = random.Random(seed + 1)  # beats and ECGs draw from their own generator
    t = datetime(2019, 1, 1, 0, 0, 0)
    day = t.date()
    counts = {"records": 0, "correlations": 0, "workouts": 0, "summaries": 0, "hrv": 0}
    routes: list[tuple[str, datetime, int, int]] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr("apple_health_export/export_cda.xml", "<ClinicalDocument/>\n")
        with zf.open("apple_health_export/export.xml", "w", force_zip64=True) as raw:
            buf: list[str] = [
                DTD.replace("{close}", "" if quirks else ">"),
                '<HealthData locale="en_US">\n',
                ' <ExportDate value="2023-01-01 09:00:00 -0500"/>\n',
                ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1985-03-01" '
                'HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale" '
                'HKCharacteristicTypeIdentifierBloodType="HKBloodTypeNotSet" '
                'HKCharacteristicTypeIdentifierFitzpatrickSkinType="HKFitzpatrickSkinTypeNotSet" '
                'HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse="None"/>\n',
            ]
            while counts["records"] < records:
                t += timedelta(seconds=rng.randint(20, 160))
                if t.date() != day:
                    buf.append(_summary(datetime.combine(day, datetime.min.time()), rng))
                    counts["summaries"] += 1
                    day = t.date()
                    if rng.random() < 0.4:
                        counts["workouts"] += 1
                        buf.append(_workout(t, counts["workouts"], rng, routes))
                if counts["records"] % 2000 == 1999 and counts["records"] + 2 <= records:
                    corr, recs = _blood_pressure(t, rng)
                    buf.append(corr)
                    buf.append(recs)
                    counts["correlations"] += 1
                    counts["records"] += 2
                    continue
                kind = rng.choices(KINDS, WEIGHTS)[0]
                if kind[0] == "HKQuantityTypeIdentifierHeartRateVariabilitySDNN":
                    counts["hrv"] += 1
                    # The record draws from `rng` as it would without a list; the list from
                    # `extra`, so both exports hold the same records.
                    head = _record(kind, t, rng, quirks)
                    if beats:
                        head = (
                            head[: -len("/>\n")]
                            + ">\n"
                            + _beat_list(t, beats, extra)
                            + " </Record>\n"
                        )
                    buf.append(head)
                else:
                    buf.append(_record(kind, t, rng, quirks))
                counts["records"] += 1
                if len(buf) >= 2000:
                    raw.write("".join(buf).encode())
                    buf.clear()
            buf.append("</HealthData>\n")
            raw.write("".join(buf).encode())
        first = datetime(2019, 1, 1, 9, 0, 0)
        for i in range(ecgs):
            when = first + timedelta(days=i * 3, minutes=extra.randint(0, 600))
            zf.writestr(
                f"apple_health_export/electrocardiograms/ecg_{when:%Y-%m-%d_%H%M%S}.csv",
                ecg_csv(when, extra),
            )
        counts["ecgs"] = ecgs
        for name, start, minutes, route_seed in routes:
            gpx = _route_gpx(start, minutes, random.Random(route_seed))
            zf.writestr(f"apple_health_export/workout-routes/{name}", gpx)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--no-quirks", action="store_true", help="valid DTD, no control characters")
    args = ap.parse_args()
    print(generate(args.out, args.records, args.seed, quirks=not args.no_quirks))


if __name__ == "__main__":
    main()
