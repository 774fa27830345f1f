"""Run a parser in a helper process and stream its batches back, so parsing (one core) and
encrypting and storing (the other) overlap.

The helper is a fresh interpreter (`python -m vault.data.importers.parallel`): it holds no key
and no open vault, only the path it parses, and a minimal environment (no passphrase).
Batches, issues, notes and progress come back in order as length-prefixed pickles on its
stdout; the pipe blocks the helper when the importer falls behind, so memory stays bounded.
A library error in the helper is raised again here with its class and detail; any other
failure becomes MalformedInput naming only its type. The helper is stopped whenever the
consumer stops early.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from vault.core import process
from vault.core.errors import MalformedInput, VaultError
from vault.core.i18n import N_, Text
from vault.data.importers.common import Note, ReportIssue

ByteProgress = Callable[[int, int | None], None]
# parse(*args, report_issue, note, on_bytes) -> batches; a module-level function.
Parser = Callable[..., Iterator[list[Any]]]

_BATCH, _ISSUE, _NOTE, _BYTES, _DONE, _ERROR = range(6)
_HEADER = struct.Struct("<I")
_PIPE_BUFFER = 1 << 20


def _send(out: IO[bytes], message: tuple[Any, ...]) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(body)))
    out.write(body)
    if message[0] != _BATCH:
        out.flush()


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
        failed = Text(N_("the parser failed ({error})"), error=type(exc).__name__)
        _send(out, (_ERROR, "", "", failed))
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
    root = str(Path(__file__).resolve().parents[3])  # so the helper finds this `vault`
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    env = process.helper_environment(path)  # nothing of ours it does not need: no passphrase
    proc = subprocess.Popen(
        [sys.executable, "-m", "vault.data.importers.parallel", target, json.dumps(list(args))],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=_PIPE_BUFFER,
        env=env,
    )
    stream = proc.stdout
    if stream is None:  # pragma: no cover  # stdout=PIPE always gives one
        raise MalformedInput(N_("the parser process could not be started"))
    finished = False
    try:
        while True:
            message = _read(stream)
            if message is None:
                code = proc.wait()
                raise MalformedInput(
                    N_("the parser process stopped unexpectedly (exit {code})"), code=code
                )
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
        if not finished and proc.poll() is None:
            proc.terminate()  # the consumer stopped early: the rest is not wanted
        stream.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    """Entry point of the helper process: `python -m vault.data.importers.parallel TARGET ARGS`."""
    target, args = sys.argv[1], json.loads(sys.argv[2])
    _run_child(target, args, sys.stdout.buffer)


if __name__ == "__main__":
    main()
