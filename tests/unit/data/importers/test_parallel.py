"""The helper process a parser runs in: it inherits no secret of our environment."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from vault.data.importers.parallel import batches_from_process


def environment_names(
    report: Callable[..., None], note: Callable[[str], None], on_bytes: Callable[..., None]
) -> Iterator[list[Any]]:
    """A parser that sends back the names of its own environment variables."""
    yield sorted(os.environ)


def test_the_helper_inherits_no_passphrase_and_nothing_else_of_ours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COFFRE_PASSPHRASE", "correct horse")
    monkeypatch.setenv("COFFRE_NEW_PASSPHRASE", "battery staple")
    monkeypatch.setenv("COFFRE_PASSPHRASE_COMMAND", "pass show coffre")
    monkeypatch.setenv("GITHUB_TOKEN", "another program's secret")
    (names,) = batches_from_process(
        environment_names, (), lambda *i: None, lambda n: None, lambda *b: None
    )
    assert "PATH" in names and "PYTHONPATH" in names
    assert not [n for n in names if n.startswith("COFFRE_") or n == "GITHUB_TOKEN"]
