"""Health-data imports: `import apple-health|google-takeout|garmin PATH`.

Thin over vault.data.importers: resolve the persona, run the import with a progress bar on
stderr, print the summary (JSON with --json). A fatal problem leaves the vault unchanged.
"""

from __future__ import annotations

from pathlib import Path

import click

from vault.cli.data import report_summary
from vault.cli.imports import import_group
from vault.cli.main import (
    Env,
    StderrProgress,
    info,
    json_option,
    pass_env,
    persona_option,
    resolve_persona_id,
)

path_argument = click.argument("path", type=click.Path(exists=True, path_type=Path))


@import_group.command("apple-health")
@path_argument
@persona_option
@json_option
@pass_env
def import_apple_health(env: Env, path: Path, persona_ref: str | None, as_json: bool) -> None:
    """Import an Apple Health export: export.zip, export.xml or the unzipped folder.

    Records, blood-pressure correlations, workouts with their routes, and activity rings.
    Exports from iOS 16 and later (broken DTD, stray control characters) are read as they are.
    """
    from vault.data.importers import import_apple_health as run

    with env.vault() as v:
        pid = resolve_persona_id(v, persona_ref)
        summary = run(v, pid, path, progress=StderrProgress(f"import {path.name}"))
    report_summary(summary, as_json)


@import_group.command("google-takeout")
@path_argument
@persona_option
@click.option(
    "--time-zone",
    "time_zone",
    default=None,
    help="IANA zone of Fitbit's offset-less times (default: this machine's zone).",
)
@json_option
@pass_env
def import_google_takeout(
    env: Env, path: Path, persona_ref: str | None, time_zone: str | None, as_json: bool
) -> None:
    """Import Google Fit and Fitbit data from a Google Takeout zip or its extracted folder."""
    from vault.data.importers import import_google_takeout as run

    with env.vault() as v:
        pid = resolve_persona_id(v, persona_ref)
        summary = run(
            v, pid, path, progress=StderrProgress(f"import {path.name}"), time_zone=time_zone
        )
    report_summary(summary, as_json)
    if not as_json:
        info(f"Times without an offset were read in {summary.time_zone}.")


@import_group.command("garmin")
@path_argument
@persona_option
@json_option
@pass_env
def import_garmin(env: Env, path: Path, persona_ref: str | None, as_json: bool) -> None:
    """Import Garmin FIT (activity, monitoring, weight), GPX or TCX files: one file, a folder
    or a zip of them.

    A truncated or damaged FIT file is never half-imported: alone it stops the import; among
    several it is skipped whole and listed in the errors.
    """
    from vault.data.importers import import_garmin as run

    with env.vault() as v:
        pid = resolve_persona_id(v, persona_ref)
        summary = run(v, pid, path, progress=StderrProgress(f"import {path.name}"))
    report_summary(summary, as_json)
