"""Modal dialogs: confirmations (destructive actions always pass through one), errors,
a one-line text prompt and a read-only report."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.markdown import Markdown as RichMarkdown
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tui.screens.base import TranslatedKeys
from vault.core.i18n import N_, _

CANCEL = Binding(
    "escape", "cancel", N_("Cancel"), tooltip=N_("Close without doing anything"), id="modals.cancel"
)


def buttons(*children: Button) -> Horizontal:
    """A dialog's row of buttons, at its foot."""
    return Horizontal(*children, classes="dialog-buttons")


class ConfirmModal(TranslatedKeys, ModalScreen[bool]):
    """Ask before doing something: dismisses with True only on the confirm button."""

    FIRST_FOCUS: ClassVar[str] = "#cancel"  # a stray Enter must not confirm

    BINDINGS: ClassVar = [CANCEL]

    def __init__(self, title: str, body: str, *, confirm: str = "Confirm", danger: bool = True):
        super().__init__()
        self._title, self._body, self._confirm, self._danger = title, body, confirm, danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="dialog-title")
            yield Static(self._body, classes="dialog-body")
            yield buttons(
                Button(_("Cancel"), id="cancel"),
                Button(self._confirm, id="confirm", variant="error" if self._danger else "primary"),
            )

    def on_mount(self) -> None:
        self.query_one(self.FIRST_FOCUS).focus()

    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


class TypeToConfirmModal(ConfirmModal):
    """The strongest confirmation: the person types the target's name to enable the button."""

    FIRST_FOCUS: ClassVar[str] = "#typed"

    def __init__(self, title: str, body: str, expected: str, *, confirm: str = "Forget"):
        super().__init__(title, body, confirm=confirm)
        self._expected = expected

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="dialog-title")
            yield Static(self._body, classes="dialog-body")
            yield Label(
                _("Type [b]{expected}[/b] to confirm:").format(expected=self._expected), markup=True
            )
            yield Input(id="typed", placeholder=self._expected)
            yield buttons(
                Button(_("Cancel"), id="cancel"),
                Button(self._confirm, id="confirm", variant="error", disabled=True),
            )

    @on(Input.Changed, "#typed")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value != self._expected

    @on(Input.Submitted, "#typed")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value == self._expected:
            self.dismiss(True)


class ReadOnlyModal(TranslatedKeys, ModalScreen[None]):
    """A dialog that only shows something: its Close button (focused), Escape or Enter close it."""

    def close_button(self) -> Horizontal:
        return buttons(Button(_("Close"), id="close", variant="primary"))

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)


class ErrorModal(ReadOnlyModal):
    """Shows a library error's own message (never the text of an arbitrary exception)."""

    BINDINGS: ClassVar = [
        Binding(
            "escape,enter",
            "close",
            N_("Close"),
            tooltip=N_("Close this message"),
            id="modals.close",
        )
    ]

    def __init__(self, message: str, *, title: str = "Something went wrong") -> None:
        super().__init__()
        self._message, self._title = message, title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog error"):
            yield Label(self._title, classes="dialog-title", id="error-title", markup=False)
            yield Static(self._message, classes="dialog-body", id="error-message", markup=False)
            yield self.close_button()


class PromptModal(TranslatedKeys, ModalScreen[str]):
    """Asks for one line of text; dismisses with it, or None when cancelled. A `check`
    returns what is wrong with the text (None when it is fine): the problem is shown under
    the input, which keeps what was typed, and the dialog stays open."""

    BINDINGS: ClassVar = [CANCEL]

    def __init__(
        self,
        title: str,
        *,
        placeholder: str = "",
        value: str = "",
        help: str = "",
        check: Callable[[str], str | None] | None = None,
    ):
        super().__init__()
        self._title, self._placeholder, self._value, self._help = title, placeholder, value, help
        self._check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="dialog-title")
            if self._help:
                yield Static(self._help, classes="dialog-body", markup=False)
            yield Input(value=self._value, placeholder=self._placeholder, id="prompt-input")
            yield Label("", id="prompt-problem", classes="field-error", markup=False)
            yield buttons(
                Button(_("Cancel"), id="cancel"), Button(_("OK"), id="ok", variant="primary")
            )

    def on_mount(self) -> None:
        self.query_one("#prompt-problem").display = False

    @property
    def problem(self) -> str:
        """What the check found wrong with the text last submitted ("" when nothing)."""
        label = self.query_one("#prompt-problem", Label)
        return str(label.content) if label.display else ""

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        field = self.query_one("#prompt-input", Input)
        value = field.value.strip()
        problem = self._check(value) if value and self._check is not None else None
        label = self.query_one("#prompt-problem", Label)
        label.update(problem or "")
        label.display = bool(problem)
        if problem:
            field.focus()
            return
        self.dismiss(value or None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ReportModal(ReadOnlyModal):
    """A read-only Markdown report: an import's summary, a receipt, a forget's result."""

    BINDINGS: ClassVar = [
        Binding(
            "escape,enter", "close", N_("Close"), tooltip=N_("Close this report"), id="modals.close"
        )
    ]

    def __init__(self, title: str, markdown: str) -> None:
        super().__init__()
        self._title, self._markdown = title, markdown

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(self._title, classes="dialog-title")
            with VerticalScroll(classes="report"):
                # One Rich renderable rather than Textual's Markdown widget (a widget per
                # block): it mounts in a few milliseconds, so a report never stalls the UI.
                yield Static(RichMarkdown(self._markdown), id="report")
            yield self.close_button()
