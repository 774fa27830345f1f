"""The dashboard: personas, data volumes with recent trends, recent imports, the audit chain,
and the remotes' sync state when the vault has remotes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.widgets import DataTable, LoadingIndicator, Static

from tui import format as fmt
from tui.screens.base import SectionScreen, bindings, data_table, titled_panel
from tui.widgets.chart import spark
from vault import content, remote
from vault import personas as identities
from vault import sharing as consent
from vault.core.errors import IntegrityError
from vault.core.i18n import N_, _, day, error_message, ngettext, number, pgettext
from vault.core.vault import Vault
from vault.data import metrics, query
from vault.forget import rules

WEEKS = 8
EXPIRING_DAYS = 30
METRICS_HEADING = N_("Data: samples in the vault, trend of the last {weeks} weeks")
METRICS_TITLE = METRICS_HEADING.format(weeks=WEEKS)  # in English


@dataclass(frozen=True)
class MetricRow:
    persona: str
    metric: str
    samples: int
    unit: str
    weekly: tuple[float, ...]
    last: int | None


@dataclass(frozen=True)
class Overview:
    """Everything the dashboard shows, gathered in one worker."""

    personas: tuple[identities.Persona, ...]
    metrics: tuple[MetricRow, ...]
    imports: tuple[tuple[str, str], ...]  # time, what was imported
    audit_entries: int
    audit_error: str | None
    records: int
    on_disk: int
    content_items: int
    grants: tuple[tuple[str, str, str], ...]  # recipient, persona, valid until (active ones)
    expiring: int  # active grants that end within EXPIRING_DAYS
    rules: int
    due: dict[str, int]  # what applying the retention rules now would forget
    remotes: tuple[dict[str, Any], ...] = ()  # vault.remote.summary: none, no Sync panel


def weekly_values(vault: Vault, persona_id: str, metric: str, now: datetime) -> list[float]:
    """The last WEEKS weeks of a metric, oldest first: totals for summed metrics and
    durations, averages for rates (the library aggregates; this only aligns the weeks)."""
    end = fmt.day_end_ms(now)
    start = end - WEEKS * 7 * 86_400_000
    buckets = query.aggregate(vault, persona_id, metric, "day", start=start, end=end)
    weeks = [0.0] * WEEKS
    counts = [0] * WEEKS
    rate = not metric.startswith("x:") and metrics.get(metric).aggregation == "rate"
    for b in buckets:
        i = min(WEEKS - 1, (b.start - start) // (7 * 86_400_000))
        if i < 0:
            continue
        weeks[i] += b.avg if rate else b.sum
        counts[i] += 1
    if rate:
        weeks = [w / c if c else 0.0 for w, c in zip(weeks, counts, strict=True)]
    return weeks


def describe_import(action: str, details: dict[str, object]) -> str | None:
    """An audit entry of an import in words ("health data +1,200 (3 skipped)"); None for
    any other entry."""
    if action == "qs.import":
        what = _("health data")
    elif action.startswith("persona.import."):
        what = _("personas ({source})").format(source=action.rsplit(".", 1)[1])
    elif action == "content.import":
        what = _("content ({source})").format(source=details.get("source", "?"))
    else:
        return None
    added, skipped = details.get("added", 0), details.get("duplicates", 0)
    text = f"{what} +{number(added)}" if isinstance(added, int) else what
    if isinstance(skipped, int) and skipped:
        text += " " + _("({n} skipped)").format(n=number(skipped))
    return text


def gather(vault: Vault, now: datetime) -> Overview:
    personas = identities.list_personas(vault)
    rows = []
    for p in personas:
        for m in query.list_metrics(vault, p.id):
            weekly = tuple(weekly_values(vault, p.id, m.metric, now))
            rows.append(MetricRow(p.name, m.metric, m.samples, m.unit, weekly, m.last))
    imports: list[tuple[str, str]] = []
    entries = 0
    error = None
    try:
        for entry in vault.audit_entries():
            entries += 1
            described = describe_import(entry.action, entry.details)
            if described is not None:
                imports.append((entry.time, described))
    except IntegrityError as exc:
        error = error_message(exc)
    status = vault.status()
    names = {p.id: p.name for p in personas}
    recipients = {r.id: r.name for r in consent.list_recipients(vault)}
    active = [g for g in consent.list_grants(vault) if g.status_at(now) == consent.GIVEN]
    soon = (now + timedelta(days=EXPIRING_DAYS)).isoformat()
    plan = rules.due(vault, int(now.timestamp() * 1000))
    return Overview(
        personas=tuple(personas),
        metrics=tuple(rows),
        imports=tuple(reversed(imports[-5:])),
        audit_entries=entries,
        audit_error=error,
        records=int(status["counts"].get("records", 0)),
        on_disk=sum(status["files"].values()),
        content_items=len(content.list_items(vault)),
        grants=tuple(
            (recipients.get(g.recipient, "?"), names.get(g.persona, "?"), day(g.valid_until[:10]))
            for g in active
        ),
        expiring=sum(1 for g in active if g.valid_until < soon),
        rules=len(rules.list_rules(vault)),
        due=dict(plan.counts) if plan is not None else {},
        remotes=tuple(remote.summary(vault)),
    )


def sync_line(remotes: tuple[dict[str, Any], ...]) -> str:
    """The dashboard's Sync line: each remote's last sync and what waits to be sent, then
    the forgets other devices have not applied yet (markup)."""
    parts = []
    for r in remotes:
        last = (
            _("synced {instant}").format(instant=fmt.instant(r["last_sync"]))
            if r["last_sync"]
            else _("never synced")
        )
        waiting = (
            _("{changes} to send").format(changes=fmt.plural(r["pending"], "change"))
            if r["pending"]
            else _("up to date")
        )
        parts.append(
            _("{name}: {last}, {waiting}").format(
                name=fmt.plain(r["name"]), last=last, waiting=waiting
            )
        )
    forgets = sum(r["pending_forgets"] for r in remotes)
    if forgets:
        pending = _("{forgets} pending on other devices").format(
            forgets=fmt.plural(forgets, "forget")
        )
        parts.append(f"[$warning]{pending}[/]")
    title = pgettext("panel", "Sync")
    return f"[b]{title}[/b]  " + "  ·  ".join(parts)


class DashboardScreen(SectionScreen):
    """The first screen after unlocking: what the vault holds and whether it verifies."""

    MODE = "dashboard"
    TITLE_TEXT = N_("Dashboard")
    BINDINGS: ClassVar = bindings(
        "dashboard", ("r", "refresh", N_("Refresh"), N_("Read the vault again"))
    )

    def compose_body(self) -> ComposeResult:
        def text_panel(title: str, name: str) -> Vertical:
            """A titled panel of text: the Static `#dash-NAME` in `#dash-NAME-panel`."""
            return titled_panel(title, Static("", id=f"dash-{name}"), id=f"dash-{name}-panel")

        with Vertical(id="dashboard"):
            yield LoadingIndicator(id="dash-loading")
            with Horizontal(id="dash-top"):
                yield text_panel(_("Personas"), "personas")
                yield text_panel(_("Vault"), "status")
            yield Static("", id="dash-sync")  # shown only when the vault has a remote
            # Samples counts every sample ever imported; only the trend covers the last weeks.
            yield titled_panel(
                _(METRICS_HEADING).format(weeks=WEEKS),
                data_table(
                    "dash-metrics",
                    _("Persona"),
                    _("Metric"),
                    _("Samples"),
                    _("{weeks} weeks").format(weeks=WEEKS),
                    _("Latest"),
                ),
                id="dash-metrics-panel",
            )
            with Horizontal(id="dash-bottom"):
                yield text_panel(_("Recent imports"), "imports")
                yield text_panel(_("Active grants"), "grants")
                yield text_panel(_("Retention"), "rules")

    def action_refresh(self) -> None:
        self.reload()

    def load(self) -> None:
        self.query_one("#dash-loading").display = True
        self._gather(self.vault, self.coffre.clock.now())

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _gather(self, vault: Vault, now: datetime) -> None:
        overview = gather(vault, now)
        self.app.call_from_thread(self._show, overview)

    def _show(self, o: Overview) -> None:
        self.query_one("#dash-loading").display = False
        people = [
            f"[b]{fmt.plain(p.name)}[/b]  "
            + ngettext("{n} attribute", "{n} attributes", len(p.attributes)).format(
                n=number(len(p.attributes))
            )
            + (
                ", " + ngettext("{n} sensitive", "{n} sensitive", sensitive).format(n=sensitive)
                if p.attributes
                else ""
            )
            for p in o.personas
            for sensitive in [sum(a.sensitive for a in p.attributes)]
        ]
        self.query_one("#dash-personas", Static).update(
            "\n".join(people) or _("No persona yet: add one on the Personas screen.")
        )
        entries = ngettext("{n} entry", "{n} entries", o.audit_entries).format(
            n=number(o.audit_entries)
        )
        chain = (
            f"[$error]✗ {escape(o.audit_error)}[/]"
            if o.audit_error
            else "[$success]✓[/] " + _("audit chain verified ({entries})").format(entries=entries)
        )
        self.query_one("#dash-status", Static).update(
            ngettext("{n} record", "{n} records", o.records).format(n=fmt.count(o.records))
            + ", "
            + _("{size} on disk").format(size=fmt.size(o.on_disk, coarse=True))
            + "\n"
            + ngettext("{n} content item", "{n} content items", o.content_items).format(
                n=number(o.content_items)
            )
            + "\n"
            + chain
        )
        line = self.query_one("#dash-sync", Static)
        line.display = bool(o.remotes)
        line.update(sync_line(o.remotes) if o.remotes else "")
        table = self.query_one("#dash-metrics", DataTable)
        table.clear()
        for r in o.metrics:
            table.add_row(
                *fmt.cells(
                    r.persona, r.metric, fmt.count(r.samples), spark(r.weekly), fmt.day(r.last)
                )
            )
        imports = [fmt.plain(f"{fmt.instant(t)[5:10]} {what}") for t, what in o.imports]
        self.query_one("#dash-imports", Static).update("\n".join(imports) or _("No import yet."))
        grants = [
            _("{recipient} ← {persona} until {until}").format(
                recipient=fmt.plain(r), persona=fmt.plain(p), until=until
            )
            for r, p, until in o.grants
        ]
        if o.expiring:
            expiring = ngettext(
                "{n} grant expiring within {days} days",
                "{n} grants expiring within {days} days",
                o.expiring,
            ).format(n=number(o.expiring), days=EXPIRING_DAYS)
            grants.append(f"[$warning]{expiring}[/]")
        self.query_one("#dash-grants", Static).update("\n".join(grants) or _("Nothing is shared."))
        rules_text = ngettext("{n} rule", "{n} rules", o.rules).format(n=number(o.rules))
        if not o.rules:
            retention = _("No retention rule.")
        elif not o.due:
            retention = _("{rules}; nothing due.").format(rules=rules_text)
        else:
            retention = _("{rules}; [$warning]due now: {due}[/]").format(
                rules=rules_text, due=fmt.plan_counts(o.due)
            )
        self.query_one("#dash-rules", Static).update(retention)
