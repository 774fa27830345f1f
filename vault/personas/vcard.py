"""vCard 4.0 (RFC 6350) and jCard (RFC 7095) for personas, in and out; vCard 3.0 and 2.1 in.

Both formats go through one intermediate, a list of `Property` per card, so the mapping to
persona attributes is written once. Properties Coffre does not interpret are kept verbatim as
`vcard` attributes and written back on export, so an imported card loses nothing. Coffre's own
additions use X- names: `X-COFFRE-SENSITIVE=TRUE` marks a sensitive attribute,
`X-COFFRE-FIELD;X-KEY=key:value` carries a free field, `X-COFFRE-RESUME` the JSON Resume
sections beyond `basics`. Errors name the file, the card and the line, never their content.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from vault.core.errors import InvalidParameter, MalformedInput
from vault.core.i18n import N_, N_plural, Text
from vault.personas import (
    ADDRESS,
    AVATAR,
    BIRTH_DATE,
    EMAIL,
    FIELD,
    HANDLE,
    NAME,
    NICKNAME,
    NOTE,
    ORG,
    PHONE,
    RESUME,
    TITLE,
    URL,
    VCARD,
    Attribute,
    Params,
    Persona,
    PersonaDraft,
    address_attribute,
    import_drafts,
    name_attribute,
    normalize_birth_date,
)

if TYPE_CHECKING:
    from vault.core.importing import ImportSummary
    from vault.core.vault import Vault

MAX_BYTES: Final = 64 * 1024 * 1024
SENSITIVE_PARAM: Final = "X-COFFRE-SENSITIVE"
FIELD_PROP: Final = "X-COFFRE-FIELD"
RESUME_PROP: Final = "X-COFFRE-RESUME"
KEY_PARAM: Final = "X-KEY"
# A property's group (`item1.` in `item1.TEL`), kept as a parameter: jCard writes it so
# (RFC 7095 3.3.1.2), and the vCard writer puts it back in front of the name.
GROUP_PARAM: Final = "GROUP"

# Value shapes: how a property's text is split and escaped.
STRUCTURED: Final = frozenset({"N", "ADR", "ORG"})
TEXT_LIST: Final = frozenset({"NICKNAME", "CATEGORIES"})
TEXT: Final = frozenset({"FN", "EMAIL", "TITLE", "NOTE", FIELD_PROP, RESUME_PROP})
URI: Final = frozenset({"PHOTO", "URL", "SOCIALPROFILE", "X-SOCIALPROFILE", "IMPP", "TEL"})
# Attribute kinds that are one vCard property's plain value, both ways: kind -> property.
_PLAIN: Final = {EMAIL: "EMAIL", TITLE: "TITLE", NOTE: "NOTE", AVATAR: "PHOTO", URL: "URL"}
_PLAIN_KIND: Final = {prop: kind for kind, prop in _PLAIN.items()}
# UID is read verbatim whatever its type (a URI, or text as some writers use).
DATE: Final = frozenset({"BDAY"})
DROPPED: Final = frozenset({"BEGIN", "END", "VERSION", "PRODID", "REV"})
# Parameters that become attribute fields instead of being kept as they are.
CONSUMED_PARAMS: Final = frozenset({"TYPE", "VALUE", SENSITIVE_PARAM, "SERVICE-TYPE", "USERNAME"})

_NAME_RE = re.compile(r"^[A-Za-z0-9-]+$")
# The versions read: 4.0, 3.0 (the same syntax) and 2.1 (still written by phones and Outlook).
VERSIONS: Final = ("4.0", "3.0", "2.1")
# vCard 2.1 transfer encodings, which may be written without `ENCODING=`.
_ENCODINGS: Final = frozenset({"QUOTED-PRINTABLE", "BASE64", "B", "7BIT", "8BIT"})
# Codecs Python knows that are not character sets a card may name.
_NOT_CHARSETS: Final = frozenset(
    {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"}
)
_MEDIA_RE = re.compile(r"^[a-z0-9][a-z0-9.+-]*(/[a-z0-9][a-z0-9.+-]*)?$")
_MAGIC: Final = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG", "image/png"),
    (b"GIF8", "image/gif"),
)
_LINE_END = re.compile(rb"\r\n|\r|\n")
_NEWLINES = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Property:
    """One vCard property: upper-case name, parameters, value type and decoded components.

    `vtype` is `text`, `uri`, `date` or `unknown`; an `unknown` value is the raw vCard text,
    kept verbatim. Text components are tuples of list values (NICKNAME:a,b is one component
    with two values; N has five components).
    """

    name: str
    params: Params
    vtype: str
    components: tuple[tuple[str, ...], ...]

    def param(self, name: str) -> tuple[str, ...]:
        for key, values in self.params:
            if key == name:
                return values
        return ()

    @property
    def text(self) -> str:
        """The first value, for single-valued properties."""
        return self.components[0][0] if self.components and self.components[0] else ""


def utf8_problem(data: bytes, exc: UnicodeDecodeError) -> str:
    """Where a file stops being UTF-8, as a line and byte offset (never the bytes)."""
    line = data[: exc.start].count(b"\n") + 1
    return Text(N_("not valid UTF-8 (line {line}, byte {byte})"), line=line, byte=exc.start)


def check_size(size: int, limit: int, source: str) -> None:
    """Refuse a persona file of more than `limit` bytes (MalformedInput naming it)."""
    if size > limit:
        raise MalformedInput(
            N_("{source}: larger than {size} MiB"), source=source, size=limit // (1024 * 1024)
        )


def decode_text(data: bytes, source: str, limit: int) -> str:
    """The text of a persona file (UTF-8, a BOM allowed), or MalformedInput naming the file
    and what is wrong: too large, or where it stops being UTF-8."""
    check_size(len(data), limit, source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedInput(
            N_("{source}: {problem}"), source=source, problem=utf8_problem(data, exc)
        ) from None


def load_json(data: bytes, source: str, limit: int) -> Any:
    """The JSON document of a persona file: `decode_text`, then the line where it stops
    being JSON."""
    text = decode_text(data, source, limit)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedInput(
            N_("{source}: invalid JSON at line {line}"), source=source, line=exc.lineno
        ) from None


# --- text encoding ------------------------------------------------------------------------------


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\n", "\\n")
        .replace(",", "\\,")
        .replace(";", "\\;")
    )


def _split_unescaped(text: str, sep: str) -> list[str]:
    """Split on `sep` where it is not backslash-escaped (the pieces stay escaped)."""
    pieces, cur, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep:
            pieces.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    pieces.append("".join(cur))
    return pieces


def _split_quoted(text: str, sep: str) -> list[str]:
    """Split on `sep` outside double quotes (parameter syntax)."""
    pieces, cur, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            cur.append(ch)
        elif ch == sep and not quoted:
            pieces.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    pieces.append("".join(cur))
    return pieces


def _param_value_decode(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    # RFC 6868 caret encoding.
    return re.sub(r"\^([n^'])", lambda m: {"n": "\n", "^": "^", "'": '"'}[m[1]], value)


def _param_value_encode(value: str) -> str:
    encoded = value.replace("^", "^^").replace("\n", "^n").replace('"', "^'")
    return f'"{encoded}"' if any(c in encoded for c in ",;: ") else encoded


def _vtype_for(name: str, params: dict[str, tuple[str, ...]], raw: str) -> str:
    explicit = params.get("VALUE", ("",))[0].lower()
    if name == "TEL":
        return "uri" if explicit == "uri" or raw.lower().startswith("tel:") else "text"
    if name == "SOCIALPROFILE" and explicit == "text":
        return "text"
    if name == "BDAY" and explicit == "text":
        return "unknown"
    if name in URI:
        return "uri"
    if name in DATE:
        return "date"
    if name in STRUCTURED or name in TEXT_LIST or name in TEXT:
        return "text"
    return "unknown"


def _decode_value(name: str, vtype: str, raw: str, version: str) -> tuple[tuple[str, ...], ...]:
    if vtype in ("unknown", "date"):
        return ((raw,),)
    if vtype == "uri":
        # Some writers escape commas, semicolons and colons in URIs (`http\://`); a URI never
        # needs a backslash before them.
        return ((re.sub(r"\\([,;:])", r"\1", raw),),)
    if version == "2.1":
        # vCard 2.1 escapes only `;` (as `\;`): a backslash or a comma is text, and a list
        # property is one value.
        if name in STRUCTURED:
            return tuple((_unescape_21(c),) for c in _split_unescaped(raw, ";"))
        return ((_unescape_21(raw),),)
    if name in STRUCTURED:
        return tuple((_unescape(c),) for c in _split_unescaped(raw, ";"))
    if name in TEXT_LIST:
        return (tuple(_unescape(v) for v in _split_unescaped(raw, ",")),)
    return ((_unescape(raw),),)


def _unescape_21(text: str) -> str:
    return text.replace("\\;", ";")


def _one_line(text: str) -> str:
    """A value kept as vCard text, with any line break written `\\n`: a raw line break in
    a written card would end the property and start another."""
    return _NEWLINES.sub(r"\\n", text)


def _encode_value(prop: Property) -> str:
    if prop.vtype in ("unknown", "uri"):
        return _one_line(prop.text)
    if prop.vtype == "date":
        return _one_line(
            prop.text.replace("-", "")
            if not prop.text.startswith("--")
            else prop.text[:4] + prop.text[5:]
        )
    return ";".join(",".join(_escape(v) for v in comp) for comp in prop.components)


# --- reading vCard text -------------------------------------------------------------------------


def _head_end(line: bytes) -> int:
    """Where the ':' ending a content line's name and parameters is (outside double
    quotes), or -1."""
    if b'"' not in line:
        return line.find(b":")
    quoted = False
    for i, byte in enumerate(line):
        if byte == 0x22:
            quoted = not quoted
        elif byte == 0x3A and not quoted:
            return i
    return -1


def _soft_break(line: bytes) -> bool:
    """Whether a quoted-printable value goes on past this line (vCard 2.1's `=` at the end
    of a line, whatever the next line starts with)."""
    if not line.endswith(b"="):
        return False
    end = _head_end(line)
    return end > 0 and b"QUOTED-PRINTABLE" in line[:end].upper()


def _logical_lines(data: bytes) -> list[tuple[int, bytes]]:
    """Unfold continuation lines; keep the number of the line each property starts on.

    A line starting with a space or tab continues the previous one (its first character
    dropped, RFC 6350 3.2); a quoted-printable value ending in `=` continues on the next
    line. Only CR and LF end lines (U+2028 or \\x85 may sit inside a value)."""
    out: list[tuple[int, bytes]] = []
    soft = False
    for no, line in enumerate(_LINE_END.split(data), start=1):
        if soft:
            start, prev = out[-1]
            out[-1] = (start, prev[:-1] + line)
        elif line[:1] in (b" ", b"\t") and out:
            start, prev = out[-1]
            out[-1] = (start, prev + line[1:])
        elif line.strip():
            out.append((no, line))
        else:
            continue
        soft = _soft_break(out[-1][1])
    return out


@dataclass(frozen=True)
class _Line:
    """One content line of a card, its value still bytes: how to decode it depends on the
    card's VERSION, which may come after it."""

    source: str
    no: int  # its first physical line in the file
    name: str
    params: dict[str, tuple[str, ...]]
    raw: bytes

    @property
    def where(self) -> str:
        return _line_at(self.source, self.no)


def _line_at(source: str, no: int) -> Text:
    # Made only for a message: a sentence per line of a large file would slow reading.
    return Text(N_("{source}, line {line}"), source=source, line=no)


def _split_line(line: bytes, source: str, no: int) -> _Line:
    end = _head_end(line)
    if end < 0:
        raise MalformedInput(
            N_("{where}: no ':' between the property name and its value"),
            where=_line_at(source, no),
        )
    try:
        head = line[:end].decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedInput(N_("{where}: not valid UTF-8"), where=_line_at(source, no)) from None
    pieces = _split_quoted(head, ";")
    group, _, name = pieces[0].rpartition(".")
    name = name.upper()
    if not _NAME_RE.match(name):
        raise MalformedInput(N_("{where}: invalid property name"), where=_line_at(source, no))
    params: dict[str, tuple[str, ...]] = {}
    if group:  # Apple's `item1.TEL` + `item1.X-ABLABEL`: the label belongs to that TEL
        if not _NAME_RE.match(group):
            raise MalformedInput(N_("{where}: invalid group name"), where=_line_at(source, no))
        params[GROUP_PARAM] = (group,)
    for piece in pieces[1:]:
        if not piece:
            continue
        key, eq, value = piece.partition("=")
        if not eq:
            # vCard 2.1/3.0 shorthand: TEL;WORK;VOICE means TYPE=WORK,VOICE, and
            # NOTE;QUOTED-PRINTABLE means ENCODING=QUOTED-PRINTABLE.
            key = "ENCODING" if piece.strip().upper() in _ENCODINGS else "TYPE"
            value = piece
        key = key.strip().upper()
        if not _NAME_RE.match(key):
            raise MalformedInput(N_("{where}: invalid parameter name"), where=_line_at(source, no))
        values = tuple(_param_value_decode(v) for v in _split_quoted(value, ","))
        params[key] = params.get(key, ()) + values
    return _Line(source, no, name, params, line[end + 1 :])


def _property(line: _Line, version: str, problems: Counter[str]) -> Property | None:
    """Decode a content line's value: its transfer ENCODING (quoted-printable, base64) and
    CHARSET (vCard 2.1) are undone here and not kept, since the value is then text.

    Two defects of one value are counted in PROBLEMS instead of refusing the file (phones
    write them): a base64 value that does not decode (a damaged photo) is left out (None),
    and bytes of a quoted-printable value that are not valid in its CHARSET become U+FFFD.
    Raw bytes not valid in their CHARSET refuse the file: it is in another encoding."""
    params = dict(line.params)
    encoding = (params.pop("ENCODING", ()) or ("",))[0].upper()
    charset = (params.pop("CHARSET", ()) or ("",))[0]
    raw = line.raw
    if encoding in ("B", "BASE64"):
        prop = _binary(line, params)
        if prop is None:
            problems[f"base64 {line.name}"] += 1
        return prop
    if encoding not in ("", "7BIT", "8BIT", "QUOTED-PRINTABLE"):
        raise MalformedInput(N_("{where}: unknown ENCODING"), where=line.where)
    codec = _codec(charset, line)
    if encoding == "QUOTED-PRINTABLE":
        raw = binascii.a2b_qp(raw)
    try:
        text = raw.decode(codec)
    except UnicodeError:
        if encoding != "QUOTED-PRINTABLE":
            name = "UTF-8" if codec == "utf-8" else codec
            raise MalformedInput(
                N_("{where}: not valid {name}"), where=line.where, name=name
            ) from None
        text = raw.decode(codec, errors="replace")
        problems["charset"] += 1
    vtype = _vtype_for(line.name, params, text)
    # A quoted-printable value may hold line breaks: text keeps them as \n, a kept raw value
    # writes them `\n` as vCard 3.0/4.0 would.
    text = _NEWLINES.sub("\n", text) if vtype == "text" else _one_line(text)
    comps = _decode_value(line.name, vtype, text, version)
    return Property(line.name, tuple(params.items()), vtype, comps)


def _codec(charset: str, line: _Line) -> str:
    """The Python codec of a value's CHARSET (UTF-8 when none is named)."""
    if not charset:
        return "utf-8"
    try:
        codec = codecs.lookup(charset).name
        # A codec that is not a character set (base64, rot13) refuses to decode bytes.
        b"  ".decode(codec)
    except UnicodeError:
        pass  # a character set, which may need more bytes
    except LookupError:
        raise MalformedInput(N_("{where}: unknown CHARSET"), where=line.where) from None
    if codec in _NOT_CHARSETS:
        raise MalformedInput(N_("{where}: unknown CHARSET"), where=line.where)
    return codec


def _binary(line: _Line, params: dict[str, tuple[str, ...]]) -> Property | None:
    """An inline base64 value. A PHOTO or LOGO becomes a `data:` URI, as vCard 4.0 writes
    one (so the avatar keeps its picture); another property keeps its base64 text and its
    ENCODING parameter. None when the value is not base64."""
    text = re.sub(rb"\s+", b"", line.raw)
    try:
        binary = base64.b64decode(text, validate=True)
    except binascii.Error:
        return None
    b64 = text.decode("ascii")
    if line.name in ("PHOTO", "LOGO"):
        media = _media_type(params.pop("TYPE", ()), binary)
        uri = f"data:{media};base64,{b64}"
        return Property(line.name, tuple(params.items()), "uri", ((uri,),))
    params["ENCODING"] = ("b",)
    return Property(line.name, tuple(params.items()), "unknown", ((b64,),))


def _media_type(types: tuple[str, ...], binary: bytes) -> str:
    """The media type of an inline picture: its TYPE (JPEG, image/png), else its first bytes."""
    for value in types:
        token = value.strip().lower()
        if _MEDIA_RE.match(token):
            return token if "/" in token else "image/" + {"jpg": "jpeg"}.get(token, token)
    for magic, media in _MAGIC:
        if binary.startswith(magic):
            return media
    return "application/octet-stream"


def parse_vcard_text(data: bytes, source: str) -> list[list[Property]]:
    """Parse every card in a .vcf file: vCard 4.0, 3.0 (which shares its syntax) or 2.1
    (quoted-printable and base64 values, CHARSET, `TEL;HOME;VOICE` types)."""
    return _parse_vcard_text(data, source)[0]


def _parse_vcard_text(data: bytes, source: str) -> tuple[list[list[Property]], Counter[str]]:
    """`parse_vcard_text`, and the count of each defect of a single value met (see
    `_property`)."""
    check_size(len(data), MAX_BYTES, source)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Some Windows tools save .vcf files as UTF-16: read them as the UTF-8 they spell.
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedInput(
                N_("{source}: not valid UTF-16 (byte {byte})"), source=source, byte=exc.start
            ) from None
    data = data.removeprefix(b"\xef\xbb\xbf")
    cards: list[list[Property]] = []
    problems: Counter[str] = Counter()
    current: list[_Line] | None = None
    begin_line = 0
    for no, text in _logical_lines(data):
        line = _split_line(text, source, no)
        if line.name == "BEGIN":
            if line.raw.strip().upper() != b"VCARD":
                raise MalformedInput(
                    N_("{where}: BEGIN of something other than a vCard"), where=line.where
                )
            if current is not None:
                raise MalformedInput(
                    N_("{where}: a card starts before the previous one ended"), where=line.where
                )
            current, begin_line = [], no
            continue
        if current is None:
            raise MalformedInput(
                N_("{where}: content outside BEGIN:VCARD ... END:VCARD"), where=line.where
            )
        if line.name == "END":
            versions = [
                ln.raw.strip().decode("ascii", "replace") for ln in current if ln.name == "VERSION"
            ]
            version = _check_version(
                versions, Text(N_("{source}, card at line {line}"), source=source, line=begin_line)
            )
            props = (_property(ln, version, problems) for ln in current)
            cards.append([p for p in props if p is not None])
            current = None
            continue
        current.append(line)
    if current is not None:
        raise MalformedInput(
            N_("{source}: the card at line {line} has no END:VCARD"), source=source, line=begin_line
        )
    if not cards:
        raise MalformedInput(N_("{source}: no vCard found"), source=source)
    return cards, problems


def _check_version(versions: list[str], where: str) -> str:
    """The card's VERSION, or MalformedInput when it has none or one Coffre does not read."""
    if not versions:
        raise MalformedInput(N_("{where}: no VERSION"), where=where)
    if versions[0] not in VERSIONS:
        raise MalformedInput(
            N_("{where}: vCard version {version!r} is not supported"),
            where=where,
            version=versions[0][:8],
        )
    return versions[0]


# --- reading jCard ------------------------------------------------------------------------------


def parse_jcard(data: bytes, source: str) -> list[list[Property]]:
    """Parse a jCard document: one ["vcard", [...]] or a JSON list of them."""
    doc = load_json(data, source, MAX_BYTES)
    docs = [doc] if isinstance(doc, list) and doc[:1] == ["vcard"] else doc
    if not isinstance(docs, list) or not docs:
        raise MalformedInput(N_('{source}: not a jCard (expected ["vcard", [...]])'), source=source)
    cards = []
    for n, card in enumerate(docs, start=1):
        where = Text(N_("{source}, card {number}"), source=source, number=n)
        if not (isinstance(card, list) and len(card) == 2 and card[0] == "vcard"):
            raise MalformedInput(
                N_('{where}: not a jCard (expected ["vcard", [...]])'), where=where
            )
        if not isinstance(card[1], list):
            raise MalformedInput(N_("{where}: the properties are not a list"), where=where)
        props = [_jcard_property(p, where, i) for i, p in enumerate(card[1], 1)]
        _check_version([p.text for p in props if p.name == "VERSION"], where)
        cards.append(props)
    return cards


def _property_at(card: str, number: int) -> Text:
    return Text(N_("{where}, property {number}"), where=card, number=number)


def _jcard_property(item: Any, card: str, number: int) -> Property:
    if not (isinstance(item, list) and len(item) >= 4):
        raise MalformedInput(
            N_("{where}: expected [name, parameters, type, value...]"),
            where=_property_at(card, number),
        )
    name, params, vtype, *values = item
    if not (isinstance(name, str) and _NAME_RE.match(name)):
        raise MalformedInput(N_("{where}: invalid property name"), where=_property_at(card, number))
    if not isinstance(params, dict) or not isinstance(vtype, str):
        raise MalformedInput(
            N_("{where}: parameters must be an object and the type a string"),
            where=_property_at(card, number),
        )
    name = name.upper()
    kept: list[tuple[str, tuple[str, ...]]] = []
    for key, value in params.items():
        vals = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in vals):
            raise MalformedInput(
                N_("{where}: parameter values must be strings"), where=_property_at(card, number)
            )
        kept.append((key.upper(), tuple(vals)))
    if not all(_scalar_or_list(v) for v in values):
        raise MalformedInput(N_("{where}: unsupported value"), where=_property_at(card, number))
    if name in DROPPED or vtype.lower() == "unknown" or not _known(name):
        raw = _one_line(_jcard_to_raw(name, values))
        # The jCard type slot is vCard's VALUE parameter: keep it so the export says it again.
        typed = vtype.lower() not in ("unknown", "text") and name not in DROPPED
        if typed and not any(k == "VALUE" for k, _ in kept):
            kept.append(("VALUE", (vtype.lower(),)))
        return Property(name, tuple(kept), "unknown", ((raw,),))
    explicit = dict(kept).get("VALUE", ("",))[0].lower()
    if name == "TEL":
        out_type = "uri" if vtype == "uri" or explicit == "uri" else "text"
    elif name == "BDAY":
        out_type = "date" if vtype in ("date", "date-and-or-time", "date-time") else "unknown"
        if out_type == "unknown" and not any(k == "VALUE" for k, _ in kept):
            kept.append(("VALUE", (vtype.lower(),)))  # kept as it is, type included
    elif name == "SOCIALPROFILE" and vtype == "text":
        out_type = "text"
    else:
        out_type = "uri" if name in URI else "text"
    comps: tuple[tuple[str, ...], ...]
    if len(values) == 1 and isinstance(values[0], list):
        comps = tuple(
            (",".join(str(x) for x in c) if isinstance(c, list) else str(c),) for c in values[0]
        )
    elif len(values) > 1:
        comps = (tuple(str(v) for v in values),)
    else:
        comps = ((str(values[0]),),)
    if out_type != "text":  # a URI or date is written as it is: one line
        comps = tuple(tuple(_one_line(v) for v in c) for c in comps)
    return Property(name, tuple(kept), out_type, comps)


def _known(name: str) -> bool:
    return name in STRUCTURED | TEXT_LIST | TEXT | URI | DATE


def _scalar_or_list(v: Any) -> bool:
    if isinstance(v, str | int | float | bool):
        return True
    return isinstance(v, list) and all(
        isinstance(x, str | int | float)
        or (isinstance(x, list) and all(isinstance(y, str) for y in x))
        for x in v
    )


def _jcard_to_raw(name: str, values: list[Any]) -> str:
    def one(v: Any) -> str:
        if isinstance(v, list):
            return ";".join(
                ",".join(_escape(str(y)) for y in x) if isinstance(x, list) else _escape(str(x))
                for x in v
            )
        return str(v)

    return ",".join(one(v) for v in values)


# --- properties <-> persona -------------------------------------------------------------------


def _label(prop: Property) -> str:
    return ",".join(v.lower() for v in prop.param("TYPE"))


def _kept_params(prop: Property) -> Params:
    return tuple((k, v) for k, v in prop.params if k not in CONSUMED_PARAMS and k != KEY_PARAM)


def _sensitive(prop: Property) -> bool:
    return any(v.lower() == "true" for v in prop.param(SENSITIVE_PARAM))


def card_to_draft(props: list[Property], where: str) -> PersonaDraft | str:
    """The persona a card describes, or why it is not a persona (one of `SKIP_REASONS`)."""
    kind = next((p.text.lower() for p in props if p.name == "KIND"), "individual")
    if kind in ("group", "location"):
        return kind
    name = ""
    uid: str | None = None
    attrs: list[Attribute] = []
    for prop in props:
        if prop.name in DROPPED:
            continue
        if prop.name == "FN" and not name:
            name = prop.text
        elif prop.name == "UID" and uid is None:
            uid = prop.text
        else:
            attrs.extend(_to_attributes(prop, where))
    if not name:
        n = next((a for a in attrs if a.kind == NAME), None)
        name = n.value if n else ""
    if not name.strip():
        return "no name"
    return PersonaDraft(name.strip(), uid, tuple(attrs), where)


def _to_attributes(prop: Property, where: str) -> list[Attribute]:
    label, params, sensitive = _label(prop), _kept_params(prop), _sensitive(prop)
    common: dict[str, Any] = {"label": label, "params": params, "sensitive": sensitive}
    name, value = prop.name, prop.text
    if name == "N":
        return [name_attribute([c[0] for c in prop.components][:5], **common)]
    if name == "ADR":
        return [address_attribute([c[0] for c in prop.components][:7], **common)]
    if name == "ORG":
        units = tuple(c[0] for c in prop.components)
        return [Attribute(ORG, "; ".join(u for u in units if u), parts=units, **common)]
    if name == "NICKNAME":
        return [Attribute(NICKNAME, v, **common) for v in prop.components[0] if v.strip()]
    if name == "BDAY" and prop.vtype == "date":
        try:
            day = normalize_birth_date(value.partition("T")[0])
        except InvalidParameter:
            return [_raw(prop)]
        return [Attribute(BIRTH_DATE, day, **common)]
    if name in _PLAIN_KIND and value:
        return [Attribute(_PLAIN_KIND[name], value, **common)]
    if name == "TEL" and value:
        number = value[4:] if value.lower().startswith("tel:") else value
        return [Attribute(PHONE, number, **common)]
    if name in ("SOCIALPROFILE", "X-SOCIALPROFILE") and value:
        network = (prop.param("SERVICE-TYPE") or prop.param("TYPE") or ("",))[0]
        if prop.vtype == "text":
            username, url = value, ""
        else:
            username = (prop.param("USERNAME") or prop.param("X-USER") or (value,))[0]
            url = value
        common["label"] = network or "web"
        return [Attribute(HANDLE, username, url=url, **common)]
    if name == "IMPP" and value:
        scheme, _, rest = value.partition(":")
        common["label"] = scheme.lower()
        return [Attribute(HANDLE, rest or value, url=value, **common)]
    if name == FIELD_PROP:
        key = (prop.param(KEY_PARAM) or ("",))[0]
        if not key:
            raise MalformedInput(
                N_("{where}: {property} without its {parameter} parameter"),
                where=where,
                property=FIELD_PROP,
                parameter=KEY_PARAM,
            )
        common["label"] = key
        return [Attribute(FIELD, value, **common)]
    if name == RESUME_PROP:
        return [Attribute(RESUME, value, **common)]
    return [_raw(prop)]


def _raw(prop: Property) -> Attribute:
    params = prop.params
    if prop.vtype == "date" and not prop.param("VALUE"):
        params = (*params, ("VALUE", ("date",)))  # so that jCard says `date` again
    # A date Coffre cannot read (`BDAY:02-10`) stays as written: rewriting it as a 4.0 date
    # (`0210`) would change its meaning.
    raw = prop.text if prop.vtype in ("unknown", "date") else _encode_value(prop)
    return Attribute(VCARD, raw, label=prop.name, params=params, sensitive=_sensitive(prop))


def persona_to_properties(persona: Persona) -> list[Property]:
    """The properties of a persona's card, VERSION first."""
    props = [Property("VERSION", (), "unknown", (("4.0",),))]
    props.append(Property("FN", (), "text", ((persona.name,),)))
    props.append(Property("UID", (), "uri" if ":" in persona.uid else "text", ((persona.uid,),)))
    props.extend(_from_attribute(a) for a in persona.attributes)
    return props


def _from_attribute(a: Attribute) -> Property:
    params: list[tuple[str, tuple[str, ...]]] = []
    if a.kind == VCARD:
        params = [(k, v) for k, v in a.params if k != SENSITIVE_PARAM]
        if a.sensitive:
            params.append((SENSITIVE_PARAM, ("TRUE",)))
        return Property(a.label, tuple(params), "unknown", ((a.value,),))
    if a.label and a.kind not in (HANDLE, FIELD):
        params.append(("TYPE", tuple(a.label.split(","))))
    params.extend(a.params)
    if a.sensitive:
        params.append((SENSITIVE_PARAM, ("TRUE",)))

    def prop(name: str, vtype: str, comps: tuple[tuple[str, ...], ...]) -> Property:
        return Property(name, tuple(params), vtype, comps)

    if a.kind in (NAME, ADDRESS, ORG):
        vname = {NAME: "N", ADDRESS: "ADR", ORG: "ORG"}[a.kind]
        return prop(vname, "text", tuple((p,) for p in (a.parts or (a.value,))))
    if a.kind == BIRTH_DATE:
        return prop("BDAY", "date", ((a.value,),))
    if a.kind == PHONE:
        if " " in a.value:
            params.insert(0, ("VALUE", ("text",)))
            return prop("TEL", "text", ((a.value,),))
        params.insert(0, ("VALUE", ("uri",)))
        return prop("TEL", "uri", ((f"tel:{a.value}",),))
    if a.kind == HANDLE:
        if a.url and a.url == f"{a.label}:{a.value}":
            return prop("IMPP", "uri", ((a.url,),))
        params.insert(0, ("SERVICE-TYPE", (a.label,)))
        if not a.url:
            params.insert(0, ("VALUE", ("text",)))
            return prop("SOCIALPROFILE", "text", ((a.value,),))
        if a.value != a.url:
            params.append(("USERNAME", (a.value,)))
        return prop("SOCIALPROFILE", "uri", ((a.url,),))
    if a.kind == FIELD:
        params.insert(0, (KEY_PARAM, (a.label,)))
        return prop(FIELD_PROP, "text", ((a.value,),))
    vname = {**_PLAIN, NICKNAME: "NICKNAME", RESUME: RESUME_PROP}[a.kind]
    return prop(vname, "uri" if vname in URI else "text", ((a.value,),))


# --- writing ------------------------------------------------------------------------------------


def _fold(line: str) -> str:
    """Fold a content line at 75 octets, never inside a UTF-8 sequence (RFC 6350 3.2)."""
    out: list[str] = []
    cur: list[str] = []
    size = 0
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > 75:
            out.append("".join(cur))
            cur, size = [" "], 1
        cur.append(ch)
        size += n
    out.append("".join(cur))
    return "\r\n".join(out)


def _content_line(prop: Property) -> str:
    group = prop.param(GROUP_PARAM)
    grouped = len(group) == 1 and bool(_NAME_RE.match(group[0]))
    head = f"{group[0]}.{prop.name}" if grouped else prop.name
    for key, values in prop.params:
        if key == GROUP_PARAM and grouped:
            continue
        head += f";{key}=" + ",".join(_param_value_encode(v) for v in values)
    return _fold(f"{head}:{_encode_value(prop)}")


def to_vcard(personas: list[Persona]) -> str:
    """vCard 4.0 text (CRLF line ends, folded lines) for one or more personas."""
    lines = []
    for persona in personas:
        lines.append("BEGIN:VCARD")
        lines.extend(_content_line(p) for p in persona_to_properties(persona))
        lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def _jcard_value(prop: Property) -> list[Any]:
    if prop.vtype == "date":
        return [prop.text]
    if prop.vtype in ("unknown", "uri"):
        return [prop.text]
    if prop.name in STRUCTURED:
        return [[c[0] if len(c) == 1 else list(c) for c in prop.components]]
    return list(prop.components[0])


def to_jcard(personas: list[Persona]) -> Any:
    """jCard (RFC 7095): one card as ["vcard", [...]], several as a list of cards."""
    cards = []
    for persona in personas:
        items = []
        for prop in persona_to_properties(persona):
            vtype = "text" if prop.name == "VERSION" else prop.vtype
            if vtype == "unknown":  # a kept property: its VALUE parameter is the jCard type
                vtype = next((v[0].lower() for k, v in prop.params if k == "VALUE"), vtype)
            params = {
                k.lower(): (v[0] if len(v) == 1 else list(v))
                for k, v in prop.params
                if k != "VALUE"
            }
            items.append([prop.name.lower(), params, vtype, *_jcard_value(prop)])
        cards.append(["vcard", items])
    return cards[0] if len(cards) == 1 else cards


def parse_any(data: bytes, source: str) -> list[list[Property]]:
    """vCard text or jCard, told apart by the first non-blank character."""
    return _parse_any(data, source)[0]


def _parse_any(data: bytes, source: str) -> tuple[list[list[Property]], Counter[str]]:
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"[":
        return parse_jcard(data, source), Counter()
    return _parse_vcard_text(data, source)


# Why a card is not a persona, for one card and for several.
SKIP_REASONS: Final = {
    "group": N_plural(
        "a vCard of KIND group is not a persona", "vCards of KIND group are not personas"
    ),
    "location": N_plural(
        "a vCard of KIND location is not a persona",
        "vCards of KIND location are not personas",
    ),
    "no name": N_plural(
        "the card has no FN (formatted name)", "the cards have no FN (formatted name)"
    ),
}
_LISTED: Final = 10  # card numbers named in one skip message


@dataclass(frozen=True)
class Cards:
    """What a vCard or jCard file holds: its personas, the numbers of the cards that are
    none (by reason) and the notes to give (values left out)."""

    drafts: list[PersonaDraft]
    skipped: dict[str, list[int]]
    notes: list[str]

    def skip_messages(self, source: str) -> list[str]:
        """One line per reason, however many cards it covers (a phone's export may hold
        hundreds of cards without a name): `f.vcf, cards 1, 2: the cards have no FN ...`."""
        out: list[str] = []
        for reason, numbers in self.skipped.items():
            why = Text(SKIP_REASONS[reason], n=len(numbers))
            if len(numbers) == 1:
                out.append(
                    Text(
                        N_("{source}, card {number}: {why}"),
                        source=source,
                        number=numbers[0],
                        why=why,
                    )
                )
                continue
            listed = ", ".join(str(n) for n in numbers[:_LISTED])
            if len(numbers) > _LISTED:
                line = Text(
                    N_("{source}, cards {listed} and {more} more: {why}"),
                    source=source,
                    listed=listed,
                    more=len(numbers) - _LISTED,
                    why=why,
                )
            else:
                line = Text(
                    N_("{source}, cards {listed}: {why}"), source=source, listed=listed, why=why
                )
            out.append(line)
        return out


def _problem_note(source: str, problem: str, count: int) -> str:
    if problem == "charset":
        return Text(
            N_plural(
                "{source}: {n} quoted-printable value held bytes not valid in their CHARSET, "
                "replaced by U+FFFD",
                "{source}: {n} quoted-printable values held bytes not valid in their CHARSET, "
                "replaced by U+FFFD",
            ),
            source=source,
            n=count,
        )
    return Text(
        N_plural(
            "{source}: {n} {name} value not valid base64 left out",
            "{source}: {n} {name} values not valid base64 left out",
        ),
        source=source,
        n=count,
        name=problem.removeprefix("base64 "),
    )


def read_cards(data: bytes, source: str) -> Cards:
    """The personas in a vCard or jCard file, the cards skipped and the values left out."""
    cards, problems = _parse_any(data, source)
    drafts: list[PersonaDraft] = []
    skipped: dict[str, list[int]] = {}
    for n, card in enumerate(cards, start=1):
        found = card_to_draft(card, Text(N_("{source}, card {number}"), source=source, number=n))
        if isinstance(found, str):
            skipped.setdefault(found, []).append(n)
        else:
            drafts.append(found)
    notes = [_problem_note(source, problem, count) for problem, count in sorted(problems.items())]
    return Cards(drafts, skipped, notes)


def drafts_from_bytes(data: bytes, source: str) -> tuple[list[PersonaDraft], list[str]]:
    """The personas in a vCard or jCard file, and why the other cards were skipped."""
    cards = read_cards(data, source)
    return cards.drafts, cards.skip_messages(source)


def drafts_from_file(path: Path) -> tuple[list[PersonaDraft], list[str]]:
    """`drafts_from_bytes` on a file, refusing an oversized one before reading it."""
    return drafts_from_bytes(read_limited(path, MAX_BYTES), path.name)


def import_vcard(vault: Vault, path: Path) -> ImportSummary:
    """Import the personas of a vCard or jCard file in one transaction: a card whose UID is
    already in the vault updates that persona; cards that are no persona are counted in
    `ignored`, with one reason per kind of card in `skipped`."""
    cards = read_cards(read_limited(path, MAX_BYTES), path.name)
    return import_drafts(
        vault,
        cards.drafts,
        fmt="vcard",
        skipped=cards.skip_messages(path.name),
        ignored=sum(len(numbers) for numbers in cards.skipped.values()),
        notes=cards.notes,
    )


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of a persona file, refusing one larger than `limit` before reading it."""
    try:
        check_size(path.stat().st_size, limit, path.name)
        return path.read_bytes()
    except OSError as exc:
        raise MalformedInput(
            N_("{name}: cannot be read ({reason})"), name=path.name, reason=exc.strerror
        ) from None
