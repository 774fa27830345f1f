"""Quantified-self commands: `data metrics|show|workouts|sources|priority|export`.

Thin over vault.data: each command resolves the persona, calls the library and prints. JSON
shapes are part of the CLI contract (docs/cli.md).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault.cli.main import Env, cli, pass_env
from vault.cli.output import (
    emit_json,
    force_option,
    info,
    json_option,
    json_text,
    open_output,
    output_option,
    say,
)

if TYPE_CHECKING:
    from vault.core.vault import Vault
    from vault.data.query import Bucket

persona_option = click.option(
    "--persona", "persona_ref", default=None, help="Persona name or id (default: the only one)."
)
from_option = click.option(
    "--from", "from_", default=None, help="Start: a date or ISO 8601 date-time (UTC if no offset)."
)
to_option = click.option(
    "--to", "to", default=None, help="End, inclusive for a date (2024-03-31 covers that day)."
)
tz_option = click.option(
    "--tz",
    default="UTC",
    show_default=True,
    help="Time zone of the periods: an IANA name (Europe/Paris) or an offset (+02:00).",
)


def resolve_persona_id(vault: Vault, ref: str | None) -> str:
    """The id of the persona REF names (id, prefix or name), or of the only one when None."""
    from vault.personas import resolve_persona

    return resolve_persona(vault, ref).id


def _range(from_: str | None, to: str | None) -> tuple[int | None, int | None]:
    from vault.data.query import parse_instant

    start = parse_instant(from_) if from_ else None
    end = parse_instant(to, end_of_day=True) if to else None
    return start, end


def _iso(ms: int | None) -> str | None:
    from vault.data.query import iso

    return None if ms is None else iso(ms)


@cli.group()
def data() -> None:
    """Explore and export your health and activity data (steps, sleep, heart rate...).

    \b
    Examples:
      coffre data metrics
      coffre data show steps --every day --from 2024-01-01
    """


@data.command("metrics")
@persona_option
@json_option
@pass_env
def data_metrics(env: Env, persona_ref: str | None, as_json: bool) -> None:
    """List the metrics a persona has, with counts, time span and sources.

    \b
    Examples:
      coffre data metrics
      coffre data metrics --persona Ana --json
    """
    from vault.data import query

    with env.vault() as v:
        found = query.list_metrics(v, resolve_persona_id(v, persona_ref))
    rows: list[dict[str, Any]] = [
        {
            "metric": m.metric,
            "unit": m.unit,
            "samples": m.samples,
            "first": _iso(m.first),
            "last": _iso(m.last),
            "sources": m.sources,
        }
        for m in found
    ]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        from vault.imports import formats_of

        names = "|".join(fmt.name for fmt in formats_of("data"))
        info(f"No data yet; import some with `coffre import {names}`.")
        return
    for r in rows:
        first, last = str(r["first"])[:10], str(r["last"])[:10]
        say(
            f"{r['metric']:<26} {r['samples']:>10,} {r['unit']:<12} {first} .. {last}  "
            f"({len(r['sources'])} source{'s' if len(r['sources']) != 1 else ''})"
        )


def _bucket_json(b: Bucket) -> dict[str, Any]:
    from vault.data.query import iso

    out: dict[str, Any] = {
        "start": iso(b.start, b.offset_min),
        "end": iso(b.end, b.offset_min),
        "count": b.count,
        "sum": b.sum,
        "min": b.min,
        "avg": b.avg,
        "max": b.max,
        "unit": b.unit,
    }
    if b.stages is not None:
        out["stages"] = b.stages
    return out


def _stream_json(items: Iterator[dict[str, Any]]) -> None:
    """Print a JSON list item by item, so a long range never sits in memory at once."""
    first = True
    click.echo("[", nl=False)
    for item in items:
        click.echo(("\n  " if first else ",\n  ") + json_text(item, indent=None), nl=False)
        first = False
    click.echo("\n]" if not first else "]")


@data.command("show")
@click.argument("metric")
@persona_option
@from_option
@to_option
@click.option(
    "--every",
    type=click.Choice(["hour", "day", "week", "month"]),
    default=None,
    help="Aggregate per period instead of listing samples.",
)
@tz_option
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV on stdout.")
@pass_env
def data_show(
    env: Env,
    *,
    metric: str,
    persona_ref: str | None,
    from_: str | None,
    to: str | None,
    every: str | None,
    tz: str,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Show a metric's samples, or aggregates per hour, day, week or month (--every).

    Sums (steps, distance, energy) resolve overlapping sources by priority; rates (heart
    rate, weight) give min, average and max; sleep gives minutes per stage.

    \b
    Examples:
      coffre data show steps --every day --from 2024-03-01 --to 2024-03-31
      coffre data show heart_rate --every week --csv > heart.csv
    """
    from vault.data import csvfmt, query

    start, end = _range(from_, to)
    query.check_metric(metric)
    with env.vault() as v:
        pid = resolve_persona_id(v, persona_ref)
        if every is not None:
            buckets = query.aggregate(v, pid, metric, every, start=start, end=end, tz=tz)
            if as_json:
                emit_json([_bucket_json(b) for b in buckets])
            elif as_csv:
                csvfmt.write_rows(csvfmt.aggregate_rows(buckets, metric), sys.stdout)
            else:
                for b in buckets:
                    j = _bucket_json(b)
                    stages = b.stages or {}
                    extra = "  " + " ".join(f"{k}={v:.0f}" for k, v in stages.items())
                    say(
                        f"{j['start']}  n={b.count:<6} sum={b.sum:<12.6g} min={b.min:<8.6g} "
                        f"avg={b.avg:<8.6g} max={b.max:<8.6g} {b.unit}{extra if stages else ''}"
                    )
            return
        if as_csv:
            csvfmt.write_rows(csvfmt.csv_rows(v, pid, metric, start, end), sys.stdout)
            return
        raw = query.samples(v, pid, metric, start, end)
        if as_json:
            _stream_json(_sample_json(s, metric) for s in raw)
            return
        for s in raw:
            j = _sample_json(s, metric)
            shown = j.get("stage", f"{s.value:.6g} {s.unit}")
            say(f"{j['start']}  {j['end']}  {shown}  {s.source}")


def _sample_json(s: Any, metric: str) -> dict[str, Any]:
    from vault.data.model import SLEEP_STAGE_NAMES
    from vault.data.query import iso

    out = {
        "start": iso(s.start, s.offset_min),
        "end": iso(s.end, s.offset_min),
        "value": s.value,
        "unit": s.unit,
        "source": s.source,
    }
    if metric == "sleep":
        out["stage"] = SLEEP_STAGE_NAMES.get(int(s.value), "unknown")
    return out


@data.command("workouts")
@persona_option
@from_option
@to_option
@json_option
@pass_env
def data_workouts(
    env: Env, *, persona_ref: str | None, from_: str | None, to: str | None, as_json: bool
) -> None:
    """List workouts with their totals, events and route size.

    \b
    Examples:
      coffre data workouts --from 2024-01-01
      coffre data workouts --json
    """
    from vault.data import query

    start, end = _range(from_, to)
    with env.vault() as v:
        found = query.workouts(v, resolve_persona_id(v, persona_ref), start, end)
    rows: list[dict[str, Any]] = [
        {
            "activity": w.activity,
            "start": query.iso(w.start, w.offset_min),
            "end": query.iso(w.end, w.offset_min),
            "duration_s": w.duration_s if w.duration_s is not None else (w.end - w.start) / 1000,
            "distance_m": w.distance_m,
            "energy_kcal": w.energy_kcal,
            "source": w.source,
            "events": len(w.events),
            "route_points": len(w.route),
        }
        for w in found
    ]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        dist = f"{r['distance_m'] / 1000:.2f} km" if r["distance_m"] is not None else "-"
        kcal = f"{r['energy_kcal']:.0f} kcal" if r["energy_kcal"] is not None else "-"
        say(
            f"{r['start']}  {r['activity']:<14} {r['duration_s'] / 60:6.1f} min  {dist:>10}  "
            f"{kcal:>9}  {r['source']}"
        )


@data.command("sources")
@click.argument("metric")
@persona_option
@from_option
@to_option
@json_option
@pass_env
def data_sources(
    env: Env,
    *,
    metric: str,
    persona_ref: str | None,
    from_: str | None,
    to: str | None,
    as_json: bool,
) -> None:
    """Break a metric down per source, highest priority first, with what each counts for.

    \b
    Examples:
      coffre data sources steps
      coffre data sources steps --from 2024-01-01 --json
    """
    from vault.data import query

    start, end = _range(from_, to)
    with env.vault() as v:
        stats = query.by_source(v, resolve_persona_id(v, persona_ref), metric, start, end)
    rows: list[dict[str, Any]] = [
        {
            "source": s.source,
            "rank": s.rank,
            "samples": s.count,
            "sum": s.sum,
            "min": s.min,
            "avg": s.avg,
            "max": s.max,
            "counted": s.counted,
        }
        for s in stats
    ]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        say(
            f"{r['rank'] + 1:>2}. {r['source']:<30} {r['samples']:>9,} samples  "
            f"sum {r['sum']:<12.6g} counted {r['counted']:.6g}"
        )


@data.command("priority")
@click.argument("sources", nargs=-1)
@click.option("--reset", is_flag=True, help="Go back to the default order.")
@json_option
@pass_env
def data_priority(env: Env, sources: tuple[str, ...], reset: bool, as_json: bool) -> None:
    """Show or set the source priority used for totals (highest first).

    With no SOURCES, show the order. Sources not named follow in the default order:
    watches and wearables, then phones, then other apps.

    \b
    Examples:
      coffre data priority
      coffre data priority "Ana's Watch" "Ana's iPhone"
      coffre data priority --reset
    """
    from vault.core.errors import InvalidParameter
    from vault.data import query

    if reset and sources:
        raise InvalidParameter("give SOURCES or --reset, not both")
    with env.vault() as v:
        if reset or sources:
            query.set_source_priority(v, list(sources))
        order = query.get_source_priority(v)
    if as_json:
        emit_json({"order": order})
    elif order:
        for i, name in enumerate(order, 1):
            say(f"{i:>2}. {name}")
    else:
        say("Default order: watches and wearables, then phones, then other apps.")


@data.command("export")
@click.argument("metric")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["fhir", "omh", "csv"]),
    required=True,
    help="FHIR R4 Bundle, Open mHealth / IEEE 1752.1 data points, or the long CSV format.",
)
@output_option("Write to this file (default: stdout).")
@persona_option
@from_option
@to_option
@click.option(
    "--every",
    type=click.Choice(["raw", "hour", "day", "week", "month"]),
    default="raw",
    show_default=True,
    help="One item per sample (raw) or per period.",
)
@tz_option
@force_option
@pass_env
def data_export(
    env: Env,
    *,
    metric: str,
    fmt: str,
    output: Path | None,
    persona_ref: str | None,
    from_: str | None,
    to: str | None,
    every: str,
    tz: str,
    force: bool,
) -> None:
    """Export a metric in a standard format, streamed to a file or stdout.

    \b
    Examples:
      coffre data export steps --format fhir -o steps.json
      coffre data export heart_rate --format csv --every day --from 2024-01-01 > hr.csv
    """
    from vault.data import export, query

    start, end = _range(from_, to)
    query.check_metric(metric)
    writer = {"fhir": export.export_fhir, "omh": export.export_omh, "csv": export.export_csv}[fmt]
    with env.vault() as v:
        pid = resolve_persona_id(v, persona_ref)
        with open_output(output, force=force) as out:
            n = writer(v, pid, metric, start, end, every, out, tz=tz)
    where = str(output) if output is not None else "stdout"
    info(f"Exported {n:,} item{'s' if n != 1 else ''} of {metric} as {fmt} to {where}.")
