"""vCard files written by others (tests/corpus/vcard): phones, mail clients and address books
exporting vCard 2.1, 3.0 and 4.0. Expected values are read from the files by the test's own few
lines (card count, FN) or are what the files visibly hold."""

from __future__ import annotations

import base64
import json
import quopri
import re
from pathlib import Path

import pytest

from tests.builders import as_persona, attribute
from vault import personas as identities
from vault.core.vault import Vault
from vault.personas import vcard

CORPUS_FILES = sorted((Path(__file__).parents[2] / "corpus" / "vcard").glob("*.vcf"))
# Line ends as these files write them: CRLF, LF, and CR CR LF (the iPhone export).
_BEGIN = re.compile(rb"(?im)^(?:[\w-]+\.)?BEGIN:VCARD\r*$")
# An FN line with its quoted-printable soft line breaks (`=` at the end of a line).
_FN = re.compile(rb"(?im)^(?:[\w-]+\.)?FN([;:](?:[^\r\n]*=\r*\n)*[^\r\n]*)")


def _names_in(raw: bytes) -> list[str | None]:
    """Each card's FN as the file writes it (None for a card without one), decoded here."""
    names: list[str | None] = []
    for chunk in _BEGIN.split(raw)[1:]:
        found = _FN.search(chunk)
        if found is None:
            names.append(None)
            continue
        head, _, value = found.group(1).partition(b":")
        charset = re.search(rb"(?i)CHARSET=([\w-]+)", head)
        encoding = charset.group(1).decode() if charset else "utf-8"
        if b"QUOTED-PRINTABLE" in head.upper():
            value = quopri.decodestring(re.sub(rb"=\r*\n", b"", value))
        names.append(value.decode(encoding).replace("\\,", ",").strip())
    return names


def _photo_bytes(raw: bytes, card: int = 0) -> bytes:
    """The picture of a card's base64 PHOTO: its folded lines up to the blank line."""
    chunk = _BEGIN.split(raw)[1 + card]
    found = re.search(rb"(?ms)^PHOTO;[^:\r\n]*BASE64[^:\r\n]*:(.*?)^\r*$", chunk)
    assert found is not None
    return base64.b64decode(re.sub(rb"\s+", b"", found.group(1)))


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_every_card_is_a_persona_or_skipped_with_its_reason(path: Path) -> None:
    raw = path.read_bytes()
    names = _names_in(raw)
    assert names  # the file holds cards
    drafts, skipped = vcard.drafts_from_bytes(raw, path.name)
    assert [d.name for d in drafts] == [n for n in names if n is not None]
    nameless = [str(i) for i, n in enumerate(names, start=1) if n is None]
    reason = "the cards have no FN (formatted name)"
    expected = [f"{path.name}, cards {', '.join(nameless)}: {reason}"] if nameless else []
    assert skipped == expected


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_every_card_comes_back_the_same_through_vcard_4_and_jcard(path: Path) -> None:
    for draft in vcard.drafts_from_bytes(path.read_bytes(), path.name)[0]:
        p = as_persona(draft)
        for out in (vcard.to_vcard([p]), json.dumps(vcard.to_jcard([p]))):
            (back,) = vcard.drafts_from_bytes(out.encode(), "export")[0]
            assert as_persona(back).profile() == p.profile()
        # A written card has one property per line: no value carries a raw line break.
        for line in vcard.to_vcard([p]).split("\r\n")[:-1]:
            assert line[:1] == " " or re.match(r"^([A-Za-z0-9-]+\.)?[A-Z0-9-]+[;:]", line)


def _one(path: Path) -> identities.Persona:
    (draft,) = vcard.drafts_from_bytes(path.read_bytes(), path.name)[0]
    return as_persona(draft)


def _corpus(name: str) -> Path:
    return next(p for p in CORPUS_FILES if p.name == name)


def test_outlook_vcard_2_1() -> None:
    """MS Outlook's 2.1 export: bare TYPE forms, quoted-printable LABEL, a folded base64
    PHOTO ended by a blank line."""
    path = _corpus("John_Doe_MS_OUTLOOK.vcf")
    p = _one(path)
    assert [(t.value, t.label) for t in p.all("phone")] == [
        ("(905) 555-1234", "work,voice"),
        ("(905) 666-1234", "home,voice"),
    ]
    work = attribute(p, "address")  # ADR;WORK;PREF wins
    assert (work.label, work.part("street"), work.part("locality")) == (
        "work,pref",
        "Cresent moon drive",
        "Albaney",
    )
    email = attribute(p, "email")
    assert (email.value, email.label) == ("john.doe@ibm.cm", "pref,internet")
    assert attribute(p, "birth_date").value == "1980-03-22"
    assert attribute(p, "org").parts == ("IBM", "Accounting")
    label = next(a for a in p.all("vcard") if a.label == "LABEL")
    assert label.value == "Cresent moon drive\\nAlbaney, New York  12345"
    avatar = attribute(p, "avatar")
    prefix = "data:image/jpeg;base64,"
    assert avatar.value.startswith(prefix)
    assert base64.b64decode(avatar.value[len(prefix) :]) == _photo_bytes(path.read_bytes())


def test_outlook_2003_quoted_printable_soft_breaks_and_escapes() -> None:
    p = _one(_corpus("outlook-2003.vcf"))
    note = attribute(p, "note")
    assert note.value == "This is the note field!!\nSecond line\n\nThird line is empty\n"
    assert attribute(p, "org").parts == ("Company, The", "TheDepartment")  # 2.1: a comma is text
    key = next(a for a in p.all("vcard") if a.label == "KEY")
    assert key.param("ENCODING") == ("b",)
    base64.b64decode(key.value, validate=True)  # the folded base64, whole


def test_android_export_of_several_cards() -> None:
    """Android's 2.1 export: UTF-8 quoted-printable names over several lines, `TEL;CELL;PREF`.
    Its cards 1 and 2 have no name; one photo is cut short, and one ORG ends in a byte
    that is no UTF-8: both are reported once, the rest imported."""
    path = _corpus("John_Doe_ANDROID.vcf")
    raw = path.read_bytes()
    cards = vcard.read_cards(raw, path.name)
    second = as_persona(cards.drafts[1])
    assert [(t.value, t.label) for t in second.all("phone")] == [
        ("123456", "cell,pref"),
        ("234567", "home"),
        ("3456789", "cell"),
        ("45678901", "home"),
    ]
    with pytest.raises(ValueError):
        _photo_bytes(raw, card=4)  # the file's own photo does not decode
    assert cards.notes == [
        f"{path.name}: 1 PHOTO value not valid base64 left out",
        f"{path.name}: 1 quoted-printable value held bytes not valid in their CHARSET, "
        "replaced by U+FFFD",
    ]
    assert as_persona(cards.drafts[2]).first("avatar") is None


def test_blackberry_single_line_photo_and_2_1_type_parameter() -> None:
    path = _corpus("John_Doe_BLACK_BERRY.vcf")
    p = _one(path)
    phone = attribute(p, "phone")
    assert (phone.value, phone.label) == ("+96123456789", "cell")
    avatar = attribute(p, "avatar").value
    assert base64.b64decode(avatar.partition(",")[2]) == _photo_bytes(path.read_bytes())


@pytest.mark.parametrize(
    "name", ["John_Doe_IPHONE.vcf", "John_Doe_MAC_ADDRESS_BOOK.vcf", "John_Doe_GMAIL.vcf"]
)
def test_apple_and_gmail_escaped_colons_in_urls(name: str) -> None:
    raw = _corpus(name).read_bytes()
    assert b"http\\://www.ibm.com" in raw
    assert attribute(_one(_corpus(name)), "url").value == "http://www.ibm.com"


def test_apple_groups_keep_a_label_with_its_property() -> None:
    """`item2.TEL` and `item2.X-ABLabel` (the iPhone's custom phone label) stay together."""
    p = _one(_corpus("John_Doe_IPHONE.vcf"))
    phone = next(t for t in p.all("phone") if t.value == "905-222-1234")
    label = next(a for a in p.all("vcard") if a.label == "X-ABLABEL" and "Assistant" in a.value)
    assert phone.param("GROUP") == label.param("GROUP") == ("item2",)
    text = vcard.to_vcard([p])
    assert "\r\nitem2.TEL;VALUE=uri:tel:905-222-1234\r\n" in text
    assert "\r\nitem2.X-ABLABEL:_$!<AssistantPhone>!$_\r\n" in text
    card = vcard.to_jcard([p])
    assert ["tel", {"group": "item2"}, "uri", "tel:905-222-1234"] in card[1]


def test_apple_inline_photos_become_data_uris() -> None:
    for name in ("John_Doe_IPHONE.vcf", "John_Doe_MAC_ADDRESS_BOOK.vcf"):
        avatar = attribute(_one(_corpus(name)), "avatar")
        assert avatar.value.startswith("data:image/jpeg;base64,/9j/")
        assert (avatar.label, avatar.params) == ("", ())


def test_a_date_coffre_cannot_read_is_kept_as_written() -> None:
    p = _one(_corpus("vobject-simple-3.0.vcf"))
    bday = next(a for a in p.all("vcard") if a.label == "BDAY")
    assert bday.value == "02-10"
    assert "BDAY;VALUE=date:02-10\r\n" in vcard.to_vcard([p])


def test_importing_a_phone_export(fresh_vault: Vault) -> None:
    path = _corpus("John_Doe_ANDROID.vcf")
    names = _names_in(path.read_bytes())
    first = vcard.import_vcard(fresh_vault, path)
    assert first.added == sum(1 for n in names if n is not None)
    assert first.ignored == names.count(None)
    assert len(first.skipped) == 1  # one line for both nameless cards
    assert len(first.notes) == 2
    again = vcard.import_vcard(fresh_vault, path)
    assert (again.added, len(again.unchanged)) == (0, first.added)
