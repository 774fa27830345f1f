"""Apple Health audiograms: an `<Audiogram>` element of `export.xml` (type
`HKDataTypeIdentifierAudiogram`) and its `<SensitivityPoint>` children, as hearing thresholds.

Apple's export DTD gives each point a frequency (`frequencyValue`, `frequencyUnit`: Hz) and,
for each ear tested, a threshold (`leftEarValue`, `rightEarValue`, in `dBHL`). Each becomes
one sample of `hearing_<ear>_<f>hz` (decibels hearing level) over the audiogram's start and
end, so a bundle or an export carries every point with its ear and frequency in its code; a
frequency off the standard list is kept under `x:`. The parser of `export.xml` hands the
elements' attributes here, and nothing else of it changes.
"""

from __future__ import annotations

from collections.abc import Callable
from math import isfinite
from typing import Final

from vault.core.i18n import N_
from vault.data import metrics
from vault.data.importers import common
from vault.data.importers.common import ReportIssue
from vault.data.model import Sample

TYPE: Final = "HKDataTypeIdentifierAudiogram"
UNIT: Final = "dB"  # UCUM's decibel; the export writes dBHL (hearing level)
_HZ: Final = {"Hz": 1.0, "hz": 1.0, "kHz": 1000.0, "khz": 1000.0}
_DB: Final = frozenset({"dBHL", "dB", "dBHL ", "dB[HL]", ""})
_MAX_POINTS: Final = 64  # an audiogram tests a dozen frequencies; more is not one


def audiogram(
    attrs: dict[str, str],
    points: list[dict[str, str]],
    times: Callable[[str], tuple[int, int]],
    *,
    device: str,
    where: str,
    report: ReportIssue,
) -> list[Sample]:
    """The samples of one audiogram: one per ear and frequency tested. A point that cannot
    be read (no frequency, a threshold that is not a number or outside -20 to 150 dB HL) is
    reported and left out; an audiogram without its dates gives nothing."""
    try:
        start, offset = times(attrs["startDate"])
        end = times(attrs["endDate"])[0]
    except (KeyError, ValueError, IndexError):
        report(where, N_("audiogram without a readable start or end date: skipped"))
        return []
    end = max(end, start)
    source = attrs.get("sourceName", "")
    out: list[Sample] = []
    for point in points[:_MAX_POINTS]:
        try:
            scale = _HZ[point.get("frequencyUnit", "Hz")]
            frequency = float(point["frequencyValue"]) * scale
        except (KeyError, ValueError):
            report(where, N_("audiogram point without a frequency in Hz: skipped"))
            continue
        if not isfinite(frequency) or not 0 < frequency <= 100_000:
            report(where, N_("audiogram point without a frequency in Hz: skipped"))
            continue
        for ear in metrics.EARS:
            raw = point.get(f"{ear}EarValue")
            if raw is None:
                continue  # this ear was not tested
            try:
                value = float(raw)
            except ValueError:
                value = float("nan")
            if point.get(f"{ear}EarUnit", "dBHL") not in _DB or not isfinite(value):
                report(where, N_("audiogram threshold that is not a number of dB HL: skipped"))
                continue
            if not -20 <= value <= 150:
                report(where, N_("audiogram threshold outside -20 to 150 dB HL: skipped"))
                continue
            metric = metrics.hearing_metric(ear, frequency)
            if metric not in metrics.METRICS:
                metric = common.unknown_metric(metric)
            meta = [("frequency_hz", f"{frequency:g}")]
            masked = point.get(f"{ear}EarMasked")
            if masked:
                meta.append(("masked", masked[:8]))
            out.append(Sample(metric, start, end, value, UNIT, source, device, offset, tuple(meta)))
    if len(points) > _MAX_POINTS:
        report(where, N_("audiogram with more points than any real one: the rest skipped"))
    return out
