"""Fixtures of the terminal UI tests: a demo vault built on a fixed clock, and helpers that
drive the app (on the same clock) until its workers are done: open it unlocked, go to an
area, answer a prompt or a confirmation, import a file."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import itertools
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button, Input, Select

from tui.app import CoffreApp
from tui.screens.importer import ImportModal
from tui.screens.modals import ConfirmModal, PromptModal
from vault import personas as identities
from vault.core import crypto
from vault.core.clock import FixedClock
from vault.core.vault import Vault
from vault.data.ingest import QSWriter
from vault.data.model import Sample
from vault.demo import build_demo

PASSPHRASE = "demo passphrase for the tests"
FROZEN = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
CLOCK = FixedClock(FROZEN)  # the library and the app tell this time


@contextmanager
def fixed_ids() -> Iterator[None]:
    """Every record id the library draws becomes fixed, so a vault built twice (on the fixed
    clock) looks the same on screen (snapshots). Keys and nonces stay random."""
    real = crypto.random_bytes
    ids = itertools.count(1)

    def fixed(n: int) -> bytes:
        return hashlib.sha256(next(ids).to_bytes(8, "big")).digest()[:n]

    def random_bytes(n: int) -> bytes:
        return fixed(n) if n == 16 else real(n)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crypto, "random_bytes", random_bytes)
        mp.setattr(uuid, "uuid4", lambda: uuid.UUID(bytes=fixed(16), version=4))
        yield


def build_demo_vault(path: Path) -> Path:
    with fixed_ids(), Vault.create(path, PASSPHRASE, kdf="minimum", clock=CLOCK) as v:
        build_demo(v)
    return path


ARCHIVE_END = date(2024, 3, 1)  # the archive's data ends the day before: over two years ago
# Metric names as long as Apple Health's unknown types, next to five-digit counts.
LONG_METRICS = (
    ("x:HKQuantityTypeIdentifierDietaryEnergyConsumed", 12_345),
    ("x:HKQuantityTypeIdentifierAppleStandTime", 2_160),
)


def build_archive_vault(path: Path) -> Path:
    """The demo as an old export leaves it: a year of data that ended on 2024-02-29, read
    on the fixed clock (2026), with long metric names from an importer's unknown types."""
    with fixed_ids(), Vault.create(path, PASSPHRASE, kdf="minimum", clock=CLOCK) as v:
        build_demo(v, today=ARCHIVE_END)
        camille = identities.get_persona(v, "Camille")
        end = int(datetime(2024, 2, 29, tzinfo=UTC).timestamp() * 1000)
        with QSWriter(v, camille.id) as writer:
            for metric, n in LONG_METRICS:
                for i in range(n):
                    at = end - (i + 1) * 1_200_000  # every 20 minutes, back from the end
                    writer.add(Sample(metric, at, at + 60_000, 1.0 + i % 7, "kcal", "Watch"))
    return path


SNAPSHOT_REMOTE_URL = "file:///media/usb/coffre"


def build_synced_vault(place: Path) -> Path:
    """A small vault on a folder remote, shared with a second device ("Laptop") that has not
    applied a forget made here since, with a change waiting to be sent. The remote's URL is
    then written as SNAPSHOT_REMOTE_URL, so the screen shows the same on every run (the
    folder lives in a temporary directory whose name changes)."""
    from vault import forget, remote
    from vault.remote import local

    folder = place / "remote"
    folder.mkdir()
    path = place / "vault"
    with fixed_ids(), Vault.create(path, PASSPHRASE, kdf="minimum", clock=CLOCK) as v:
        identities.add_persona(v, "Camille")
        old = identities.add_persona(v, "Old self")
        remote.rename_device(v, "Desktop")
        remote.add_remote(v, "usb", folder.as_uri())
        remote.sync(v)
        laptop, _report = remote.clone(
            folder.as_uri(), place / "laptop", PASSPHRASE, device_name="Laptop", clock=CLOCK
        )
        laptop.close()
        forget.forget(v, forget.Target.of_persona(old.id))
        remote.sync(v)
        identities.add_persona(v, "Pro self")  # not sent yet
        with v.store.write() as txn:
            usb = local.load_remote(v.store, "usb")
            usb.url = SNAPSHOT_REMOTE_URL
            local.save_remote(txn, usb)
    return path


@pytest.fixture(scope="session")
def pristine_synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vault with one remote and two devices (read-only: its remote's folder is gone)."""
    return build_synced_vault(tmp_path_factory.mktemp("synced"))


@pytest.fixture(scope="session")
def pristine_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vault whose data ended more than a year ago, with long metric names (read-only)."""
    return build_archive_vault(tmp_path_factory.mktemp("archive") / "vault")


@pytest.fixture(scope="session")
def pristine_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo vault per session (read-only: copy it before changing anything)."""
    return build_demo_vault(tmp_path_factory.mktemp("pristine") / "vault")


@pytest.fixture
def demo_dir(pristine_demo: Path, tmp_path: Path) -> Path:
    """A private copy of the demo vault that a test may change."""
    target = tmp_path / "vault"
    shutil.copytree(pristine_demo, target)
    return target


ScreenT = TypeVar("ScreenT", bound=Screen[Any])


def make_app(path: Path, *, unlocked: bool = True) -> CoffreApp:
    """The app on `path` on the fixed clock; `unlocked` gives it the passphrase."""
    return CoffreApp(path, passphrase=PASSPHRASE if unlocked else None, clock=CLOCK)


@asynccontextmanager
async def run_unlocked(
    path: Path, size: tuple[int, int] = (100, 30)
) -> AsyncIterator[tuple[CoffreApp, Pilot[None]]]:
    """The app on `path`, unlocked with the passphrase, once its dashboard has loaded: the
    app (typed, for its vault and actions) and the pilot that drives it."""
    app = make_app(path)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        yield app, pilot


async def settle(pilot: Pilot[None]) -> None:
    """Wait until every worker finished and the screen caught up (twice: a worker's result
    often starts another worker)."""
    for _ in range(3):
        # A DirectoryTree's loader (group "_loader") runs for as long as the tree is shown.
        # Failures are not raised here: they reach the app's error handler.
        waits = [w.wait() for w in pilot.app.workers if w.group != "_loader"]
        await asyncio.gather(*waits, return_exceptions=True)
        await pilot.pause()


def open_vault(path: Path) -> Vault:
    return Vault.open(path, PASSPHRASE, clock=CLOCK)


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test in a fresh event loop (pytest's fixtures still apply: the wrapper
    keeps the test's signature)."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


async def press_button(pilot: Pilot[None], selector: str) -> None:
    """Press a button of the active screen with the keyboard (a click can miss while the
    layout is still settling on a busy machine)."""
    button = pilot.app.screen.query_one(selector, Button)
    button.focus()
    await pilot.press("enter")


async def go_to(pilot: Pilot[None], key: str, screen_type: type[ScreenT]) -> ScreenT:
    """Press `key` (an area's number, or a key that opens a dialog), let the work it starts
    finish, and return the screen it shows, checking that it is a `screen_type`."""
    await pilot.press(key)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, screen_type), type(screen).__name__
    return screen


async def answer(pilot: Pilot[None], text: str) -> None:
    """Answer the prompt that the last key or button opened with `text`, and let the work it
    starts finish."""
    await pilot.pause()
    prompt = pilot.app.screen
    assert isinstance(prompt, PromptModal), type(prompt).__name__
    prompt.query_one(Input).value = text
    await pilot.press("enter")
    await settle(pilot)


async def confirm(pilot: Pilot[None], key: str, button: str = "#confirm") -> None:
    """Press `key`, which asks for a confirmation, answer with `button` (`#confirm` or
    `#cancel`), and let the work it starts finish."""
    await go_to(pilot, key, ConfirmModal)  # some actions work out what to ask first
    await press_button(pilot, button)
    await settle(pilot)


async def import_file(pilot: Pilot[None], path: Path, fmt: str | None = None) -> None:
    """From the Data screen: open the import dialog, choose `fmt` (else keep the format it
    offers first) and `path`, run the import and let it finish."""
    dialog = await go_to(pilot, "i", ImportModal)
    if fmt is not None:
        dialog.query_one("#import-format", Select).value = fmt
    dialog.query_one("#import-path", Input).value = str(path)
    await pilot.press("enter")
    await settle(pilot)
