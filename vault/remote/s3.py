"""The S3 engine of a remote: objects in a bucket of any S3-compatible service, through obstore.

A remote URL is `s3://BUCKET/PREFIX?endpoint=URL&region=R`; each object lives at
`PREFIX/NAME`. The service is someone else's: what it lists is filtered by the object-name
rule, what it returns is checked by the sync engine, and nothing it says (error bodies, signed
URLs) reaches a message. Every failure becomes one of the project's errors: unreachable,
denied, missing (the remote lost or hid an object), or a bucket that does not exist.
"""

from __future__ import annotations

import builtins
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Final, NoReturn, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import obstore
from obstore.exceptions import BaseError, PermissionDeniedError, UnauthenticatedError
from obstore.store import S3Store as _ObS3Store

from vault.core.errors import (
    InvalidParameter,
    RemoteDenied,
    RemoteError,
    RemoteUnreachable,
    TamperedRemote,
)
from vault.core.i18n import N_, Text
from vault.remote.credentials import Credentials
from vault.remote.storage import MAX_OBJECT, NAME_RE, READ_PIECE, check_name

if TYPE_CHECKING:
    from obstore.store import S3Credential

DEFAULT_REGION: Final = "us-east-1"  # what most S3-compatible servers expect when told nothing
# Multipart uploads: 5 MiB is the smallest part S3 accepts. At most this many parts are in
# flight at once, so a put holds about (PARTS_IN_FLIGHT + 1) parts of memory, whatever its size.
PART_SIZE: Final = 5 << 20
PARTS_IN_FLIGHT: Final = 3
BUCKET_RE: Final = re.compile(r"\A[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
SEGMENT_RE: Final = re.compile(r"\A[A-Za-z0-9._-]{1,255}\Z")
REGION_RE: Final = re.compile(r"\A[a-z0-9][a-z0-9-]{0,62}\Z")
STATUS_RE: Final = re.compile(r"status code: (\d{3})")
QUERY_KEYS: Final = frozenset({"endpoint", "region"})
READING: Final = Text(N_("reading an object"))

T = TypeVar("T")


@dataclass(frozen=True)
class S3Location:
    """Where a remote's objects are: a bucket, a prefix in it, and the service's endpoint."""

    bucket: str
    prefix: str = ""
    endpoint: str | None = None  # None: Amazon S3 itself
    region: str | None = None

    def url(self) -> str:
        """The canonical `s3://` URL (it never holds credentials)."""
        url = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        query = {k: v for k, v in (("endpoint", self.endpoint), ("region", self.region)) if v}
        return f"{url}?{urlencode(query, safe=':/', quote_via=quote)}" if query else url


def parse_s3_url(url: str) -> S3Location:
    """The location an `s3://BUCKET[/PREFIX][?endpoint=URL][&region=R]` URL names.

    Refused with InvalidParameter: credentials in the URL, a bucket name S3 would refuse, a
    prefix with empty, `.` or `..` segments, an endpoint that is not a bare http(s) URL,
    unknown or repeated query keys.
    """
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise InvalidParameter(N_("an S3 remote is s3://BUCKET/PREFIX?endpoint=URL&region=R"))
    if "@" in parts.netloc:
        raise InvalidParameter(N_("an S3 URL never holds credentials (see --credentials-command)"))
    if parts.fragment:
        raise InvalidParameter(N_("an S3 URL has no #fragment"))
    bucket = parts.netloc
    if not BUCKET_RE.match(bucket) or ".." in bucket:
        raise InvalidParameter(N_("not an S3 bucket name (3 to 63 of a-z, 0-9, '.' and '-')"))
    prefix = parts.path.strip("/")
    if prefix and not all(SEGMENT_RE.match(s) and s not in (".", "..") for s in prefix.split("/")):
        raise InvalidParameter(N_("an S3 prefix is words of A-Z, a-z, 0-9, '.', '_', '-' and '/'"))
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise InvalidParameter(N_("the S3 URL's query is not key=value pairs")) from None
    keys = [k for k, _ in pairs]
    unknown = sorted(set(keys) - QUERY_KEYS)
    if unknown:
        raise InvalidParameter(
            N_("unknown S3 URL parameter {option!r} (endpoint, region)"), option=unknown[0]
        )
    if len(keys) != len(set(keys)):
        raise InvalidParameter(N_("an S3 URL parameter is given twice"))
    query = dict(pairs)
    endpoint = query.get("endpoint")
    if endpoint is not None:
        endpoint = _check_endpoint(endpoint)
    region = query.get("region")
    if region is not None and not REGION_RE.match(region):
        raise InvalidParameter(N_("not an S3 region name"))
    return S3Location(bucket, prefix, endpoint, region)


def _check_endpoint(endpoint: str) -> str:
    bad = InvalidParameter(N_("an S3 endpoint is http(s)://HOST[:PORT][/PATH]"))
    try:
        ep = urlsplit(endpoint)
        ep.port  # noqa: B018 (a port out of range raises here)
    except ValueError:
        raise bad from None
    if ep.scheme not in ("http", "https") or not ep.hostname or ep.query or ep.fragment:
        raise bad
    if "@" in ep.netloc:
        raise InvalidParameter(N_("an S3 endpoint never holds credentials"))
    return endpoint.rstrip("/")


class S3Store:
    """A remote in an S3 bucket: `list`, `get`, `stream`, `put` and `delete` of whole objects.

    `put` streams an iterable through a multipart upload (bounded memory, atomic on
    completion); `stream` yields pieces as they arrive. Requests are retried a few times
    with backoff, then the failure is reported as RemoteUnreachable.
    """

    def __init__(
        self,
        location: S3Location,
        credentials: Credentials,
        *,
        connect_timeout: timedelta = timedelta(seconds=10),
        stall_timeout: timedelta = timedelta(seconds=60),
        request_timeout: timedelta = timedelta(minutes=5),
        download_timeout: timedelta = timedelta(hours=6),
        max_retries: int = 3,
    ) -> None:
        """`stall_timeout`: the longest wait for the next bytes of an answer. `request_timeout`
        bounds every request but downloads (a list, one part of an upload, a delete);
        `download_timeout` bounds reading one object, which may be large on a slow link."""
        self.location = location
        self.credentials = credentials
        # An exception our own code raised inside obstore (the credentials callback, the
        # caller's iterable): re-raised as itself, not as obstore's wrapping of it.
        self._inner_error: BaseException | None = None
        self.region = region = location.region or credentials.region or DEFAULT_REGION
        endpoint, virtual_hosted = location.endpoint, False
        if endpoint is None:
            # Amazon S3 itself: the bucket in the host name, as AWS recommends, except for a
            # bucket whose dots would not match its TLS certificate.
            virtual_hosted = "." not in location.bucket
            host = f"{location.bucket}.s3" if virtual_hosted else "s3"
            endpoint = f"https://{host}.{region}.amazonaws.com"
        self.endpoint = endpoint

        def client(timeout: timedelta) -> _ObS3Store:
            # Where requests go, how they are signed and whether plain http is allowed are all
            # set here, so no AWS_* variable of the environment changes them.
            return _ObS3Store(
                location.bucket,
                prefix=location.prefix or None,
                config={
                    "region": region,
                    "endpoint": endpoint,
                    "virtual_hosted_style_request": virtual_hosted,
                    "skip_signature": False,
                },
                client_options={
                    "allow_http": endpoint.startswith("http:"),
                    "connect_timeout": connect_timeout,
                    "read_timeout": stall_timeout,
                    "timeout": timeout,
                },
                retry_config={
                    "max_retries": max_retries,
                    "retry_timeout": timedelta(seconds=60),
                    "backoff": {
                        "init_backoff": timedelta(milliseconds=100),
                        "max_backoff": timedelta(seconds=10),
                        "base": 2,
                    },
                },
                credential_provider=self._provide_credentials,
            )

        self._store = client(request_timeout)
        # Reading an object is one request however large the object is: it gets its own
        # client, whose overall limit is long, and a stalled answer is still caught by
        # `stall_timeout`.
        self._reader = client(download_timeout)

    parse_url = staticmethod(parse_s3_url)

    @classmethod
    def from_url(cls, url: str, credentials: Credentials) -> S3Store:
        """The store an `s3://` URL names, signing with `credentials`."""
        return cls(parse_s3_url(url), credentials)

    def describe(self) -> str:
        return self.location.url()

    def _provide_credentials(self) -> S3Credential:
        """obstore's credential callback: the keys now (a command runs again when they expire)."""
        try:
            keys = self.credentials.current()
        except BaseException as exc:
            self._inner_error = exc
            raise
        return {
            "access_key_id": keys.access_key_id,
            "secret_access_key": keys.secret_access_key,
            "token": keys.session_token,
            "expires_at": keys.expires,
        }

    def _call(self, what: str, action: Callable[[], T]) -> T:
        """`action()`, its failures turned into the project's errors (see `_translate`)."""
        self._inner_error = None
        try:
            return action()
        except Exception as exc:
            self._translate(what, exc)

    def _translate(self, what: str, exc: Exception) -> NoReturn:
        """Raise the project's error for an obstore failure while doing `what`.

        obstore's messages carry the URL and the service's response body: they are read here
        to classify the failure and never shown.
        """
        inner, self._inner_error = self._inner_error, None
        if inner is not None:
            raise inner from None
        text = str(exc)
        if "NoSuchBucket" in text:
            raise RemoteError(
                N_("the bucket {bucket} does not exist"), bucket=self.location.bucket
            ) from None
        status = STATUS_RE.search(text)
        code = int(status.group(1)) if status else None
        if isinstance(exc, PermissionDeniedError | UnauthenticatedError) or code in (401, 403):
            raise RemoteDenied(N_("{what} was refused"), what=what) from None
        if isinstance(exc, FileNotFoundError) or code == 404:
            if what == READING:
                raise TamperedRemote(N_("an object is missing")) from None
            raise RemoteError(N_("{what} failed (HTTP 404)"), what=what) from None
        if code is not None:
            raise RemoteUnreachable(
                N_("{what} failed (HTTP {code})"), what=what, code=code
            ) from None
        if isinstance(exc, BaseError | OSError):
            raise RemoteUnreachable(
                N_("{what} failed: the server did not answer"), what=what
            ) from None
        raise exc

    def list(self) -> dict[str, int]:
        def listing() -> dict[str, int]:
            found: dict[str, int] = {}
            for page in obstore.list(self._store, chunk_size=1000):
                for meta in page:
                    if NAME_RE.match(meta["path"]):
                        found[meta["path"]] = meta["size"]
            return found

        return self._call(Text(N_("listing the remote")), listing)

    def get(self, name: str) -> bytes:
        return b"".join(self.stream(name))

    def stream(self, name: str) -> Iterator[bytes]:
        check_name(name)
        result = self._call(READING, lambda: obstore.get(self._reader, name))
        if result.meta["size"] > MAX_OBJECT:
            raise TamperedRemote(N_("something other than an object stands in its place"))
        pieces = iter(result.stream(min_chunk_size=READ_PIECE))
        while True:
            piece = self._call(READING, lambda: next(pieces, None))
            if piece is None:
                return
            yield bytes(piece)

    def put(self, name: str, data: bytes | Iterable[bytes]) -> None:
        check_name(name)
        if isinstance(data, bytes | bytearray | memoryview):
            body: bytes | Iterable[bytes] = bytes(data)
        else:
            # Read up to one part: an object that fits is sent in one request; a larger one
            # goes through a multipart upload fed from the iterator as it is read.
            pieces = iter(data)
            head: builtins.list[bytes] = []
            size = 0
            for piece in pieces:
                head.append(bytes(piece))
                size += len(piece)
                if size > PART_SIZE:
                    break
            else:
                pieces = iter(())
            body = b"".join(head) if size <= PART_SIZE else self._guarded(head, pieces)

        self._call(
            Text(N_("writing an object")),
            lambda: obstore.put(
                self._store,
                name,
                body,
                chunk_size=PART_SIZE,
                max_concurrency=PARTS_IN_FLIGHT,
            ),
        )

    def _guarded(self, head: builtins.list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
        """The caller's pieces for obstore, remembering an error they raise (see `_call`)."""
        try:
            yield from itertools.chain(head, rest)
        except BaseException as exc:
            self._inner_error = exc
            raise

    def delete(self, name: str) -> None:
        check_name(name)

        def remove() -> None:
            try:
                obstore.delete(self._store, name)
            except FileNotFoundError as exc:
                # S3 answers a delete of a missing object with success; a few servers say 404.
                if "NoSuchBucket" in str(exc):
                    raise

        self._call(Text(N_("deleting an object")), remove)


__all__ = ["DEFAULT_REGION", "S3Location", "S3Store", "parse_s3_url"]
