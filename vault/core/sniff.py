"""What a file or folder holds, told from its first bytes, its XML root element or its members.

Importers are given whatever people have on disk: a WordPress export renamed `.gpx`, an HTML
page saved as `.xml`, a truncated zip. `sniff` looks before anything is parsed so the import
registry can refuse the wrong kind of file by name instead of importing nothing. It reads at
most `HEAD` bytes of a file, a zip's table of contents, or a folder's file names; a tar's
members are not listed (that would cost a whole pass over the archive).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from vault.core.archive import DEFAULT_LIMITS, ZipArchive
from vault.core.errors import InvalidParameter, MalformedInput
from vault.core.i18n import N_

HEAD: Final = 1 << 16  # enough for the XML prolog of any export, Apple's long DTD included
Kind = Literal["folder", "zip", "tar", "fit", "xml", "json", "vcard", "text", "binary", "empty"]

_ZIP: Final = (b"PK\x03\x04", b"PK\x05\x06")
_COMPRESSED_TAR: Final = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ")
_BOMS: Final = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# The prolog an XML root element may follow: declaration, comments, doctype (with its
# internal subset), processing instructions and white space.
_PROLOG: Final = re.compile(
    r"(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]|\[.*?\])*>)*", re.DOTALL | re.IGNORECASE
)
_ROOT: Final = re.compile(r"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")


@dataclass(frozen=True)
class Sniffed:
    """What a path holds: its kind, an XML document's root element (local name, lower case)
    or a JSON document's shape (`object` or `array`), and a zip's or folder's file names."""

    kind: Kind
    root: str = ""
    members: tuple[str, ...] = ()


def sniff(path: Path) -> Sniffed:
    """What PATH holds; a zip too damaged to list raises TruncatedArchive."""
    if path.is_dir():
        return Sniffed("folder", members=tuple(_folder_names(path)))
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD)
    except FileNotFoundError:
        raise InvalidParameter(N_("{file}: no such file or folder"), file=path.name) from None
    except OSError as exc:
        raise MalformedInput(
            N_("{file}: cannot read it ({reason})"), file=path.name, reason=exc.strerror
        ) from None
    if not head:
        return Sniffed("empty")
    if head.startswith(_ZIP):
        # ZipArchive names a missing table of contents as truncation, not as "not a zip".
        with ZipArchive(path, DEFAULT_LIMITS) as archive:
            return Sniffed("zip", members=tuple(archive.members))
    if head.startswith(_COMPRESSED_TAR) or head[257:262] == b"ustar":
        return Sniffed("tar")
    if len(head) >= 12 and head[0] in (12, 14) and head[8:12] == b".FIT":
        return Sniffed("fit")
    return _text_kind(head)


def _text_kind(head: bytes) -> Sniffed:
    for bom in _BOMS:
        if head.startswith(bom):
            codec = "utf-8" if bom == _BOMS[0] else "utf-16"
            text = head.decode(codec, errors="ignore").lstrip("\ufeff")
            break
    else:
        if b"\x00" in head:
            return Sniffed("binary")
        text = head.decode("utf-8", errors="replace")
    stripped = text.lstrip()
    if stripped.startswith("<"):
        prolog = _PROLOG.match(stripped)
        match = _ROOT.match(stripped, prolog.end() if prolog else 0)
        return Sniffed("xml", root=match.group(2).lower() if match else "")
    if stripped[:1] in ("{", "["):
        return Sniffed("json", root="object" if stripped[0] == "{" else "array")
    if stripped[:11].upper() == "BEGIN:VCARD":
        return Sniffed("vcard")
    return Sniffed("text")


def _folder_names(folder: Path) -> list[str]:
    """The files under FOLDER as relative POSIX paths; links are not followed."""
    names: list[str] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        base = Path(root).relative_to(folder)
        names.extend((base / f).as_posix() for f in sorted(files))
    return names
