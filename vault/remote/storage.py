"""Where a remote keeps its objects: a flat namespace of opaque, immutable objects.

A remote is storage someone else may run, so the sync engine asks very little of it: list the
objects with their sizes, read one, write one whole, delete one. No rename, no lock, no
compare-and-swap (many S3 servers ignore conditional writes), no folders. Names are 32 hex
digits (random, or a keyed hash) and one fixed name, `coffre` (the bootstrap object, found by a
new device that knows only the URL); a name of any other shape is not ours and is ignored.

Two engines: `FolderStore` (a Syncthing, Nextcloud or Dropbox folder, a USB disk) here, and
the S3 store in `vault.remote.s3`. Both are opened by `open_store(url)`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import unquote, urlsplit

from vault.core.errors import InvalidParameter, RemoteError, RemoteUnreachable, TamperedRemote
from vault.core.i18n import N_

if TYPE_CHECKING:
    from vault.remote.credentials import Credentials

BOOTSTRAP: Final = "coffre"
NAME_RE: Final = re.compile(r"\A(?:[0-9a-f]{32}|coffre)\Z")
READ_PIECE: Final = 1 << 20  # bytes per piece when an object is streamed
# No object the engine writes comes near this; a larger one is refused unread (a hostile
# remote must not make a device fill its memory or disk).
MAX_OBJECT: Final = 1 << 40


def check_name(name: str) -> str:
    """`name` if it is one the engine writes; otherwise InvalidParameter (never a path)."""
    if not NAME_RE.match(name):
        raise InvalidParameter(N_("not a remote object name"))
    return name


class ObjectStore(Protocol):
    """What the sync engine needs of a remote."""

    def describe(self) -> str:
        """The remote's URL without credentials, for messages."""
        ...

    def list(self) -> dict[str, int]:
        """Every object with a name the engine writes, and its size in bytes."""
        ...

    def get(self, name: str) -> bytes:
        """The whole object (RemoteError if it is missing)."""
        ...

    def stream(self, name: str) -> Iterator[bytes]:
        """The object in pieces, for objects too large to hold at once."""
        ...

    def put(self, name: str, data: bytes | Iterable[bytes]) -> None:
        """Write the object whole: a reader sees the old object, the new one, or none."""
        ...

    def delete(self, name: str) -> None:
        """Remove the object; one already gone is not an error."""
        ...


class FolderStore:
    """A remote that is a plain folder: each object one file, written by rename after fsync.

    The folder may be shared by a sync tool or mounted from another machine, so everything in
    it is treated as untrusted: files are opened with `O_NOFOLLOW` (a link planted under an
    object's name is not followed), only regular files are read, and temporary files carry
    a name no reader takes for an object.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return self.root.resolve().as_uri()

    def _dir_fd(self) -> int:
        try:
            return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            raise RemoteUnreachable(
                N_("the folder {folder} does not exist"), folder=self.root
            ) from None
        except OSError as exc:
            raise RemoteUnreachable(
                N_("the folder cannot be opened ({reason})"), reason=exc.strerror
            ) from None

    def create(self) -> None:
        """Make the folder (and its parents) if it is missing, mode 0700."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def list(self) -> dict[str, int]:
        found: dict[str, int] = {}
        dfd = self._dir_fd()
        try:
            for name in os.listdir(dfd):
                if not NAME_RE.match(name):
                    continue
                try:
                    st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    found[name] = st.st_size
        finally:
            os.close(dfd)
        return found

    def _open(self, name: str) -> int:
        dfd = self._dir_fd()
        try:
            fd = os.open(check_name(name), os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dfd)
        except FileNotFoundError:
            raise TamperedRemote(N_("an object is missing")) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise TamperedRemote(N_("a link stands in place of an object")) from None
            raise RemoteUnreachable(
                N_("an object cannot be read ({reason})"), reason=exc.strerror
            ) from None
        finally:
            os.close(dfd)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_OBJECT:
            os.close(fd)
            raise TamperedRemote(N_("something other than an object stands in its place"))
        return fd

    def get(self, name: str) -> bytes:
        return b"".join(self.stream(name))

    def stream(self, name: str) -> Iterator[bytes]:
        fd = self._open(name)
        with os.fdopen(fd, "rb", buffering=0) as f:
            while piece := f.read(READ_PIECE):
                yield piece

    def put(self, name: str, data: bytes | Iterable[bytes]) -> None:
        check_name(name)
        dfd = self._dir_fd()
        tmp = f".tmp-{name}-{os.getpid()}"
        try:
            # Whatever stands under the temporary name (a leftover, or a link planted to a
            # file elsewhere: the name can be guessed) is unlinked, never written through.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=dfd)
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dfd
            )
            try:
                with os.fdopen(fd, "wb") as f:
                    for piece in (
                        [data] if isinstance(data, bytes | bytearray | memoryview) else data
                    ):
                        f.write(piece)
                    f.flush()
                    os.fsync(f.fileno())
                os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
                os.fsync(dfd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=dfd)
                raise
        except OSError as exc:
            raise RemoteUnreachable(
                N_("an object cannot be written ({reason})"), reason=exc.strerror
            ) from None
        finally:
            os.close(dfd)

    def delete(self, name: str) -> None:
        dfd = self._dir_fd()
        try:
            os.unlink(check_name(name), dir_fd=dfd)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise RemoteUnreachable(
                N_("an object cannot be deleted ({reason})"), reason=exc.strerror
            ) from None
        finally:
            os.close(dfd)


def parse_folder_url(url: str) -> Path:
    """The folder of a `file:///PATH` URL (absolute, no host, no query)."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost") or parts.query:
        raise InvalidParameter(N_("a folder remote is file:///ABSOLUTE/PATH"))
    path = unquote(parts.path)
    if not path.startswith("/") or "\x00" in path:
        raise InvalidParameter(N_("a folder remote is file:///ABSOLUTE/PATH"))
    return Path(path)


def open_store(url: str, credentials: Credentials | Mapping[str, Any] | None = None) -> ObjectStore:
    """The object store a remote URL names (`file:///PATH` or `s3://BUCKET/PREFIX?...`).

    An S3 remote signs with `credentials` (a `Credentials`, or its `to_dict()` as stored in
    the vault), else with those the environment and the AWS files give; a folder needs none.
    """
    scheme = urlsplit(url).scheme
    if scheme == "file":
        return FolderStore(parse_folder_url(url))
    if scheme == "s3":
        # Imported here: obstore loads a large native library, which commands that use no
        # remote should not pay for at start-up.
        from vault.remote import credentials as s3_credentials
        from vault.remote.s3 import S3Store

        location = S3Store.parse_url(url)  # a bad URL is refused before credentials are sought
        if credentials is None:
            credentials = s3_credentials.resolve()
        elif not isinstance(credentials, s3_credentials.Credentials):
            credentials = s3_credentials.Credentials.from_dict(credentials)
        return S3Store(location, credentials)
    raise InvalidParameter(N_("a remote URL starts with s3:// or file://"))


__all__ = [
    "BOOTSTRAP",
    "FolderStore",
    "ObjectStore",
    "RemoteError",
    "check_name",
    "open_store",
    "parse_folder_url",
]
