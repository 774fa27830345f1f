"""The ECG strip: the braille trace keeps a spike as tall as it was, and the Data screen shows
the latest recording of the range under the `ecg` chart, its file's text made safe."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np

from tests.tui.conftest import FROZEN, go_to, open_vault, run_async, run_unlocked, settle
from tui.screens.data import DataScreen
from tui.widgets.ecg import EcgStrip, trace
from vault import personas as identities
from vault.data.ingest import QSWriter
from vault.data.model import Ecg

_BRAILLE = 0x2800


def _dots(lines: list[str]) -> np.ndarray:
    """The trace as a grid of dots (rows from the top), read back from the braille bits."""
    bits = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
    grid = np.zeros((len(lines) * 4, len(lines[0]) * 2), dtype=bool)
    for r, line in enumerate(lines):
        for c, ch in enumerate(line):
            code = ord(ch) - _BRAILLE
            for dx in (0, 1):
                for dy in range(4):
                    grid[r * 4 + dy, c * 2 + dx] = bool(code & bits[dx][dy])
    return grid


def test_a_spike_spans_the_whole_height_and_the_baseline_stays_low() -> None:
    values = [0.0] * 400
    values[200] = 1000.0  # one R wave
    grid = _dots(trace(values, 20, 3))
    column = 200 * 40 // 400  # the dot column holding sample 200
    assert grid[:, column].all()  # from the top to the baseline
    others = np.delete(grid, column, axis=1)
    assert others[-1].all() and not others[:-1].any()  # every other column: the baseline only


def test_every_column_is_drawn_when_there_are_fewer_samples_than_columns() -> None:
    grid = _dots(trace([0.0, 1.0, 0.0, 1.0], 8, 2))
    assert grid.any(axis=0).sum() == 16
    assert trace([], 8, 2) == [] and trace([1.0], 0, 2) == []


def _add_ecg(vault_dir: Path, symptoms: str) -> tuple[str, int]:
    vault = open_vault(vault_dir)
    persona = identities.list_personas(vault)[0]
    start = int((FROZEN - timedelta(days=2)).timestamp() * 1000)
    volts = (np.sin(np.arange(1024) / 30.0) * 400).astype("<f4")
    with QSWriter(vault, persona.id) as w:
        w.add_ecg(
            Ecg(
                start=start,
                offset_min=0,
                sample_rate_hz=512.0,
                voltages=volts.tobytes(),
                classification="sinus_rhythm",
                classification_text="Sinus Rhythm",
                symptoms=symptoms,
                lead="Lead I",
            )
        )
    vault.close()
    return persona.id, len(volts)


@run_async
async def test_the_data_screen_draws_the_latest_recording(demo_dir: Path) -> None:
    persona_id, n = _add_ecg(demo_dir, "Dizziness \x1b[31mred")
    async with run_unlocked(demo_dir, size=(120, 40)) as (_app, pilot):
        screen = await go_to(pilot, "3", DataScreen)
        assert screen.persona_id == persona_id
        strip = screen.query_one("#data-ecg", EcgStrip)
        assert not strip.display
        table_rows = [m.metric for m in screen.metrics]
        screen.query_one("#data-metrics").move_cursor(row=table_rows.index("ecg"))
        await settle(pilot)
        assert strip.display and len(strip._values) == n
        assert strip._title.startswith("Latest ECG ")
        assert "Sinus Rhythm" in strip._title and "2 s at 512 Hz" in strip._title
        assert "\x1b" not in strip._title and "Dizziness" in strip._title
        rendered = str(strip.render())
        assert any(0x2800 < ord(ch) <= 0x28FF for ch in rendered)
        # Another metric hides the strip.
        other = next(i for i, m in enumerate(table_rows) if m != "ecg")
        screen.query_one("#data-metrics").move_cursor(row=other)
        await settle(pilot)
        assert not strip.display
