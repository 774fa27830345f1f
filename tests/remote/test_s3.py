"""The S3 engine against a real S3 server (`rclone serve s3`): URLs, credentials, failures,
and memory that stays bounded however large an object is."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shlex
import socket
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta
from pathlib import Path

import obstore
import pytest
from obstore.store import S3Store as ObStore

from benchmarks.s3server import S3Server, free_port, serve
from tests.remote.conftest import BUCKET
from vault.core.errors import (
    InvalidParameter,
    RemoteDenied,
    RemoteError,
    RemoteUnreachable,
    TamperedRemote,
)
from vault.remote.credentials import Credentials, Keys
from vault.remote.s3 import DEFAULT_REGION, S3Location, S3Store, parse_s3_url
from vault.remote.storage import open_store

ROOT = Path(__file__).resolve().parents[2]


def name() -> str:
    return secrets.token_hex(16)


# --- URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://my-bucket", S3Location("my-bucket")),
        ("s3://my-bucket/", S3Location("my-bucket")),
        ("s3://my.bucket.1/a/b_c/d-e.f/", S3Location("my.bucket.1", "a/b_c/d-e.f")),
        (
            "s3://bkt/p?endpoint=http://127.0.0.1:9000&region=eu-west-3",
            S3Location("bkt", "p", "http://127.0.0.1:9000", "eu-west-3"),
        ),
        (
            "s3://bkt?endpoint=https%3A%2F%2Fs3.example.org%2F",
            S3Location("bkt", "", "https://s3.example.org"),
        ),
    ],
)
def test_an_s3_url_names_a_bucket_a_prefix_an_endpoint_and_a_region(
    url: str, expected: S3Location
) -> None:
    location = parse_s3_url(url)
    assert location == expected
    assert parse_s3_url(location.url()) == location


@pytest.mark.parametrize(
    "url",
    [
        "s4://bucket/p",
        "s3://",
        "s3://ab",
        "s3://Bucket",
        "s3://-bucket",
        "s3://bucket-",
        "s3://bu..cket",
        "s3://bu_cket",
        "s3://" + "b" * 64,
        "s3://AKIA:secret@bucket/p",
        "s3://bucket/p#frag",
        "s3://bucket/a//b",
        "s3://bucket/a/../b",
        "s3://bucket/./b",
        "s3://bucket/a b",
        "s3://bucket/p?profile=work",
        "s3://bucket/p?endpoint=http://h&endpoint=http://i",
        "s3://bucket/p?region=EU WEST",
        "s3://bucket/p?region=",
        "s3://bucket/p?endpoint=ftp://host",
        "s3://bucket/p?endpoint=http://",
        "s3://bucket/p?endpoint=http://user:pw@host",
        "s3://bucket/p?endpoint=http://host:99999",
        "s3://bucket/p?endpoint=http://host/?x=1",
        "s3://bucket/p?novalue",
    ],
)
def test_a_bad_url_is_refused_before_anything_is_sent(url: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_s3_url(url)
    with pytest.raises(InvalidParameter):
        open_store(url, Credentials(keys=Keys("AKID", "secret")))


def test_credentials_in_a_url_are_not_repeated_in_the_message() -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_s3_url("s3://AKIA:hunter2@bucket/p")
    assert "hunter2" not in str(caught.value)


def test_the_region_comes_from_the_url_else_the_credentials_else_the_default() -> None:
    keys = Keys("AKID", "secret")
    assert S3Store(S3Location("b-1"), Credentials(keys=keys)).region == DEFAULT_REGION
    in_creds = Credentials(keys=keys, region="eu-central-1")
    assert S3Store(S3Location("b-1"), in_creds).region == "eu-central-1"
    in_url = S3Location("b-1", region="ap-south-1")
    assert S3Store(in_url, in_creds).region == "ap-south-1"


@pytest.mark.parametrize(
    ("location", "endpoint"),
    [
        (S3Location("my-bucket"), "https://my-bucket.s3.us-east-1.amazonaws.com"),
        (S3Location("my.bucket", region="eu-west-3"), "https://s3.eu-west-3.amazonaws.com"),
        (S3Location("b-1", endpoint="http://127.0.0.1:9000"), "http://127.0.0.1:9000"),
    ],
)
def test_without_an_endpoint_the_store_talks_to_amazon_s3(
    location: S3Location, endpoint: str
) -> None:
    """In the bucket's own host name, except a dotted bucket (its TLS name would not match)."""
    assert S3Store(location, Credentials(keys=Keys("AKID", "secret"))).endpoint == endpoint


def test_describe_never_shows_the_keys(s3_store: S3Store, s3_server: S3Server) -> None:
    text = s3_store.describe()
    assert text.startswith("s3://") and s3_server.endpoint in text
    assert s3_server.secret_key not in text and s3_server.access_key not in text


def test_open_store_gives_an_s3_store_signing_with_the_credentials_given(
    s3_server: S3Server, s3_keys: Credentials, s3_prefix: tuple[str, Path]
) -> None:
    url = f"s3://{BUCKET}/{s3_prefix[0]}?endpoint={s3_server.endpoint}"
    store = open_store(url, s3_keys)
    assert isinstance(store, S3Store)
    n = name()
    store.put(n, b"through open_store")
    assert (s3_prefix[1] / n).read_bytes() == b"through open_store"


def test_open_store_takes_credentials_as_stored_in_the_vault(
    s3_server: S3Server, s3_keys: Credentials, s3_prefix: tuple[str, Path]
) -> None:
    """The engine keeps `to_dict()` in a sealed record and opens the store with it."""
    stored = json.loads(json.dumps(s3_keys.to_dict()))
    store = open_store(f"s3://{BUCKET}/{s3_prefix[0]}?endpoint={s3_server.endpoint}", stored)
    n = name()
    store.put(n, b"x")
    assert (s3_prefix[1] / n).read_bytes() == b"x"
    with pytest.raises(InvalidParameter):
        open_store(f"s3://{BUCKET}/{s3_prefix[0]}?endpoint={s3_server.endpoint}", {"keys": "junk"})


def test_open_store_without_credentials_takes_them_from_the_environment(
    s3_server: S3Server, s3_prefix: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    store = open_store(f"s3://{BUCKET}/{s3_prefix[0]}?endpoint={s3_server.endpoint}")
    assert store.list() == {}


def test_obstore_is_loaded_only_by_a_command_that_uses_an_s3_remote() -> None:
    """Start-up time: the CLI and the folder engine do not load obstore's native library."""
    code = (
        "import sys, vault.cli.main, vault.remote.storage\n"
        "print('obstore' in sys.modules)\n"
        "vault.remote.storage.open_store('file:///tmp')\n"
        "print('obstore' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.split() == ["False", "False"]


# --- failures -----------------------------------------------------------------------------------


def test_a_wrong_secret_is_denied_without_leaking_it(
    s3_server: S3Server, s3_prefix: tuple[str, Path]
) -> None:
    wrong = "wrong-" + secrets.token_hex(8)
    store = S3Store(
        S3Location(BUCKET, s3_prefix[0], s3_server.endpoint),
        Credentials(keys=Keys(s3_server.access_key, wrong)),
        max_retries=0,
    )
    for call in (store.list, lambda: store.get(name()), lambda: store.put(name(), b"x")):
        with pytest.raises(RemoteDenied) as caught:
            call()
        message = str(caught.value)
        for secret in (wrong, s3_server.secret_key, s3_server.endpoint, "Signature", "<"):
            assert secret not in message
    assert not s3_prefix[1].exists()


def test_an_unknown_access_key_is_denied(s3_server: S3Server, s3_prefix: tuple[str, Path]) -> None:
    store = S3Store(
        S3Location(BUCKET, s3_prefix[0], s3_server.endpoint),
        Credentials(keys=Keys("AKNOTKNOWNTOTHESERVER", s3_server.secret_key)),
        max_retries=0,
    )
    with pytest.raises(RemoteDenied):
        store.list()


def test_a_closed_port_is_unreachable(s3_keys: Credentials) -> None:
    store = S3Store(
        S3Location("bucket", "p", f"http://127.0.0.1:{free_port()}"), s3_keys, max_retries=1
    )
    for call in (store.list, lambda: store.get(name()), lambda: store.put(name(), b"x")):
        with pytest.raises(RemoteUnreachable) as caught:
            call()
        assert "127.0.0.1" not in str(caught.value)


def test_a_stopped_server_is_unreachable(tmp_path: Path) -> None:
    with serve(tmp_path / "served", ["short-lived"]) as server:
        store = S3Store(
            S3Location("short-lived", "", server.endpoint),
            Credentials(keys=Keys(server.access_key, server.secret_key)),
            max_retries=1,
        )
        n = name()
        store.put(n, b"x")
        assert store.list() == {n: 1}
    with pytest.raises(RemoteUnreachable):
        store.list()
    with pytest.raises(RemoteUnreachable):
        store.get(n)


class StallingServer:
    """A TCP server that answers nothing, or only the start of an object, then stalls: a
    hung service or a connection dropped on the way."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.held: list[socket.socket] = []
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.held.append(conn)  # kept open, never closed until the test ends
            with contextlib.suppress(OSError):
                conn.settimeout(5)
                conn.recv(65536)
                conn.sendall(self.answer)

    def close(self) -> None:
        self.done.set()
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.mark.parametrize("started", [False, True], ids=["silent", "stalls-mid-object"])
def test_a_server_that_stops_answering_is_unreachable(s3_keys: Credentials, started: bool) -> None:
    head = (
        b'HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\nETag: "e"\r\n'
        b"Last-Modified: Mon, 30 Nov 2026 10:00:00 GMT\r\n\r\n" + b"x" * 1000
    )
    server = StallingServer(head if started else b"")
    try:
        store = S3Store(
            S3Location("bucket", "p", server.endpoint),
            s3_keys,
            stall_timeout=timedelta(milliseconds=300),
            max_retries=0,
        )
        with pytest.raises(RemoteUnreachable):
            store.get(name())
        if not started:
            with pytest.raises(RemoteUnreachable):
                store.list()
    finally:
        server.close()


def test_a_missing_bucket_is_named_and_not_taken_for_a_missing_object(
    s3_server: S3Server, s3_keys: Credentials
) -> None:
    store = S3Store(S3Location("no-such-bucket", "p", s3_server.endpoint), s3_keys)
    for call in (
        store.list,
        lambda: store.get(name()),
        lambda: store.put(name(), b"x"),
        lambda: store.delete(name()),
    ):
        with pytest.raises(RemoteError, match="no-such-bucket does not exist"):
            call()


def test_an_object_removed_by_someone_else_is_missing(s3_store: S3Store, s3_raw: ObStore) -> None:
    n = name()
    s3_store.put(n, b"here")
    obstore.delete(s3_raw, n)
    with pytest.raises(TamperedRemote, match="missing"):
        s3_store.get(n)


# --- credentials at each use ----------------------------------------------------------------


def _command(tmp_path: Path, body: str) -> tuple[str, ...]:
    script = tmp_path / f"creds-{secrets.token_hex(4)}.py"
    script.write_text(textwrap.dedent(body))
    return (sys.executable, str(script))


def test_a_credentials_command_signs_and_runs_again_when_its_keys_expire(
    s3_server: S3Server, s3_prefix: tuple[str, Path], tmp_path: Path
) -> None:
    """A command printing keys that are already expired is asked again at the next request;
    one printing keys with no expiry is asked once for the life of the store."""
    runs = tmp_path / "runs"
    for expiration, expected_runs in (("2000-01-01T00:00:00Z", 3), (None, 1)):
        runs.write_text("")
        answer = {
            "Version": 1,
            "AccessKeyId": s3_server.access_key,
            "SecretAccessKey": s3_server.secret_key,
            "SessionToken": None,
            "Expiration": expiration,
        }
        answer = {k: v for k, v in answer.items() if v is not None}
        command = _command(
            tmp_path,
            f"""
            import json, pathlib
            with pathlib.Path({str(runs)!r}).open("a") as f:
                f.write("x")
            print(json.dumps({answer!r}))
            """,
        )
        store = S3Store(
            S3Location(BUCKET, s3_prefix[0], s3_server.endpoint), Credentials(command=command)
        )
        for _ in range(3):
            assert store.list() == {}
        assert len(runs.read_text()) == expected_runs


def test_a_failing_credentials_command_is_denied_as_itself(
    s3_server: S3Server, s3_prefix: tuple[str, Path], tmp_path: Path
) -> None:
    command = _command(
        tmp_path,
        """
        import sys
        print("SECRET-ON-STDOUT"); print("SECRET-ON-STDERR", file=sys.stderr)
        sys.exit(3)
        """,
    )
    store = S3Store(
        S3Location(BUCKET, s3_prefix[0], s3_server.endpoint), Credentials(command=command)
    )
    with pytest.raises(RemoteDenied) as caught:
        store.put(name(), b"x")
    assert caught.value.detail == "the credentials command failed (exit status 3)"
    assert not s3_prefix[1].exists()
    # The command stays what it was: it is not a secret, and it is run again the next time.
    assert Credentials(command=command).describe() == f"the command {shlex.join(command)}"


# --- memory -------------------------------------------------------------------------------------

PUT_40_MIB = """
import hashlib, json, os, resource, sys
from vault.remote.credentials import Credentials, Keys
from vault.remote.s3 import S3Location, S3Store

bucket, prefix, endpoint, access, secret, name = sys.argv[1:]
store = S3Store(S3Location(bucket, prefix, endpoint), Credentials(keys=Keys(access, secret)))
store.put("0" * 32, b"warm-up: load the libraries and open a connection")
digest = hashlib.sha256()

def pieces():
    for _ in range(40):
        piece = os.urandom(1 << 20)
        digest.update(piece)
        yield piece

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
store.put(name, pieces())
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grew_kib": after - before, "sha256": digest.hexdigest()}))
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux")
def test_a_40_mib_object_put_from_an_iterator_is_streamed_in_bounded_memory(
    s3_server: S3Server, s3_prefix: tuple[str, Path]
) -> None:
    """Run in a fresh process, so its peak resident memory is the put's alone."""
    size, n = 40 << 20, name()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PUT_40_MIB,
            BUCKET,
            s3_prefix[0],
            s3_server.endpoint,
            s3_server.access_key,
            s3_server.secret_key,
            n,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    result = json.loads(done.stdout)
    stored = s3_prefix[1] / n
    assert stored.stat().st_size == size
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == result["sha256"]
    # Joined into one bytes object, the data alone would add 40 MiB to the peak.
    assert result["grew_kib"] * 1024 < size // 2
