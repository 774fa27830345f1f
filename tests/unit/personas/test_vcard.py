"""vCard 4.0 and jCard: the shared samples, round trips, escaping, folding and bad input."""

from __future__ import annotations

import binascii
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.builders import as_persona, attribute
from vault import personas as identities
from vault.core.errors import AlreadyExists, MalformedInput
from vault.core.vault import Vault
from vault.personas import Attribute, Persona, parse_attribute, vcard

SAMPLE_NAMES = (
    "vcard40_full.vcf",
    "vcard40_simple.vcf",
    "vcard40_org.vcf",
    "vcard40_multilang.vcf",
)


def _drafts(data: bytes | str, source: str = "t.vcf") -> list[identities.PersonaDraft]:
    raw = data.encode() if isinstance(data, str) else data
    return vcard.drafts_from_bytes(raw, source)[0]


def test_full_sample_maps_onto_attributes(samples: Path) -> None:
    (d,) = vcard.drafts_from_file(samples / "vcard" / "vcard40_full.vcf")[0]
    p = as_persona(d)
    assert p.name == "Dr. John Q. Public, III"
    assert p.uid == "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
    name = attribute(p, "name")
    assert name.parts == ("Public", "John", "Quinlan", "Dr.", "III")
    assert [a.value for a in p.all("nickname")] == ["Johnny", "JQP"]
    assert p.first("birth_date") == Attribute("birth_date", "1985-04-15")
    home = attribute(p, "address")  # PREF=1 wins over the first one
    assert (home.label, home.part("street"), home.part("country")) == (
        "home",
        "456 Oak Lane",
        "U.S.A.",
    )
    phone = attribute(p, "phone")
    assert (phone.value, phone.label) == ("+1-555-555-5555", "voice")
    email = attribute(p, "email")
    assert email.value == "johnny@personal.example.org"
    handles = p.all("handle")
    assert [(h.label, h.value) for h in handles] == [
        ("xmpp", "john@jabber.example.com"),
        ("sip", "john@voip.example.com"),
    ]
    org = attribute(p, "org")
    assert org.parts == ("Example Corp.", "North Division", "Marketing")
    note = attribute(p, "note")
    assert note.value == "This is a note about John.\nHe likes vCards."
    kept = {a.label for a in p.all("vcard")}
    assert {"GEO", "TZ", "LANG", "RELATED", "CATEGORIES", "ANNIVERSARY", "KEY"} <= kept
    assert identities.derive(p, "country") == "US"
    assert identities.derive(p, "birth_year") == 1985


def test_escaped_comma_and_multilanguage(samples: Path) -> None:
    (org,) = vcard.drafts_from_file(samples / "vcard" / "vcard40_org.vcf")[0]
    unit = attribute(as_persona(org), "org")
    assert unit.parts[0] == "ABC, Inc."
    (ml,) = vcard.drafts_from_file(samples / "vcard" / "vcard40_multilang.vcf")[0]
    names = as_persona(ml).all("name")
    assert [n.param("LANGUAGE") for n in names] == [("en",), ("ja",)]
    assert names[1].parts[:2] == ("山田", "太郎")
    assert names[1].param("SORT-AS") == ("yamada,taro",)


def test_groups_and_places_are_skipped(samples: Path) -> None:
    for name in ("vcard40_group.vcf", "vcard40_location.vcf"):
        drafts, skipped = vcard.drafts_from_file(samples / "vcard" / name)
        assert drafts == []
        assert len(skipped) == 1
        assert name in skipped[0]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
@pytest.mark.parametrize("fmt", ["vcard", "jcard"])
def test_samples_round_trip(samples: Path, name: str, fmt: str) -> None:
    (d,) = vcard.drafts_from_file(samples / "vcard" / name)[0]
    p = as_persona(d)
    out = vcard.to_vcard([p]) if fmt == "vcard" else json.dumps(vcard.to_jcard([p]))
    (back,) = _drafts(out)
    assert as_persona(back).profile() == p.profile()
    assert back.uid == p.uid


def test_export_is_valid_vcard_text() -> None:
    long_note = "Ünïcödé " * 30 + "end"
    p = Persona(
        "0" * 32,
        "Zoë; the \\ one, truly",
        "urn:uuid:1",
        (
            Attribute("note", long_note),
            parse_attribute("phone", "+33 1 23 45 67 89"),
            parse_attribute("phone.cell", "+33612345678"),
            parse_attribute("birth_date", "--02-29", sensitive=True),
        ),
    )
    text = vcard.to_vcard([p])
    lines = text.split("\r\n")
    assert lines[0] == "BEGIN:VCARD"
    assert lines[1] == "VERSION:4.0"
    assert lines[-2:] == ["END:VCARD", ""]
    assert all(len(line.encode()) <= 75 for line in lines)
    assert "FN:Zoë\\; the \\\\ one\\, truly" in lines
    assert "TEL;VALUE=text:+33 1 23 45 67 89" in lines
    assert "TEL;VALUE=uri;TYPE=cell:tel:+33612345678" in lines
    assert "BDAY;X-COFFRE-SENSITIVE=TRUE:--0229" in lines
    (back,) = _drafts(text)
    assert as_persona(back).profile() == p.profile()


def test_jcard_shape() -> None:
    p = Persona(
        "0" * 32,
        "Jane",
        "urn:uuid:1",
        (
            parse_attribute("name", "Jane Doe"),
            parse_attribute("birth_date", "1990-05-01"),
            parse_attribute("email.work", "j@x.org"),
        ),
    )
    card = vcard.to_jcard([p])
    assert card[0] == "vcard"
    props = {item[0]: item for item in card[1]}
    assert props["version"] == ["version", {}, "text", "4.0"]
    assert props["n"] == ["n", {}, "text", ["Doe", "Jane", "", "", ""]]
    assert props["bday"] == ["bday", {}, "date", "1990-05-01"]
    assert props["email"] == ["email", {"type": "work"}, "text", "j@x.org"]
    several = vcard.to_jcard([p, p])
    assert isinstance(several, list)
    assert len(several) == 2
    assert len(_drafts(json.dumps(several))) == 2


def test_vcard3_and_apple_groups_and_folding() -> None:
    text = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\n"
        "item1.EMAIL;TYPE=INTERNET;TYPE=HOME:ann@\r\n example.org\r\n"
        "TEL;CELL:+1 555\r\n"
        "X-SOCIALPROFILE;TYPE=twitter;X-USER=ann:https://twitter.com/ann\r\n"
        'NOTE;X-Q="a:b;c":hi\r\n'
        "END:VCARD\r\n"
    )
    (d,) = _drafts(text)
    p = as_persona(d)
    email = attribute(p, "email")
    assert (email.value, email.label) == ("ann@example.org", "internet,home")
    phone = attribute(p, "phone")
    assert (phone.value, phone.label) == ("+1 555", "cell")
    handle = attribute(p, "handle")
    assert (handle.label, handle.value, handle.url) == ("twitter", "ann", "https://twitter.com/ann")
    note = attribute(p, "note")
    assert note.param("X-Q") == ("a:b;c",)
    (again,) = _drafts(vcard.to_vcard([p]))
    assert as_persona(again).profile() == p.profile()


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r")
    | st.sampled_from([",", ";", "\\", "\n", ":", '"', "^", "\u2028", "\x85", "\x0b"]),
    min_size=1,
    max_size=80,
).filter(lambda s: s.strip() == s and s.strip())


@given(name=_text, note=_text, key=_text, value=_text)
def test_any_text_round_trips(name: str, note: str, key: str, value: str) -> None:
    p = Persona(
        "0" * 32,
        " ".join(name.split()) or "x",
        "urn:uuid:1",
        (
            Attribute("note", note),
            Attribute("field", value, label=key, params=(("X-P", (value,)),)),
        ),
    )
    for out in (vcard.to_vcard([p]), json.dumps(vcard.to_jcard([p]))):
        (back,) = _drafts(out)
        assert as_persona(back).profile() == p.profile()


# --- bad input ---


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"BEGIN:VCARD\nVERSION:4.0\nFN:A\n", "line 1 has no END:VCARD"),
        (b"BEGIN:VCARD\nVERSION:4.0\nFN A\nEND:VCARD\n", "line 3: no ':'"),
        (b"FN:A\n", "line 1: content outside"),
        (b"BEGIN:VCARD\nVERSION:2.0\nFN:A\nEND:VCARD\n", "version '2.0' is not supported"),
        (b"BEGIN:VCARD\nFN:A\nEND:VCARD\n", "no VERSION"),
        (b"BEGIN:VCARD\nVERSION:4.0\nFN:\xff\nEND:VCARD\n", "line 3: not valid UTF-8"),
        (b"BEGIN:VCARD\nVERSION:2.1\nFN;CHARSET=koi9:A\nEND:VCARD\n", "line 3: unknown CHARSET"),
        (b"BEGIN:VCARD\nVERSION:2.1\nFN;CHARSET=base64:QQ==\nEND:VCARD\n", "unknown CHARSET"),
        (b"BEGIN:VCARD\nVERSION:2.1\nFN;CHARSET=idna:A\nEND:VCARD\n", "unknown CHARSET"),
        (b"BEGIN:VCARD\nVERSION:2.1\nFN;CHARSET=UTF-16:AB\xd8\nEND:VCARD\n", "not valid utf-16"),
        (b"BEGIN:VCARD\nVERSION:2.1\nFN;ENCODING=UUENCODE:A\nEND:VCARD\n", "unknown ENCODING"),
        (b"BEGIN:VCARD\nVERSION:2.1\nFN;\xff:A\nEND:VCARD\n", "line 3: not valid UTF-8"),
        (b"BEGIN:VCARD\nVERSION:2.1\nFN:A\nAGENT:\nBEGIN:VCARD\n", "line 5: a card starts before"),
        (b"BEGIN:VCARD\nVERSION:4.0\nBEGIN:VCARD\n", "line 3: a card starts before"),
        (b"BEGIN:VCARD\nVERSION:4.0\nF N:x\nEND:VCARD\n", "line 3: invalid property name"),
        (b"BEGIN:VCARD\nVERSION:4.0\ni m.TEL:1\nEND:VCARD\n", "line 3: invalid group name"),
        (b"BEGIN:VCALENDAR\n", "BEGIN of something other"),
        (b"\n\n", "no vCard found"),
        (b'["vcard", [["version", {}, "text"]]]', "card 1, property 1: expected"),
        (b'["vcard", {}]', "the properties are not a list"),
        (b'[["vcard"]]', "card 1: not a jCard"),
        (b'["vcard", [["fn", {}, "text", "A"]', "invalid JSON at line 1"),
        (b'["vcard", [["version", {}, "text", "4.0"], ["fn", [], "text", "A"]]]', "property 2"),
        (b'["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", {"a": 1}]]]', "value"),
    ],
)
def test_malformed_input_names_file_and_place(data: bytes, problem: str) -> None:
    with pytest.raises(MalformedInput) as err:
        vcard.drafts_from_bytes(data, "bad.vcf")
    assert "bad.vcf" in err.value.message
    assert problem in err.value.message


def test_errors_never_echo_content() -> None:
    with pytest.raises(MalformedInput) as err:
        vcard.drafts_from_bytes(b"BEGIN:VCARD\nVERSION:4.0\nsecret-name-here\n", "x.vcf")
    assert "secret" not in err.value.message


def test_card_without_name_is_skipped_with_reason() -> None:
    drafts, skipped = vcard.drafts_from_bytes(
        b"BEGIN:VCARD\nVERSION:4.0\nEMAIL:a@b.c\nEND:VCARD\n", "n.vcf"
    )
    assert drafts == []
    assert skipped == ["n.vcf, card 1: the card has no FN (formatted name)"]


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.vcf"
    with big.open("wb") as fh:
        fh.truncate(vcard.MAX_BYTES + 1)
    with pytest.raises(MalformedInput, match=r"big\.vcf: larger than"):
        vcard.drafts_from_file(big)


# --- importing into a vault ---


def test_import_is_idempotent_and_updates_by_uid(fresh_vault: Vault, samples: Path) -> None:
    store = fresh_vault.store
    simple, _ = vcard.drafts_from_file(samples / "vcard" / "vcard40_simple.vcf")
    first = identities.import_drafts(fresh_vault, simple, fmt="vcard")
    assert (first.added, len(first.added_ids)) == (1, 1)
    again = identities.import_drafts(fresh_vault, simple, fmt="vcard")
    assert (again.added, again.added_ids, again.updated, again.unchanged) == (
        0,
        (),
        (),
        first.added_ids,
    )
    # The full card carries the same UID: it updates the same persona.
    full, _ = vcard.drafts_from_file(samples / "vcard" / "vcard40_full.vcf")
    updated = identities.import_drafts(fresh_vault, full, fmt="vcard")
    assert updated.updated == first.added_ids
    p = identities.get_persona(fresh_vault, first.added_ids[0])
    assert p.name == "Dr. John Q. Public, III"
    assert p.version == 2
    assert store.count(identities.KIND) == 1
    actions = [e.action for e in fresh_vault.audit_log()]
    assert actions.count("persona.import.vcard") == 3


def test_failed_import_leaves_the_vault_unchanged(fresh_vault: Vault) -> None:
    store = fresh_vault.store
    identities.add_persona(fresh_vault, "Bob")
    before = store.state()
    text = (
        "BEGIN:VCARD\nVERSION:4.0\nFN:Alice\nUID:urn:a\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:4.0\nFN:bob\nUID:urn:b\nEND:VCARD\n"
    )
    drafts, _ = vcard.drafts_from_bytes(text.encode(), "two.vcf")
    with pytest.raises(AlreadyExists, match=r"two\.vcf, card 2"):
        identities.import_drafts(fresh_vault, drafts, fmt="vcard")
    assert store.count(identities.KIND) == 1
    assert store.state().digest == before.digest
    assert fresh_vault.check() == []


def test_export_then_import_gives_the_same_persona(fresh_vault: Vault, tmp_path: Path) -> None:
    original = identities.add_persona(
        fresh_vault,
        "Camille Martin",
        [
            parse_attribute("name", "Martin;Camille;;;"),
            parse_attribute("email.work", "camille@example.org"),
            parse_attribute("birth_date", "1988-11-03", sensitive=True),
            parse_attribute("address.home", "2 place X;Lyon;;69001;France"),
            parse_attribute("handle.github", "camille https://github.com/camille"),
            parse_attribute("handle.matrix", "@c:example.org"),
            parse_attribute("avatar", "data:image/png;base64,iVBORw0KGgo="),
            parse_attribute("pronouns", "elle"),
        ],
    )
    other = Vault.create(tmp_path / "other", "pw", kdf="minimum")
    try:
        for text in (vcard.to_vcard([original]), json.dumps(vcard.to_jcard([original]))):
            drafts, _ = vcard.drafts_from_bytes(text.encode(), "export")
            result = identities.import_drafts(other, drafts, fmt="vcard")
            got = identities.get_persona(other, original.uid)
            assert got.profile() == original.profile()
            assert got.uid == original.uid
            assert result.added or result.unchanged
    finally:
        other.close()


RFC7095_EXAMPLE = """
["vcard", [
  ["version", {}, "text", "4.0"],
  ["fn", {}, "text", "Simon Perreault"],
  ["n", {}, "text", ["Perreault", "Simon", "", "", ["ing. jr", "M.Sc."]]],
  ["bday", {}, "date-and-or-time", "--02-03"],
  ["anniversary", {}, "date-and-or-time", "2009-08-08T14:30:00-05:00"],
  ["gender", {}, "text", "M"],
  ["lang", {"pref": "1"}, "language-tag", "fr"],
  ["lang", {"pref": "2"}, "language-tag", "en"],
  ["org", {"type": "work"}, "text", "Viagenie"],
  ["adr", {"type": "work"}, "text",
   ["", "Suite D2-630", "2875 Laurier", "Quebec", "QC", "G1V 2M2", "Canada"]],
  ["tel", {"type": ["work", "voice"], "pref": "1"}, "uri", "tel:+1-418-656-9254;ext=102"],
  ["tel", {"type": ["work", "cell", "voice", "video", "text"]}, "uri", "tel:+1-418-262-6501"],
  ["email", {"type": "work"}, "text", "simon.perreault@viagenie.ca"],
  ["geo", {"type": "work"}, "uri", "geo:46.772673,-71.282945"],
  ["key", {"type": "work"}, "uri", "http://www.viagenie.ca/simon.perreault/simon.asc"],
  ["tz", {}, "utc-offset", "-05:00"],
  ["url", {"type": "home"}, "uri", "http://nomis80.org"]
]]
"""


def test_rfc7095_example() -> None:
    (d,) = _drafts(RFC7095_EXAMPLE, "simon.json")
    p = as_persona(d)
    assert p.name == "Simon Perreault"
    name = attribute(p, "name")
    assert name.part("suffix") == "ing. jr,M.Sc."
    assert p.first("birth_date") == Attribute("birth_date", "--02-03")
    adr = attribute(p, "address")
    assert (adr.part("extended"), adr.part("postal_code"), adr.label) == (
        "Suite D2-630",
        "G1V 2M2",
        "work",
    )
    phone = attribute(p, "phone")
    assert (phone.value, phone.label) == ("+1-418-656-9254;ext=102", "work,voice")
    assert identities.derive(p, "country") == "CA"
    tz = next(a for a in p.all("vcard") if a.label == "TZ")
    assert (tz.value, tz.param("VALUE")) == ("-05:00", ("utc-offset",))
    text = vcard.to_vcard([p])
    assert "TZ;VALUE=utc-offset:-05:00\r\n" in text
    assert "TEL;VALUE=uri;TYPE=work,voice;PREF=1:tel:+1-418-656-9254;ext=102\r\n" in text
    card = vcard.to_jcard([p])
    tz_item = next(item for item in card[1] if item[0] == "tz")
    assert tz_item == ["tz", {}, "utc-offset", "-05:00"]
    for out in (text, json.dumps(card)):
        (back,) = _drafts(out)
        assert as_persona(back).profile() == p.profile()


def test_import_vcard_reports_the_cards_it_skips(fresh_vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "two.vcf"
    path.write_text(
        "BEGIN:VCARD\nVERSION:4.0\nFN:Ada\nUID:urn:a\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:4.0\nKIND:group\nFN:Friends\nEND:VCARD\n"
    )
    summary = vcard.import_vcard(fresh_vault, path)
    (ada,) = identities.list_personas(fresh_vault)
    assert (summary.format, summary.added, summary.added_ids) == ("vcard", 1, (ada.id,))
    assert summary.ignored == 1
    assert summary.skipped == ("two.vcf, card 2: a vCard of KIND group is not a persona",)
    again = vcard.import_vcard(fresh_vault, path)
    assert (again.added, again.unchanged, again.ignored) == (0, (ada.id,), 1)


# --- vCard 2.1 (faithful reproductions of what the 2.1 specification and its writers do) ---


def test_vcard_2_1_charsets_and_quoted_printable() -> None:
    """Built from the vCard 2.1 specification: raw 8-bit text in the CHARSET it names,
    quoted-printable in Latin-1 with a soft line break, the bare `QUOTED-PRINTABLE` and
    `TYPE` forms, and `\\;` inside a structured value."""
    text = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\n"
        b"N;CHARSET=Windows-1252:M\xfcller;J\xfcrgen\r\n"
        b"FN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:J=FCrgen M=FC=\r\nller\r\n"
        b"NOTE;QUOTED-PRINTABLE:a=0D=0Ab, c\r\n"
        b"ADR;HOME;CHARSET=UTF-8:;;1 rue de l\\;\xc3\xa9glise;Paris;;75001;France\r\n"
        b"EMAIL;INTERNET;PREF:j@example.org\r\n"
        b"END:VCARD\r\n"
    )
    (d,) = _drafts(text)
    p = as_persona(d)
    assert p.name == "Jürgen Müller"
    assert attribute(p, "name").parts[:2] == ("Müller", "Jürgen")
    assert attribute(p, "note").value == "a\nb, c"
    adr = attribute(p, "address")
    assert (adr.label, adr.part("street"), adr.part("locality")) == (
        "home",
        "1 rue de l;église",
        "Paris",
    )
    email = attribute(p, "email")
    assert (email.label, email.params) == ("internet,pref", ())
    assert all(not a.param("CHARSET") and not a.param("ENCODING") for a in p.attributes)
    (back,) = _drafts(vcard.to_vcard([p]))
    assert as_persona(back).profile() == p.profile()


def test_a_utf16_file_with_its_byte_order_mark() -> None:
    """As some Windows tools save a .vcf (reproduced: the test encodes the card)."""
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zoë\r\nEND:VCARD\r\n"
    for codec in ("utf-16-le", "utf-16-be"):
        bom = b"\xff\xfe" if codec.endswith("le") else b"\xfe\xff"
        (d,) = _drafts(bom + text.encode(codec))
        assert d.name == "Zoë"
    with pytest.raises(MalformedInput, match=r"u\.vcf: not valid UTF-16"):
        vcard.drafts_from_bytes(b"\xff\xfeB\x00\x00\xdc", "u.vcf")


def test_raw_bytes_not_in_their_charset_refuse_the_file() -> None:
    text = b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:M\xfcller\r\nEND:VCARD\r\n"
    with pytest.raises(MalformedInput, match=r"x\.vcf, line 3: not valid UTF-8"):
        vcard.drafts_from_bytes(text, "x.vcf")


def test_a_line_break_inside_a_kept_value_never_reaches_the_export() -> None:
    """A quoted-printable or jCard value holding a line break is kept as `\\n`: written raw
    it would end the property and let the value add properties of its own."""
    evil = "x\r\nX-COFFRE-SENSITIVE:TRUE\r\nEMAIL:evil@example.org"
    qp = evil.replace("\r\n", "=0D=0A").encode()
    text = b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:A\r\nX-LABEL;ENCODING=QUOTED-PRINTABLE:" + qp
    jcard = json.dumps(
        [
            "vcard",
            [["version", {}, "text", "4.0"], ["fn", {}, "text", "A"], ["x-a", {}, "unknown", evil]],
        ]
    )
    for data in (text + b"\r\nEND:VCARD\r\n", jcard.encode()):
        (d,) = _drafts(data)
        out = vcard.to_vcard([as_persona(d)])
        assert "\r\nEMAIL" not in out
        (back,) = _drafts(out)
        assert as_persona(back).profile() == as_persona(d).profile()


def test_cards_skipped_for_one_reason_are_reported_once() -> None:
    nameless = "BEGIN:VCARD\nVERSION:3.0\nEMAIL:a@b.c\nEND:VCARD\n"
    group = "BEGIN:VCARD\nVERSION:4.0\nKIND:group\nFN:G\nEND:VCARD\n"
    cards = vcard.read_cards((nameless * 12 + group).encode(), "all.vcf")
    assert cards.skip_messages("all.vcf") == [
        "all.vcf, cards 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more: "
        "the cards have no FN (formatted name)",
        "all.vcf, card 13: a vCard of KIND group is not a persona",
    ]


@given(text=_text, charset=st.sampled_from(["UTF-8", "ISO-8859-1", "windows-1252", "UTF-16"]))
def test_any_quoted_printable_text_reads_back(text: str, charset: str) -> None:
    """A NOTE written as a 2.1 writer would (`;` escaped, then quoted-printable in CHARSET
    with soft line breaks every 76 characters) reads back as the text, line breaks as \\n."""
    escaped = text.replace(";", "\\;")
    try:
        encoded = escaped.encode(charset)
    except UnicodeEncodeError:
        encoded = escaped.encode("utf-8")
        charset = "UTF-8"
    # istext=False: every CR and LF byte is encoded (=0D=0A), as 2.1 writers do.
    qp = binascii.b2a_qp(encoded, quotetabs=True, istext=False).replace(b"=\n", b"=\r\n")
    card = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:A\r\n"
        + f"NOTE;CHARSET={charset};ENCODING=QUOTED-PRINTABLE:".encode()
        + qp
        + b"\r\nEND:VCARD\r\n"
    )
    (d,) = _drafts(card)
    note = as_persona(d).first("note")
    expected = re.sub(r"\r\n|\r", "\n", text)
    assert note is not None and note.value == expected


@given(body=st.binary(max_size=300))
def test_any_bytes_in_a_card_are_read_or_refused_as_malformed(body: bytes) -> None:
    card = b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:A\r\n" + body + b"\r\nEND:VCARD\r\n"
    try:
        vcard.read_cards(card, "f.vcf")
    except MalformedInput as exc:
        assert exc.message.startswith("The input file is malformed: f.vcf")
