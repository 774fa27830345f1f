"""Export a grant as a bundle: a tar streamed into an age v1 file for the recipient.

The plaintext never touches the disk: entries are produced one at a time from the vault,
written as tar into an age writer (`crypto.AgeWriter`), and only ciphertext reaches the
output (a temporary file in the target directory renamed into place, or stdout). The
manifest, signed with the persona's pairwise key, comes last in the tar so that it can list
the size and SHA-256 of every file actually written.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import yaml

from vault import content
from vault import personas as identities
from vault.core import crypto, i18n, minisign, writeback
from vault.core.errors import InvalidParameter, NothingInScope, TokenExpired, TokenOnlyExports
from vault.core.i18n import N_
from vault.core.outputs import check_free, pending_output
from vault.core.progress import Progress, ProgressCallback
from vault.core.records import Record
from vault.data import chunks as qs_chunks
from vault.data import export as qs_export
from vault.data import health_records, query
from vault.sharing import check_exportable, get_grant, get_recipient, ledger
from vault.sharing.bundles.plan import (
    ContentSelection,
    ExportPlan,
    Identity,
    MetricSelection,
    SentBefore,
    build_plan,
)
from vault.sharing.bundles.tarstream import Entry, Written, tar_stream
from vault.sharing.recipients import Recipient

if TYPE_CHECKING:
    from vault.core.vault import Vault

FORMAT: Final = "coffre.bundle/v1"
MANIFEST: Final = "manifest.json"
MANIFEST_SIG: Final = "manifest.json.minisig"
RECEIPT: Final = "receipt.json"
RECEIPT_SIG: Final = "receipt.json.minisig"
README: Final = "README.md"
IDENTITY: Final = "data/identity.vcf"


@dataclass(frozen=True)
class BundleResult:
    """What an export wrote: the bundle's id, the SHA-256 and size of the age file, the
    plan it carried out and the manifest it signed."""

    bundle_id: str
    sha256: str
    size: int
    path: Path | None
    plan: ExportPlan
    manifest: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `export --json`: the bundle, which names its grant."""
        return {
            "id": self.bundle_id,
            "grant": self.plan.grant.id,
            "sha256": self.sha256,
            "size": self.size,
            "path": str(self.path) if self.path else None,
            "files": len(self.manifest["files"]),
            "counts": self.manifest["counts"],
            "previous_bundle": self.plan.previous_bundle,
        }


def sent_before(vault: Vault, grant_id: str) -> SentBefore | None:
    """What earlier complete bundles of the grant carried (None when there were none)."""
    bundles = ledger.bundles_for_grant(vault, grant_id)
    if vault.token is not None:
        # A token also reads the exports it made since a passphrase session last moved them
        # into the ledger (they are logged under its own key).
        bundles += [
            ledger.BundleRecord.from_record(
                Record("", ledger.KIND, 1, json.dumps(payload).encode("utf-8"))
            )
            for payload in vault.token.logged_exports()
        ]
        bundles.sort(key=lambda b: (b.time, b.seq))
    bundles = [b for b in bundles if b.status == "complete"]
    if not bundles:
        return None
    metric_next: dict[str, int] = {}
    versions: dict[str, int] = {}
    identity = None
    for b in bundles:
        for m in b.metrics:
            metric_next[m.metric] = max(metric_next.get(m.metric, 0), m.next_start)
        for c in b.content:
            versions[c.id] = max(versions.get(c.id, 0), c.version)
        if b.identity_sha256:
            identity = b.identity_sha256
    return SentBefore(bundles[-1].bundle_id, metric_next, versions, identity)


def prepare(
    vault: Vault,
    grant_ref: str,
    *,
    since_last: bool = False,
    now: datetime | None = None,
    keep: dict[str, qs_chunks.Columns] | None = None,
    identity: Identity | None = None,
) -> ExportPlan:
    """Check the grant (refusing expired and withdrawn ones) and plan the export; refuse
    with NothingInScope, saying why, when nothing would leave. `--dry-run` shows this.
    `keep` receives the raw samples the plan decrypted (see `build_plan`); `identity` stands
    for the persona on the token path."""
    if vault.token is not None:
        from vault.sharing import tokens

        _check_token(vault, grant_ref)
        identity = identity or tokens.token_signer(vault)[1]
    grant = check_exportable(vault, get_grant(vault, grant_ref), now)
    sent = sent_before(vault, grant.id) if since_last else None
    plan = build_plan(vault, grant, at=now, sent=sent, keep=keep, identity=identity)
    if plan.is_empty():
        if sent is not None:
            raise NothingInScope(N_("nothing new since bundle {bundle}"), bundle=sent.last_bundle)
        where = grant.time_range.describe()
        if plan.missing_attributes:
            raise NothingInScope(
                N_(
                    "grant {grant} selects no data in its range ({where}); the persona has no "
                    "value for {missing}"
                ),
                grant=grant.id[:8],
                where=where,
                missing=", ".join(plan.missing_attributes),
            )
        raise NothingInScope(
            N_("grant {grant} selects no data in its range ({where})"),
            grant=grant.id[:8],
            where=where,
        )
    return plan


def _check_token(vault: Vault, grant_ref: str) -> None:
    """What a token may not do: export another grant, or run after its expiry."""
    from vault.sharing import tokens

    token = vault.token
    if token is None:  # pragma: no cover - called on the token path only
        return
    if not token.view.grant.startswith(grant_ref.strip().lower()):
        raise TokenOnlyExports(
            N_("this token exports grant {grant} only"), grant=token.view.grant[:8]
        )
    if tokens.token_expired(vault):
        raise TokenExpired(N_("on {time}"), time=token.view.expires)


# --- building the entries ---------------------------------------------------------------------


def _bytes_entry(name: str, data: bytes) -> Entry:
    return Entry(name, len(data), lambda: (data,))


_SAFE_FILE: Final = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_file(name: str, fallback: str) -> str:
    base = _SAFE_FILE.sub("-", os.path.basename(name or "")).strip(".-")[:80]
    return base or fallback


def _front_matter(
    item: content.Item, version: content.Version, media: list[dict[str, Any]]
) -> bytes:
    fm: dict[str, Any] = {
        "title": item.title,
        "kind": item.kind,
        "audience": item.audience,
        "tags": list(item.tags),
        "created": item.created,
        "updated": item.updated,
        "license": item.license,
        "version": item.version,
        "media_type": item.media_type,
        "sha256": version.sha256,
    }
    if item.content_warning:
        fm["content_warning"] = item.content_warning
    if item.source_url:
        fm["source_url"] = item.source_url
    if media:
        fm["media"] = media
    text = yaml.safe_dump(fm, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{text}---\n".encode()


def _content_entries(vault: Vault, sel: ContentSelection) -> Iterator[Entry]:
    item = sel.item
    version = content.get_version(vault, item.id)
    store = vault.store
    folder = f"data/content/{sel.slug}"
    media: list[dict[str, Any]] = []
    media_entries: list[Entry] = []
    is_text = item.media_type.startswith("text/")
    if not is_text:
        name = _safe_file(item.filename or "", "body")
        media.append({"path": f"{sel.slug}/{name}", "media_type": item.media_type})
        body = version.body
        media_entries.append(
            Entry(f"{folder}/{name}", body.size, partial(store.read_blob, body), body.sha256)
        )
    used = {m["path"] for m in media}
    for i, (att, ref) in enumerate(zip(version.attachments, version.attachment_blobs, strict=True)):
        name = _safe_file(att.name, f"attachment-{i + 1}")
        if f"{sel.slug}/{name}" in used:
            name = f"{i + 1}-{name}"
        used.add(f"{sel.slug}/{name}")
        entry: dict[str, Any] = {"path": f"{sel.slug}/{name}", "media_type": att.media_type}
        if att.alt:
            entry["alt"] = att.alt
        media.append(entry)
        media_entries.append(
            Entry(f"{folder}/{name}", ref.size, partial(store.read_blob, ref), ref.sha256)
        )
    head = _front_matter(item, version, media)
    if is_text:

        def md_chunks(head: bytes = head, ref: Any = version.body) -> Iterator[bytes]:
            yield head
            yield from store.read_blob(ref)

        yield Entry(f"data/content/{sel.slug}.md", len(head) + version.body.size, md_chunks)
    else:
        yield _bytes_entry(f"data/content/{sel.slug}.md", head)
    yield from media_entries


def _readme(plan: ExportPlan, recipient: Recipient, bundle_id: str) -> bytes:
    """The README for the recipient: in the person's language, then in English (the
    manifest and the receipt, which programs read, are the same in every language)."""
    texts = [
        _readme_in(i18n.translator(lang), plan, recipient, bundle_id)
        for lang in i18n.person_languages()
    ]
    return "\n---\n\n".join(texts).encode()


def _readme_in(
    _: Callable[[str], str], plan: ExportPlan, recipient: Recipient, bundle_id: str
) -> str:
    g = plan.grant
    return _(README_TEXT).format(
        bundle_id=bundle_id,
        recipient=recipient.name,
        grant=g.id,
        purpose=g.purpose,
        legal_basis=g.legal_basis,
        valid_until=g.valid_until,
        pseudonym=g.pseudonym,
        persona_key=g.persona_key,
        retention=g.retention or _("not stated"),
    )


README_TEXT: Final = N_("""# Coffre bundle {bundle_id}

This bundle was shared with **{recipient}** under grant `{grant}` for the purpose
`{purpose}` (legal basis `{legal_basis}`), valid until {valid_until}. The person
appears to you under the pseudonymous id `{pseudonym}`.

## Verify it

1. `manifest.json` lists every file with its size and SHA-256; `sha256sum` each one.
2. Check the manifest's signature with the persona's pairwise key (the `persona_minisign_key`
   field of the manifest, also the `publicKey` of `receipt.json`):

       minisign -Vm manifest.json -P {persona_key}

3. `receipt.json` (signed in `receipt.json.minisig`, same key) records what was agreed:
   purposes, data categories, time range, retention, expiry, compensation, and how consent
   is withdrawn.

Or let Coffre do all of it: `coffre bundle verify BUNDLE.age -i IDENTITY`.

## Contents

- `data/identity.vcf`: vCard 4.0 of the granted identity attributes only.
- `data/qs/<metric>.fhir.json`: FHIR R4 Bundle of Observations (LOINC, UCUM).
- `data/qs/<metric>.omh.json`: IEEE 1752.1 / Open mHealth data points.
- `data/qs/<metric>.csv`: the same values as CSV.
- `data/qs/ecg-recordings.fhir.json`: ECG recordings (raw granularity only), a FHIR R4
  Bundle of Observations (LOINC 11524-6) whose `valueSampledData` holds the voltages.
- `data/qs/clinical-records.fhir.json`: clinical records (raw granularity only), a FHIR
  Bundle of the resources as the providers wrote them; each entry's extensions name the
  provider (`urn:coffre:provider`) and the FHIR release of its resource
  (`urn:coffre:fhir-version`: `1.0.2` is DSTU2, `4.0.1` is R4).
- `data/content/<slug>.md`: authored content with YAML front matter; media next to it.

When the grant is withdrawn or expires, you will receive a signed request to erase this
data (GDPR Art. 7(3) and Art. 17). Keep it no longer than the retention you asked for
({retention}).
""")


@dataclass
class _Build:
    """The state of one export while its tar streams: what was written, and the counts."""

    vault: Vault
    plan: ExportPlan
    recipient: Recipient
    signer: identities.Signer
    bundle_id: str
    progress: Progress
    columns: dict[str, qs_chunks.Columns] = field(default_factory=dict)  # raw, from the plan
    written: list[Written] = field(default_factory=list)
    metric_counts: dict[str, int] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)

    def entries(self) -> Iterator[Entry]:
        plan, grant = self.plan, self.plan.grant
        yield _bytes_entry(README, _readme(plan, self.recipient, self.bundle_id))
        yield _bytes_entry(RECEIPT, grant.receipt.data)
        yield _bytes_entry(RECEIPT_SIG, grant.receipt.signature.encode("ascii"))
        self.progress.advance()
        if plan.identity_card:
            yield _bytes_entry(IDENTITY, plan.identity_card)
        for sel in plan.metrics:
            yield from self._metric_entries(sel)
            self.progress.advance()
        for item in plan.content:
            yield from _content_entries(self.vault, item)
            self.progress.advance()
        self.manifest = self._manifest()
        data = (json.dumps(self.manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        yield _bytes_entry(MANIFEST, data)
        sig = minisign.sign_with(
            self.signer.sign,
            self.signer.key_id,
            data,
            f"coffre bundle {self.bundle_id} for {self.recipient.fingerprint}",
            "signature of a Coffre bundle manifest",
        )
        yield _bytes_entry(MANIFEST_SIG, sig.encode("ascii"))

    def _metric_entries(self, sel: MetricSelection) -> Iterator[Entry]:
        grant = self.plan.grant
        subject = f"urn:uuid:{uuid.UUID(hex=grant.pseudonym[:32])}"
        persona, metric, gran = grant.persona, sel.metric, grant.granularity
        if gran == "raw":
            yield from self._raw_metric_entries(sel, subject)
            return
        buf = io.StringIO()
        n = qs_export.export_fhir(
            self.vault,
            persona,
            metric,
            sel.start,
            sel.end,
            gran,
            buf,
            subject=subject,
            include_sources=False,
        )
        self.metric_counts[metric] = n
        yield _bytes_entry(f"data/qs/{metric}.fhir.json", buf.getvalue().encode("utf-8"))
        if metric in qs_export.OMH_SCHEMAS:
            buf = io.StringIO()
            qs_export.export_omh(
                self.vault, persona, metric, sel.start, sel.end, gran, buf, include_sources=False
            )
            yield _bytes_entry(f"data/qs/{metric}.omh.json", buf.getvalue().encode("utf-8"))
        buf = io.StringIO()
        qs_export.export_csv(
            self.vault, persona, metric, sel.start, sel.end, gran, buf, include_sources=False
        )
        yield _bytes_entry(f"data/qs/{metric}.csv", buf.getvalue().encode("utf-8"))

    def _raw_metric_entries(self, sel: MetricSelection, subject: str) -> Iterator[Entry]:
        """Raw samples: the metric's columns are decrypted once (compact, about 50 bytes a
        sample); each file announces its exact size, then renders a slice at a time as the
        tar streams, so no file is ever whole in memory."""
        metric = sel.metric
        if metric in health_records.RECORD_KINDS:
            yield from self._record_entries(sel, subject)
            return
        parts = self.columns.pop(metric, None)
        if parts is None:
            parts = query.load(self.vault, self.plan.grant.persona, metric, sel.start, sel.end)
        # Source and device names ("Ana's Apple Watch") never leave: they could name the
        # person or link two personas across recipients.
        now = self.vault.clock.now()
        fhir = qs_export.fhir_document(
            parts, metric, subject=subject, include_sources=False, now=now
        )
        self.metric_counts[metric] = fhir.count
        yield Entry(f"data/qs/{metric}.fhir.json", fhir.size, fhir.chunks)
        if metric in qs_export.OMH_SCHEMAS:
            omh = qs_export.omh_document(parts, metric, include_sources=False, now=now)
            yield Entry(f"data/qs/{metric}.omh.json", omh.size, omh.chunks)
        table = qs_export.csv_document(parts, metric, include_sources=False)
        yield Entry(f"data/qs/{metric}.csv", table.size, table.chunks)

    def _record_entries(self, sel: MetricSelection, subject: str) -> Iterator[Entry]:
        """ECG recordings and clinical records at raw granularity: the records themselves
        (a recording's voltages, a provider's resource), and not the samples that count
        them, which would only say "one recording" a time."""
        documents = health_records.bundle_documents(
            self.vault,
            self.plan.grant.persona,
            sel.metric,
            start=sel.start,
            end=sel.end,
            subject=subject,
            now=self.vault.clock.now(),
        )
        self.metric_counts[sel.metric] = sum(n for _name, _data, n in documents)
        for name, data, _n in documents:
            yield _bytes_entry(name, data)

    def counts(self) -> dict[str, Any]:
        """The manifest's counts: per metric, then samples (or periods), and at raw
        granularity ECG recordings and clinical records apart, as what they are."""
        raw = self.plan.grant.granularity == "raw"
        records = {
            health_records.ECG_METRIC: "recordings",
            health_records.CLINICAL_METRIC: "records",
        }
        apart = {
            word: self.metric_counts[m]
            for m, word in records.items()
            if raw and m in self.metric_counts
        }
        rest = sum(n for m, n in self.metric_counts.items() if not (raw and m in records))
        return {
            "metrics": dict(self.metric_counts),
            "samples" if raw else "periods": rest,
            **apart,
            "content_items": len(self.plan.content),
            "attributes": len(self.plan.attributes),
            "files": len(self.written),
        }

    def _manifest(self) -> dict[str, Any]:
        plan, g, signer = self.plan, self.plan.grant, self.signer
        files = [{"path": w.name, "size": w.size, "sha256": w.sha256} for w in self.written]
        return {
            "format": FORMAT,
            "bundle_id": self.bundle_id,
            "grant_id": g.id,
            "receipt_id": g.receipt.id,
            "created": plan.at.isoformat().replace("+00:00", "Z"),
            "recipient": {"name": self.recipient.name, "fingerprint": self.recipient.fingerprint},
            "recipient_fingerprint": self.recipient.fingerprint,
            "persona_id": signer.pseudonym,
            "persona_minisign_key": signer.minisign_public_key(),
            "purpose": g.purpose,
            "legal_basis": g.legal_basis,
            "valid_until": g.valid_until,
            "scope": g.scope.as_dict(),
            "granularity": g.granularity,
            "time_range": {
                "from": query.iso(plan.start) if plan.start is not None else None,
                "to": query.iso(plan.end) if plan.end is not None else None,
                "rule": g.time_range.as_dict(),
            },
            "previous_bundle": plan.previous_bundle,
            "counts": self.counts(),
            "files": files,
        }

    def record(
        self, sink: _HashingSink, status: str, finalize: Callable[[], None] | None = None
    ) -> None:
        """Write the ledger entry (and, for files, rename into place in the same step)."""
        plan, grant = self.plan, self.plan.grant
        metrics = tuple(
            ledger.MetricSent(
                m.metric,
                self.metric_counts.get(m.metric, m.count),
                query.iso(m.first),
                query.iso(m.last),
                m.next_start,
                grant.granularity,
            )
            for m in plan.metrics
            if status == "complete" or m.metric in self.metric_counts
        )
        items = tuple(
            ledger.ContentSent(c.item.id, c.item.version, c.item.title, f"data/content/{c.slug}.md")
            for c in plan.content
        )
        card = plan.identity_card
        record = ledger.BundleRecord(
            bundle_id=self.bundle_id,
            grant=grant.id,
            recipient=grant.recipient,
            persona=grant.persona,
            time=plan.at.isoformat().replace("+00:00", "Z"),
            sha256=sink.hexdigest() if status == "complete" else "",
            size=sink.size,
            status=status,
            previous_bundle=plan.previous_bundle,
            metrics=metrics,
            content=items,
            attributes=plan.attributes,
            identity_sha256=hashlib.sha256(card).hexdigest() if card else None,
            files=len(self.written),
        )
        token = self.vault.token
        if token is not None:
            # No passphrase, so no audit key: the export is logged under the token's key, and
            # the next passphrase session moves it into the ledger and the audit log.
            token.log_export(replace(record, token=token.token_id).as_dict())
            if finalize is not None:
                finalize()
            return
        with self.vault.store.write() as txn:
            ledger.record_export(self.vault, txn, record)
            if finalize is not None:
                finalize()


# --- writing ----------------------------------------------------------------------------------


class _HashingSink:
    """Takes the age writer's sealed buffers over (`crypto.OwnedSink`) and, on a second
    thread, writes them to the output while hashing and counting them: file writes and
    hashlib release the GIL, the cipher does not, so the output is written and hashed beside
    the encryption rather than in turn. A file output is written back to the disk as it
    grows (`vault.core.writeback`), not all at the fsync. `close` waits for the last buffer
    and raises what writing raised (a full disk, a closed pipe)."""

    def __init__(self, out: BinaryIO, *, is_file: bool = False) -> None:
        self._out = out
        self._early = writeback.Writeback(out.fileno()) if is_file else None
        self._sha = hashlib.sha256()
        self.size = 0  # bytes written to the output
        self._queue: queue.SimpleQueue[_Handed | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._stopped = False
        self._digest: str | None = None
        self._thread = threading.Thread(target=self._run, name="coffre-bundle-out", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (handed := self._queue.get()) is not None:
            data, done = handed
            try:
                if self._error is None and not self._stopped:
                    self._out.write(data)
                    self._sha.update(data)
                    self.size += len(data)
                    if self._early is not None:
                        self._early.wrote(len(data))
            except BaseException as exc:  # raised again on the caller's thread
                self._error = exc
            finally:
                if done is not None:
                    done()

    def write(self, data: bytes | memoryview) -> int:
        """Pass `data` on (copied unless it is immutable `bytes`)."""
        self._raise()
        self._queue.put((data if type(data) is bytes else bytes(data), None))
        return len(data)

    def write_owned(self, data: memoryview, done: Callable[[], None]) -> None:
        """Pass `data` on in place; `done` is called once it was written and hashed."""
        self._raise()
        self._queue.put((data, done))

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Wait until everything passed on was written and flushed; raise what writing
        raised. The digest is then final."""
        self._join()
        self._raise()
        self._out.flush()
        self._digest = self._sha.hexdigest()

    def abandon(self) -> None:
        """Stop the writing thread after a failure: what is still queued is not written
        (`size` says what was)."""
        self._stopped = True
        self._join()

    def _join(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def hexdigest(self) -> str:
        """The SHA-256 of everything written (after `close`)."""
        if self._digest is None:
            raise ValueError("the bundle is not complete")
        return self._digest


_Handed = tuple[bytes | memoryview, Callable[[], None] | None]


def export_bundle(
    vault: Vault,
    grant_ref: str,
    out: Path | BinaryIO,
    *,
    since_last: bool = False,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
    force: bool = False,
) -> BundleResult:
    """Export a grant to `out` (a path, written as an output file that replaces an existing
    one only with `force`, or a binary stream such as stdout) and record it in the ledger.
    Refuses (ConsentRefused subclasses) when the grant is withdrawn, expired or selects
    nothing."""
    if isinstance(out, Path):
        check_free([out], force=force)  # before any work
    columns: dict[str, qs_chunks.Columns] = {}
    identity: Identity | None = None
    if vault.token is not None:
        from vault.sharing import tokens

        token_signer, identity = tokens.token_signer(vault)
    plan = prepare(
        vault, grant_ref, since_last=since_last, now=now, keep=columns, identity=identity
    )
    grant = plan.grant
    recipient = get_recipient(vault, grant.recipient)
    if vault.token is not None:
        signer = token_signer
    else:
        signer = identities.signer(vault, grant.persona, recipient=recipient.fingerprint)
    if signer.pseudonym != grant.pseudonym:
        raise InvalidParameter(N_("the persona's pairwise key no longer matches the grant's"))
    prog = Progress(N_("export"), progress)
    prog.start(len(plan.metrics) + len(plan.content) + 1)
    build = _Build(vault, plan, recipient, signer, uuid.uuid4().hex, prog, columns)
    chunks = tar_stream(build.entries(), int(plan.at.timestamp()), build.written.append)

    def encrypt(sink: _HashingSink) -> None:
        writer = crypto.AgeWriter(sink, recipient.age_key)
        for chunk in chunks:
            writer.write(chunk)
        writer.close()
        sink.close()

    path: Path | None = None
    if isinstance(out, Path):
        sink = _write_atomically(out, force, encrypt, build.record)
        path = out
    else:
        sink = _HashingSink(out)
        try:
            encrypt(sink)
        except BaseException:
            sink.abandon()
            if sink.size:
                # Part of the bundle left through the stream: the ledger says so.
                build.record(sink, "interrupted")
            raise
        build.record(sink, "complete")
    prog.finish()
    return BundleResult(build.bundle_id, sink.hexdigest(), sink.size, path, plan, build.manifest)


def _write_atomically(
    target: Path,
    force: bool,
    encrypt: Callable[[_HashingSink], None],
    commit: Callable[[_HashingSink, str, Callable[[], None] | None], None],
) -> _HashingSink:
    """Ciphertext goes to an output file (`vault.core.outputs`); the ledger entry is written
    and the file renamed into place in one step, only once everything succeeded."""
    with pending_output(target, force=force) as out:
        sink = _HashingSink(out.file, is_file=True)
        try:
            encrypt(sink)
            commit(sink, "complete", out.publish)
        except BaseException:
            sink.abandon()  # before the output file is closed and removed
            raise
    return sink
