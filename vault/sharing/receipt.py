"""Consent receipts: what the person agreed to, in the fields of ISO/IEC TS 27560 and the
Kantara Consent Receipt 1.1, signed with the persona's pairwise key (minisign format).

The principal is the pairwise pseudonymous id the persona shows this recipient, never a name;
the controller is the recipient. docs/formats.md holds the JSON Schema.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from vault.core import minisign
from vault.core.i18n import N_
from vault.personas import Signer
from vault.sharing.recipients import Recipient
from vault.sharing.scope import Scope, TimeRange

SCHEMA_ID: Final = "coffre.consent-receipt/v1"
KANTARA_VERSION: Final = "KI-CR-v1.1.0"
ISO_STANDARD: Final = "ISO/IEC TS 27560:2023"
SENSITIVE_CATEGORIES: Final = frozenset({"pd:PhysicalHealth", "pd:MentalHealth", "pd:Health"})
WITHDRAWAL_METHOD: Final = (
    "The data subject withdraws with `coffre revoke GRANT_ID`, which sends the controller a "
    "signed withdrawal and erasure request (GDPR Art. 7(3) and Art. 17)."
)


@dataclass(frozen=True)
class SignedReceipt:
    """A receipt's exact JSON bytes and their detached minisign signature."""

    id: str
    data: bytes
    signature: str

    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.data)
        return parsed


def build_receipt(
    *,
    grant_id: str,
    created: datetime,
    recipient: Recipient,
    signer: Signer,
    scope: Scope,
    time_range: TimeRange,
    granularity: str,
    purpose: str,
    legal_basis: str,
    jurisdiction: str,
    retention: str,
    valid_until: str,
    compensation: str,
) -> SignedReceipt:
    """Build and sign the receipt of a grant being given."""
    receipt_id = str(uuid.uuid4())
    categories = list(scope.data_categories())
    sensitive = sorted(SENSITIVE_CATEGORIES.intersection(categories))
    stamp = created.isoformat().replace("+00:00", "Z")
    public_key = signer.minisign_public_key()
    termination = f"on {valid_until} (expiry), or earlier when the data subject withdraws"
    body: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "standards": [ISO_STANDARD, "Kantara Consent Receipt Specification 1.1"],
        # Kantara CR 1.1
        "version": KANTARA_VERSION,
        "jurisdiction": jurisdiction,
        "consentTimestamp": int(created.timestamp()),
        "collectionMethod": "explicit action of the data subject in Coffre (grant create)",
        "consentReceiptID": receipt_id,
        "publicKey": public_key,
        "language": "en",
        "piiPrincipalId": signer.pseudonym,
        "piiControllers": [
            {
                "piiController": recipient.name,
                "contact": recipient.contact,
                "piiControllerUrl": recipient.homepage,
                "ageKeyFingerprint": recipient.fingerprint,
            }
        ],
        "policyUrl": recipient.homepage,
        "services": [
            {
                "service": f"coffre grant {grant_id}",
                "purposes": [
                    {
                        "purpose": purpose,
                        "purposeCategory": [purpose],
                        "consentType": "EXPLICIT",
                        "piiCategory": categories,
                        "primaryPurpose": True,
                        "termination": termination,
                        "thirdPartyDisclosure": False,
                    }
                ],
            }
        ],
        "sensitive": bool(sensitive),
        "spiCat": sensitive,
        # ISO/IEC TS 27560 consent record
        "recordId": receipt_id,
        "schemaVersion": SCHEMA_ID,
        "timestamp": stamp,
        "dataSubject": {"id": signer.pseudonym, "idType": "pairwise-pseudonym"},
        "dataController": {
            "name": recipient.name,
            "contact": recipient.contact,
            "url": recipient.homepage,
        },
        "grantId": grant_id,
        "purposes": [purpose],
        "legalBasis": legal_basis,
        "personalDataCategories": categories,
        "scope": scope.as_dict(),
        "timeRange": time_range.as_dict(),
        "granularity": granularity,
        "processing": ["dpv:Transfer", "dpv:Store", "dpv:Use"],
        "status": "given",
        "validFrom": stamp,
        "validUntil": valid_until,
        "retention": retention,
        "withdrawalMethod": WITHDRAWAL_METHOD,
        "compensation": compensation,
    }
    data = (json.dumps(body, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    signature = minisign.sign_with(
        signer.sign, signer.key_id, data, f"coffre consent receipt {receipt_id}"
    )
    return SignedReceipt(receipt_id, data, signature)


def verify_receipt(data: bytes, signature: str, public_key: str | None = None) -> dict[str, Any]:
    """Check a receipt's signature (with its own `publicKey` unless one is given); return it."""
    try:
        body: dict[str, Any] = json.loads(data)
    except ValueError:
        from vault.core.errors import MalformedInput

        raise MalformedInput(N_("receipt.json is not valid JSON")) from None
    minisign.verify(public_key or str(body.get("publicKey", "")), data, signature)
    return body
