"""Sharing: recipients, grants (scope, time range, granularity, purpose, expiry, status
history) and signed consent receipts, re-exported here. Beside them, as submodules: `bundles`
(exporting a grant's data, and the recipient's side), `ledger` (every bundle that left, and
who holds what), `revocation` (withdrawing a grant, signed erasure requests) and `overview`
(the ledger view, and the consent records tied to a persona or a recipient). `vault.forget`
builds on them; nothing here depends on it."""

from vault.sharing.grants import (
    EXPIRED,
    GIVEN,
    STATUSES,
    WITHDRAWN,
    Grant,
    StatusChange,
    check_exportable,
    create_grant,
    get_grant,
    granularity_warnings,
    list_grants,
    set_grant_status,
)
from vault.sharing.receipt import SignedReceipt, verify_receipt
from vault.sharing.recipients import (
    Recipient,
    add_recipient,
    fingerprint_of,
    get_recipient,
    list_recipients,
    read_identities,
    write_identity,
)
from vault.sharing.scope import GRANULARITIES, Scope, ScopeRequest, TimeRange, build_scope

__all__ = [
    "EXPIRED",
    "GIVEN",
    "GRANULARITIES",
    "STATUSES",
    "WITHDRAWN",
    "Grant",
    "Recipient",
    "Scope",
    "ScopeRequest",
    "SignedReceipt",
    "StatusChange",
    "TimeRange",
    "add_recipient",
    "build_scope",
    "check_exportable",
    "create_grant",
    "fingerprint_of",
    "get_grant",
    "get_recipient",
    "granularity_warnings",
    "list_grants",
    "list_recipients",
    "read_identities",
    "set_grant_status",
    "verify_receipt",
    "write_identity",
]
