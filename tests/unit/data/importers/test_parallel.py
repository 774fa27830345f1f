"""The helper processes parsers run in: they inherit no secret of our environment; a pool
of them gives its results back in order, its errors by class, and stops with its consumer."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from vault.core.errors import MalformedInput
from vault.core.i18n import N_
from vault.data.importers.parallel import Pool, batches_from_process, serial_map


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


# --- the pool of helpers --------------------------------------------------------------------


def square_or_fail(n: int) -> tuple[int, int]:
    """A job: n squared, with the helper's own process id; a library error for n < 0, an
    unexpected one (whose text must not come back) for n == 1013."""
    if n < 0:
        raise MalformedInput(N_("{n} is negative"), n=n)
    if n == 1013:
        raise RuntimeError("secret text of the input")
    return n * n, os.getpid()


def test_a_pool_gives_every_result_in_the_jobs_order_from_both_helpers() -> None:
    jobs = [(f"tag {n}", (n,) if n % 5 else None) for n in range(40)]
    with Pool(square_or_fail, size=2, ahead=2) as pool:
        results = list(pool.map(jobs))
    assert [tag for tag, _ in results] == [tag for tag, _ in jobs]
    expected = [None if job is None else job[0] * job[0] for _, job in jobs]
    assert [r if r is None else r[0] for _, r in results] == expected
    helpers = {r[1] for _, r in results if r is not None}
    assert len(helpers) == 2 and os.getpid() not in helpers


def test_serial_map_gives_what_the_pool_gives() -> None:
    jobs = [(n, (n,) if n % 3 else None) for n in range(12)]
    with Pool(square_or_fail) as pool:
        pooled = [(t, r if r is None else r[0]) for t, r in pool.map(jobs)]
    serial = [(t, r if r is None else r[0]) for t, r in serial_map(square_or_fail, jobs)]
    assert pooled == serial


def test_a_helper_error_comes_back_with_its_class_and_values_and_no_other_text() -> None:
    with Pool(square_or_fail) as pool:
        got = []
        with pytest.raises(MalformedInput) as caught:
            for _, result in pool.map([(n, (n,)) for n in (2, 3, -4, 5)]):
                got.append(result[0])
    assert got == [4, 9]
    assert caught.value.detail == "-4 is negative"
    with Pool(square_or_fail) as pool, pytest.raises(MalformedInput) as unexpected:
        list(pool.map([(1013, (1013,))]))
    assert "RuntimeError" in str(unexpected.value.detail)
    assert "secret" not in str(unexpected.value)


def test_when_the_jobs_themselves_fail_what_was_sent_comes_back_first() -> None:
    def jobs() -> Iterator[tuple[int, tuple[int] | None]]:
        for n in range(3):
            yield n, (n,)
        raise ValueError("the archive broke")

    got: list[int] = []
    with Pool(square_or_fail, ahead=3) as pool, pytest.raises(ValueError, match="broke"):
        for tag, _ in pool.map(jobs()):
            got.append(tag)
    assert got == [0, 1, 2]


def test_a_consumer_that_stops_early_stops_the_helpers() -> None:
    with Pool(square_or_fail) as pool:
        results = pool.map((n, (n,)) for n in range(1000))
        next(results)
        helpers = [h.proc for h in pool.helpers]
        results.close()
    assert all(p.poll() is not None for p in helpers)


def test_pool_helpers_inherit_no_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COFFRE_PASSPHRASE", "correct horse")
    with Pool(helper_environment) as pool:
        ((_, names),) = list(pool.map([(0, ())]))
    assert "PYTHONPATH" in names and "COFFRE_PASSPHRASE" not in names


def helper_environment() -> list[str]:
    return sorted(os.environ)


def size_and_helper(data: bytes) -> tuple[int, int]:
    """A job of bytes: how many, and which helper counted them."""
    return len(data), os.getpid()


def test_jobs_larger_than_a_pipe_come_back_in_order_and_the_window_bounds_them() -> None:
    """Jobs of 1 MiB (a pipe holds 64 KiB) among small ones: written by each helper's own
    thread, so neither helper waits on the other's pipe; every result in order; and never
    more bytes in flight than the window, whatever the jobs."""
    sizes = [1 << 20 if n % 4 == 0 else 100 + n for n in range(24)]
    jobs = [(n, (bytes(size),)) for n, size in enumerate(sizes)]
    seen: list[int] = []
    with Pool(size_and_helper, size=2, ahead=8, window=3 << 20) as pool:
        results = []
        for tag, result in pool.map(jobs):
            results.append((tag, result))
            seen.append(pool.in_flight)
    assert [(tag, r[0]) for tag, r in results] == list(enumerate(sizes))
    assert len({r[1] for _, r in results}) == 2  # both helpers took work
    assert max(seen) <= 3 << 20
    assert pool.in_flight == 0


def test_a_consumer_that_stops_while_a_large_job_is_written_stops_the_helpers() -> None:
    with Pool(size_and_helper, size=2, ahead=4) as pool:
        results = pool.map((n, (bytes(4 << 20),)) for n in range(50))
        next(results)
        helpers = [h.proc for h in pool.helpers]
        writers = [h.writer for h in pool.helpers]
        results.close()
    assert all(p.poll() is not None for p in helpers)
    assert not any(w.is_alive() for w in writers)
