"""Content throughput: adding a large file and reading it back, against `age` on the same file,
and importing a generated Mastodon archive.

    python benchmarks/bench_content.py [--quick] [--size MIB] [--posts N]

Each measured operation runs in its own process under /usr/bin/time, so peak memory (RSS) is
that operation's alone. Files go to benchmarks/out/ (git-ignored).

`content cat` and `age -d` both write what they decrypt to /dev/null, as a pipe to another
program would take it: writing 1 GiB into a new file costs from 0.2 to 1.3 s on this machine,
depending on what the page cache holds at that moment, which would measure the cache rather
than either reader (and favour whichever writes second, into the pages the first freed).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

try:
    from benchmarks import peers
except ImportError:  # run as a script: benchmarks/ is on the path, not its parent
    import peers  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
PASSPHRASE = "bench-content-passphrase"  # noqa: S105  # a throwaway benchmark vault
MIB = 1024 * 1024


def _random_file(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    with path.open("wb") as f:
        left = size
        while left:
            n = min(left, 4 * MIB)
            f.write(os.urandom(n))
            left -= n


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Run under /usr/bin/time: (wall seconds, peak RSS in KiB, stdout)."""
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "RSS_KB=%M", *cmd],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {proc.stderr[-2000:]}")
    rss = next(
        int(line.split("=", 1)[1])
        for line in proc.stderr.splitlines()
        if line.startswith("RSS_KB=")
    )
    return wall, rss, proc.stdout


def _child(args: list[str]) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", *args]


def _new_vault(path: Path) -> None:
    from vault.core.vault import Vault
    from vault.personas import add_persona

    shutil.rmtree(path, ignore_errors=True)
    with Vault.create(path, PASSPHRASE, kdf="minimum") as v:
        add_persona(v, "Bench")


def mastodon_archive(path: Path, posts: int, media_every: int = 20) -> None:
    """A Mastodon-shaped archive: `posts` Create/Note activities, one in `media_every` with a
    small image, a few boosts, and the repeated `orderedItems` key of real archives."""
    actor = "https://social.example/users/bench"
    items: list[dict[str, Any]] = []
    media: dict[str, bytes] = {}
    for n in range(posts):
        obj: dict[str, Any] = {
            "id": f"{actor}/statuses/{n}",
            "type": "Note",
            "summary": "cw" if n % 10 == 0 else None,
            "published": f"2023-{1 + n % 12:02d}-{1 + n % 28:02d}T10:{n % 60:02d}:00Z",
            "content": f"<p>Post {n}: " + "lorem ipsum dolor sit amet " * 8 + "</p>",
            "tag": [{"type": "Hashtag", "name": f"#t{n % 50}"}],
            "attachment": [],
        }
        if n % media_every == 0:
            name = f"media_attachments/files/{n:06d}/original/p{n}.png"
            media[name] = os.urandom(20_000)
            obj["attachment"] = [{"type": "Document", "mediaType": "image/png", "url": "/" + name}]
        items.append({"type": "Create", "actor": actor, "object": obj})
        if n % 25 == 0:
            items.append({"type": "Announce", "actor": actor, "object": "https://o/x"})
    half = len(items) // 2
    text = (
        '{"type": "OrderedCollection", "totalItems": 1, '
        f'"orderedItems": {json.dumps(items[:half])}, "orderedItems": {json.dumps(items[half:])}}}'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("outbox.json", text)
        zf.writestr("actor.json", json.dumps({"preferredUsername": "bench"}))
        for name, data in media.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_STORED)


def run(quick: bool, size_mib: int | None = None, posts: int | None = None) -> dict[str, Any]:
    """Run every measurement; return the figures (MB/s are 10^6 bytes per second).

    `content add` and `age -r` (plus an fsync of its output: a vault commit is durable, age
    alone is not) encrypt the same file, warm in the page cache for both; `content cat` and
    `age -d` each read their own encrypted copy, both in the run's cache state (see
    `peers.settle`)."""
    OUT.mkdir(parents=True, exist_ok=True)
    size = (size_mib or (64 if quick else 1024)) * MIB
    n_posts = posts or (1000 if quick else 10_000)
    data = OUT / f"random-{size // MIB}MiB.bin"
    _random_file(data, size)
    vault_dir = OUT / "vault-content"
    env = {"COFFRE_PASSPHRASE": PASSPHRASE}
    key = OUT / "age-key.txt"
    key.unlink(missing_ok=True)
    subprocess.run(["age-keygen", "-o", str(key)], capture_output=True, check=True)
    recipient = subprocess.run(
        ["age-keygen", "-y", str(key)], capture_output=True, text=True, check=True
    ).stdout.strip()
    enc = OUT / "random.age"
    add_s, read_s, age_enc_s, age_sync_s, age_dec_s = [], [], [], [], []
    rss: dict[str, int] = {"add": 0, "read": 0, "age": 0}
    for _ in range(peers.RUNS):
        _new_vault(vault_dir)
        _, kib, out = _timed(_child(["add", str(vault_dir), str(data)]), env)
        added = json.loads(out)
        add_s.append(added["seconds"])
        rss["add"] = max(rss["add"], kib)
        for path in (vault_dir / "blobs").rglob("*"):
            if path.is_file():
                peers.settle(path)
        _, kib, out = _timed(_child(["read", str(vault_dir), added["id"], os.devnull]), env)
        read = json.loads(out)
        read_s.append(read["seconds"])
        rss["read"] = max(rss["read"], kib)
        if read["bytes"] != size:
            raise RuntimeError("the file read back has the wrong size")
        seconds, kib, _ = _timed(["age", "-r", recipient, "-o", str(enc), str(data)])
        t = time.perf_counter()
        peers.fsync_path(enc)
        age_enc_s.append(seconds)
        age_sync_s.append(seconds + time.perf_counter() - t)
        peers.settle(enc)
        seconds, kib2, _ = _timed(["age", "-d", "-i", str(key), "-o", os.devnull, str(enc)])
        age_dec_s.append(seconds)
        rss["age"] = max(rss["age"], kib, kib2)
        enc.unlink()

    archive = OUT / f"mastodon-{n_posts}.zip"
    mastodon_archive(archive, n_posts)
    _new_vault(vault_dir)
    _, import_rss, out = _timed(_child(["import", str(vault_dir), str(archive)]), env)
    imported = json.loads(out)
    shutil.rmtree(vault_dir, ignore_errors=True)

    mb = size / 1e6
    return {
        "file_mib": size // MIB,
        "runs": peers.RUNS,
        "cache": peers.CACHE,
        "add_s": peers.median(add_s),
        "age_encrypt_s": peers.median(age_enc_s),
        "age_encrypt_fsynced_s": peers.median(age_sync_s),
        "add_mb_s": round(mb / peers.median(add_s), 1),
        # Speed ratios (peer's time over Coffre's): above 1, Coffre is faster.
        "add_vs_age": peers.ratio(age_enc_s, add_s),
        "add_vs_age_fsynced": peers.ratio(age_sync_s, add_s),
        "add_target_vs_age_fsynced": 0.8,
        "read_s": peers.median(read_s),
        "age_decrypt_s": peers.median(age_dec_s),
        "read_mb_s": round(mb / peers.median(read_s), 1),
        "read_vs_age": peers.ratio(age_dec_s, read_s),
        "read_target_vs_age": 1.0,
        "add_peak_rss_mib": round(rss["add"] / 1024, 1),
        "read_peak_rss_mib": round(rss["read"] / 1024, 1),
        "age_peak_rss_mib": round(rss["age"] / 1024, 1),
        "peak_rss_target_mib": 100,
        "mastodon_posts": n_posts,
        "mastodon_added": imported["added"],
        "mastodon_posts_per_s": round(imported["added"] / imported["seconds"], 1),
        "mastodon_peak_rss_mib": round(import_rss / 1024, 1),
    }


def child(op: str, args: list[str]) -> None:
    """One measured operation, in its own process; prints its figures as JSON."""
    from vault import content
    from vault.content.importers import mastodon
    from vault.core.vault import Vault

    with Vault.open(args[0], PASSPHRASE) as v:
        start = time.perf_counter()
        if op == "add":
            item = content.add_file(v, Path(args[1]), kind="file")
            result: dict[str, Any] = {"id": item.id}
        elif op == "read":
            count = 0
            with Path(args[2]).open("wb") as f:
                for chunk in content.read(v, args[1]):
                    f.write(chunk)
                    count += len(chunk)
            result = {"bytes": count}
        else:
            summary = mastodon.import_archive(v, args[1])
            result = {"added": summary.added}
        result["seconds"] = time.perf_counter() - start
    print(json.dumps(result))


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="64 MiB and 1,000 posts")
    parser.add_argument("--size", type=int, default=None, help="file size in MiB (max 1024)")
    parser.add_argument("--posts", type=int, default=None, help="posts in the Mastodon archive")
    ns = parser.parse_args()
    if ns.size is not None and not 1 <= ns.size <= 1024:
        parser.error("--size is between 1 and 1024 MiB")
    print(json.dumps(run(ns.quick, ns.size, ns.posts), indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    io.DEFAULT_BUFFER_SIZE = max(io.DEFAULT_BUFFER_SIZE, 1 << 16)
    main()
