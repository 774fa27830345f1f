"""Parse in helper processes while this one encrypts and stores, so the work spreads over
two cores.

Two shapes: `batches_from_process` runs one parser over one path in a helper and streams its
batches back (one long file: Apple Health's export.xml); `Pool` sends many small jobs (the
bytes of one FIT file each) to a few helpers and gives their results back in the order the
jobs were given (a folder or export of many files, each decoded whole).

A helper is a fresh interpreter (`python -m vault.data.importers.parallel`): it holds no key
and no open vault, only what it parses, and a minimal environment (no passphrase). Messages
go both ways as length-prefixed pickles over its stdin and stdout, never through a file; the
pipes block the helper when the importer falls behind, so memory stays bounded. A library
error in a helper is raised again here with its class and detail; any other failure becomes
MalformedInput naming only its type. Helpers are stopped whenever the consumer stops early.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from vault.core import process
from vault.core.errors import MalformedInput, VaultError
from vault.core.i18n import N_, Text
from vault.data.importers.common import Note, ReportIssue

ByteProgress = Callable[[int, int | None], None]
# parse(*args, report_issue, note, on_bytes) -> batches; a module-level function.
Parser = Callable[..., Iterator[list[Any]]]

_BATCH, _ISSUE, _NOTE, _BYTES, _DONE, _ERROR, _RESULT = range(7)
_HEADER = struct.Struct("<I")
_PIPE_BUFFER = 1 << 20


def _write(out: IO[bytes], message: tuple[Any, ...]) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(body)))
    out.write(body)


def _send(out: IO[bytes], message: tuple[Any, ...]) -> None:
    _write(out, message)
    if message[0] != _BATCH:
        out.flush()


def _failed(exc: Exception) -> Text:
    """What is said of an unexpected failure in a helper: its type only, never its text."""
    return Text(N_("the parser failed ({error})"), error=type(exc).__name__)


def _run_child(target: str, args: list[Any], out: IO[bytes]) -> None:
    """The helper's body: parse and send everything, then DONE or ERROR."""
    try:
        module, _, name = target.partition(":")
        parse: Parser = getattr(importlib.import_module(module), name)
        batches = parse(
            *args,
            lambda loc, problem: _send(out, (_ISSUE, loc, problem)),
            lambda text: _send(out, (_NOTE, text)),
            lambda n, total: _send(out, (_BYTES, n, total)),
        )
        for batch in batches:
            _send(out, (_BATCH, batch))
        _send(out, (_DONE,))
    except VaultError as exc:
        _send(out, (_ERROR, type(exc).__module__, type(exc).__qualname__, exc.detail))
    except BrokenPipeError:
        pass  # the importer stopped reading: nothing left to do
    except Exception as exc:  # reported by type only: its text may hold data
        _send(out, (_ERROR, "", "", _failed(exc)))
    out.flush()


def _rebuild(module: str, qualname: str, detail: str | None) -> VaultError:
    cls: Any = None
    with contextlib.suppress(ImportError, AttributeError, ValueError):
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
    if isinstance(cls, type) and issubclass(cls, VaultError):
        exc: VaultError = cls.__new__(cls)
        VaultError.__init__(exc, detail)
        return exc
    return MalformedInput(detail)


def _read(stream: IO[bytes]) -> tuple[Any, ...] | None:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        return None
    message: tuple[Any, ...] = pickle.loads(body)  # noqa: S301  # from our own helper
    return message


def _start(args: list[str], *, stdin: int) -> subprocess.Popen[bytes]:
    """A helper interpreter running this module with ARGS, in a minimal environment."""
    root = str(Path(__file__).resolve().parents[3])  # so the helper finds this `vault`
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    env = process.helper_environment(path)  # nothing of ours it does not need: no passphrase
    return subprocess.Popen(
        [sys.executable, "-m", "vault.data.importers.parallel", *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=_PIPE_BUFFER,
        env=env,
    )


def _stop(
    proc: subprocess.Popen[bytes], early: bool, reader: threading.Thread | None = None
) -> None:
    """End a helper: at once when EARLY (the consumer stopped: the rest is not wanted), else
    once it has finished; then close its pipes (after READER, the thread reading it, ends)."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()  # a pool helper ends when its jobs do
    if early and proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if reader is not None:
        reader.join(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


def _stopped(proc: subprocess.Popen[bytes]) -> MalformedInput:
    return MalformedInput(
        N_("the parser process stopped unexpectedly (exit {code})"), code=proc.wait()
    )


def batches_from_process(
    parse: Parser,
    args: tuple[Any, ...],
    report_issue: ReportIssue,
    note: Note,
    on_bytes: ByteProgress,
) -> Iterator[list[Any]]:
    """Yield the batches `parse(*args, report, note, on_bytes)` produces in a helper process
    (args must be JSON values), passing its issues, notes and progress to the callbacks."""
    target = f"{parse.__module__}:{parse.__qualname__}"
    proc = _start([target, json.dumps(list(args))], stdin=subprocess.DEVNULL)
    stream = proc.stdout
    if stream is None:  # pragma: no cover  # stdout=PIPE always gives one
        raise MalformedInput(N_("the parser process could not be started"))
    finished = False
    try:
        while True:
            message = _read(stream)
            if message is None:
                raise _stopped(proc)
            kind = message[0]
            if kind == _BATCH:
                yield message[1]
            elif kind == _BYTES:
                on_bytes(message[1], message[2])
            elif kind == _ISSUE:
                report_issue(message[1], message[2])
            elif kind == _NOTE:
                note(message[1])
            elif kind == _DONE:
                finished = True
                break
            else:
                finished = True
                raise _rebuild(message[1], message[2], message[3])
    finally:
        _stop(proc, not finished)


# --- a pool of helpers for many small jobs ------------------------------------------------------

Tag = TypeVar("Tag")


def _serve(target: str, jobs: IO[bytes], out: IO[bytes]) -> None:
    """A pool helper's body: for each job read, `target(*job)` sent back (or its error)."""
    module, _, name = target.partition(":")
    work: Callable[..., Any] = getattr(importlib.import_module(module), name)
    try:
        while (job := _read(jobs)) is not None:
            try:
                _send(out, (_RESULT, work(*job)))
            except VaultError as exc:
                _send(out, (_ERROR, type(exc).__module__, type(exc).__qualname__, exc.detail))
            except Exception as exc:  # reported by type only: its text may hold data
                _send(out, (_ERROR, "", "", _failed(exc)))
            out.flush()
    except BrokenPipeError:
        pass  # the importer stopped: nothing left to do


class _Helper:
    """One pool helper: its process, a thread that drains its answers as they come, so that
    it never blocks on a full pipe while this process is writing it the next job, and a
    thread that writes it its jobs: a helper reads the next job only once it has finished
    the one at hand, and a job larger than the pipe must not keep this process from feeding
    the other helper meanwhile (the two would then take turns on one core)."""

    def __init__(self, target: str) -> None:
        self.proc = _start(["--pool", target], stdin=subprocess.PIPE)
        self.answers: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self.jobs: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()
        self.writer = threading.Thread(target=self._feed, daemon=True)
        self.writer.start()
        self.load = 0  # bytes of the jobs sent and not yet answered

    def _feed(self) -> None:
        stream = self.proc.stdin
        try:
            while stream is not None and (job := self.jobs.get()) is not None:
                _write(stream, job)
                stream.flush()
        except (OSError, ValueError):  # the helper stopped: `_drain` sees it end
            pass
        finally:
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()  # a pool helper ends when its jobs do

    def stop(self, early: bool) -> None:
        """End the helper: once its jobs are written and done, or at once when EARLY."""
        self.jobs.put(None)
        if early and self.proc.poll() is None:
            self.proc.terminate()  # unblocks a write in progress: the rest is not wanted
        self.writer.join(timeout=10)
        _stop(self.proc, early, self.thread)

    def _drain(self) -> None:
        stream = self.proc.stdout
        try:
            while stream is not None and (message := _read(stream)) is not None:
                self.answers.put(message)
        except (OSError, ValueError):  # closed under it when the pool stops
            pass
        self.answers.put(None)

    def send(self, job: tuple[Any, ...]) -> None:
        self.jobs.put(job)  # written by `_feed`; a helper that stopped is seen by `answer`

    def answer(self) -> Any:
        message = self.answers.get()
        if message is None:
            raise _stopped(self.proc)
        if message[0] == _RESULT:
            return message[1]
        raise _rebuild(message[1], message[2], message[3])


class Pool:
    """`size` helper processes that each run `work(*job)` (a module-level function whose
    jobs and results pickle) for the jobs `map` is given, results back in the jobs' order.

    Each job goes to the helper with the fewest bytes still to decode, and at most `ahead`
    jobs per helper, `window` bytes of them in all, wait or run at once: memory holds a few
    jobs whatever their number, and a large job at the head of the line does not leave the
    other helper idle (results come back in order, so the window must reach past it). Use as
    a context manager: the helpers are started on entry and stopped on exit, early or not.
    """

    def __init__(
        self, work: Callable[..., Any], size: int = 2, ahead: int = 8, window: int = 16 << 20
    ) -> None:
        self.target = f"{work.__module__}:{work.__qualname__}"
        self.size, self.ahead, self.window = size, ahead, window
        self.helpers: list[_Helper] = []
        self.pending: deque[tuple[Any, _Helper | None, int]] = deque()
        self.in_flight = 0  # bytes of the pending jobs

    def __enter__(self) -> Pool:
        try:
            for _ in range(self.size):
                self.helpers.append(_Helper(self.target))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        early = bool(self.pending)
        self.pending.clear()
        for helper in self.helpers:
            helper.stop(early)
        self.helpers.clear()

    def map(self, jobs: Iterable[tuple[Tag, tuple[Any, ...] | None]]) -> Iterator[tuple[Tag, Any]]:
        """For each `(tag, job)`, `(tag, work(*job))`, in the jobs' order; a job of None is
        not sent and gives `(tag, None)` in its place, so the caller keeps its own steps in
        order with the helpers' results. Everything given before a failure of `jobs` itself
        is yielded before that failure is raised."""
        pending = self.pending
        limit = self.size * self.ahead
        given = iter(jobs)
        while True:
            try:
                tag, job = next(given)
            except StopIteration:
                break
            except Exception:
                # The jobs failed (an archive damaged midway): what was sent before comes
                # back first, in order, as it would have without helpers.
                while pending:
                    yield self._oldest()
                raise
            weight = 0 if job is None else _weight(job)
            while len(pending) >= limit or (pending and self.in_flight + weight > self.window):
                yield self._oldest()
            helper = None
            if job is not None:
                helper = min(self.helpers, key=lambda h: h.load)
                helper.load += weight
                self.in_flight += weight
                helper.send(job)
            pending.append((tag, helper, weight))
        while pending:
            yield self._oldest()

    def _oldest(self) -> tuple[Any, Any]:
        tag, helper, weight = self.pending[0]
        result = None if helper is None else helper.answer()
        self.pending.popleft()
        if helper is not None:
            helper.load -= weight
            self.in_flight -= weight
        return tag, result


def _weight(job: tuple[Any, ...]) -> int:
    """How much work a job is, by its bytes (at least 1: every job costs something)."""
    return max(1, sum(len(part) for part in job if isinstance(part, bytes | bytearray)))


def serial_map(
    work: Callable[..., Any], jobs: Iterable[tuple[Tag, tuple[Any, ...] | None]]
) -> Iterator[tuple[Tag, Any]]:
    """`Pool.map` without helpers: each job run here, in turn (small inputs, one core)."""
    for tag, job in jobs:
        yield tag, None if job is None else work(*job)


def spare_core() -> bool:
    """Whether a second core is free: helper processes cost some 15 % more CPU in all, which
    pays only when they run beside this one rather than in its place."""
    cores = os.cpu_count() or 1
    if cores < 2:
        return False
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this platform
        return True
    return load <= cores - 1


def main() -> None:
    """Entry point of a helper: `python -m vault.data.importers.parallel TARGET ARGS` (one
    parse) or `... --pool TARGET` (jobs read from stdin)."""
    if sys.argv[1] == "--pool":
        _serve(sys.argv[2], sys.stdin.buffer, sys.stdout.buffer)
        return
    target, args = sys.argv[1], json.loads(sys.argv[2])
    _run_child(target, args, sys.stdout.buffer)


if __name__ == "__main__":
    main()
