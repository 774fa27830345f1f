"""Bundles built from the shared real-world samples: a full vCard 4.0 and a Markdown file
with front matter go in through the importers; what comes out of the bundle parses again
and carries only what the grant names."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from vault import content
from vault import personas as identities
from vault import sharing as consent
from vault.content.importers.markdown import parse as parse_markdown
from vault.core import crypto
from vault.core.vault import Vault
from vault.personas import vcard
from vault.sharing import bundles as bundle


def test_real_vcard_and_markdown_leave_only_what_is_granted(
    fresh_vault: Vault, samples: Path, tmp_path: Path
) -> None:
    drafts, _ = vcard.drafts_from_file(samples / "vcard" / "vcard40_full.vcf")
    result = identities.import_drafts(fresh_vault, drafts, fmt="vcard")
    (pid,) = result.added_ids
    item = content.add_file(
        fresh_vault,
        samples / "markdown-frontmatter" / "yaml_hello-markdown.md",
        persona=pid,
        audience="public",
    )
    secret, public = crypto.age_keygen()
    consent.add_recipient(fresh_vault, "Club", public)
    g = consent.create_grant(
        fresh_vault,
        recipient="Club",
        persona=pid,
        scope=consent.ScopeRequest(
            attributes="email.work,age_over:18,country", content_ids=item.id
        ),
        purpose="dpv:ServiceProvision",
        valid_until="2099-01-01",
    )
    now = datetime(2026, 11, 26, tzinfo=UTC)
    bundle.export_bundle(fresh_vault, g.id, tmp_path / "b.age", now=now)
    out = tmp_path / "out"
    bundle.open_bundle(tmp_path / "b.age", [secret], out, now=now)

    card_text = (out / "data" / "identity.vcf").read_bytes()
    (card,) = vcard.parse_vcard_text(card_text, "identity.vcf")
    names = {p.name for p in card}
    assert {"VERSION", "FN", "UID", "EMAIL", "X-COFFRE-FIELD"} <= names
    assert not names & {"N", "BDAY", "ADR", "TEL", "NICKNAME", "PHOTO", "ORG", "NOTE", "KIND"}
    emails = [p.text for p in card if p.name == "EMAIL"]
    assert emails == ["john.public@example.com"]
    fields = {p.param("X-KEY")[0]: p.text for p in card if p.name == "X-COFFRE-FIELD"}
    assert fields == {"age_over:18": "true", "country": "US"}
    text = card_text.decode()
    for leak in ("Public", "f81d4fae", "1985", "johnny@personal", "Main Street"):
        assert leak not in text

    (md,) = (out / "data" / "content").glob("*.md")
    meta, body = parse_markdown(md.read_bytes(), md.name)
    assert meta["title"] == item.title and meta["sha256"] == item.sha256
    assert "Hello." in body and "And this shouldn't break." in body
