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
from vault.core.i18n import N_

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
    # The physical range of a value in the canonical unit (inclusive): a value outside it is a
    # unit mix-up or a sensor error, reported by the importers and not stored. None: no check.
    valid: tuple[float, float] | None = None

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
            raise InvalidParameter(
                N_("unit {unit!r} is not known for {metric}"), unit=unit, metric=self.id
            ) from None
        return value * factor + offset

    def in_range(self, canonical: float) -> bool:
        """Whether a value already in the canonical unit is physically possible."""
        return self.valid is None or self.valid[0] <= canonical <= self.valid[1]


# Unit strings as the sources write them: UCUM, HealthKit's own (`count/min`, `degF`,
# `mmol<180.1558800000541>/L`: a molar mass in the unit), Google Fit's and Fitbit's.
_LENGTH = {
    "m": (1.0, 0.0),
    "km": (1000.0, 0.0),
    "mi": (1609.344, 0.0),
    "ft": (0.3048, 0.0),
    "yd": (0.9144, 0.0),
    "cm": (0.01, 0.0),
    "in": (0.0254, 0.0),
    "[mi_i]": (1609.344, 0.0),
    "[ft_i]": (0.3048, 0.0),
}
_HEIGHT = {
    "cm": (1.0, 0.0),
    "m": (100.0, 0.0),
    "in": (2.54, 0.0),
    "ft": (30.48, 0.0),
    "mm": (0.1, 0.0),
    "[in_i]": (2.54, 0.0),
    "[ft_i]": (30.48, 0.0),
}
_MASS = {
    "kg": (1.0, 0.0),
    "g": (0.001, 0.0),
    "lb": (0.45359237, 0.0),
    "[lb_av]": (0.45359237, 0.0),
    "st": (6.35029318, 0.0),
    "oz": (0.028349523125, 0.0),
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
    "count/s": (60.0, 0.0),
    "bpm": (1.0, 0.0),
    "{beats}/min": (1.0, 0.0),
    "{breaths}/min": (1.0, 0.0),
}
_COUNT = {"count": (1.0, 0.0), "1": (1.0, 0.0), "{count}": (1.0, 0.0)}
_PERCENT = {"%": (1.0, 0.0), "1": (100.0, 0.0)}
_DURATION_MIN = {
    "min": (1.0, 0.0),
    "s": (1 / 60, 0.0),
    "h": (60.0, 0.0),
    "hr": (60.0, 0.0),
    "d": (1440.0, 0.0),
}
_MMHG = {"mmHg": (1.0, 0.0), "mm[Hg]": (1.0, 0.0), "cmAq": (0.73555912, 0.0)}
_VOLUME_ML = {
    "mL": (1.0, 0.0),
    "ml": (1.0, 0.0),
    "L": (1000.0, 0.0),
    "dL": (100.0, 0.0),
    "fl_oz_us": (29.5735295625, 0.0),
    "fl_oz_imp": (28.4130625, 0.0),
    "cup_us": (236.5882365, 0.0),
    "cup_imp": (284.130625, 0.0),
    "pt_us": (473.176473, 0.0),
    "pt_imp": (568.26125, 0.0),
}
# VO2 max: HealthKit writes mL/min·kg (U+00B7), apps mL/kg·min, UCUM mL/(kg.min).
_VO2 = {
    u: (1.0, 0.0)
    for u in (
        "mL/min·kg",
        "mL/kg·min",
        "ml/min·kg",
        "ml/kg·min",
        "mL/(kg·min)",
        "mL/(kg.min)",
        "mL/kg/min",
        "ml/kg/min",
        "ml/(kg*min)",
        "ml/kg*min",
        "mL/min*kg",
    )
}

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
        valid=(0, 250_000),
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
        valid=(0, 1_000_000),
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
        valid=(0, 2_000_000),
    ),
    Metric(
        "active_energy",
        "Active energy",
        "kcal",
        "sum",
        "41981-2",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierActiveEnergyBurned",),
        garmin=("active_calories",),
        conversions=_ENERGY,
        valid=(0, 20_000),
    ),
    Metric(
        "total_energy",
        "Total energy (active and resting)",
        "kcal",
        "sum",
        None,
        "pd:PhysicalHealth",
        # Google Fit's calories.expended and Fitbit's calories count resting energy too: summed
        # with active_energy they would count the active part twice.
        google_fit=("com.google.calories.expended",),
        fitbit=("calories",),
        conversions=_ENERGY,
        valid=(0, 30_000),
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
        valid=(0, 20_000),
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
        valid=(10, 300),
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
        valid=(10, 250),
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
        valid=(10, 300),
    ),
    Metric(
        "hrv_sdnn",
        "Heart rate variability (SDNN)",
        "ms",
        "rate",
        "80404-7",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierHeartRateVariabilitySDNN",),
        conversions={"ms": (1.0, 0.0), "s": (1000.0, 0.0)},
        valid=(0, 1000),
    ),
    Metric(
        # RMSSD, not SDNN: Fitbit's nightly heart rate variability measures successive
        # differences, a different number from Apple's SDNN for the same heart.
        "hrv_rmssd",
        "Heart rate variability (RMSSD)",
        "ms",
        "rate",
        None,
        "pd:PhysicalHealth",
        fitbit=("rmssd",),
        garmin=("hrv_value", "hrv_status_summary"),
        conversions={"ms": (1.0, 0.0), "s": (1000.0, 0.0)},
        valid=(0, 1000),
    ),
    # Garmin's beat-to-beat and wellness measures (FIT hrv, stress_level; the account
    # export's daily body battery). No LOINC code names them.
    Metric(
        # One sample per heartbeat: the time since the previous beat, for a person's own
        # HRV maths (FIT `hrv` messages).
        "rr_interval",
        "Beat-to-beat (R-R) interval",
        "ms",
        "rate",
        None,
        "pd:PhysicalHealth",
        garmin=("hrv", "beat_intervals"),
        conversions={"ms": (1.0, 0.0), "s": (1000.0, 0.0)},
        valid=(0, 65_535),
    ),
    Metric(
        "stress_level",
        "Stress level (Garmin, 0-100)",
        "{score}",
        "rate",
        None,
        "pd:MentalHealth",
        garmin=("stress_level",),
        conversions={"1": (1.0, 0.0), "{score}": (1.0, 0.0)},
        valid=(0, 100),
    ),
    Metric(
        "body_battery",
        "Body battery (Garmin, 0-100)",
        "{score}",
        "rate",
        None,
        "pd:PhysicalHealth",
        garmin=("body_battery",),
        conversions={"1": (1.0, 0.0), "{score}": (1.0, 0.0)},
        valid=(0, 100),
    ),
    Metric(
        # The night's overall score of Garmin's sleep assessment (FIT sleep_assessment); its
        # parts (duration, quality, recovery...) are kept in the sample's metadata.
        "sleep_score",
        "Sleep score (Garmin, 0-100)",
        "{score}",
        "rate",
        None,
        "pd:PhysicalHealth",
        garmin=("sleep_assessment",),
        conversions={"1": (1.0, 0.0), "{score}": (1.0, 0.0)},
        valid=(0, 100),
    ),
    Metric(
        "heart_rate_beat",
        "Beat-to-beat heart rate",
        "/min",
        "rate",
        "8867-4",  # a heart rate, read at one beat: LOINC has no narrower code
        "pd:PhysicalHealth",
        # From the InstantaneousBeatsPerMinute list inside Apple's SDNN records: no record
        # type of its own, so no identifier to map.
        conversions=_PER_MIN,
        valid=(10, 300),
    ),
    Metric(
        "ecg",
        "ECG recordings",
        "{recordings}",
        "sum",
        "11524-6",  # EKG study
        "pd:PhysicalHealth",  # from Apple's electrocardiograms/*.csv, one sample a recording
        conversions=_COUNT,
    ),
    Metric(
        "clinical_record",
        "Clinical records (FHIR)",
        "{records}",
        "sum",
        None,
        "pd:HealthRecord",  # from Apple's clinical-records/*.json, one sample a FHIR resource
        conversions=_COUNT,
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
        valid=(0, 100),
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
        valid=(0, 150),
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
        valid=(0.2, 700),
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
        valid=(1, 80),
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
        valid=(0.2, 400),
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
        valid=(5, 200),
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
        valid=(20, 300),
    ),
    Metric(
        "blood_pressure_systolic",
        "Blood pressure (systolic)",
        "mm[Hg]",
        "rate",
        "8480-6",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierBloodPressureSystolic",),
        conversions=_MMHG,
        valid=(20, 350),
    ),
    Metric(
        "blood_pressure_diastolic",
        "Blood pressure (diastolic)",
        "mm[Hg]",
        "rate",
        "8462-4",
        "pd:PhysicalHealth",
        apple=("HKQuantityTypeIdentifierBloodPressureDiastolic",),
        conversions=_MMHG,
        valid=(10, 250),
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
            "mg/dl": (1.0, 0.0),
            # glucose's molar mass (180.156 g/mol), as HealthKit writes it into the unit
            "mmol<180.1558800000541>/L": (18.01558800000541, 0.0),
            "mmol/L": (18.01558800000541, 0.0),
            "mmol/l": (18.01558800000541, 0.0),
        },
        valid=(5, 3000),
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
            "K": (1.0, -273.15),
        },
        valid=(10, 47),
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
        conversions=_VO2,
        valid=(5, 100),
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
        valid=(0, 10_000),
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
        valid=(0, 1440),
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
        valid=(0, 1440),
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
        conversions=_VOLUME_ML,
        valid=(0, 20_000),
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

# Kinds of health data read from one source's files only (Fitbit's scores and nightly skin
# temperature, Apple Health's audiograms). No LOINC code names the scores.
_SCORE = {"1": (1.0, 0.0), "{score}": (1.0, 0.0)}
_MORE: tuple[Metric, ...] = (
    Metric(
        # Fitbit's stress management score: higher means less stress, the opposite of
        # Garmin's stress_level, so the two are never one metric.
        "stress_score",
        "Stress management score (Fitbit, 0-100)",
        "{score}",
        "rate",
        None,
        "pd:MentalHealth",
        fitbit=("stress_score",),
        conversions=_SCORE,
        valid=(0, 100),
    ),
    Metric(
        "readiness_score",
        "Daily readiness score (Fitbit, 0-100)",
        "{score}",
        "rate",
        None,
        "pd:PhysicalHealth",
        fitbit=("readiness_score_value",),
        conversions=_SCORE,
        valid=(0, 100),
    ),
    Metric(
        # Measured at the wrist during sleep: not a core body temperature.
        "skin_temperature",
        "Skin temperature during sleep",
        "Cel",
        "rate",
        None,
        "pd:PhysicalHealth",
        fitbit=("nightly_temperature",),
        conversions={"Cel": (1.0, 0.0), "degC": (1.0, 0.0), "degF": (5 / 9, -32 * 5 / 9)},
        valid=(15, 45),
    ),
    Metric(
        # Fitbit counts a minute in the fat burn zone once and one in cardio or peak twice:
        # the sum over a day is its active zone minutes.
        "active_zone_minutes",
        "Active zone minutes (Fitbit)",
        "min",
        "sum",
        None,
        "pd:PhysicalHealth",
        fitbit=("active_zone_minutes",),
        conversions=_DURATION_MIN,
        valid=(0, 2880),
    ),
)

# An audiogram's hearing thresholds, one metric per ear and tested frequency (dB HL), so
# each point keeps its frequency in every export; frequencies off this list are kept under
# `x:hearing_<ear>_<f>hz`. HealthKit's audiograms test these standard frequencies.
AUDIOGRAM_FREQUENCIES: tuple[int, ...] = (
    125,
    250,
    500,
    750,
    1000,
    1500,
    2000,
    3000,
    4000,
    6000,
    8000,
)
EARS: tuple[str, ...] = ("left", "right")


def hearing_metric(ear: str, frequency_hz: float) -> str:
    """The id of the hearing threshold of EAR (left, right) at FREQUENCY_HZ."""
    f = f"{frequency_hz:g}".replace(".", "_")
    return f"hearing_{ear}_{f}hz"


_HEARING: tuple[Metric, ...] = tuple(
    Metric(
        hearing_metric(ear, f),
        f"Hearing threshold, {ear} ear, {f} Hz",
        "dB",
        "rate",
        None,
        "pd:PhysicalHealth",
        conversions={"dB": (1.0, 0.0), "dBHL": (1.0, 0.0), "dB[HL]": (1.0, 0.0)},
        valid=(-20, 150),
    )
    for ear in EARS
    for f in AUDIOGRAM_FREQUENCIES
)
_METRICS = (*_METRICS, *_MORE, *_HEARING)

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
        close = close_metrics(metric_id)
        if close:
            raise InvalidParameter(
                N_("unknown metric {metric!r}; did you mean {close}?"),
                metric=metric_id,
                close=", ".join(close),
            ) from None
        raise InvalidParameter(
            N_("unknown metric {metric!r}; known: {choices}"),
            metric=metric_id,
            choices=", ".join(sorted(METRICS)),
        ) from None


def close_metrics(name: str, limit: int = 3) -> list[str]:
    """The metric ids a mistyped NAME most likely meant: those that contain it or start the
    same way (`hrv` -> `hrv_sdnn`), then those spelt alike (`heartrate` -> `heart_rate`)."""
    import difflib

    wanted = name.strip().lower()
    if not wanted:
        return []
    found = [m for m in sorted(METRICS) if wanted in m or m in wanted]
    found += difflib.get_close_matches(wanted, sorted(METRICS), n=limit, cutoff=0.6)
    return list(dict.fromkeys(found))[:limit]


def lookup(system: str, identifier: str) -> Metric | None:
    """The metric a source system's identifier maps to (system: apple, google_fit, fitbit,
    garmin), or None when the registry does not know it."""
    return _BY_SOURCE.get((system, identifier))


def by_category(category: str) -> list[Metric]:
    """Metrics in a DPV personal-data category (for consent scopes such as pd:PhysicalHealth)."""
    return [m for m in _METRICS if m.dpv == category]
