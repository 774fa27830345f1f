"""Markdown with YAML, TOML or JSON front matter: one file, or every file of a folder.

Front matter follows the conventions of Jekyll, Hugo and python-frontmatter: a block between
`---` lines (YAML), `+++` lines (TOML), or a JSON object closed by a `}` line. Only the front
matter is read into memory (at most 1 MiB); the body streams. YAML aliases are refused, so
a small file cannot expand into a huge document.

Dates are read as Jekyll writes them (`2015-10-01 01:00:00 +0800` too). A file named like a
Jekyll post (`2015-10-01-title.md`) whose front matter has no date takes its file name's, as
Jekyll does; one whose front matter date cannot be read takes it too, with a note. In a
folder, a file that cannot be read is skipped whole and listed in the errors.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import yaml

from vault import content
from vault.content.audience import DEFAULT as DEFAULT_AUDIENCE
from vault.content.audience import front_matter_audience
from vault.content.importers import Tally, shown_name, unreadable
from vault.core.errors import InvalidParameter, MalformedInput, UnsafeArchive, WrongFormat
from vault.core.i18n import N_, Text, sentence
from vault.core.importing import ImportSummary, parser_limits
from vault.core.progress import ProgressCallback

if TYPE_CHECKING:
    from vault.core.vault import Vault

# vault.imports.MARKDOWN_SUFFIXES repeats these for sniffing (a test keeps them equal).
SUFFIXES: Final = frozenset({".md", ".markdown", ".mdown", ".mkd", ".mkdn", ".mkdown", ".txt"})
# Jekyll also closes YAML front matter with `...`, YAML's own end-of-document marker.
_YAML_FENCE: Final = re.compile(rb"^(?:-{3,}|\.{3})[ \t]*\r?$", re.MULTILINE)
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


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    """A YAML timestamp, or its text when it names no real day or time (`2020-13-45`), so
    that one odd date is the date's problem, not the whole front matter's."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_NoAliasLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)

# A date as Jekyll (Ruby's Time.parse) reads it, with a space before the offset and the
# offset without a colon: `2015-10-01 01:00:00 +0800`.
_LOOSE_TIME: Final = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?"
)
_DATE_KEYS: Final = ("date", "created", "published")
# A Jekyll post's file name: its date, then its slug (`2017-2-5-title.md` too).
_POST_NAME: Final = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})-.")


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
        raise MalformedInput(
            N_("{name}: {problem}"),
            name=name,
            problem=Text(N_("the {fmt} front matter is not closed"), fmt=fmt),
        )
    raw = head[raw_start : close.end() if fmt == "JSON" else close.start()]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedInput(
            N_("{name}: {problem}"),
            name=name,
            problem=Text(
                N_("invalid UTF-8 in the front matter at byte {byte}"), byte=raw_start + exc.start
            ),
        ) from None
    meta = _parse(text, fmt, name)
    offset = close.end()
    while offset < len(head) and head[offset : offset + 1] in (b"\n", b"\r"):
        offset += 1
    return meta, offset


def _parse(text: str, fmt: str, name: str) -> dict[str, Any]:
    # Also for `content add`, which is not an import: the parser limits are applied here.
    with parser_limits(Text(N_("{name}: the front matter"), name=name)):
        try:
            if fmt == "YAML":
                data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506  # a SafeLoader
            elif fmt == "TOML":
                data = tomllib.loads(text)
            else:
                data = json.loads(text)
        except yaml.MarkedYAMLError as exc:
            line = exc.problem_mark.line + 2 if exc.problem_mark else "?"
            raise MalformedInput(
                N_("{name}: {problem}"),
                name=name,
                problem=Text(N_("invalid YAML front matter at line {line}"), line=line),
            ) from None
        except yaml.YAMLError:
            raise MalformedInput(
                N_("{name}: {problem}"), name=name, problem=Text(N_("invalid YAML front matter"))
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise MalformedInput(
                N_("{name}: {problem}"),
                name=name,
                problem=Text(N_("invalid TOML front matter ({problem})"), problem=str(exc)),
            ) from None
        except json.JSONDecodeError as exc:
            raise MalformedInput(
                N_("{name}: {problem}"),
                name=name,
                problem=Text(
                    N_("invalid JSON front matter at line {line} column {column}"),
                    line=exc.lineno,
                    column=exc.colno,
                ),
            ) from None
        except ValueError:  # a YAML date such as 2020-13-45
            raise MalformedInput(
                N_("{name}: {problem}"),
                name=name,
                problem=Text(N_("invalid {fmt} front matter (a value out of range)"), fmt=fmt),
            ) from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise MalformedInput(
                N_("{name}: {problem}"),
                name=name,
                problem=Text(N_("the front matter is not a mapping of keys to values")),
            )
        safe: dict[str, Any] = _json_safe(data)
        return safe


def parse(raw: bytes, name: str = "input") -> tuple[dict[str, Any], str]:
    """Front matter and body text of a whole small file (the body stripped, as
    python-frontmatter does)."""
    meta, offset = split_front_matter(raw[: content.FRONT_MATTER_LIMIT], name)
    try:
        body = raw[offset:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedInput(
            N_("{name}: {problem}"),
            name=name,
            problem=Text(N_("invalid UTF-8 at byte {byte}"), byte=offset + exc.start),
        ) from None
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
        created = _date_value(fm)
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
            created=_time(created, N_("date")) if created is not None else None,
            updated=_time(updated, N_("update date")) if updated is not None else None,
            reply_to=_opt(_first(fm, "reply_to", "in_reply_to")),
            thread=_opt(_first(fm, "thread")),
            content_warning=_opt(_first(fm, "content_warning", "cw")),
            audience=front_matter_audience(fm) or DEFAULT_AUDIENCE,
            # Jekyll's `published: false` is a flag, not a date: kept as it is.
            extra={
                k: v
                for k, v in fm.items()
                if k not in _USED or (k == "published" and isinstance(v, bool))
            },
        )
    except InvalidParameter as exc:
        raise MalformedInput(
            N_("{name}: {detail}"), name=name, detail=sentence(exc.detail or "")
        ) from None


def _date_value(fm: dict[str, Any]) -> Any:
    """The front matter's date: `date`, `created` or `published`, unless a flag
    (`published: false` is Jekyll's way to keep a post unpublished)."""
    for key in _DATE_KEYS:
        value = fm.get(key)
        if value not in (None, "") and not isinstance(value, bool):
            return value
    return None


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _time(value: Any, what: str) -> str:
    """An ISO 8601 UTC instant from a front matter date, in ISO 8601 or as Jekyll writes it."""
    if isinstance(value, str) and (loose := _LOOSE_TIME.fullmatch(value.strip())):
        year, month, day, hour, minute, second, fraction, offset = loose.groups()
        text = f"{year}-{int(month):02d}-{int(day):02d}"
        if hour is not None:
            text += f"T{int(hour):02d}:{minute}:{second or '00'}{fraction or ''}"
            if offset is not None and offset != "Z" and ":" not in offset:
                offset = f"{offset[:3]}:{offset[3:]}"
            text += offset or ""
        value = text
    return content.normalize_time(value, what)


def file_name_date(name: str) -> str | None:
    """The day a Jekyll post's file name gives (`2015-10-01-title.md`), as a UTC instant."""
    found = _POST_NAME.match(Path(name).name)
    if found is None:
        return None
    try:
        return content.normalize_time(date(*(int(part) for part in found.groups())))
    except ValueError:
        return None


def _readable_time(value: Any) -> bool:
    try:
        _time(value, N_("date"))
    except InvalidParameter:
        return False
    return True


def _files(folder: Path) -> Iterator[tuple[Path, str]]:
    """Markdown files under `folder` in a stable order; hidden files and folders are skipped,
    symbolic links (they could point anywhere) and anything but regular files refused."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        rootp = Path(root)
        for d in list(dirs):
            if (rootp / d).is_symlink():
                raise UnsafeArchive(
                    N_("{folder}: symbolic links are refused"),
                    folder=shown_name((rootp / d).relative_to(folder).as_posix()),
                )
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            path = rootp / f
            if path.suffix.lower() not in SUFFIXES or f.startswith("."):
                continue
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                raise UnsafeArchive(N_("{name}: symbolic links are refused"), name=shown_name(rel))
            if not path.is_file():  # a FIFO would block the import, a device worse
                raise UnsafeArchive(N_("{name}: not a regular file"), name=shown_name(rel))
            yield path, rel


@dataclass(frozen=True)
class _Note:
    """One file, read whole and found good: what is stored of it, and where its body starts."""

    key: str  # the dedup key: the SHA-256 of the whole file
    meta: content.ItemMeta
    offset: int
    redated: bool  # its front matter date could not be read: its file name's was taken
    body: bytes | None  # the body of a file read whole in one read; None: stream it again


def _read(path: Path, rel: str) -> _Note:
    """Read one file through: name, front matter, metadata, UTF-8 of the body, hash.

    Nothing is stored here, so a file that fails leaves nothing behind. A file no larger
    than the front matter limit (most notes) is read once and its body kept."""
    if shown_name(rel) != rel:
        raise MalformedInput(
            N_("{name}: the file name is not valid UTF-8; rename it"), name=shown_name(rel)
        )
    limit = content.FRONT_MATTER_LIMIT
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        head = handle.read(limit + 1)
        fm, offset = split_front_matter(head[:limit], rel)
        whole = len(head) <= limit
        if whole:
            digest.update(head)
            body: bytes | None = head[offset:]
            chunks: Iterable[bytes] = [head[offset:]]
        else:
            handle.seek(0)
            body = None
            chunks = _hashed_from(handle, offset, digest)
        for _ in content.utf8_checked(chunks, rel):
            pass
    fm, redated = _dated(fm, rel)
    meta = _with_defaults(meta_from_front_matter(fm, rel), rel)
    return _Note("markdown:sha256:" + digest.hexdigest(), meta, offset, redated, body)


def _hashed_from(handle: BinaryIO, offset: int, digest: Any) -> Iterator[bytes]:
    """The bytes of HANDLE from OFFSET on, while every byte goes into DIGEST."""
    done = 0
    while chunk := handle.read(1 << 16):
        digest.update(chunk)
        if done + len(chunk) > offset:
            yield chunk[max(0, offset - done) :]
        done += len(chunk)


def _dated(fm: dict[str, Any], rel: str) -> tuple[dict[str, Any], bool]:
    """Front matter with the date of a Jekyll post's file name where its own has none or
    one that cannot be read; and whether an unreadable date was replaced."""
    named = file_name_date(rel)
    if named is None:
        return fm, False
    given = _date_value(fm)
    if given is not None and _readable_time(given):
        return fm, False
    kept = {k: v for k, v in fm.items() if k not in _DATE_KEYS or isinstance(v, bool)}
    return {**kept, "date": named}, given is not None


def import_markdown(
    vault: Vault,
    path: str | os.PathLike[str],
    *,
    persona: str | None = None,
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Import one Markdown/text file, or every one under a folder, in one transaction.

    A single file is all or nothing. In a folder, a file that cannot be read is skipped
    whole and listed in the summary's errors, and the others are imported. The dedup key is
    the SHA-256 of the whole file: an unchanged file is skipped, an edited one becomes a new
    item.
    """
    path = Path(path)
    if path.is_dir():
        files = list(_files(path))
        if not files:
            raise WrongFormat(
                N_("{name} holds no Markdown or text file ({suffixes}) outside hidden folders"),
                name=path.name,
                suffixes=", ".join(sorted(SUFFIXES)),
            )
    elif path.is_file():
        files = [(path, path.name)]
    else:
        raise InvalidParameter(N_("{name}: no such file or folder"), name=path.name)
    alone = not path.is_dir()
    tally = Tally(vault, "markdown", persona=persona, progress=progress, total=len(files))
    with vault.store.write() as txn:
        for file, rel in files:
            try:
                note = _read(file, rel)
            except UnsafeArchive:
                raise
            except Exception as exc:
                if alone:
                    raise
                tally.errors.append(unreadable(shown_name(rel), exc))
                tally.report.advance()
                continue
            if note.redated:
                tally.notes.append(
                    Text(
                        N_(
                            "{name}: the date in its front matter is not a date; its file name's "
                            "was used"
                        ),
                        name=rel,
                    )
                )
            if tally.known(note.key):
                continue
            if note.body is not None:
                blob = txn.write_blob([note.body])
            else:
                with file.open("rb") as handle:
                    handle.seek(note.offset)
                    # Checked again: a file changed since it was read fails the whole import.
                    chunks = content.utf8_checked(iter(lambda: handle.read(1 << 16), b""), rel)
                    blob = txn.write_blob(chunks)
            tally.add(txn, blob, note.meta, dedup=[note.key])
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
