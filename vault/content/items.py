"""Authored content: notes, posts, articles and files, their versions and signed authorship.

An item is one `content.item` record (title, kind, tags, persona, licence, times, links) and
one `content.version` record per version, each holding its body (and attachments) as blobs
streamed through the chunked AEAD, so a file of any size goes in and out in constant memory.
Every version carries an authorship statement (JSON) signed by the persona in minisign
format, so anyone can check with `minisign -V` who made which bytes, under which licence,
and when; docs/formats.md describes the statement.
"""

from __future__ import annotations

import codecs
import json
import mimetypes
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from vault.content.audience import DEFAULT as DEFAULT_AUDIENCE
from vault.content.audience import normalize_audience, stored_audience
from vault.core import crypto, minisign
from vault.core.clock import iso
from vault.core.errors import InvalidParameter, MalformedInput, RecordNotFound
from vault.core.i18n import N_, Text, sentence
from vault.core.progress import ProgressCallback
from vault.core.records import BlobRef, Record
from vault.core.txn import Txn

if TYPE_CHECKING:
    from vault.core.vault import Vault
    from vault.personas import Signer

ITEM: Final = "content.item"
VERSION: Final = "content.version"
STATEMENT_TYPE: Final = "coffre.authorship/v1"

KINDS: Final = ("note", "post", "article", "page", "file", "photo", "audio", "video", "model")
ALL_RIGHTS_RESERVED: Final = "all-rights-reserved"

# SPDX identifiers a creator is likely to choose (https://spdx.org/licenses/), plus Coffre's
# `all-rights-reserved`. Matching ignores case; the canonical spelling is stored.
SPDX_LICENSES: Final = frozenset(
    {
        "0BSD", "AFL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-2.0", "Artistic-2.0",
        "BSD-2-Clause", "BSD-3-Clause", "BSL-1.0", "CC-BY-1.0", "CC-BY-2.0", "CC-BY-2.5",
        "CC-BY-3.0", "CC-BY-4.0", "CC-BY-NC-1.0", "CC-BY-NC-2.0", "CC-BY-NC-2.5",
        "CC-BY-NC-3.0", "CC-BY-NC-4.0", "CC-BY-NC-ND-1.0", "CC-BY-NC-ND-2.0",
        "CC-BY-NC-ND-2.5", "CC-BY-NC-ND-3.0", "CC-BY-NC-ND-4.0", "CC-BY-NC-SA-1.0",
        "CC-BY-NC-SA-2.0", "CC-BY-NC-SA-2.5", "CC-BY-NC-SA-3.0", "CC-BY-NC-SA-4.0",
        "CC-BY-ND-1.0", "CC-BY-ND-2.0", "CC-BY-ND-2.5", "CC-BY-ND-3.0", "CC-BY-ND-4.0",
        "CC-BY-SA-1.0", "CC-BY-SA-2.0", "CC-BY-SA-2.5", "CC-BY-SA-3.0", "CC-BY-SA-4.0",
        "CC-PDDC", "CC0-1.0", "CDDL-1.0", "CECILL-2.1", "EPL-2.0", "EUPL-1.2", "FDL-1.3",
        "GFDL-1.3-only", "GFDL-1.3-or-later", "GPL-2.0-only", "GPL-2.0-or-later",
        "GPL-3.0-only", "GPL-3.0-or-later", "ISC", "LGPL-2.1-only", "LGPL-2.1-or-later",
        "LGPL-3.0-only", "LGPL-3.0-or-later", "LiLiQ-R-1.1", "MIT", "MIT-0", "MPL-2.0",
        "ODbL-1.0", "ODC-By-1.0", "OFL-1.1", "PDDL-1.0", "Unlicense", "WTFPL", "Zlib",
        "etalab-2.0", "OGL-UK-3.0", "CERN-OHL-P-2.0", "CERN-OHL-S-2.0", "CERN-OHL-W-2.0",
        "TAPR-OHL-1.0", "LAL-1.3", "FreeArt-1.3",
    }
)  # fmt: skip
_LICENSE_BY_LOWER: Final = {name.lower(): name for name in SPDX_LICENSES}
_LICENSE_ALIASES: Final = {
    "all rights reserved": ALL_RIGHTS_RESERVED,
    "all-rights-reserved": ALL_RIGHTS_RESERVED,
    "copyright": ALL_RIGHTS_RESERVED,
    "cc0": "CC0-1.0",
    "public domain": "CC0-1.0",
    "gpl-3.0": "GPL-3.0-only",
    "gpl-2.0": "GPL-2.0-only",
}

_TEXT_SUFFIXES: Final = frozenset({".md", ".markdown", ".mdown", ".mkd", ".txt", ".text"})
_MODEL_SUFFIXES: Final = frozenset(
    {".stl", ".obj", ".glb", ".gltf", ".ply", ".3mf", ".fbx", ".blend", ".step", ".stp", ".usdz"}
)
FRONT_MATTER_LIMIT: Final = 1024 * 1024


def normalize_license(value: str | None) -> str:
    """The canonical SPDX id (or `all-rights-reserved`); unknown ids are refused."""
    if value is None or not str(value).strip():
        return ALL_RIGHTS_RESERVED
    key = str(value).strip().lower()
    if key in _LICENSE_ALIASES:
        return _LICENSE_ALIASES[key]
    if key in _LICENSE_BY_LOWER:
        return _LICENSE_BY_LOWER[key]
    raise InvalidParameter(
        N_(
            "unknown licence {value!r}; use an SPDX id such as CC-BY-SA-4.0, or all-rights-reserved"
        ),
        value=str(value)[:60],
    )


def normalize_kind(value: str) -> str:
    kind = value.strip().lower()
    if kind not in KINDS:
        raise InvalidParameter(
            N_("unknown content kind {value!r}; use one of {choices}"),
            value=value[:30],
            choices=", ".join(KINDS),
        )
    return kind


def normalize_tags(tags: Iterable[str] | str | None) -> tuple[str, ...]:
    """Tags are trimmed, lower-cased, without a leading '#', unique and sorted."""
    if tags is None:
        return ()
    items = tags.split(",") if isinstance(tags, str) else list(tags)
    out = {str(t).strip().lstrip("#").strip().lower() for t in items}
    return tuple(sorted(t for t in out if t))


def normalize_time(value: object, what: str = N_("date")) -> str:
    """An ISO 8601 UTC instant from a datetime, a date or an ISO string (naive means UTC)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise InvalidParameter(
                N_("the {what} is not an ISO 8601 date or time"), what=sentence(what)
            ) from None
    else:
        raise InvalidParameter(N_("the {what} is not a date"), what=sentence(what))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment)


def guess_kind(filename: str, media_type: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix in _TEXT_SUFFIXES:
        return "note"
    if suffix in _MODEL_SUFFIXES or media_type.startswith("model/"):
        return "model"
    for prefix, kind in (("image/", "photo"), ("audio/", "audio"), ("video/", "video")):
        if media_type.startswith(prefix):
            return kind
    return "file"


def guess_media_type(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix in {".md", ".markdown", ".mdown", ".mkd"}:
        return "text/markdown"
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


# --- domain values ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    """A file attached to a version (a photo of a post...), with its alt text."""

    name: str
    media_type: str
    size: int
    sha256: str
    alt: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "media_type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
            "alt": self.alt,
        }


@dataclass(frozen=True)
class NewAttachment:
    """An attachment to add: its blob is already written in the current transaction."""

    name: str
    media_type: str
    blob: BlobRef
    alt: str | None = None


@dataclass(frozen=True)
class ItemMeta:
    """What describes an item, apart from its bytes."""

    title: str
    kind: str = "note"
    tags: tuple[str, ...] = ()
    license: str = ALL_RIGHTS_RESERVED
    created: str | None = None
    updated: str | None = None
    media_type: str = "text/markdown"
    filename: str | None = None
    reply_to: str | None = None
    thread: str | None = None
    content_warning: str | None = None
    source: str | None = None
    source_url: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    audience: str = DEFAULT_AUDIENCE  # who it was written for (vault.content.audience)


@dataclass(frozen=True)
class Item:
    """An authored item, as listed and shown (its current version's facts included)."""

    id: str
    title: str
    kind: str
    tags: tuple[str, ...]
    persona: str
    license: str
    created: str
    updated: str
    version: int
    versions: tuple[int, ...]
    size: int
    sha256: str
    media_type: str
    filename: str | None = None
    reply_to: str | None = None
    thread: str | None = None
    content_warning: str | None = None
    source: str | None = None
    source_url: str | None = None
    attachments: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)
    audience: str = DEFAULT_AUDIENCE

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "audience": self.audience,
            "tags": list(self.tags),
            "persona": self.persona,
            "license": self.license,
            "created": self.created,
            "updated": self.updated,
            "version": self.version,
            "size": self.size,
            "sha256": self.sha256,
            "media_type": self.media_type,
            "filename": self.filename,
            "reply_to": self.reply_to,
            "thread": self.thread,
            "content_warning": self.content_warning,
            "source": self.source,
            "source_url": self.source_url,
            "attachments": self.attachments,
            "extra": dict(self.extra),
        }


@dataclass(frozen=True)
class Version:
    """One version of an item: its body, attachments and signed authorship statement."""

    item: str
    number: int
    record_id: str
    title: str
    license: str
    time: str
    size: int
    sha256: str
    media_type: str
    attachments: tuple[Attachment, ...]
    statement: bytes
    signature: str
    body: BlobRef
    attachment_blobs: tuple[BlobRef, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.number,
            "title": self.title,
            "license": self.license,
            "time": self.time,
            "size": self.size,
            "sha256": self.sha256,
            "media_type": self.media_type,
            "attachments": [a.as_dict() for a in self.attachments],
        }


def author(vault: Vault, ref: str | None) -> Signer:
    """The signing key of the persona `ref` (id, id prefix or name; None means the only one),
    loaded once for many items (an import)."""
    from vault import personas

    return personas.signer(vault, personas.resolve_persona(vault, ref).id)


# --- records ---------------------------------------------------------------------------------


def _item_terms(item: Item, dedup: Iterable[str] = ()) -> list[tuple[str, str]]:
    terms = [("persona", item.persona), ("kind", item.kind)]
    terms += [("tag", t) for t in item.tags]
    terms += [("dedup", key) for key in dedup]
    return terms


def _item_json(item: Item, version_ids: Mapping[int, str], dedup: Sequence[str]) -> bytes:
    body = item.as_dict()
    body["versions"] = {str(n): rid for n, rid in sorted(version_ids.items())}
    body["dedup"] = list(dedup)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _load_item(rec: Record) -> tuple[Item, dict[int, str], list[str]]:
    d = rec.json()
    version_ids = {int(n): rid for n, rid in d["versions"].items()}
    item = Item(
        id=rec.id,
        title=d["title"],
        kind=d["kind"],
        tags=tuple(d["tags"]),
        persona=d["persona"],
        license=d["license"],
        created=d["created"],
        updated=d["updated"],
        version=d["version"],
        versions=tuple(sorted(version_ids)),
        size=d["size"],
        sha256=d["sha256"],
        media_type=d["media_type"],
        filename=d.get("filename"),
        reply_to=d.get("reply_to"),
        thread=d.get("thread"),
        content_warning=d.get("content_warning"),
        source=d.get("source"),
        source_url=d.get("source_url"),
        attachments=d.get("attachments", 0),
        extra=d.get("extra", {}),
        audience=stored_audience(d),
    )
    return item, version_ids, list(d.get("dedup", []))


def _load_version(rec: Record) -> Version:
    d = rec.json()
    atts = tuple(
        Attachment(a["name"], a["media_type"], a["size"], a["sha256"], a.get("alt"))
        for a in d["attachments"]
    )
    return Version(
        item=d["item"],
        number=d["version"],
        record_id=rec.id,
        title=d["title"],
        license=d["license"],
        time=d["time"],
        size=d["size"],
        sha256=d["sha256"],
        media_type=d["media_type"],
        attachments=atts,
        statement=d["statement"].encode("utf-8"),
        signature=d["signature"],
        body=rec.blobs[0],
        attachment_blobs=rec.blobs[1:],
    )


def statement_for(
    item: Item,
    number: int,
    signer: Signer,
    *,
    body: BlobRef,
    atts: Sequence[Attachment],
    time: str,
) -> tuple[bytes, str]:
    """The authorship statement of one version and its minisign signature."""
    statement: dict[str, Any] = {
        "type": STATEMENT_TYPE,
        "item": item.id,
        "version": number,
        "title": item.title,
        "kind": item.kind,
        "content_sha256": body.sha256,
        "content_size": body.size,
        "media_type": item.media_type,
        "license": item.license,
        "created": item.created,
        "time": time,
        "persona_public_key": signer.minisign_public_key(),
        "attachments": [{"name": a.name, "sha256": a.sha256, "size": a.size} for a in atts],
    }
    raw = (json.dumps(statement, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    comment = (
        f"coffre authorship item:{item.id} version:{number} sha256:{body.sha256} "
        f"license:{item.license} time:{time}"
    )
    return raw, minisign.sign_with(signer.sign, signer.key_id, raw, comment)


def _put_version(
    txn: Txn,
    item: Item,
    number: int,
    signer: Signer,
    *,
    body: BlobRef,
    attachments: Sequence[NewAttachment],
    time: str,
) -> str:
    atts = [
        Attachment(a.name, a.media_type, a.blob.size, a.blob.sha256, a.alt) for a in attachments
    ]
    statement, signature = statement_for(item, number, signer, body=body, atts=atts, time=time)
    data = {
        "item": item.id,
        "version": number,
        "title": item.title,
        "license": item.license,
        "time": time,
        "size": body.size,
        "sha256": body.sha256,
        "media_type": item.media_type,
        "attachments": [a.as_dict() for a in atts],
        "statement": statement.decode("utf-8"),
        "signature": signature,
    }
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return txn.put(
        VERSION,
        raw,
        terms=[("item", item.id)],
        blobs=[body, *(a.blob for a in attachments)],
        compress=True,
    )


def create_in(
    txn: Txn,
    signer: Signer,
    body: BlobRef,
    meta: ItemMeta,
    *,
    attachments: Sequence[NewAttachment] = (),
    dedup: Sequence[str] = (),
) -> Item:
    """Create an item whose body blob is already written in `txn` (importers batch these)."""
    time = txn.clock.iso()
    created = meta.created or time
    item_id = txn.put(ITEM, b"{}")
    item = Item(
        id=item_id,
        title=meta.title,
        kind=normalize_kind(meta.kind),
        tags=normalize_tags(meta.tags),
        persona=signer.persona_id,
        license=normalize_license(meta.license),
        created=created,
        updated=meta.updated or created,
        version=1,
        versions=(1,),
        size=body.size,
        sha256=body.sha256,
        media_type=meta.media_type,
        filename=meta.filename,
        reply_to=meta.reply_to,
        thread=meta.thread,
        content_warning=meta.content_warning,
        source=meta.source,
        source_url=meta.source_url,
        attachments=len(attachments),
        extra=dict(meta.extra),
        audience=normalize_audience(meta.audience),
    )
    version_id = _put_version(txn, item, 1, signer, body=body, attachments=attachments, time=time)
    txn.update(
        ITEM,
        item_id,
        _item_json(item, {1: version_id}, dedup),
        terms=_item_terms(item, dedup),
        compress=True,
    )
    return item


def is_known(vault: Vault, dedup_key: str) -> bool:
    """Whether an item carrying this dedup key (a source id or content hash) exists."""
    return bool(vault.store.find(ITEM, "dedup", dedup_key))


def add(
    vault: Vault,
    body: BinaryIO | Iterable[bytes],
    meta: ItemMeta,
    *,
    persona: str | None = None,
    size_hint: int | None = None,
    progress: ProgressCallback | None = None,
) -> Item:
    """Add one item from a stream of bytes, signed by the persona; return it."""
    signer = author(vault, persona)
    with vault.store.write() as txn:
        blob = txn.write_blob(body, progress, size_hint)
        item = create_in(txn, signer, blob, meta)
        txn.audit("content.add", item=item.id, version=1, bytes=blob.size)
    return item


def add_file(
    vault: Vault,
    path: Path,
    *,
    persona: str | None = None,
    title: str | None = None,
    tags: Iterable[str] | str | None = None,
    license: str | None = None,
    kind: str | None = None,
    audience: str | None = None,
    progress: ProgressCallback | None = None,
) -> Item:
    """Add a file; text files may carry front matter (title, tags, date, licence, audience),
    which the arguments override. Without either, the audience is `private`: a person's own
    file is not meant for anyone until they say so. The body streams in constant memory
    whatever the file's size."""
    from vault.content.importers.markdown import meta_from_front_matter, split_front_matter

    path = Path(path)
    try:
        size = path.stat().st_size
        handle = path.open("rb")
    except OSError as exc:
        raise InvalidParameter(
            N_("{name}: cannot read it ({reason})"), name=path.name, reason=exc.strerror
        ) from None
    with handle:
        media_type = guess_media_type(path.name)
        fm: dict[str, Any] = {}
        offset = 0
        if path.suffix.lower() in _TEXT_SUFFIXES:
            head = handle.read(FRONT_MATTER_LIMIT)
            fm, offset = split_front_matter(head, path.name)
            handle.seek(offset)
            if offset:
                media_type = "text/markdown"
        base = meta_from_front_matter(fm, path.name)
        meta = replace(
            base,
            title=title or base.title,
            tags=normalize_tags(tags) if tags is not None else base.tags,
            license=normalize_license(license) if license else base.license,
            kind=normalize_kind(kind) if kind else base.kind or guess_kind(path.name, media_type),
            audience=normalize_audience(audience) if audience else base.audience,
            media_type=media_type,
            filename=path.name,
        )
        body: BinaryIO | Iterable[bytes] = handle
        if media_type.startswith("text/"):
            body = utf8_checked(_read_chunks(handle), path.name)
        return add(vault, body, meta, persona=persona, size_hint=size - offset, progress=progress)


def _read_chunks(handle: BinaryIO, size: int = crypto.CHUNK_SIZE) -> Iterator[bytes]:
    while chunk := handle.read(size):
        yield chunk


def utf8_checked(chunks: Iterable[bytes], name: str) -> Iterator[bytes]:
    """Pass chunks through, raising MalformedInput at the first invalid UTF-8 byte."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    for chunk in chunks:
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise MalformedInput(
                N_("{name}: {problem}"),
                name=name,
                problem=Text(N_("invalid UTF-8 at byte {byte}"), byte=offset + exc.start),
            ) from None
        offset += len(chunk)
        yield chunk
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise MalformedInput(
            N_("{name}: {problem}"),
            name=name,
            problem=Text(N_("invalid UTF-8 (truncated character at the end)")),
        ) from None


# --- reading ---------------------------------------------------------------------------------


def _item_record(vault: Vault, ref: str) -> Record:
    ref = ref.strip().lower()
    if len(ref) < 4:
        raise InvalidParameter(N_("give at least 4 hexadecimal digits of the item id"))
    found = vault.store.find_prefix(ITEM, ref)
    if not found:
        raise RecordNotFound(N_("no content item with id {ref}"), ref=ref[:32])
    if len(found) > 1:
        raise InvalidParameter(
            N_("the id prefix {ref} matches {count} items; give more digits"),
            ref=ref,
            count=len(found),
        )
    return found[0]


def get(vault: Vault, ref: str) -> Item:
    """The item with this id (or unique id prefix)."""
    return _load_item(_item_record(vault, ref))[0]


def list_items(
    vault: Vault,
    *,
    kind: str | None = None,
    tag: str | None = None,
    persona: str | None = None,
    audience: str | None = None,
) -> list[Item]:
    """Items, oldest first, optionally filtered by kind, tag, persona id and audience."""
    wanted = normalize_audience(audience) if audience else None
    filters = []
    if kind:
        filters.append(("kind", normalize_kind(kind)))
    if tag:
        filters.append(("tag", normalize_tags([tag])[0] if normalize_tags([tag]) else ""))
    if persona:
        filters.append(("persona", persona))
    if filters:
        label, value = filters[0]
        records: Iterable[Record] = vault.store.find(ITEM, label, value)
    else:
        records = vault.store.iter_kind(ITEM)
    out = []
    for rec in records:
        if all(term in rec.terms for term in filters):
            item = _load_item(rec)[0]
            # Audience is no lookup term: records older than it carry none to find.
            if wanted is None or item.audience == wanted:
                out.append(item)
    return sorted(out, key=lambda i: (i.created, i.id))


def versions(vault: Vault, ref: str) -> list[Version]:
    """Every version of an item still kept, oldest first."""
    _item, version_ids, _ = _load_item(_item_record(vault, ref))
    return [_load_version(vault.store.get(VERSION, version_ids[n])) for n in sorted(version_ids)]


def get_version(vault: Vault, ref: str, number: int | None = None) -> Version:
    item, version_ids, _ = _load_item(_item_record(vault, ref))
    n = item.version if number is None else number
    if n not in version_ids:
        raise RecordNotFound(
            N_("item {id} has no version {n} (kept: {versions})"),
            id=item.id[:8],
            n=n,
            versions=item.versions,
        )
    return _load_version(vault.store.get(VERSION, version_ids[n]))


def read(vault: Vault, ref: str, number: int | None = None) -> Iterator[bytes]:
    """The body of a version (the current one by default), as authenticated chunks."""
    return vault.store.read_blob(get_version(vault, ref, number).body)


def read_attachment(
    vault: Vault, ref: str, index: int, number: int | None = None
) -> Iterator[bytes]:
    version = get_version(vault, ref, number)
    if not 0 <= index < len(version.attachment_blobs):
        raise RecordNotFound(
            N_("version {number} has no attachment {index}"), number=version.number, index=index
        )
    return vault.store.read_blob(version.attachment_blobs[index])


# --- changing --------------------------------------------------------------------------------


def edit(
    vault: Vault,
    ref: str,
    *,
    body: BinaryIO | Iterable[bytes] | None = None,
    title: str | None = None,
    tags: Iterable[str] | str | None = None,
    license: str | None = None,
    audience: str | None = None,
    progress: ProgressCallback | None = None,
) -> Item:
    """Make a new version (the previous one is kept until forgotten) and sign it.
    `audience` changes who the item is for (an item stored before audiences existed may
    need it, see vault.content.audience)."""
    rec = _item_record(vault, ref)
    item, version_ids, dedup = _load_item(rec)
    signer = author(vault, item.persona)
    current = _load_version(vault.store.get(VERSION, version_ids[item.version]))
    with vault.store.write() as txn:
        # Every version owns its blobs, so forgetting one never touches another's bytes.
        blob = txn.write_blob(
            body if body is not None else vault.store.read_blob(current.body), progress
        )
        atts = [
            NewAttachment(a.name, a.media_type, txn.write_blob(vault.store.read_blob(ref_)), a.alt)
            for a, ref_ in zip(current.attachments, current.attachment_blobs, strict=True)
        ]
        time = txn.clock.iso()
        number = max(version_ids) + 1
        new = replace(
            item,
            title=title if title else item.title,
            tags=normalize_tags(tags) if tags is not None else item.tags,
            license=normalize_license(license) if license else item.license,
            audience=normalize_audience(audience) if audience else item.audience,
            updated=time,
            version=number,
            versions=(*item.versions, number),
            size=blob.size,
            sha256=blob.sha256,
        )
        version_ids[number] = _put_version(
            txn, new, number, signer, body=blob, attachments=atts, time=time
        )
        txn.update(
            ITEM,
            item.id,
            _item_json(new, version_ids, dedup),
            terms=_item_terms(new, dedup),
            compress=True,
        )
        txn.audit("content.edit", item=item.id, version=number, bytes=blob.size)
    return new


def forget_version(vault: Vault, ref: str, number: int) -> Item:
    """Delete one earlier version (its record and blobs); the current one cannot be."""
    item, version_ids, dedup = _load_item(_item_record(vault, ref))
    if number == item.version:
        raise InvalidParameter(
            N_("the current version cannot be forgotten; remove the item instead")
        )
    if number not in version_ids:
        raise RecordNotFound(N_("item {id} has no version {number}"), id=item.id[:8], number=number)
    with vault.store.write() as txn:
        txn.delete(VERSION, version_ids.pop(number))
        new = replace(item, versions=tuple(sorted(version_ids)))
        txn.update(
            ITEM,
            item.id,
            _item_json(new, version_ids, dedup),
            terms=_item_terms(new, dedup),
            compress=True,
        )
        txn.audit("content.forget_version", item=item.id, version=number)
    return new


def remove(vault: Vault, ref: str) -> int:
    """Delete an item, every version and every blob; return how many versions went."""
    item, version_ids, _ = _load_item(_item_record(vault, ref))
    with vault.store.write() as txn:
        for rid in version_ids.values():
            txn.delete(VERSION, rid)
        txn.delete(ITEM, item.id)
        txn.audit("content.rm", item=item.id, versions=len(version_ids))
    return len(version_ids)
