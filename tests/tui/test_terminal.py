"""`coffre tui` in a real terminal (tmux): type the passphrase, reach the dashboard, quit."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.tui.conftest import PASSPHRASE

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Run tmux commands on a private server (its own socket), killed afterwards."""
    socket = str(tmp_path / "tmux.sock")

    def run(*args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", socket, *args], capture_output=True, text=True, check=False
        )
        return done.stdout

    yield run
    run("kill-server")


def _wait_for(capture: Callable[[], str], text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = capture()
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; the pane shows:\n{screen}")


def test_unlock_and_reach_the_dashboard(pristine_demo: Path, tmux: Callable[..., str]) -> None:
    coffre = Path(sys.executable).with_name("coffre")
    session = f"coffre-{uuid.uuid4().hex[:8]}"
    # A clean environment for the passphrase: the UI must ask for it.
    command = shlex.join(
        [
            "env",
            *("-u", "COFFRE_PASSPHRASE", "-u", "COFFRE_PASSPHRASE_FILE"),
            *("-u", "COFFRE_PASSPHRASE_COMMAND"),
            f"COFFRE_VAULT={pristine_demo}",
            "TERM=xterm-256color",
            str(coffre),
            "tui",
        ]
    )
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command)

    def capture() -> str:
        return tmux("capture-pane", "-p", "-t", session)

    _wait_for(capture, "Unlock")
    tmux("send-keys", "-t", session, "-l", PASSPHRASE)
    tmux("send-keys", "-t", session, "Enter")
    screen = _wait_for(capture, "audit chain verified")
    assert "Camille" in screen and "Nightjar" in screen
    assert PASSPHRASE not in screen
    tmux("send-keys", "-t", session, "C-q")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and session in tmux("list-sessions"):
        time.sleep(0.2)
    assert session not in tmux("list-sessions")
