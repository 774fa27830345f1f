"""Output files: how every file Coffre writes outside the vault (exports, bundles, proofs,
identities, erasure requests, opened bundles) reaches the disk, in one place.

- A file, or a link, already at the target is replaced only when the caller says so
  (`force`; the CLI's `--force`), else `OutputExists`; a directory is never replaced.
- The bytes go to a new file beside the target, created 0600 with `O_CREAT|O_EXCL|
  O_NOFOLLOW` (so an existing file's looser mode is never inherited and no planted link is
  followed), and are renamed over the target only once complete and synced. A link at the
  target is thereby replaced itself; its target is never written through.
- On any failure, including one raised by the caller halfway through, the temporary file is
  removed and the target is left as it was.

The temporary name is `.NAME.XXXXXXXX.part` (hidden, random; a folder being filled is named
the same way): a run killed midway leaves at most such a file, which Coffre never reads,
never takes for the output and never collides with (each run draws a fresh name); it can be
deleted.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Final

from vault.core.errors import InvalidParameter, OutputExists
from vault.core.i18n import N_

PART_SUFFIX: Final = ".part"
_NAME_KEPT: Final = 100  # of the target's name in the temporary one: names stay under 255 bytes
_NEW_FILE: Final = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def create_private(path: Path) -> int:
    """A new file at PATH only its owner can read (0600), as a descriptor: never an existing
    file, never through a link."""
    return os.open(path, _NEW_FILE, 0o600)


def check_free(targets: Sequence[Path], *, force: bool) -> None:
    """Refuse before any work is done: a directory at a target always, and anything else
    there (a link too, even a broken one) unless FORCE."""
    for target in targets:
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise InvalidParameter(
                N_("cannot write {target} ({reason})"), target=target, reason=exc.strerror
            ) from None
        if stat.S_ISDIR(st.st_mode):
            raise InvalidParameter(N_("{target} is a directory; give a file name"), target=target)
        if not force:
            raise OutputExists(str(target))


def _temporary(target: Path) -> Path:
    return target.parent / f".{target.name[:_NAME_KEPT]}.{secrets.token_hex(4)}{PART_SUFFIX}"


def staging_directory(target: Path) -> Path:
    """A new private directory (0700) beside TARGET under a temporary name, for an output
    that is a whole folder: filled, then renamed into place by the caller."""
    while True:
        path = _temporary(target)
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue  # another run's leftover, or a planted name: draw again
        except OSError as exc:
            raise InvalidParameter(
                N_("cannot write in {folder} ({reason})"), folder=target.parent, reason=exc.strerror
            ) from None
        return path


class PendingOutput:
    """An output file being written: `file` is the temporary file beside `target`, which
    `publish` renames into place and `discard` removes."""

    def __init__(self, target: Path, *, force: bool) -> None:
        check_free([target], force=force)
        self.target = target
        self.force = force
        while True:
            self.temp = _temporary(target)
            try:
                fd = create_private(self.temp)
                break
            except FileExistsError:
                continue  # another run's leftover, or a planted name: draw again
            except OSError as exc:
                raise InvalidParameter(
                    N_("cannot write in {folder} ({reason})"),
                    folder=target.parent,
                    reason=exc.strerror,
                ) from None
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self.done = False

    def publish(self) -> None:
        """Sync the temporary file and rename it over the target (only onto a free name
        unless `force`). Publishing twice does nothing."""
        if self.done:
            return
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            if self.force:
                os.replace(self.temp, self.target)
            else:
                self._link_without_replacing()
        except BaseException:
            self.discard()
            raise
        self.done = True
        _sync_directory(self.target.parent)

    def _link_without_replacing(self) -> None:
        # A hard link fails if the name was taken since `check_free`: no file is replaced.
        try:
            os.link(self.temp, self.target)
        except FileExistsError:
            raise OutputExists(str(self.target)) from None
        except OSError:
            # A file system without hard links: check again, then rename.
            check_free([self.target], force=False)
            os.replace(self.temp, self.target)
            return
        self.temp.unlink()

    def discard(self) -> None:
        """Close and remove the temporary file; the target is not touched."""
        if not self.file.closed:
            self.file.close()
        with contextlib.suppress(FileNotFoundError):
            self.temp.unlink()
        self.done = True


@contextmanager
def pending_output(target: Path, *, force: bool) -> Iterator[PendingOutput]:
    """A `PendingOutput` published when the block ends (unless the block published it
    itself, e.g. inside a transaction) and discarded if it raises."""
    pending = PendingOutput(target, force=force)
    try:
        yield pending
    except BaseException:
        pending.discard()
        raise
    pending.publish()


@contextmanager
def output_file(target: Path, *, force: bool) -> Iterator[BinaryIO]:
    """The binary file to write TARGET's bytes into, published when the block ends."""
    with pending_output(target, force=force) as pending:
        yield pending.file


def write_files(contents: Mapping[Path, bytes], *, force: bool) -> list[Path]:
    """Several small files that belong together (a statement and its signature): every
    target is checked before any is written, and all are complete before any is renamed."""
    targets = list(contents)
    check_free(targets, force=force)
    pendings: list[PendingOutput] = []
    try:
        for target, data in contents.items():
            pending = PendingOutput(target, force=force)
            pendings.append(pending)
            pending.file.write(data)
        for pending in pendings:
            pending.publish()
    except BaseException:
        for pending in pendings:
            if not pending.done:
                pending.discard()
        raise
    return targets


def _sync_directory(directory: Path) -> None:
    """Make the rename durable where the platform allows opening a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
