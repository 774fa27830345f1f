"""Forget: choose a target, read the preview, confirm by typing its name, watch it go.
Retention rules live here too: what they keep, what is due, applying them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Markdown, Select, Static

from tui import format as fmt
from tui.screens.base import SectionScreen, bindings, data_table, titled_panel
from tui.screens.modals import ConfirmModal, PromptModal, TypeToConfirmModal
from tui.widgets.progress import ProgressPanel
from vault import content, forget
from vault import personas as identities
from vault.core.errors import VaultError
from vault.core.i18n import N_, _, error_message, localise, ngettext, number
from vault.core.untrusted import printable
from vault.core.vault import Vault
from vault.data import query
from vault.forget import ForgetResult, Plan, Target, count_label, rules

KINDS: tuple[tuple[str, str], ...] = (
    (N_("Persona"), "persona"),
    (N_("Metric (a date range)"), "metric"),
    (N_("Content item"), "content"),
    (N_("Recipient"), "recipient"),
    (N_("Everything"), "everything"),
)
ANY_PERSONA = "*"


@dataclass(frozen=True)
class Choices:
    """What can be forgotten, as (label, reference) pairs per target kind."""

    persona: tuple[tuple[str, str], ...]
    metric: tuple[tuple[str, str], ...]
    content: tuple[tuple[str, str], ...]
    recipient: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Chosen:
    """A target and the name the person must type to confirm it."""

    target: Target
    name: str


def load_choices(vault: Vault) -> Choices:
    from vault import sharing as consent

    personas = identities.list_personas(vault)
    found_metrics = sorted({m.metric for p in personas for m in query.list_metrics(vault, p.id)})
    items = content.list_items(vault)
    recipients = consent.list_recipients(vault)
    return Choices(
        tuple((p.name, p.id) for p in personas),
        tuple((m, m) for m in found_metrics),
        tuple((printable(i.title), i.id) for i in items),
        tuple((r.name, r.id) for r in recipients),
    )


HOW_MUCH = N_("How much")


def count_name(key: str) -> str:
    return _(count_label(key))


def plan_markdown(plan: Plan) -> str:
    if plan.empty:  # the verdict forgetting it would give
        return _("**Nothing to forget**: {labels} holds nothing.").format(
            labels="; ".join(map(localise, plan.labels))
        )
    lines = ["**" + _("What would be forgotten") + "**", ""]
    lines += [f"- {localise(label)}" for label in plan.labels]
    lines += ["", f"**{_(HOW_MUCH)}**", ""]
    counts = {k: v for k, v in sorted(plan.counts.items())}
    lines += [f"- {count_name(k)}: {number(v)}" for k, v in counts.items()] or ["- " + _("nothing")]
    lines += ["", "**" + _("Recipients holding copies") + "**", ""]
    if plan.holders:
        for h in plan.holders:
            lines.append(
                _("- {name}: {bundles} under {grants}; they will get an erasure request").format(
                    name=h.name,
                    bundles=fmt.plural(len(h.bundles), "bundle"),
                    grants=fmt.plural(len(h.grants), "grant"),
                )
            )
    else:
        lines.append(_("- none: nothing of this has left the vault"))
    lines += [
        "",
        _("Copies of the vault made before now (backups, synced folders) cannot be reached."),
    ]
    return "\n".join(lines)


def result_markdown(result: ForgetResult) -> str:
    plan = result.plan
    lines = [_("- forgotten: {labels}").format(labels=", ".join(map(localise, plan.labels)))]
    lines += [f"- {count_name(k)}: {number(v)}" for k, v in sorted(plan.counts.items())]
    lines.append(
        _("- keys rotated: the vault is now at key epoch {epoch}").format(epoch=result.epoch)
    )
    lines.append(
        _("- the write-ahead log was truncated")
        if result.wal_truncated
        else _(
            "- the write-ahead log could not be truncated now (another process has the "
            "vault open); it will be on the next forget or close"
        )
    )
    if result.notices:
        lines.append(_("- erasure requests produced: {n}, to send:").format(n=len(result.notices)))
    lines.append(_("- cannot reach: copies of the vault made before now (backups)"))
    lines += [f"\n```text\n{request.text()}```" for request in result.notices]
    return "\n".join(lines)


class ForgetScreen(SectionScreen):
    """Taking data back out of the vault for good, always previewed and confirmed."""

    MODE = "forget"
    TITLE_TEXT = N_("Forget")
    BINDINGS: ClassVar = bindings(
        "forget",
        ("p", "preview", N_("Preview"), N_("Show what would be forgotten")),
        ("f", "forget", N_("Forget…"), N_("Forget the target (asks you to type its name)")),
        ("a", "add_rule", N_("Add rule"), N_("Add a retention rule")),
        ("x", "remove_rule", N_("Remove rule"), N_("Remove the selected retention rule")),
        ("A", "apply_rules", N_("Apply rules"), N_("Forget what the retention rules say")),
    )

    def __init__(self) -> None:
        super().__init__()
        self.choices = Choices((), (), (), ())
        self.rules: list[rules.Rule] = []
        self.plan: Plan | None = None
        self.result: ForgetResult | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="forget"):
            with Vertical(classes="panel", id="forget-main"):
                with Horizontal(classes="form-row"):
                    yield Select(
                        [(_(label), value) for label, value in KINDS],
                        value="persona",
                        allow_blank=False,
                        id="forget-kind",
                    )
                    yield Select([], prompt=_("Which"), id="forget-which")
                with Horizontal(classes="form-row", id="forget-metric-row"):
                    yield Select([], prompt=_("Every persona"), id="forget-persona")
                    yield Input(placeholder=_("From (YYYY-MM-DD)"), id="forget-from")
                    yield Input(placeholder=_("Before (YYYY-MM-DD)"), id="forget-before")
                with VerticalScroll(id="forget-preview-box"):
                    yield Markdown(
                        _("Choose a target to see what forgetting it would remove."),
                        id="forget-preview",
                    )
                yield ProgressPanel(id="forget-progress")
            yield titled_panel(
                _("Retention rules"),
                data_table("rules-table", _("Selects"), _("Keep"), zebra_stripes=False),
                Static("", id="rules-due"),
                id="forget-rules",
            )

    def on_mount(self) -> None:
        self.query_one("#forget-metric-row").display = False
        super().on_mount()

    def load(self) -> None:
        self._load(self.vault, self.coffre.clock.now().timestamp())

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self, vault: Vault, now: float) -> None:
        choices = load_choices(vault)
        found = rules.list_rules(vault)
        due = rules.due(vault, int(now * 1000))
        self.app.call_from_thread(self._show, choices, found, due)

    def _show(self, choices: Choices, found: list[rules.Rule], due: Plan | None) -> None:
        self.choices, self.rules = choices, found
        self._fill_which()
        persona = self.query_one("#forget-persona", Select)
        persona.set_options(choices.persona)
        table = self.query_one("#rules-table", DataTable)
        table.clear()
        for r in found:
            kept = ngettext("{n} day", "{n} days", r.keep_days).format(n=number(r.keep_days))
            table.add_row(*fmt.cells(f"{r.selector} {r.value}", kept), key=r.id)
        if not found:
            text = _("No rule yet: press a to keep some data only so long.")
        elif due is None:
            text = _("Nothing is due: every rule is satisfied.")
        else:
            counts = fmt.plan_counts(due.counts)
            text = _("[b]Due now:[/b] {counts}. Press A to apply.").format(counts=counts)
        self.query_one("#rules-due", Static).update(text)

    @on(Select.Changed, "#forget-kind")
    def _kind_changed(self) -> None:
        self._fill_which()
        self.plan = None
        self._auto_preview()

    @on(Select.Changed, "#forget-which")
    @on(Select.Changed, "#forget-persona")
    @on(Input.Submitted, "#forget-before")
    @on(Input.Submitted, "#forget-from")
    def _target_changed(self) -> None:
        self.plan = None
        self._auto_preview()

    def _auto_preview(self) -> None:
        chosen = self.chosen(quiet=True)
        if chosen is not None:
            self._preview(self.vault, chosen)

    def _kind(self) -> str:
        return str(self.query_one("#forget-kind", Select).value)

    def _fill_which(self) -> None:
        kind = self._kind()
        which = self.query_one("#forget-which", Select)
        options = getattr(self.choices, kind, ())
        keep = which.value
        which.set_options(options)
        which.display = kind != "everything"
        refs = [ref for _, ref in options]
        if keep in refs:
            which.value = keep
        elif refs:
            which.value = refs[0]
        self.query_one("#forget-metric-row").display = kind == "metric"

    def chosen(self, *, quiet: bool = False) -> Chosen | None:
        """The target the form describes, or None (with a warning unless `quiet`) when it is
        incomplete."""
        kind = self._kind()
        if kind == "everything":
            return Chosen(Target.everything(), "everything")
        which = self.query_one("#forget-which", Select)
        if not isinstance(which.value, str):
            if not quiet:
                self.notify(_("Choose what to forget first."), severity="warning")
            return None
        ref = which.value
        name = next(label for label, r in getattr(self.choices, kind) if r == ref)
        if kind == "persona":
            return Chosen(Target.of_persona(ref), name)
        if kind == "content":
            return Chosen(Target.of_content(ref), name)
        if kind == "recipient":
            return Chosen(Target.of_recipient(ref), name)
        persona = self.query_one("#forget-persona", Select).value
        since = self.query_one("#forget-from", Input).value.strip()
        before = self.query_one("#forget-before", Input).value.strip()
        try:
            start = query.parse_instant(since) if since else None
            end = query.parse_instant(before) if before else None
            target = Target.of_metric(
                ref, persona=persona if isinstance(persona, str) else None, start=start, end=end
            )
        except VaultError as exc:
            self.notify(error_message(exc), severity="error")
            return None
        return Chosen(target, name)

    # --- preview and forget ---

    def action_preview(self) -> None:
        chosen = self.chosen()
        if chosen is not None:
            self._preview(self.vault, chosen)

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview")
    def _preview(self, vault: Vault, chosen: Chosen) -> None:
        plan = forget.preview(vault, chosen.target)
        self.app.call_from_thread(self._show_plan, plan)

    def _show_plan(self, plan: Plan) -> None:
        self.plan = plan
        self.query_one("#forget-preview", Markdown).update(plan_markdown(plan))

    def action_forget(self) -> None:
        if self.busy_writing():
            return
        chosen = self.chosen()
        if chosen is None:
            return

        def confirmed() -> None:
            panel = self.query_one("#forget-progress", ProgressPanel)
            panel.begin(_("Forgetting {name}…").format(name=chosen.name))
            self._forget(self.vault, chosen, panel)

        summary = plan_markdown(self.plan) if self.plan is not None else ""
        self.confirm(
            TypeToConfirmModal(
                _("Forget {name}?").format(name=chosen.name),
                _("This cannot be undone: the data and its keys are destroyed.")
                + "\n"
                + (summary.split(f"**{_(HOW_MUCH)}**")[0].replace("**", "") if summary else ""),
                chosen.name,
            ),
            confirmed,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _forget(self, vault: Vault, chosen: Chosen, panel: ProgressPanel) -> None:
        try:
            result = forget.forget(vault, chosen.target, panel.report)
        finally:
            self.app.call_from_thread(panel.end)
        self.app.call_from_thread(self._forgotten, result)

    def _forgotten(self, result: ForgetResult) -> None:
        self.result = result
        self.plan = None
        self.query_one("#forget-preview", Markdown).update(
            _("Done. Choose another target to preview.")
        )
        self.changed("forget")
        self.report(_("Forgotten"), result_markdown(result), self.reload)

    # --- retention rules ---

    def action_add_rule(self) -> None:
        def add(text: str) -> None:
            words = text.split()
            if len(words) != 3:
                self.notify(
                    _("Write: SELECTOR VALUE KEEP, e.g. metric heart_rate 2y"), severity="warning"
                )
                return
            selector, value, keep = words
            self.update_vault(
                _("rule added"),
                lambda v: rules.add_rule(v, cast(rules.Selector, selector), value, keep),
            )

        self.ask(
            PromptModal(
                _("New retention rule"),
                placeholder=_("metric heart_rate 2y"),
                help="SELECTOR VALUE KEEP — selector is metric, category or tag; keep is "
                "like 730d, 52w or 2y. Older data is forgotten when you apply the rules.",
            ),
            add,
        )

    def action_remove_rule(self) -> None:
        rule = self.cursor_item("#rules-table", self.rules, warning="Select a rule first.")
        if rule is None:
            return
        self.confirm(
            ConfirmModal(
                _("Remove the rule on {selector} {value}?").format(
                    selector=rule.selector, value=rule.value
                ),
                _("Data it already forgot stays forgotten."),
                confirm=_("Remove"),
            ),
            lambda: self.update_vault(_("rule removed"), lambda v: rules.remove_rule(v, rule.id)),
        )

    def action_apply_rules(self) -> None:
        if self.busy_writing():
            return

        def confirmed() -> None:
            panel = self.query_one("#forget-progress", ProgressPanel)
            panel.begin(_("Applying the retention rules…"))
            self._apply_rules(self.vault, self.coffre.clock.ms(), panel)

        self.confirm(
            ConfirmModal(
                _("Apply the retention rules now?"),
                _("Everything older than each rule keeps is forgotten for good."),
                confirm=_("Apply"),
            ),
            confirmed,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _apply_rules(self, vault: Vault, now_ms: int, panel: ProgressPanel) -> None:
        try:
            result = rules.apply_rules(vault, now_ms, panel.report)
        finally:
            self.app.call_from_thread(panel.end)
        if result is None:
            self.app.call_from_thread(self.notify, _("Nothing was due."))
        else:
            self.app.call_from_thread(self._forgotten, result)
