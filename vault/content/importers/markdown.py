"""Markdown with YAML, TOML or JSON front matter: one file (`content add`) or a folder.

Front matter follows the conventions of Jekyll, Hugo and python-frontmatter: a block between
`---` lines (YAML), `+++` lines (TOML), or a JSON object closed by a `}` line. Only the front
matter is read into memory (at most 1 MiB); the body streams. YAML aliases are refused, so
a small file cannot expand into a huge document.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import yaml

from vault import content
from vault.content.audience import DEFAULT as DEFAULT_AUDIENCE
from vault.content.audience import front_matter_audience
from vault.content.importers import Tally
from vault.core.errors import InvalidParameter, MalformedInput, UnsafeArchive
from vault.core.importing import ImportSummary, parser_limits
from vault.core.progress import ProgressCallback

if TYPE_CHECKING:
    from vault.core.vault import Vault

# vault.imports.MARKDOWN_SUFFIXES repeats these for sniffing (a test keeps them equal).
SUFFIXES: Final = frozenset({".md", ".markdown", ".mdown", ".mkd", ".txt"})
_YAML_FENCE: Final = re.compile(rb"^-{3,}[ \t]*\r?$", re.MULTILINE)
_TOML_FENCE: Final = re.compile(rb"^\+{3,}[ \t]*\r?$", re.MULTILINE)
_JSON_END: Final = re.compile(rb"^\}[ \t]*\r?$", re.MULTILINE)
_HEADING: Final = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors and aliases (which allow exponential expansion)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.MarkedYAMLError(
                "while composing",
                None,
                "aliases are not allowed",
                self.peek_event().start_mark,  # type: ignore[no-untyped-call]
            )
        return super().compose_node(parent, index)


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return content.normalize_time(value) if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def split_front_matter(head: bytes, name: str) -> tuple[dict[str, Any], int]:
    """Parse the front matter at the start of `head`; return it and the body's byte offset.

    `head` is the file's first bytes (up to FRONT_MATTER_LIMIT). A file without front
    matter gives ({}, 0).
    """
    start = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    first_end = head.find(b"\n", start)
    line_end = first_end if first_end >= 0 else len(head)
    first = head[start:line_end].rstrip()
    if re.fullmatch(rb"-{3,}", first):
        fmt, raw_start, close = "YAML", line_end + 1, _YAML_FENCE.search(head, line_end + 1)
    elif re.fullmatch(rb"\+{3,}", first):
        fmt, raw_start, close = "TOML", line_end + 1, _TOML_FENCE.search(head, line_end + 1)
    elif first == b"{":
        fmt, raw_start, close = "JSON", start, _JSON_END.search(head, line_end + 1)
    elif first.startswith(b"{") and first.endswith(b"}"):
        # A one-line JSON object (`{}` or `{"title": "x"}`) is front matter too.
        fmt, raw_start, close = (
            "JSON",
            start,
            re.compile(rb"\}[ \t]*\r?$", re.M).search(head, start),
        )
    else:
        return {}, 0
    if close is None or raw_start > len(head):
        raise MalformedInput(f"{name}: the {fmt} front matter is not closed")
    raw = head[raw_start : close.end() if fmt == "JSON" else close.start()]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedInput(
            f"{name}: invalid UTF-8 in the front matter at byte {raw_start + exc.start}"
        ) from None
    meta = _parse(text, fmt, name)
    offset = close.end()
    while offset < len(head) and head[offset : offset + 1] in (b"\n", b"\r"):
        offset += 1
    return meta, offset


def _parse(text: str, fmt: str, name: str) -> dict[str, Any]:
    # Also for `content add`, which is not an import: the parser limits are applied here.
    with parser_limits(f"{name}: the front matter"):
        try:
            if fmt == "YAML":
                data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506  # a SafeLoader
            elif fmt == "TOML":
                data = tomllib.loads(text)
            else:
                data = json.loads(text)
        except yaml.MarkedYAMLError as exc:
            line = exc.problem_mark.line + 2 if exc.problem_mark else "?"
            raise MalformedInput(f"{name}: invalid YAML front matter at line {line}") from None
        except yaml.YAMLError:
            raise MalformedInput(f"{name}: invalid YAML front matter") from None
        except tomllib.TOMLDecodeError as exc:
            raise MalformedInput(f"{name}: invalid TOML front matter ({exc})") from None
        except json.JSONDecodeError as exc:
            raise MalformedInput(
                f"{name}: invalid JSON front matter at line {exc.lineno} column {exc.colno}"
            ) from None
        except ValueError:  # a YAML date such as 2020-13-45
            raise MalformedInput(
                f"{name}: invalid {fmt} front matter (a value out of range)"
            ) from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise MalformedInput(f"{name}: the front matter is not a mapping of keys to values")
        safe: dict[str, Any] = _json_safe(data)
        return safe


def parse(raw: bytes, name: str = "input") -> tuple[dict[str, Any], str]:
    """Front matter and body text of a whole small file (the body stripped, as
    python-frontmatter does)."""
    meta, offset = split_front_matter(raw[: content.FRONT_MATTER_LIMIT], name)
    try:
        body = raw[offset:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedInput(f"{name}: invalid UTF-8 at byte {offset + exc.start}") from None
    return meta, body.strip()


_USED: Final = {
    "title", "tags", "keywords", "categories", "license", "licence", "rights", "date",
    "created", "published", "updated", "modified", "lastmod", "last_modified", "kind", "type",
    "reply_to", "in_reply_to", "thread", "content_warning", "cw", "audience",
}  # fmt: skip


def _first(fm: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if fm.get(key) not in (None, ""):
            return fm[key]
    return None


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.split(",")
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int | float)]
    return []


def meta_from_front_matter(fm: dict[str, Any], name: str) -> content.ItemMeta:
    """Item metadata from front matter; `kind` is empty when the front matter names none.
    The audience is the front matter's (`audience:`, or `draft: true`), else `private`."""
    try:
        created = _first(fm, "date", "created", "published")
        updated = _first(fm, "updated", "modified", "lastmod", "last_modified")
        kind = str(_first(fm, "kind", "type") or "").lower()
        title = _first(fm, "title")
        return content.ItemMeta(
            title=str(title) if title is not None else Path(name).stem,
            kind=kind if kind in content.KINDS else "",
            tags=content.normalize_tags(
                _tags(fm.get("tags")) + _tags(fm.get("keywords")) + _tags(fm.get("categories"))
            ),
            license=content.normalize_license(_first(fm, "license", "licence", "rights")),
            created=content.normalize_time(created, "date") if created is not None else None,
            updated=content.normalize_time(updated, "update date") if updated is not None else None,
            reply_to=_opt(_first(fm, "reply_to", "in_reply_to")),
            thread=_opt(_first(fm, "thread")),
            content_warning=_opt(_first(fm, "content_warning", "cw")),
            audience=front_matter_audience(fm) or DEFAULT_AUDIENCE,
            extra={k: v for k, v in fm.items() if k not in _USED},
        )
    except InvalidParameter as exc:
        raise MalformedInput(f"{name}: {exc.detail}") from None


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _files(folder: Path) -> Iterator[tuple[Path, str]]:
    """Markdown files under `folder` in a stable order; hidden folders are skipped and
    symbolic links refused (they could point anywhere)."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        rootp = Path(root)
        for d in list(dirs):
            if (rootp / d).is_symlink():
                raise UnsafeArchive(
                    f"{(rootp / d).relative_to(folder)}: symbolic links are refused"
                )
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            path = rootp / f
            if path.suffix.lower() not in SUFFIXES or f.startswith("."):
                continue
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                raise UnsafeArchive(f"{rel}: symbolic links are refused")
            yield path, _utf8_name(rel)


def _utf8_name(rel: str) -> str:
    """REL, refused with its undecodable bytes shown when the file system gave a name that is
    not UTF-8: an item's file name is stored as UTF-8, and the whole folder is one import."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(rel).decode("utf-8", errors="backslashreplace")
        raise MalformedInput(f"{shown}: the file name is not valid UTF-8; rename it") from None
    return rel


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def import_folder(
    vault: Vault,
    folder: Path,
    *,
    persona: str | None = None,
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Import every Markdown/text file under `folder` (one item each) in one transaction.

    The dedup key is the SHA-256 of the whole file: an unchanged file is skipped, an edited
    one becomes a new item.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidParameter(f"{folder.name}: not a folder")
    files = list(_files(folder))
    tally = Tally(vault, "markdown", persona=persona, progress=progress, total=len(files))
    with vault.store.write() as txn:
        for path, rel in files:
            key = "markdown:sha256:" + _sha256(path)
            if tally.known(key):
                continue
            with path.open("rb") as handle:
                fm, offset = split_front_matter(handle.read(content.FRONT_MATTER_LIMIT), rel)
                handle.seek(offset)
                chunks = content.utf8_checked(iter(lambda: handle.read(1 << 16), b""), rel)
                blob = txn.write_blob(chunks)
            meta = meta_from_front_matter(fm, path.name)
            tally.add(txn, blob, _with_defaults(meta, rel), dedup=[key])
        tally.audit(txn)
    return tally.summary()


def _with_defaults(meta: content.ItemMeta, rel: str) -> content.ItemMeta:
    return replace(
        meta,
        kind=meta.kind or "note",
        media_type="text/markdown",
        filename=rel,
        source="markdown",
    )
