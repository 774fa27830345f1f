"""Progress events (`vault.core.progress`): rate-limited, with start and finish, in a unit."""

from __future__ import annotations

from pathlib import Path

from vault.core.progress import Progress, ProgressEvent
from vault.core.vault import Vault


def test_start_and_finish_are_always_sent_with_the_unit() -> None:
    events: list[ProgressEvent] = []
    report = Progress("read", events.append, interval=3600, unit="bytes")
    report.start(100)
    for _ in range(10):
        report.advance(10)
    report.finish()
    # An hour between events: only the start and the finish get through.
    assert [(e.done, e.finished) for e in events] == [(0, False), (100, True)]
    assert {e.unit for e in events} == {"bytes"} and {e.total for e in events} == {100}


def test_without_a_callback_nothing_is_sent() -> None:
    report = Progress("read", None)
    report.start(None)
    report.advance(5)
    report.finish()  # no callback, no error


def test_a_content_file_reports_its_bytes(fresh_vault: Vault, tmp_path: Path) -> None:
    from vault import content
    from vault.personas import add_persona

    add_persona(fresh_vault, "Ana", [])
    body = tmp_path / "photo.bin"
    body.write_bytes(bytes(range(256)) * 40)
    events: list[ProgressEvent] = []
    content.add_file(fresh_vault, body, progress=events.append)
    written = [e for e in events if e.stage == "write"]
    assert written and {e.unit for e in written} == {"bytes"}
    assert written[-1].finished and written[-1].done == body.stat().st_size
