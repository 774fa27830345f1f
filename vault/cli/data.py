"""Quantified-self commands: `data metrics|show|workouts|sources|priority|export`.

Thin over vault.data: each command resolves the persona, calls the library and prints. JSON
shapes are part of the CLI contract (docs/cli.md).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import replace
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
from vault.core.i18n import N_, Text, _, language, localise, localise_name, ngettext, number

if TYPE_CHECKING:
    from vault.core.vault import Vault
    from vault.data import display
    from vault.data.display import Series

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
    """The [start, end) instants of `--from`/`--to` (an inclusive `--to` date ends at the
    next midnight); a range that ends before it starts is refused (exit 7)."""
    from vault.core.errors import InvalidParameter
    from vault.data.query import parse_instant

    start = parse_instant(from_) if from_ else None
    end = parse_instant(to, end_of_day=True) if to else None
    if start is not None and end is not None and start >= end:
        raise InvalidParameter(
            _("--from {start} is after --to {to}: the range holds nothing").format(
                start=from_, to=to
            )
        )
    return start, end


def _iso(ms: int | None) -> str | None:
    from vault.data.query import utc_iso

    return None if ms is None else utc_iso(ms)


def _where_the_data_is(v: Vault, pid: str, metric: str, from_: str | None, to: str | None) -> str:
    """Why a range shows nothing: `no heart_rate between 2024-01-01 and 2024-12-31;
    heart_rate has data from 2021-03-02 to 2022-11-30` (the dates as typed)."""
    from vault.data import query

    if from_ and to:
        asked = _(" between {start} and {end}").format(start=from_, end=to)
    elif from_:
        asked = _(" from {start} on").format(start=from_)
    elif to:
        asked = _(" up to {end}").format(end=to)
    else:
        asked = ""
    held = next((m for m in query.list_metrics(v, pid) if m.metric == metric), None)
    if held is None or held.first is None or held.last is None:
        return _("no {metric}{asked}; this persona has no {metric} data").format(
            metric=metric, asked=asked
        )
    first, last = query.utc_iso(held.first)[:10], query.utc_iso(held.last)[:10]
    return _("no {metric}{asked}; {metric} has data from {first} to {last}").format(
        metric=metric, asked=asked, first=first, last=last
    )


# The words of the data tables' headers and headlines (vault.data.display writes them in
# English, the JSON's vocabulary): translated here, when the table is shown.
TABLE_WORDS = (
    N_("metric"),
    N_("unit"),
    N_("samples"),
    N_("first"),
    N_("last"),
    N_("sources"),
    N_("hour"),
    N_("day"),
    N_("week of"),
    N_("week"),
    N_("month"),
    N_("night"),
    N_("total"),
    N_("mean"),
    N_("time"),
    N_("time asleep"),
    N_("lowest"),
    N_("highest"),
    N_("rank"),
    N_("source"),
    N_("counted"),
    N_("start"),
    N_("activity"),
    N_("duration"),
    N_("distance"),
    N_("energy"),
    N_("stage"),
    N_("classification"),
    N_("heart rate"),
    N_("sample rate"),
    N_("lead"),
    N_("symptoms"),
    N_("device"),
    N_("date"),
    N_("type"),
    N_("record"),
    N_("value"),
    N_("status"),
    N_("provider"),
)
# An English number as display writes it: 12,345.6
_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})*(?:\.\d+)?")


def _localised_cell(cell: str) -> str:
    """CELL with its numbers written the current language's way (`12 345,6` in French), and
    the words the library marked (a unit's) in that language."""
    if isinstance(cell, Text):
        return localise(cell)
    if language() == "en":
        return cell

    def local(found: re.Match[str]) -> str:
        text = found.group(0)
        digits = len(text.partition(".")[2])
        return number(float(text.replace(",", "")), digits)

    return _NUMBER.sub(local, cell) if _NUMBER.fullmatch(cell.split(" ", 1)[0]) else cell


def _localised(table: display.Table) -> display.Table:
    """TABLE for people in the current language: headers translated, numbers written the
    language's way (the JSON, built from the same values, is left as it is)."""
    return replace(
        table,
        header=tuple(_(h) for h in table.header),
        rows=tuple(tuple(_localised_cell(c) for c in row) for row in table.rows),
    )


def _headline_name(metric: str, every: str) -> str:
    """`total per week`, in the current language."""
    from vault.data import display

    what, _per, period = display.headline_name(metric, every).rpartition(" per ")
    return _("{what} per {period}").format(what=_(what), period=_(period))


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
        info(_("No data yet; import some with `coffre import {names}`.").format(names=names))
        return
    from vault.data import display

    for line in _localised(display.metrics_table(found)).lines():
        say(line)


def _stream_json(items: Iterator[dict[str, Any]]) -> int:
    """Print a JSON list item by item, so a long range never sits in memory at once;
    returns how many items it held."""
    n = 0
    click.echo("[", nl=False)
    for item in items:
        click.echo(("\n  " if not n else ",\n  ") + json_text(item, indent=None), nl=False)
        n += 1
    click.echo("\n]" if n else "]")
    return n


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
@click.option(
    "--chart",
    is_flag=True,
    help="Draw a chart of the aggregates per day (or per --every period).",
)
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
    chart: bool,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Show a metric's samples, or aggregates per hour, day, week or month (--every), or a
    chart of them (--chart).

    Sums (steps, distance, energy) give a total that resolves overlapping sources by
    priority; rates (heart rate, weight) give mean, lowest and highest; sleep gives the time
    asleep and per stage, as durations.

    \b
    Examples:
      coffre data show steps --every day --from 2024-03-01 --to 2024-03-31
      coffre data show heart_rate --every week --csv > heart.csv
      coffre data show heart_rate --every day --chart --from 2024-01-01
    """
    from vault.data import csvfmt, display, health_records, query

    if chart and (as_json or as_csv):
        raise click.UsageError(_("--chart draws for people: it takes neither --json nor --csv"))
    start, end = _range(from_, to)
    query.check_metric(metric)
    with env.vault() as v:
        pid = resolve_persona_id(v, persona_ref)
        if every is not None or chart:
            period = every or "day"
            buckets = query.aggregate(v, pid, metric, period, start=start, end=end, tz=tz)
            if not buckets:
                info(_where_the_data_is(v, pid, metric, from_, to))
            if as_json:
                emit_json([display.bucket_json(b, metric) for b in buckets])
            elif as_csv:
                csvfmt.write_rows(csvfmt.aggregate_rows(buckets, metric), sys.stdout)
            elif buckets and chart:
                _draw_chart(display.chart_series(buckets, metric, period))
            elif buckets:
                first = from_ or display.period_label(buckets[0], period)
                last = to or display.period_label(buckets[-1], period)
                unit = localise_name(display.unit_label(metric, buckets[0].unit))
                say(
                    _("{metric} ({unit}): {metric2}, {first} to {last} ({tz})").format(
                        metric=metric,
                        unit=unit,
                        metric2=_headline_name(metric, period),
                        first=first,
                        last=last,
                        tz=tz,
                    )
                )
                for line in _localised(display.buckets_table(buckets, metric, period)).lines():
                    say(line)
            return
        if metric in health_records.RECORD_KINDS:
            _show_records(v, pid, metric, start, end, as_json=as_json, as_csv=as_csv)
            return
        if as_csv:
            csvfmt.write_rows(csvfmt.csv_rows(v, pid, metric, start, end), sys.stdout)
            return
        raw = query.samples(v, pid, metric, start, end)
        if as_json:
            shown = _stream_json(display.sample_json(s, metric) for s in raw)
        else:
            shown = 0
            whole = display.is_whole(metric)
            unit = localise_name(display.unit_label(metric, query.unit_of(v, pid, metric)))
            # Streamed, so the columns have fixed widths; the unit is in the header.
            heading = _("stage") if metric == "sleep" else unit
            for s in raw:
                if not shown:
                    labels = _("start"), _("end"), _("source")
                    say(f"{labels[0]:<25}  {labels[1]:<25}  {heading:>12}  {labels[2]}")
                value = (
                    display.sample_json(s, metric)["stage"]
                    if metric == "sleep"
                    else display.number(s.value, whole=whole)
                )
                start_text, end_text = (
                    query.iso(s.start, s.offset_min),
                    query.iso(s.end, s.offset_min),
                )
                say(f"{start_text:<25}  {end_text:<25}  {value:>12}  {s.source}")
                shown += 1
        if not shown:
            info(_where_the_data_is(v, pid, metric, from_, to))


def _show_records(
    v: Vault,
    pid: str,
    metric: str,
    start: int | None,
    end: int | None,
    *,
    as_json: bool,
    as_csv: bool,
) -> None:
    """`data show ecg|clinical_record`: the recordings or records themselves, one a row
    (clinical records without a date last, when no range is asked)."""
    from vault.data import display, export, health_records

    if as_csv:
        export.export_records(v, pid, metric, start, end, "csv", sys.stdout)
        return
    if metric == health_records.ECG_METRIC:
        ecgs = health_records.list_ecgs(v, pid, start, end)
        rows, table = [display.ecg_json(e) for e in ecgs], display.ecg_table(ecgs)
    else:
        records = health_records.list_clinical(v, pid, start, end)
        rows, table = [display.clinical_json(c) for c in records], display.clinical_table(records)
    if as_json:
        emit_json(rows)
    elif rows:
        for line in _localised(table).lines():
            say(line)
    if not rows:
        what = _("recordings") if metric == health_records.ECG_METRIC else _("records")
        empty = (
            _("no {metric} {what} in this range")
            if start is not None or end is not None
            else _("this persona has no {metric} {what}")
        )
        info(empty.format(metric=metric, what=what))


def _draw_chart(series: Series) -> None:
    """The chart on stdout: sized to the terminal and coloured there (unless NO_COLOR is
    set), else plain text at the default size (for a pipe or a file)."""
    from vault.cli.chart import DEFAULT_SIZE, render

    if not sys.stdout.isatty():
        click.echo(render(series, size=DEFAULT_SIZE, color=False), nl=False)
        return
    columns, lines = shutil.get_terminal_size(DEFAULT_SIZE)
    size = (min(columns, 120), max(12, min(lines - 4, 30)))
    color = not os.environ.get("NO_COLOR")  # https://no-color.org: any value turns it off
    click.echo(render(series, size=size, color=color), nl=False)


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
    from vault.data import display, query
    from vault.data.render import offset_suffix

    start, end = _range(from_, to)
    with env.vault() as v:
        found = query.workouts(v, resolve_persona_id(v, persona_ref), start, end)
    rows: list[dict[str, Any]] = [
        {
            "activity": w.activity,
            "start": query.utc_iso(w.start),
            "end": query.utc_iso(w.end),
            "offset": offset_suffix(w.offset_min),
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
    table = display.Table(
        ("start", "activity", "duration", "distance", "energy", "source"),
        tuple(
            (
                query.iso(w.start, w.offset_min)[:16].replace("T", " "),
                str(r["activity"]),
                display.duration(r["duration_s"] / 60),
                f"{display.number(r['distance_m'] / 1000)} km" if r["distance_m"] is not None
                else "-",
                f"{display.number(r['energy_kcal'], whole=True)} kcal"
                if r["energy_kcal"] is not None else "-",
                str(r["source"]),
            )
            for w, r in zip(found, rows, strict=True)
        ),
        frozenset({2, 3, 4}),
    )  # fmt: skip
    if rows:
        for line in _localised(table).lines():
            say(line)


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
    from vault.data import display, query

    start, end = _range(from_, to)
    query.check_metric(metric)
    with env.vault() as v:
        pid = resolve_persona_id(v, persona_ref)
        stats = query.by_source(v, pid, metric, start, end)
        where = _where_the_data_is(v, pid, metric, from_, to) if not stats else ""
    rows = [display.source_json(s, metric) for s in stats]
    if where:
        info(where)
    if as_json:
        emit_json(rows)
        return
    if rows:
        for line in _localised(display.sources_table(stats, metric)).lines():
            say(line)


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
        raise InvalidParameter(_("give SOURCES or --reset, not both"))
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
        say(_("Default order: watches and wearables, then phones, then other apps."))


@data.command("export")
@click.argument("metric")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["fhir", "omh", "csv"]),
    required=True,
    help="FHIR R4 Bundle, Open mHealth / IEEE 1752.1 data points, or the long CSV format.",
)
@output_option(N_("Write to this file (default: stdout)."))
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
    with env.vault() as v:
        pid = resolve_persona_id(v, persona_ref)
        with open_output(output, force=force) as out:
            n = export.export_metric(v, pid, metric, start, end, every, fmt, out, tz=tz)
    where = str(output) if output is not None else "stdout"
    info(
        ngettext(
            "Exported {n} item of {metric} as {fmt} to {where}.",
            "Exported {n} items of {metric} as {fmt} to {where}.",
            n,
        ).format(n=number(n), metric=metric, fmt=fmt, where=where)
    )
