"""Export tokens: the cost of keeping tokens current, of exporting with one, of opening with one.

- Import: the same generated Apple Health export.zip (benchmarks/gen_apple_health.py) into a
  fresh vault with no token, and into one where 5 grants covering its metrics over all time
  each have an active token (every commit re-seals their views). Target: at most 1.15x.
- Export: one grant (a year of five metrics, raw, as bench_export builds it) exported with
  the passphrase and with its token, alternated, best of eight each. Target: at most 1.2x.
- Open: `Vault.open_with_token`, best of five. Target: under 0.2 s (no Argon2 on this path).

    python -m benchmarks [--quick] tokens
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gen_apple_health import generate  # noqa: E402

from vault import personas as identities  # noqa: E402
from vault import sharing as consent  # noqa: E402
from vault.core import crypto  # noqa: E402
from vault.core.vault import Vault  # noqa: E402
from vault.sharing import bundles as bundle  # noqa: E402
from vault.sharing import tokens  # noqa: E402  (keeps the tokens' views current)

PASSPHRASE = "bench-tokens-passphrase"  # noqa: S105  # a throwaway benchmark vault
TARGETS = {"import_ratio": 1.15, "export_ratio": 1.2, "open_seconds": 0.2}
AH_METRICS = "steps,heart_rate,active_energy,distance,body_mass"


def _grant(vault: Vault, persona: str, recipient: str, metrics: str) -> consent.Grant:
    return consent.create_grant(
        vault,
        recipient=recipient,
        persona=persona,
        scope=consent.ScopeRequest(metrics=metrics),
        purpose="dpv:ServiceProvision",
        valid_until="2099-12-31",
    )


def _import(work: Path, zip_path: Path, n_tokens: int) -> float:
    from vault.data.importers import import_apple_health

    vault_dir = work / f"vault-{n_tokens}"
    shutil.rmtree(vault_dir, ignore_errors=True)
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        persona = identities.add_persona(v, "Ana")
        consent.add_recipient(v, "Club", crypto.age_keygen()[1])
        for _ in range(n_tokens):
            tokens.create_token(v, _grant(v, "Ana", "Club", AH_METRICS).id)
        t = time.perf_counter()
        import_apple_health(v, persona.id, zip_path, parallel=False)
        seconds = time.perf_counter() - t
    shutil.rmtree(vault_dir, ignore_errors=True)
    return seconds


def _export_vault(work: Path, days: int) -> tuple[Path, str, str]:
    from bench_export import _fill_qs

    vault_dir = work / "export-vault"
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        persona = identities.add_persona(v, "Ana")
        _fill_qs(v, persona.id, days)
        consent.add_recipient(v, "Lab", crypto.age_keygen()[1])
        grant = _grant(v, "Ana", "Lab", AH_METRICS)
        _info, text = tokens.create_token(v, grant.id)
    return vault_dir, grant.id, text


def _best(runs: int, fn: Any) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run(quick: bool) -> dict[str, Any]:
    records = 50_000 if quick else 1_000_000
    days = 30 if quick else 365
    out: dict[str, Any] = {"quick": quick, "records": records, "export_days": days}
    with tempfile.TemporaryDirectory(prefix="coffre-bench-tokens-") as tmp:
        work = Path(tmp)
        zip_path = work / "export.zip"
        generate(zip_path, records, quirks=False)
        # Alternate the order, keep the best of two: the machine's load moves.
        none, five = [], []
        for first in (0, 5):
            for n in (first, 5 - first):
                (none if n == 0 else five).append(_import(work, zip_path, n))
        out["import_seconds"] = {"no_token": round(min(none), 2), "5_tokens": round(min(five), 2)}
        out["import_ratio"] = round(min(five) / min(none), 3)

        vault_dir, grant_id, text = _export_vault(work, days)
        # Alternated, best of eight each: both paths see the same load and the same caches.
        timings: dict[str, list[float]] = {"passphrase": [], "token": []}
        with Vault.open(vault_dir, PASSPHRASE) as v, Vault.open_with_token(vault_dir, text) as tv:
            for i in range(8):
                for name, opened in (("passphrase", v), ("token", tv)):
                    t = time.perf_counter()
                    bundle.export_bundle(opened, grant_id, work / f"{name}-{i}.age")
                    timings[name].append(time.perf_counter() - t)
        passphrase_s, token_s = min(timings["passphrase"]), min(timings["token"])
        out["export_seconds"] = {"passphrase": round(passphrase_s, 3), "token": round(token_s, 3)}
        out["export_ratio"] = round(token_s / passphrase_s, 3)

        def open_close() -> None:
            Vault.open_with_token(vault_dir, text).close()

        out["open_seconds"] = round(_best(5, open_close), 4)
    out["targets"] = {
        "import_ratio": (out["import_ratio"], out["import_ratio"] <= TARGETS["import_ratio"]),
        "export_ratio": (out["export_ratio"], out["export_ratio"] <= TARGETS["export_ratio"]),
        "open_seconds": (out["open_seconds"], out["open_seconds"] < TARGETS["open_seconds"]),
    }
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run("--quick" in sys.argv), indent=2))
