"""The guided new-grant dialog: who, what, for how long and why; then a review before the
person gives consent. The Sharing screen creates the grant with the library."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Markdown, Select, SelectionList

from tui.screens.base import TranslatedKeys
from vault import content
from vault.content import audience
from vault.core.i18n import N_, _, day
from vault.sharing import ScopeRequest

PURPOSES: tuple[tuple[str, str], ...] = (
    (N_("Provide a service I asked for"), "dpv:ServiceProvision"),
    (N_("Personalise a service"), "dpv:ServicePersonalisation"),
    (N_("Research and development"), "dpv:ResearchAndDevelopment"),
    (N_("Academic research"), "dpv:AcademicResearch"),
    (N_("Personalised advertising"), "dpv:PersonalisedAdvertising"),
)
# Shortest first: the default shares the least (all the data must be chosen on purpose).
RANGES: tuple[tuple[str, str], ...] = (
    (N_("Rolling: the last 7 days"), "7d"),
    (N_("Rolling: the last 30 days"), "30d"),
    (N_("Rolling: the last 90 days"), "90d"),
    (N_("Rolling: the last year"), "1y"),
    (N_("All my data, from the first sample"), ""),
)
DEFAULT_RANGE = RANGES[0][1]
# Who an item was written for, as the audience picker offers it: only public items leave
# unless the person adds another audience (vault.sharing.scope).
AUDIENCE_HELP: dict[str, str] = {
    audience.PUBLIC: N_("public: anyone may see it"),
    audience.UNLISTED: N_("unlisted: anyone with the link"),
    audience.FOLLOWERS: N_("followers only"),
    audience.DIRECT: N_("direct messages"),
    audience.PRIVATE: N_("private: for me only"),
    audience.DRAFT: N_("drafts, not published"),
}
GRANULARITY: tuple[tuple[str, str], ...] = (
    (N_("Daily totals"), "day"),
    (N_("Hourly totals"), "hour"),
    (N_("Every raw sample"), "raw"),
)
DERIVED = ("age_over:18", "birth_year", "country")
SENSITIVE_MARK = N_("⚠ sensitive")


def purpose_label(purpose: str) -> str:
    """A purpose as the wizard offers it ("Scientific research"), the same words on every
    step; a purpose it does not offer (from the CLI) as its DPV name."""
    return next(
        (_(label) for label, ref in PURPOSES if ref == purpose), purpose.removeprefix("dpv:")
    )


def translated(choices: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """A Select's (label, value) choices with their labels in the current language."""
    return [(_(label), value) for label, value in choices]


def attribute_choice(key: str, sensitive: frozenset[str]) -> str:
    """How the wizard lists an attribute: sensitive ones (as the persona marks them, or
    derived from a sensitive birth date) say so, since a grant that names them shares
    them all the same."""
    source = "birth_date" if key.startswith(("age_over:", "birth_year")) else key
    if source in sensitive:
        derived = " " + _("(from the birth date)") if source != key else ""
        return f"{key}  {_(SENSITIVE_MARK)}{derived}"
    return key


@dataclass(frozen=True)
class GrantOptions:
    """What the dialog offers: recipients, personas and, per persona, metrics and attributes."""

    recipients: tuple[tuple[str, str], ...]
    personas: tuple[tuple[str, str], ...]
    metrics: dict[str, tuple[str, ...]]
    attributes: dict[str, tuple[str, ...]]
    sensitive: dict[str, frozenset[str]] = field(default_factory=dict)  # keys, per persona


@dataclass(frozen=True)
class GrantRequest:
    """The terms the person chose, as the library's `create_grant` takes them."""

    recipient: str
    persona: str
    metrics: tuple[str, ...]
    attributes: tuple[str, ...]
    content_tags: tuple[str, ...]
    audiences: tuple[str, ...]
    last: str
    granularity: str
    purpose: str
    valid_until: str
    compensation: str

    def scope(self) -> ScopeRequest:
        # Audiences only choose among content: without tags there is none to choose from.
        audiences = self.audiences if self.content_tags else None
        return ScopeRequest(
            metrics=self.metrics,
            attributes=self.attributes,
            content_tags=self.content_tags,
            content_audiences=audiences,
        )


def review_markdown(
    r: GrantRequest, names: dict[str, str], sensitive: frozenset[str] = frozenset()
) -> str:
    what = [_("- metric **{metric}**").format(metric=m) for m in r.metrics]
    what += [
        _("- attribute **{attribute}**").format(attribute=attribute_choice(a, sensitive))
        for a in r.attributes
    ]
    audiences = ", ".join(r.audiences or (content.PUBLIC,))
    what += [
        _("- content tagged **{tag}** written for: {audiences}").format(tag=t, audiences=audiences)
        for t in r.content_tags
    ]
    rng = _("the last {span} (rolling)").format(span=r.last) if r.last else _("all time")
    granularity = {"day": _("day"), "hour": _("hour"), "raw": _("raw")}.get(
        r.granularity, r.granularity
    )
    return "\n".join(
        [
            _("**{persona}** shares with **{recipient}**:").format(
                persona=names.get(r.persona, r.persona),
                recipient=names.get(r.recipient, r.recipient),
            ),
            "",
            *(what or [_("- nothing yet: go back and choose something")]),
            "",
            _("- range: {range}, granularity: {granularity}").format(
                range=rng, granularity=granularity
            ),
            _("- purpose: {purpose}").format(purpose=purpose_label(r.purpose)),
            _("- valid until: {date}").format(date=day(r.valid_until)),
            _("- in exchange for: {what}").format(what=r.compensation or _("nothing")),
            "",
            _("Giving consent signs a consent receipt with a key only this recipient sees."),
        ]
    )


class GrantWizard(TranslatedKeys, ModalScreen[GrantRequest]):
    """Two steps: choose the terms, then review them and give consent."""

    BINDINGS: ClassVar = [
        Binding(
            "escape",
            "cancel",
            N_("Cancel"),
            tooltip=N_("Give no consent"),
            id="grant_wizard.cancel",
        )
    ]

    def __init__(self, options: GrantOptions, today: date) -> None:
        super().__init__()
        self.options = options
        self.today = today
        self.request: GrantRequest | None = None

    def compose(self) -> ComposeResult:
        o = self.options
        with Vertical(classes="dialog wide", id="wizard"):
            yield Label(_("New grant — 1/2: the terms"), classes="dialog-title", id="wizard-title")
            with VerticalScroll(id="wizard-form"):
                with Horizontal(classes="form-row"):
                    yield Select(o.recipients, prompt=_("Recipient"), id="g-recipient")
                    yield Select(o.personas, prompt=_("Persona"), id="g-persona")
                yield Label(_("Metrics"))
                yield SelectionList[str](id="g-metrics")
                yield Label(_("Identity attributes"))
                yield SelectionList[str](id="g-attributes")
                yield Input(placeholder=_("Content tags (comma separated)"), id="g-tags")
                yield Label(_("Content written for (only public unless you add more)"))
                yield SelectionList[str](
                    *((_(AUDIENCE_HELP[a]), a, a == content.PUBLIC) for a in content.AUDIENCES),
                    id="g-audiences",
                )
                with Horizontal(classes="form-row"):
                    yield Select(
                        translated(RANGES), value=DEFAULT_RANGE, allow_blank=False, id="g-range"
                    )
                    yield Select(
                        translated(GRANULARITY), value="day", allow_blank=False, id="g-granularity"
                    )
                yield Select(translated(PURPOSES), prompt=_("Purpose"), id="g-purpose")
                with Horizontal(classes="form-row"):
                    until = (self.today + timedelta(days=90)).isoformat()
                    yield Input(
                        value=until, placeholder=_("Valid until (YYYY-MM-DD)"), id="g-until"
                    )
                    yield Input(placeholder=_("In exchange for (optional)"), id="g-compensation")
            with VerticalScroll(id="wizard-review"):
                yield Markdown("", id="review")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Cancel"), id="cancel")
                yield Button(_("Back"), id="back")
                yield Button(_("Review"), id="next", variant="primary")
                yield Button(_("Give consent"), id="give", variant="success")

    def on_mount(self) -> None:
        self._step(1)
        if self.options.personas:
            self.query_one("#g-persona", Select).value = self.options.personas[0][1]
        if self.options.recipients:
            self.query_one("#g-recipient", Select).value = self.options.recipients[0][1]

    def _step(self, n: int) -> None:
        """Show step `n`, focus on its primary button: Enter goes forward, never cancels
        (the form's fields are above it, a Shift+Tab away)."""
        self.query_one("#wizard-form").display = n == 1
        self.query_one("#wizard-review").display = n == 2
        self.query_one("#next").display = n == 1
        self.query_one("#back").display = n == 2
        self.query_one("#give").display = n == 2
        title = (
            _("New grant — 1/2: the terms") if n == 1 else _("New grant — 2/2: review and consent")
        )
        self.query_one("#wizard-title", Label).update(title)
        self.query_one("#next" if n == 1 else "#give", Button).focus()

    @on(Select.Changed, "#g-persona")
    def _persona_changed(self, event: Select.Changed) -> None:
        pid = event.value if isinstance(event.value, str) else ""
        metrics = self.query_one("#g-metrics", SelectionList)
        metrics.clear_options()
        metrics.add_options([(m, m) for m in self.options.metrics.get(pid, ())])
        attrs = self.query_one("#g-attributes", SelectionList)
        attrs.clear_options()
        keys = (*self.options.attributes.get(pid, ()), *DERIVED)
        sensitive = self.options.sensitive.get(pid, frozenset())
        attrs.add_options([(attribute_choice(k, sensitive), k) for k in keys])

    def _collect(self) -> GrantRequest | None:
        def value(selector: str) -> str:
            v = self.query_one(selector, Select).value
            return v if isinstance(v, str) else ""

        recipient, persona, purpose = (
            value("#g-recipient"),
            value("#g-persona"),
            value("#g-purpose"),
        )
        if not (recipient and persona and purpose):
            self.notify(_("Choose a recipient, a persona and a purpose."), severity="warning")
            return None
        tags = tuple(
            t.strip() for t in self.query_one("#g-tags", Input).value.split(",") if t.strip()
        )
        audiences = tuple(self.query_one("#g-audiences", SelectionList).selected)
        if not audiences:
            self.notify(_("Choose who the shared content was written for."), severity="warning")
            return None
        return GrantRequest(
            recipient=recipient,
            persona=persona,
            metrics=tuple(self.query_one("#g-metrics", SelectionList).selected),
            attributes=tuple(self.query_one("#g-attributes", SelectionList).selected),
            content_tags=tags,
            audiences=tuple(a for a in content.AUDIENCES if a in audiences),
            last=value("#g-range"),
            granularity=value("#g-granularity") or "day",
            purpose=purpose,
            valid_until=self.query_one("#g-until", Input).value.strip(),
            compensation=self.query_one("#g-compensation", Input).value.strip(),
        )

    @on(Input.Submitted)
    @on(Button.Pressed, "#next")
    def action_review(self) -> None:
        request = self._collect()
        if request is None:
            return
        self.request = request
        names = dict(
            (ref, name) for name, ref in (*self.options.recipients, *self.options.personas)
        )
        sensitive = self.options.sensitive.get(request.persona, frozenset())
        self.query_one("#review", Markdown).update(review_markdown(request, names, sensitive))
        self._step(2)

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self._step(1)

    @on(Button.Pressed, "#give")
    def _give(self) -> None:
        self.dismiss(self.request)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
