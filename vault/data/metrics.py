"""The metric registry: one entry per kind of measurement Coffre understands.

Each metric has a short stable id (`steps`, `heart_rate`...), a canonical UCUM unit with the
conversions from units that exports use, a LOINC code (for FHIR), a DPV personal-data
category (for consent scopes), how it aggregates, and the identifiers Apple Health, Google
Fit, Fitbit and Garmin use for it. A source metric not in here is kept as `x:<identifier>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from vault.core.errors import InvalidParameter

Aggregation = Literal["sum", "rate", "category"]


@dataclass(frozen=True)
class Metric:
    id: str
    name: str
    unit: str  # canonical UCUM unit
    aggregation: Aggregation  # sum: counts and totals; rate: min/avg/max; category: durations
    loinc: str | None
    dpv: str  # DPV personal-data category (pd:...)
    apple: tuple[str, ...] = ()
    google_fit: tuple[str, ...] = ()
    fitbit: tuple[str, ...] = ()
    garmin: tuple[str, ...] = ()
    # value_in_canonical = value * factor (+ offset), per source unit.
    conversions: dict[str, tuple[float, float]] = field(default_factory=dict)
    # Apple Health writes some percentages as fractions (0.97 for 97 %).
    apple_fraction: bool = False

    @property
    def whole(self) -> bool:
        """Whether the metric counts whole things (steps, flights climbed): its canonical unit
        is a UCUM annotation such as `{steps}`, so totals are shown as integers even when
        the source priority counts a fraction of an overlapping sample."""
        return self.unit.startswith("{") and self.unit.endswith("}")

    def to_canonical(self, value: float, unit: str) -> float:
        """Convert `value` in `unit` to this metric's canonical unit."""
        if unit == self.unit or not unit:
            return value
        try:
            factor, offset = self.conversions[unit]
        except KeyError:
            raise InvalidParameter(f"unit {unit!r} is not known for {self.id}") from None
        return value * factor + offset


_LENGTH = {
    "m": (1.0, 0.0),
    "km": (1000.0, 0.0),
    "mi": (1609.344, 0.0),
    "ft": (0.3048, 0.0),
    "yd": (0.9144, 0.0),
    "cm": (0.01, 0.0),
    "in": (0.0254, 0.0),
}
_HEIGHT = {
    "cm": (1.0, 0.0),
    "m": (100.0, 0.0),
    "in": (2.54, 0.0),
    "ft": (30.48, 0.0),
    "mm": (0.1, 0.0),
}
_MASS = {
    "kg": (1.0, 0.0),
    "g": (0.001, 0.0),
    "lb": (0.45359237, 0.0),
    "[lb_av]": (0.45359237, 0.0),
    "st": (6.35029318, 0.0),
}
_ENERGY = {
    "kcal": (1.0, 0.0),
    "Cal": (1.0, 0.0),
    "cal": (0.001, 0.0),
    "kJ": (1 / 4.184, 0.0),
    "J": (1 / 4184.0, 0.0),
}
_PER_MIN = {
    "/min": (1.0, 0.0),
    "count/min": (1.0, 0.0),
    "bpm": (1.0, 0.0),
    "{beats}/min": (1.0, 0.0),
    "{breaths}/min": (1.0, 0.0),
}
_COUNT = {"count": (1.0, 0.0), "1": (1.0, 0.0), "{count}": (1.0, 0.0)}
_PERCENT = {"%": (1.0, 0.0), "1": (100.0, 0.0)}
_DURATION_MIN = {"min": (1.0, 0.0), "s": (1 / 60, 0.0), "h": (60.0, 0.0)}

_METRICS: tuple[Metric, ...] = (
    Metric(
        "steps",
        "Steps",
        "{steps}",
        "sum",
        "55423-8",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierStepCount",),
        google_fit=("com.google.step_count.delta", "com.google.step_count.cumulative"),
        fitbit=("steps",),
        garmin=("steps",),
        conversions={**_COUNT, "{steps}": (1.0, 0.0), "steps": (1.0, 0.0)},
    ),
    Metric(
        "distance",
        "Walking and running distance",
        "m",
        "sum",
        "41953-1",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierDistanceWalkingRunning",),
        google_fit=("com.google.distance.delta",),
        fitbit=("distance",),
        garmin=("distance",),
        conversions=_LENGTH,
    ),
    Metric(
        "cycling_distance",
        "Cycling distance",
        "m",
        "sum",
        None,
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierDistanceCycling",),
        conversions=_LENGTH,
    ),
    Metric(
        "active_energy",
        "Active energy",
        "kcal",
        "sum",
        "41981-2",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierActiveEnergyBurned",),
        google_fit=("com.google.calories.expended",),
        fitbit=("calories",),
        garmin=("active_calories",),
        conversions=_ENERGY,
    ),
    Metric(
        "basal_energy",
        "Resting energy",
        "kcal",
        "sum",
        None,
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierBasalEnergyBurned",),
        google_fit=("com.google.calories.bmr",),
        garmin=("resting_calories",),
        conversions=_ENERGY,
    ),
    Metric(
        "heart_rate",
        "Heart rate",
        "/min",
        "rate",
        "8867-4",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierHeartRate",),
        google_fit=("com.google.heart_rate.bpm",),
        fitbit=("heart_rate",),
        garmin=("heart_rate",),
        conversions=_PER_MIN,
    ),
    Metric(
        "resting_heart_rate",
        "Resting heart rate",
        "/min",
        "rate",
        "40443-4",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierRestingHeartRate",),
        fitbit=("resting_heart_rate",),
        garmin=("resting_heart_rate",),
        conversions=_PER_MIN,
    ),
    Metric(
        "walking_heart_rate",
        "Walking heart rate average",
        "/min",
        "rate",
        None,
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierWalkingHeartRateAverage",),
        conversions=_PER_MIN,
    ),
    Metric(
        "hrv_sdnn",
        "Heart rate variability (SDNN)",
        "ms",
        "rate",
        "80404-7",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierHeartRateVariabilitySDNN",),
        garmin=("hrv",),
        conversions={"ms": (1.0, 0.0), "s": (1000.0, 0.0)},
    ),
    Metric(
        "blood_oxygen",
        "Blood oxygen saturation",
        "%",
        "rate",
        "59408-5",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierOxygenSaturation",),
        google_fit=("com.google.oxygen_saturation",),
        garmin=("spo2",),
        conversions=_PERCENT,
        apple_fraction=True,
    ),
    Metric(
        "respiratory_rate",
        "Respiratory rate",
        "/min",
        "rate",
        "9279-1",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierRespiratoryRate",),
        google_fit=("com.google.respiratory_rate",),
        garmin=("respiration_rate",),
        conversions=_PER_MIN,
    ),
    Metric(
        "body_mass",
        "Body mass",
        "kg",
        "rate",
        "29463-7",
        "pd:PhysicalCharacteristic",
        apple=("HKQuantityTypeIdentifierBodyMass",),
        google_fit=("com.google.weight",),
        fitbit=("weight",),
        garmin=("weight",),
        conversions=_MASS,
    ),
    Metric(
        "body_fat",
        "Body fat percentage",
        "%",
        "rate",
        "41982-0",
        "pd:PhysicalCharacteristic",
        apple=("HKQuantityTypeIdentifierBodyFatPercentage",),
        google_fit=("com.google.body.fat.percentage",),
        fitbit=("fat",),
        garmin=("percent_fat",),
        conversions=_PERCENT,
        apple_fraction=True,
    ),
    Metric(
        "lean_body_mass",
        "Lean body mass",
        "kg",
        "rate",
        None,
        "pd:PhysicalCharacteristic",
        apple=("HKQuantityTypeIdentifierLeanBodyMass",),
        conversions=_MASS,
    ),
    Metric(
        "body_mass_index",
        "Body mass index",
        "kg/m2",
        "rate",
        "39156-5",
        "pd:PhysicalCharacteristic",
        apple=("HKQuantityTypeIdentifierBodyMassIndex",),
        fitbit=("bmi",),
        garmin=("bmi",),
        conversions={"count": (1.0, 0.0), "1": (1.0, 0.0)},
    ),
    Metric(
        "height",
        "Height",
        "cm",
        "rate",
        "8302-2",
        "pd:PhysicalCharacteristic",
        apple=("HKQuantityTypeIdentifierHeight",),
        google_fit=("com.google.height",),
        conversions=_HEIGHT,
    ),
    Metric(
        "blood_pressure_systolic",
        "Blood pressure (systolic)",
        "mm[Hg]",
        "rate",
        "8480-6",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierBloodPressureSystolic",),
        conversions={"mmHg": (1.0, 0.0), "mm[Hg]": (1.0, 0.0)},
    ),
    Metric(
        "blood_pressure_diastolic",
        "Blood pressure (diastolic)",
        "mm[Hg]",
        "rate",
        "8462-4",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierBloodPressureDiastolic",),
        conversions={"mmHg": (1.0, 0.0), "mm[Hg]": (1.0, 0.0)},
    ),
    Metric(
        "blood_glucose",
        "Blood glucose",
        "mg/dL",
        "rate",
        "2339-0",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierBloodGlucose",),
        google_fit=("com.google.blood_glucose",),
        conversions={
            "mg/dL": (1.0, 0.0),
            "mmol<180.1558800000541>/L": (18.0156, 0.0),
            "mmol/L": (18.0156, 0.0),
        },
    ),
    Metric(
        "body_temperature",
        "Body temperature",
        "Cel",
        "rate",
        "8310-5",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierBodyTemperature",),
        google_fit=("com.google.body.temperature",),
        conversions={
            "degC": (1.0, 0.0),
            "Cel": (1.0, 0.0),
            "degF": (5 / 9, -32 * 5 / 9),
            "[degF]": (5 / 9, -32 * 5 / 9),
        },
    ),
    Metric(
        "vo2max",
        "VO2 max",
        "mL/(kg.min)",
        "rate",
        "60842-2",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierVO2Max",),
        garmin=("vo2_max",),
        conversions={"mL/min·kg": (1.0, 0.0), "ml/(kg*min)": (1.0, 0.0)},
    ),
    Metric(
        "flights_climbed",
        "Flights climbed",
        "{flights}",
        "sum",
        None,
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierFlightsClimbed",),
        fitbit=("altitude",),
        garmin=("floors_climbed",),
        conversions={**_COUNT, "{flights}": (1.0, 0.0)},
    ),
    Metric(
        "exercise_time",
        "Exercise time",
        "min",
        "sum",
        "55411-3",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierAppleExerciseTime",),
        google_fit=("com.google.active_minutes",),
        fitbit=("very_active_minutes",),
        garmin=("moderate_activity_minutes",),
        conversions=_DURATION_MIN,
    ),
    Metric(
        "stand_time",
        "Stand time",
        "min",
        "sum",
        None,
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierAppleStandTime",),
        conversions=_DURATION_MIN,
    ),
    Metric(
        "water",
        "Water",
        "mL",
        "sum",
        None,
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierDietaryWater",),
        google_fit=("com.google.hydration",),
        conversions={"mL": (1.0, 0.0), "L": (1000.0, 0.0), "fl_oz_us": (29.5735, 0.0)},
    ),
    Metric(
        "sleep",
        "Sleep",
        "min",
        "category",
        "93832-4",
        "pd:PhysicalHealth",
        apple=("HKCategoryTypeIdentifierSleepAnalysis",),
        google_fit=("com.google.sleep.segment",),
        fitbit=("sleep",),
        garmin=("sleep",),
    ),
    Metric(
        "mindful_minutes",
        "Mindful minutes",
        "min",
        "category",
        None,
        "pd:MentalHealth",
        apple=("HKCategoryTypeIdentifierMindfulSession",),
    ),
    Metric(
        "workout",
        "Workouts",
        "min",
        "category",
        "55411-3",
        "pd:PhysicalHealth",
        apple=("HKWorkout",),
        google_fit=("com.google.activity.segment",),
        fitbit=("exercise",),
        garmin=("session",),
    ),
)

METRICS: dict[str, Metric] = {m.id: m for m in _METRICS}

_BY_SOURCE: dict[tuple[str, str], Metric] = {}
for _m in _METRICS:
    for _system, _ids in (
        ("apple", _m.apple),
        ("google_fit", _m.google_fit),
        ("fitbit", _m.fitbit),
        ("garmin", _m.garmin),
    ):
        for _ident in _ids:
            _BY_SOURCE[(_system, _ident)] = _m

SYSTEMS = ("apple", "google_fit", "fitbit", "garmin")


def get(metric_id: str) -> Metric:
    """The registry entry for `metric_id`; InvalidParameter if it is not a known metric."""
    try:
        return METRICS[metric_id]
    except KeyError:
        raise InvalidParameter(
            f"unknown metric {metric_id!r}; known: {', '.join(sorted(METRICS))}"
        ) from None


def lookup(system: str, identifier: str) -> Metric | None:
    """The metric a source system's identifier maps to (system: apple, google_fit, fitbit,
    garmin), or None when the registry does not know it."""
    return _BY_SOURCE.get((system, identifier))


def by_category(category: str) -> list[Metric]:
    """Metrics in a DPV personal-data category (for consent scopes such as pd:PhysicalHealth)."""
    return [m for m in _METRICS if m.dpv == category]
