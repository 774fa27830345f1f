"""Moving a remote's worth of objects to and from a real S3 server, Coffre's S3 store beside
rclone's own S3 client.

Both talk to the same `rclone serve s3` on this machine (benchmarks/s3server.py), over the
same files: many small objects (a vault's segments and heads) and a few large ones (media
blobs). rclone copies a folder up and back (`rclone copy`, its default four transfers at
once); Coffre's store puts and gets the objects one after the other, as the sync engine's
pushes and pulls will. The figures are for the storage layer only: the sync engine will add
sealing and its own scheduling on top. Peak memory of the store's large puts is reported,
since they stream.
"""

from __future__ import annotations

import os
import resource
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks import peers
from benchmarks.s3server import S3Server, rclone_copy, serve
from vault.remote.credentials import Credentials, Keys
from vault.remote.s3 import S3Location, S3Store

BUCKET = "bench"
MIB = 1 << 20


def _objects(folder: Path, small: int, small_size: int, large: int, large_mib: int) -> Path:
    """A folder of random objects named as the engine names them."""
    folder.mkdir(parents=True)
    for _ in range(small):
        (folder / secrets.token_hex(16)).write_bytes(os.urandom(small_size))
    for _ in range(large):
        with (folder / secrets.token_hex(16)).open("wb") as f:
            for _ in range(large_mib):
                f.write(os.urandom(MIB))
    return folder


def _store_round_trip(server: S3Server, local: Path, prefix: str) -> dict[str, float]:
    """Coffre's S3 store putting every file of `local` (streamed) and getting it back."""
    store = S3Store(
        S3Location(BUCKET, prefix, server.endpoint),
        Credentials(keys=Keys(server.access_key, server.secret_key)),
    )
    files = sorted(p for p in local.iterdir() if p.is_file())
    started = time.perf_counter()
    for path in files:
        with path.open("rb") as f:
            store.put(path.name, iter(lambda f=f: f.read(MIB), b""))
    up = time.perf_counter() - started
    listed = store.list()
    if listed != {p.name: p.stat().st_size for p in files}:
        raise RuntimeError("the store lists other objects than were put")
    started = time.perf_counter()
    for path in files:
        size = sum(len(piece) for piece in store.stream(path.name))
        if size != path.stat().st_size:
            raise RuntimeError(f"{path.name} came back with another size")
    down = time.perf_counter() - started
    return {"upload_s": up, "download_s": down}


def run(quick: bool) -> dict[str, object]:
    small, small_size = (50, 16 * 1024) if quick else (1_000, 64 * 1024)
    large, large_mib = (1, 8) if quick else (4, 64)
    work = Path(tempfile.mkdtemp(prefix="coffre-bench-s3-"))
    try:
        local = _objects(work / "objects", small, small_size, large, large_mib)
        size = sum(p.stat().st_size for p in local.iterdir())
        runs = 1 if quick else peers.RUNS
        rclone: dict[str, list[float]] = {"upload_s": [], "download_s": []}
        coffre: dict[str, list[float]] = {"upload_s": [], "download_s": []}
        with serve(work / "served", [BUCKET]) as server:
            for i in range(runs):
                peer = rclone_copy(server, local, BUCKET, f"rclone-{i}")
                ours = _store_round_trip(server, local, f"coffre-{i}")
                for key in ("upload_s", "download_s"):
                    rclone[key].append(peer[key])
                    coffre[key].append(ours[key])
        mib = size / MIB
        return {
            "objects": small + large,
            "mib": round(mib, 1),
            "runs": runs,
            "rclone_upload_s": peers.median(rclone["upload_s"]),
            "rclone_download_s": peers.median(rclone["download_s"]),
            "coffre_upload_s": peers.median(coffre["upload_s"]),
            "coffre_download_s": peers.median(coffre["download_s"]),
            "coffre_upload_mib_s": round(mib / peers.median(coffre["upload_s"]), 1),
            "coffre_download_mib_s": round(mib / peers.median(coffre["download_s"]), 1),
            "upload_ratio_to_rclone": peers.ratio(coffre["upload_s"], rclone["upload_s"]),
            "download_ratio_to_rclone": peers.ratio(coffre["download_s"], rclone["download_s"]),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
