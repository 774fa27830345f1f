"""The quantified-self data model: samples, workouts and daily activity summaries.

Importers produce these values; the writer (vault/data/ingest.py) stores them. Times are UTC
milliseconds since the epoch; the offset the source recorded is kept separately, so a day can
be shown in the time zone it was lived in.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

# Category values of the `sleep` metric (stored as the sample's value).
SLEEP_STAGES: dict[str, int] = {
    "in_bed": 0,
    "asleep": 1,  # asleep, stage not known
    "awake": 2,
    "core": 3,  # light sleep
    "deep": 4,
    "rem": 5,
}
SLEEP_STAGE_NAMES: dict[int, str] = {v: k for k, v in SLEEP_STAGES.items()}

UNKNOWN_PREFIX = "x:"  # metric ids the registry does not know: "x:" + the source's identifier

# The instants the writer accepts (UTC ms); anything outside is a mistake in the source.
MIN_MS = -2_208_988_800_000  # 1900-01-01
MAX_MS = 7_258_118_400_000  # 2200-01-01


@dataclass(frozen=True, slots=True)
class Sample:
    """One measurement over [start, end] (equal for an instant)."""

    metric: str  # registry id ("steps", "heart_rate"...) or UNKNOWN_PREFIX + source identifier
    start: int  # UTC, milliseconds since the epoch
    end: int  # UTC, milliseconds since the epoch
    value: float  # in `unit`; for `sleep`, a SLEEP_STAGES code
    unit: str  # UCUM unit the value is expressed in (the writer converts to canonical)
    source: str = ""  # app or device name as the export names it
    device: str = ""
    offset_min: int = 0  # the original UTC offset in minutes
    metadata: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Series:
    """Instant samples of one metric from one source and device, as two arrays: a beat list
    of a heart rate variability record is one, read and stored without a Sample per beat."""

    metric: str
    unit: str
    times: array[int]  # UTC ms ("q")
    values: array[float]  # in `unit` ("d")
    source: str = ""
    device: str = ""
    offset_min: int = 0


@dataclass(frozen=True, slots=True)
class RoutePoint:
    time: int  # UTC ms
    lat: float
    lon: float
    elevation: float | None = None


@dataclass(frozen=True, slots=True)
class WorkoutEvent:
    kind: str  # pause, resume, lap, segment, marker...
    start: int  # UTC ms
    end: int  # UTC ms


@dataclass(frozen=True, slots=True)
class Workout:
    """A workout session with its totals, events and route."""

    activity: str  # normalised type: running, walking, cycling, swimming, other...
    start: int  # UTC ms
    end: int  # UTC ms
    offset_min: int = 0
    duration_s: float | None = None
    distance_m: float | None = None
    energy_kcal: float | None = None
    source: str = ""
    device: str = ""
    events: tuple[WorkoutEvent, ...] = ()
    route: tuple[RoutePoint, ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ActivitySummary:
    """A day's activity rings, as Apple Health's ActivitySummary holds them."""

    day: str  # YYYY-MM-DD, the person's local date
    active_energy_kcal: float | None = None
    active_energy_goal_kcal: float | None = None
    exercise_min: float | None = None
    exercise_goal_min: float | None = None
    stand_hours: float | None = None
    stand_goal_hours: float | None = None


# HKElectrocardiogram.Classification, as Apple documents it; the export's CSV writes the
# classification as localised text, kept as written beside the code.
ECG_CLASSIFICATIONS: tuple[str, ...] = (
    "sinus_rhythm",
    "atrial_fibrillation",
    "inconclusive_low_heart_rate",
    "inconclusive_high_heart_rate",
    "inconclusive_poor_reading",
    "inconclusive_other",
    "unrecognized",
)


@dataclass(frozen=True, slots=True)
class Ecg:
    """One single-lead ECG recording: its header as the export wrote it and its voltages."""

    start: int  # UTC ms of the first sample
    offset_min: int
    sample_rate_hz: float
    voltages: bytes  # little-endian float32, in `unit`, one per sample
    unit: str = "uV"  # UCUM; the export writes µV
    classification: str = "unrecognized"  # one of ECG_CLASSIFICATIONS
    classification_text: str = ""  # as the export wrote it (localised)
    symptoms: str = ""
    lead: str = ""
    software_version: str = ""
    average_heart_rate: float | None = None  # only when the file states it
    device: str = ""
    source: str = ""
    file: str = ""  # the file's name inside the export

    @property
    def count(self) -> int:
        return len(self.voltages) // 4

    @property
    def end(self) -> int:
        """UTC ms just after the last sample."""
        return self.start + round(self.count * 1000 / self.sample_rate_hz)


@dataclass(frozen=True, slots=True)
class ClinicalRecord:
    """One FHIR resource from a health record, kept as the provider wrote it."""

    resource_type: str  # Condition, Observation, Immunization...
    resource: bytes  # the resource's JSON, as read (already checked to be a FHIR resource)
    date: int | None  # UTC ms of the date that best places it in time, None if it has none
    summary: str = ""  # a short human label (the code's text), for listings
    file: str = ""
    source: str = ""  # the provider that sent it (Apple's export names it)
    fhir_version: str = ""  # the FHIR release the provider wrote (`1.0.2`, `4.0.1`), if stated
    resource_id: str = ""  # the resource's `id`, "" if it has none
    last_updated: int | None = None  # its `meta.lastUpdated` in UTC ms: which version is newer


@dataclass(frozen=True, slots=True)
class HealthProfile:
    """What an export states about its person rather than measures (Apple Health's `<Me>`:
    birth date, biological sex, blood type, skin type, wheelchair use). These identify the
    person, so they become sensitive attributes of the persona the import goes to, shared
    only under a grant that names them, never samples in a bundle's data."""

    values: tuple[tuple[str, str], ...]  # (attribute key, value), e.g. ("blood_type", "A+")
    source: str = ""  # the export that stated them, for the notes
