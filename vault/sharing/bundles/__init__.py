"""Bundles: what leaves the vault under a grant (an age v1 file holding a signed tar), and
the recipient's side that opens and verifies one. docs/formats.md describes the format."""

from vault.sharing.bundles.export import BundleResult, export_bundle, prepare, sent_before
from vault.sharing.bundles.plan import ExportPlan
from vault.sharing.bundles.recipient import VerifiedBundle, open_bundle, verify_bundle

__all__ = [
    "BundleResult",
    "ExportPlan",
    "VerifiedBundle",
    "export_bundle",
    "open_bundle",
    "prepare",
    "sent_before",
    "verify_bundle",
]
