"""Importers of quantified-self exports: Apple Health, Google Takeout (Google Fit and
Fitbit), Fitbit alone and Garmin (FIT, GPX, TCX).

Each has a pure parser generator (`parse_*`: path and issue callback in, samples, workouts
and summaries out, no vault needed) and an `import_*` function that feeds the parser into
one `QSWriter` transaction, so an import lands whole or not at all.
"""

from __future__ import annotations

from vault.data.importers.apple_health import import_apple_health, parse_apple_health
from vault.data.importers.fitbit import import_fitbit, parse_fitbit
from vault.data.importers.garmin import FitDamaged, import_garmin, parse_garmin
from vault.data.importers.google_takeout import import_google_takeout, parse_google_takeout

__all__ = [
    "FitDamaged",
    "import_apple_health",
    "import_fitbit",
    "import_garmin",
    "import_google_takeout",
    "parse_apple_health",
    "parse_fitbit",
    "parse_garmin",
    "parse_google_takeout",
]
