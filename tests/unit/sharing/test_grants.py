"""Recipients, grants and consent receipts: creation, look-ups, refused scopes, status
history, receipt contents (validated against the JSON Schema in docs/formats.md)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.builders import World, add_audience_posts, build_world, make_grant, receipt_schema
from tests.conftest import raw_vault_bytes
from vault import personas as identities
from vault import sharing as consent
from vault.core import crypto, minisign
from vault.core.errors import (
    AlreadyExists,
    ContradictoryScope,
    EmptyScope,
    GrantExpired,
    GrantWithdrawn,
    InvalidParameter,
    MalformedAgeKey,
    RecordNotFound,
)
from vault.core.vault import Vault
from vault.sharing import ScopeRequest

# --- recipients ---------------------------------------------------------------------------------


def test_recipient_lookups_by_id_prefix_name_and_fingerprint(fresh_vault: Vault) -> None:
    _, public = crypto.age_keygen()
    r = consent.add_recipient(fresh_vault, "  Health   Lab ", public, contact="a@b.example")
    assert r.name == "Health Lab"
    assert r.fingerprint == consent.fingerprint_of(public)
    for ref in (r.id, r.id[:6], "health lab", r.fingerprint):
        assert consent.get_recipient(fresh_vault, ref) == r
    assert [x.id for x in consent.list_recipients(fresh_vault)] == [r.id]
    with pytest.raises(RecordNotFound):
        consent.get_recipient(fresh_vault, "nobody")


def test_recipient_names_and_keys_are_unique(fresh_vault: Vault) -> None:
    _, k1 = crypto.age_keygen()
    _, k2 = crypto.age_keygen()
    consent.add_recipient(fresh_vault, "Lab", k1)
    with pytest.raises(AlreadyExists):
        consent.add_recipient(fresh_vault, "LAB", k2)
    with pytest.raises(AlreadyExists):
        consent.add_recipient(fresh_vault, "Other", k1)
    assert len(consent.list_recipients(fresh_vault)) == 1


@pytest.mark.parametrize(
    "key",
    [
        "",
        "age1",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKDs",
        "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
        "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
    ],
)
def test_malformed_age_keys_are_refused(fresh_vault: Vault, key: str) -> None:
    with pytest.raises(MalformedAgeKey):
        consent.add_recipient(fresh_vault, "Lab", key)
    assert consent.list_recipients(fresh_vault) == []


def test_a_flipped_character_in_an_age_key_fails_its_checksum(fresh_vault: Vault) -> None:
    _, public = crypto.age_keygen()
    broken = public[:-3] + ("q" if public[-3] != "q" else "p") + public[-2:]
    with pytest.raises(MalformedAgeKey):
        consent.add_recipient(fresh_vault, "Lab", broken)


def test_recipient_minisign_key_and_homepage_are_checked(fresh_vault: Vault) -> None:
    _, public = crypto.age_keygen()
    pk = crypto.ed25519_public_key(crypto.signing_seed())
    line = minisign.public_key_line(pk)
    r = consent.add_recipient(
        fresh_vault,
        "Lab",
        public,
        minisign_key=minisign.public_key_file(pk),
        homepage="https://lab.example",
    )
    assert r.minisign_key == line
    _, other = crypto.age_keygen()
    with pytest.raises(InvalidParameter):
        consent.add_recipient(fresh_vault, "B", other, minisign_key="not a key")
    with pytest.raises(InvalidParameter):
        consent.add_recipient(fresh_vault, "C", other, homepage="javascript:alert(1)")


def test_keygen_writes_a_private_identity_file_once(tmp_path: Path) -> None:
    path = tmp_path / "id.key"
    public = consent.write_identity(path)
    assert public.startswith("age1")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    keys = consent.read_identities(path)
    assert len(keys) == 1 and crypto.age_identity_public(keys[0]) == public
    with pytest.raises(AlreadyExists):
        consent.write_identity(path)
    assert consent.read_identities(path) == keys


def test_identity_files_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("# only a comment\n")
    with pytest.raises(MalformedAgeKey, match="no age identity"):
        consent.read_identities(bad)
    bad.write_text("AGE-SECRET-KEY-1NOTVALID\n")
    with pytest.raises(MalformedAgeKey, match="line 1"):
        consent.read_identities(bad)


def test_recipients_and_grants_are_stored_encrypted(fresh_vault: Vault, tmp_path: Path) -> None:
    world = build_world(fresh_vault, tmp_path)
    make_grant(fresh_vault, world, compensation="UNIQUE-COMPENSATION-MARKER")
    raw = raw_vault_bytes(fresh_vault.path)
    for secret in (b"Health Lab", b"dpo@lab.example", b"AcademicResearch", b"UNIQUE-COMP"):
        assert secret not in raw


# --- grants -------------------------------------------------------------------------------------


def test_grant_terms_scope_and_history(fresh_vault: Vault, world: World) -> None:
    g = make_grant(fresh_vault, world)
    assert g.recipient == world.recipient.id and g.persona == world.persona.id
    assert g.scope.metrics == ("steps",)
    assert "body_mass" in g.scope.metric_ids() and "height" in g.scope.metric_ids()
    assert "heart_rate" not in g.scope.metric_ids()
    assert g.scope.content_kinds == ("post",) and g.scope.content_tags == ("blog",)
    assert g.scope.attributes == ("email", "age_over:18")
    assert (
        g.time_range.start == "2026-10-10T00:00:00Z" and g.time_range.end == "2026-10-20T00:00:00Z"
    )
    assert g.valid_until == "2099-12-31T23:59:59Z"
    assert g.retention == "P1Y" and g.status == "given"
    assert [h.status for h in g.history] == ["given"]
    assert consent.get_grant(fresh_vault, g.id[:6]) == g
    assert [x.id for x in consent.list_grants(fresh_vault, recipient="health lab")] == [g.id]
    assert [x.id for x in consent.list_grants(fresh_vault, persona=world.other.id)] == []


def test_content_ids_are_resolved_and_must_belong_to_the_persona(
    fresh_vault: Vault, world: World
) -> None:
    mine = world.items["in"]
    g = make_grant(fresh_vault, world, scope=ScopeRequest(content_ids=mine.id[:8]))
    assert g.scope.content_ids == (mine.id,)
    with pytest.raises(ContradictoryScope, match="another persona"):
        make_grant(
            fresh_vault, world, scope=ScopeRequest(content_ids=world.items["out_persona"].id)
        )


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"scope": ScopeRequest()}, EmptyScope, "at least one"),
        ({"scope": ScopeRequest(metrics=" , ")}, EmptyScope, "at least one"),
        (
            {"scope": ScopeRequest(attributes="birth_date,age_over:18")},
            ContradictoryScope,
            "birth_date",
        ),
        ({"scope": ScopeRequest(metrics="no_such_metric")}, InvalidParameter, "unknown metric"),
        ({"scope": ScopeRequest(categories="pd:Nothing")}, InvalidParameter, "DPV category"),
        ({"scope": ScopeRequest(content_kinds="poem")}, InvalidParameter, "content kind"),
        ({"scope": ScopeRequest(attributes="shoe_size")}, InvalidParameter, "unknown attribute"),
        ({"scope": ScopeRequest(attributes="age_over:x")}, InvalidParameter, "age_over"),
        ({"valid_until": "2020-01-01"}, ContradictoryScope, "future"),
        ({"purpose": "research"}, InvalidParameter, "purpose"),
        ({"legal_basis": "consent"}, InvalidParameter, "legal basis"),
        ({"retention": "forever"}, InvalidParameter, "retention"),
        ({"granularity": "minute"}, InvalidParameter, "granularity"),
        ({"jurisdiction": " "}, InvalidParameter, "jurisdiction"),
        (
            {"scope": ScopeRequest(content_kinds="post", content_audiences="friends")},
            InvalidParameter,
            "unknown audience",
        ),
        (
            {"scope": ScopeRequest(metrics="steps", content_audiences="public")},
            ContradictoryScope,
            "--audience",
        ),
    ],
)
def test_bad_grants_are_refused_and_leave_the_vault_unchanged(
    fresh_vault: Vault,
    world: World,
    overrides: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    before = fresh_vault.store.state().writes
    with pytest.raises(error, match=match):
        make_grant(fresh_vault, world, **overrides)
    assert consent.list_grants(fresh_vault) == []
    assert fresh_vault.store.state().writes == before


@pytest.mark.parametrize(
    ("start", "end", "last", "match"),
    [
        ("2026-10-19", "2026-10-10", None, "ends before it starts"),
        ("2026-10-10", None, "30d", "not both"),
        (None, None, "30", "--last"),
        (None, None, "0d", "--last"),
        ("yesterday", None, None, "ISO 8601"),
    ],
)
def test_contradictory_or_malformed_time_ranges(
    start: str | None, end: str | None, last: str | None, match: str
) -> None:
    with pytest.raises(InvalidParameter, match=match):
        consent.TimeRange.build(start, end, last)


def test_rolling_range_resolves_at_each_moment() -> None:
    rng = consent.TimeRange.build(last="30d")
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    start, end = rng.resolve(now)
    assert end == now and start == datetime(2026, 10, 27, 12, 0, tzinfo=UTC)
    assert rng.describe() == "rolling, last 30d"


def test_status_history_withdrawn_is_final(fresh_vault: Vault, world: World) -> None:
    g = make_grant(fresh_vault, world)
    when = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    w = consent.set_grant_status(
        fresh_vault, g.id, consent.WITHDRAWN, at=when, reason="changed mind"
    )
    assert [(h.status, h.time) for h in w.history] == [
        ("given", g.created),
        ("withdrawn", "2026-11-01T08:00:00Z"),
    ]
    assert consent.get_grant(fresh_vault, g.id).status == "withdrawn"
    with pytest.raises(GrantWithdrawn):
        consent.set_grant_status(fresh_vault, g.id, consent.EXPIRED)
    with pytest.raises(GrantWithdrawn):
        consent.check_exportable(fresh_vault, consent.get_grant(fresh_vault, g.id))
    with pytest.raises(InvalidParameter):
        consent.set_grant_status(fresh_vault, g.id, "paused")
    # The terms never change: only the history grew.
    assert consent.get_grant(fresh_vault, g.id).scope == g.scope
    assert consent.get_grant(fresh_vault, g.id).receipt == g.receipt


def test_expiry_is_computed_and_recorded_when_an_export_is_refused(
    fresh_vault: Vault, world
) -> None:  # type: ignore[no-untyped-def]
    g = make_grant(fresh_vault, world, valid_until="2030-06-30")
    later = datetime(2031, 1, 1, tzinfo=UTC)
    assert g.status_at(later) == "expired" and g.status == "given"
    with pytest.raises(GrantExpired, match="2030-06-30T23:59:59Z"):
        consent.check_exportable(fresh_vault, g, later)
    stored = consent.get_grant(fresh_vault, g.id)
    assert [(h.status, h.time) for h in stored.history][-1] == ("expired", "2030-06-30T23:59:59Z")
    # An expired grant can still be withdrawn, never given again.
    assert consent.set_grant_status(fresh_vault, g.id, "withdrawn").status == "withdrawn"


def test_grant_changes_are_audited_with_ids_only(fresh_vault: Vault, world: World) -> None:
    g = make_grant(fresh_vault, world)
    consent.set_grant_status(fresh_vault, g.id, "withdrawn")
    entries = [e for e in fresh_vault.audit_log() if e.action.startswith("grant.")]
    assert [e.action for e in entries] == ["grant.create", "grant.withdrawn"]
    assert all("Health" not in str(e.details) for e in entries)


# --- receipts -----------------------------------------------------------------------------------


def test_receipt_fields_validate_against_the_documented_schema(
    fresh_vault: Vault, world: World
) -> None:
    g = make_grant(fresh_vault, world)
    body = g.receipt.json()
    jsonschema.Draft202012Validator.check_schema(receipt_schema())
    jsonschema.validate(body, receipt_schema())
    assert body["piiPrincipalId"] == g.pseudonym != world.persona.id
    assert body["dataSubject"]["id"] == g.pseudonym
    assert body["piiControllers"][0]["piiController"] == "Health Lab"
    assert body["purposes"] == ["dpv:AcademicResearch"]
    assert "pd:PhysicalHealth" in body["personalDataCategories"]  # steps
    assert {"pd:EmailAddress", "pd:AgeRange"} <= set(body["personalDataCategories"])
    assert body["sensitive"] is True and body["spiCat"] == ["pd:PhysicalHealth"]
    assert body["validUntil"] == g.valid_until and body["retention"] == "P1Y"
    assert body["compensation"] == "a free annual check-up"
    assert body["timeRange"]["from"] == "2026-10-10T00:00:00Z"
    assert body["grantId"] == g.id and body["consentReceiptID"] == g.receipt.id
    assert body["scope"]["content_audiences"] == ["public"]
    # Nothing that names the person.
    text = g.receipt.data.decode()
    for leak in (world.persona.id, world.persona.uid, "Ada", "Pro self", "ada@example.org"):
        assert leak not in text


def test_receipt_is_signed_by_the_pairwise_key(fresh_vault: Vault, world: World) -> None:
    g = make_grant(fresh_vault, world)
    pairwise = identities.signer(
        fresh_vault, world.persona.id, recipient=world.recipient.fingerprint
    )
    assert g.persona_key == pairwise.minisign_public_key() == g.receipt.json()["publicKey"]
    own = identities.signer(fresh_vault, world.persona.id)
    assert own.minisign_public_key() != g.persona_key
    consent.verify_receipt(g.receipt.data, g.receipt.signature)
    tampered = g.receipt.data.replace(b"P1Y", b"P9Y")
    with pytest.raises(Exception, match="signature"):
        consent.verify_receipt(tampered, g.receipt.signature)


def test_two_recipients_see_unlinkable_pseudonyms_and_keys(
    fresh_vault: Vault, world: World
) -> None:
    _, public = crypto.age_keygen()
    other = consent.add_recipient(fresh_vault, "Insurer", public)
    a = make_grant(fresh_vault, world)
    b = make_grant(fresh_vault, world, recipient=other.id)
    assert a.pseudonym != b.pseudonym and a.persona_key != b.persona_key
    # The same recipient always sees the same pseudonym.
    assert make_grant(fresh_vault, world).pseudonym == a.pseudonym


@pytest.mark.interop
def test_receipt_signature_verifies_with_minisign_tool(
    fresh_vault: Vault, world, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    g = make_grant(fresh_vault, world)
    (tmp_path / "receipt.json").write_bytes(g.receipt.data)
    (tmp_path / "receipt.json.minisig").write_text(g.receipt.signature)
    done = subprocess.run(
        ["minisign", "-Vm", str(tmp_path / "receipt.json"), "-P", g.persona_key],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"coffre consent receipt {g.receipt.id}" in done.stdout


def test_audiences_a_grant_names_are_in_its_receipt(fresh_vault: Vault, world: World) -> None:
    scope = ScopeRequest(content_tags="blog", content_audiences="unlisted, Public")
    g = make_grant(fresh_vault, world, scope=scope)
    assert g.scope.content_audiences == ("public", "unlisted")
    assert g.receipt.json()["scope"]["content_audiences"] == ["public", "unlisted"]
    assert consent.get_grant(fresh_vault, g.id).scope == g.scope
    jsonschema.validate(g.receipt.json(), receipt_schema())
    # A scope without content names no audience at all.
    metrics_only = make_grant(fresh_vault, world, scope=ScopeRequest(metrics="steps"))
    assert metrics_only.scope.as_dict()["content_audiences"] == []


def test_an_item_named_by_id_leaves_only_if_its_audience_is_granted(
    fresh_vault: Vault, world: World
) -> None:
    direct = add_audience_posts(fresh_vault, world)["direct"]
    with pytest.raises(ContradictoryScope, match=r"is direct.*--audience direct"):
        make_grant(fresh_vault, world, scope=ScopeRequest(content_ids=direct.id))
    g = make_grant(
        fresh_vault, world, scope=ScopeRequest(content_ids=direct.id, content_audiences="direct")
    )
    assert g.scope.content_ids == (direct.id,) and g.scope.audiences == ("direct",)


def test_a_grant_stored_before_audiences_covers_public_content_only(
    fresh_vault: Vault, world: World
) -> None:
    posts = add_audience_posts(fresh_vault, world)
    g = make_grant(fresh_vault, world, scope=ScopeRequest(content_kinds="post"))
    rec = fresh_vault.store.get(consent.grants.KIND, g.id)
    stored = json.loads(rec.data)
    del stored["scope"]["content_audiences"]
    with fresh_vault.store.write() as txn:
        txn.update(consent.grants.KIND, g.id, json.dumps(stored).encode(), terms=rec.terms)
    old = consent.get_grant(fresh_vault, g.id)
    assert old.scope.content_audiences == () and old.scope.audiences == ("public",)
    assert old.scope.covers(world.items["in"])
    assert not any(old.scope.covers(item) for item in posts.values())
