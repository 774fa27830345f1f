"""A demo vault: generated, plausible data so a person can try Coffre without their own.

Everything but the keys is generated from a fixed seed, so two demo vaults built for the same
day hold the same people, numbers and texts (the terminal UI's snapshot tests rely on it).
The data is written through the same library calls an import uses: personas through
`identities`, samples through one `QSWriter` transaction per persona, notes through `content`,
sharing through `consent` and `bundle` (the one export goes to memory: nothing is written
outside the vault), a retention rule through `rules`.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from vault import content
from vault import personas as identities
from vault.core import crypto
from vault.core.i18n import N_
from vault.core.progress import Progress, ProgressCallback
from vault.core.vault import Vault
from vault.data.ingest import QSWriter
from vault.data.model import SLEEP_STAGES, Sample

SEED: Final = 20240611
DAYS: Final = 365
HOUR_MS: Final = 3_600_000
DAY_MS: Final = 24 * HOUR_MS
WATCH: Final = "Camille's Apple Watch"
PHONE: Final = "Camille's iPhone"
SCALE: Final = "Withings Body+"

# One night's sleep cycles: stage and typical minutes.
_NIGHT: Final = (("core", 95), ("deep", 70), ("rem", 45), ("awake", 8), ("core", 130), ("rem", 60))
_NOTES: Final = (
    (
        "Morning routine",
        ("habits", "health"),
        "CC-BY-4.0",
        "# Morning routine\n\nWater, a short walk, then *twenty minutes* of reading before "
        "any screen.\n\n- walk: 2 km\n- read: one chapter\n",
    ),
    (
        "Why I keep my own data",
        ("privacy", "essay"),
        "CC-BY-SA-4.0",
        "# Why I keep my own data\n\nEvery app I used kept a copy of my steps, my sleep and my "
        "weight. None of them let me *leave* with it.\n\n> A vault is a place you can take "
        "things out of.\n\nSo I keep the original here and share **extracts**, on purpose.\n",
    ),
    (
        "Half-marathon training plan",
        ("running", "health"),
        "all-rights-reserved",
        "# Half-marathon plan\n\n| week | long run | intervals |\n|---|---|---|\n"
        "| 1 | 8 km | 6 x 400 m |\n| 2 | 10 km | 5 x 800 m |\n| 3 | 12 km | 4 x 1 km |\n",
    ),
)
_GAME_NOTE: Final = (
    "Speedrun route notes",
    ("games",),
    "CC0-1.0",
    "# Route notes\n\nSkip the second bridge; the clip saves *four seconds*.\n",
)


def _day_start(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)


def _samples(rng: random.Random, first: date, days: int) -> Iterator[Sample]:
    """A year of one person's life: hourly steps, heart rate, nightly sleep, weekly weighing."""
    weight = 71.5
    for n in range(days):
        day = first + timedelta(days=n)
        t0 = _day_start(day)
        season = math.sin(2 * math.pi * n / 365.0)
        weekend = day.weekday() >= 5
        activity = 1.25 if weekend else 1.0
        for hour in range(7, 23):
            walking = hour in (8, 12, 13, 18) or (weekend and 10 <= hour <= 16)
            base = 900 if walking else 180
            steps = max(0, int(rng.gauss(base * activity * (1 + 0.15 * season), base * 0.3)))
            start = t0 + hour * HOUR_MS
            yield Sample("steps", start, start + HOUR_MS, steps, "{steps}", WATCH, "Watch7,1", 60)
            kcal = round(steps * 0.045 + rng.uniform(2, 6), 1)
            yield Sample("active_energy", start, start + HOUR_MS, kcal, "kcal", WATCH, "", 60)
        for hour in range(0, 24, 2):
            at = t0 + hour * HOUR_MS + rng.randrange(0, HOUR_MS)
            resting = 52 + 4 * season
            bpm = resting + (38 if hour in (8, 18) else 14) * rng.random()
            yield Sample("heart_rate", at, at, round(bpm), "count/min", WATCH, "", 60)
        rest = t0 + 6 * HOUR_MS
        yield Sample("resting_heart_rate", rest, rest, round(54 + 4 * season), "count/min", WATCH)
        if n % 7 == 0 or rng.random() < 0.15:
            weight += rng.gauss(-0.02, 0.25)
            at = t0 + 7 * HOUR_MS
            yield Sample("body_mass", at, at, round(weight, 1), "kg", SCALE, "", 60)
        # The night that ends this morning: light, deep and REM cycles, a short wake.
        bed = t0 - 2 * HOUR_MS + rng.randrange(0, HOUR_MS)
        yield Sample("sleep", bed, bed + 8 * HOUR_MS, SLEEP_STAGES["in_bed"], "", PHONE)
        at = bed + 15 * 60_000
        for stage, minutes in _NIGHT:
            length = int(minutes * rng.uniform(0.8, 1.2)) * 60_000
            yield Sample("sleep", at, at + length, SLEEP_STAGES[stage], "", WATCH)
            at += length


def _phone_steps(rng: random.Random, first: date, days: int) -> Iterator[Sample]:
    """The second persona's three months of daily step totals from a phone."""
    for n in range(days):
        t0 = _day_start(first + timedelta(days=n))
        yield Sample("steps", t0, t0 + DAY_MS, int(rng.gauss(6500, 1800)), "{steps}", PHONE)


def _personas(vault: Vault) -> tuple[identities.Persona, identities.Persona]:
    attr = identities.parse_attribute
    main = identities.add_persona(
        vault,
        "Camille",
        [
            attr("name", "Camille Martin"),
            attr("email.home", "camille@example.org"),
            attr("birth_date", "1990-04-12", sensitive=True),
            attr("address.home", "12 rue des Lilas;Lyon;;69003;France", sensitive=True),
            attr("handle.mastodon", "@camille@example.social"),
            attr("field.pronouns", "she/her"),
        ],
    )
    gamer = identities.add_persona(
        vault,
        "Nightjar",
        [attr("nickname", "Nightjar"), attr("handle.twitch", "nightjar_plays")],
    )
    return main, gamer


def _add_note(vault: Vault, persona: str, note: tuple[str, tuple[str, ...], str, str]) -> str:
    title, tags, licence, text = note
    meta = content.ItemMeta(title=title, tags=tags, license=licence)
    return content.add(vault, [text.encode()], meta, persona=persona).id


def _sharing(vault: Vault, persona: str, now: datetime) -> int:
    """A running club with an active grant and one export; an insurer whose grant was
    withdrawn. Returns the number of grants."""
    from vault import sharing as consent
    from vault.sharing import revocation
    from vault.sharing.bundles import export_bundle

    _secret, club_key = crypto.age_keygen()
    _secret, insurer_key = crypto.age_keygen()
    club = consent.add_recipient(
        vault,
        "Lyon Running Club",
        club_key,
        contact="data@lyon-running.example",
        homepage="https://lyon-running.example",
    )
    insurer = consent.add_recipient(
        vault, "Acme Health Insurance", insurer_key, contact="privacy@acme.example"
    )
    active = consent.create_grant(
        vault,
        recipient=club.id,
        persona=persona,
        scope=consent.ScopeRequest(
            metrics=["steps", "resting_heart_rate"], attributes=["age_over:18"]
        ),
        purpose="dpv:ServicePersonalisation",
        valid_until=(now + timedelta(days=25)).date().isoformat(),
        time_range=consent.TimeRange.build(last="90d"),
        granularity="day",
        retention="1y",
        compensation="A free club membership for the season",
        now=now - timedelta(days=30),
    )
    export_bundle(vault, active.id, io.BytesIO(), now=now - timedelta(days=1))
    withdrawn = consent.create_grant(
        vault,
        recipient=insurer.id,
        persona=persona,
        scope=consent.ScopeRequest(metrics=["body_mass"]),
        purpose="dpv:ResearchAndDevelopment",
        valid_until=(now + timedelta(days=300)).date().isoformat(),
        granularity="day",
        compensation="5% off the premium",
        now=now - timedelta(days=60),
    )
    # Withdrawn the way a person does it: with a signed erasure request kept in the vault.
    revocation.revoke(vault, withdrawn.id, now=now - timedelta(days=10))
    return 2


@dataclass(frozen=True)
class DemoSummary:
    """What `build_demo` added; `str()` says it in one English line (the front ends say it
    in the person's language from the counts)."""

    personas: int
    samples: int
    items: int
    recipients: int
    grants: int
    rules: int

    def __str__(self) -> str:
        return (
            f"{self.personas} personas, {self.samples:,} samples, {self.items} content items, "
            f"{self.recipients} recipients, {self.grants} grants (one exported once, one "
            f"withdrawn), {self.rules} retention rule"
        )


def build_demo(
    vault: Vault, progress: ProgressCallback | None = None, *, today: date | None = None
) -> DemoSummary:
    """Fill `vault` with demo data ending yesterday (or the day before `today`); return what
    was added."""
    today = today or vault.clock.today()
    rng = random.Random(SEED)  # noqa: S311  # generated demo data, not secrets
    report = Progress(N_("demo"), progress, unit="steps")
    report.start(4)
    main, gamer = _personas(vault)
    report.advance()
    first = today - timedelta(days=DAYS)
    with QSWriter(vault, main.id) as writer:
        for sample in _samples(rng, first, DAYS):
            writer.add(sample)
    added = writer.summary.added
    with QSWriter(vault, gamer.id) as writer:
        for sample in _phone_steps(rng, today - timedelta(days=90), 90):
            writer.add(sample)
    added += writer.summary.added
    report.advance()
    items = [_add_note(vault, main.id, note) for note in _NOTES]
    items.append(_add_note(vault, gamer.id, _GAME_NOTE))
    content.edit(
        vault,
        items[0],
        body=[(_NOTES[0][3] + "- stretch: five minutes\n").encode()],
    )
    report.advance()
    now = datetime(today.year, today.month, today.day, 9, 0, tzinfo=UTC)
    grants = _sharing(vault, main.id, now)
    from vault.forget import rules

    rules.add_rule(vault, "metric", "heart_rate", "180d")
    report.advance()
    report.finish()
    return DemoSummary(
        personas=2, samples=added, items=len(items), recipients=2, grants=grants, rules=1
    )
