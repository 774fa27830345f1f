"""A labelled progress bar that a thread worker can feed with the library's progress events."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, ProgressBar

from vault.core.i18n import localise, number
from vault.core.progress import ProgressEvent


class ProgressPanel(Vertical):
    """Hidden until a long operation starts; `report` is safe to call from any thread."""

    DEFAULT_CSS = """
    ProgressPanel { height: auto; display: none; padding: 0 1; }
    ProgressPanel.-active { display: block; }
    """

    def compose(self) -> ComposeResult:
        yield Label("", id="progress-label")
        yield ProgressBar(total=None, id="progress-bar", show_eta=False)

    def begin(self, label: str) -> None:
        """Show the panel with an indeterminate bar (call on the UI thread)."""
        self.query_one("#progress-label", Label).update(label)
        self.query_one(ProgressBar).update(total=None, progress=0)
        self.add_class("-active")

    def end(self) -> None:
        self.remove_class("-active")

    def report(self, event: ProgressEvent) -> None:
        """A `ProgressCallback`: hops to the UI thread when called from a worker."""
        if self.app._thread_id == _current_thread():
            self._apply(event)
        else:
            self.app.call_from_thread(self._apply, event)

    def _apply(self, event: ProgressEvent) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=event.total, progress=event.done)
        done = number(event.done) + (f" / {number(event.total)}" if event.total else "")
        self.query_one("#progress-label", Label).update(f"{localise(event.stage)}: {done}")


def _current_thread() -> int:
    import threading

    return threading.get_ident()
