"""Builders shared by the tests (no tests here).

- A sharing world for the consent, bundle, ledger and sharing CLI tests: a vault with two
  personas, QS data, content and a recipient key pair, with data inside and outside every
  dimension of the scope `inside_scope` describes.
- A persona's heart rate sent to one recipient, where the revocation and forgetting tests
  start from; and a bundle of one year's data beside data that never left, where the tests of
  a forget's erasure requests start from.
- Mastodon and Twitter/X archives and WordPress exports as the real ones lay them out, for
  the content importer and CLI tests.
- Personas: Jane Doe with an attribute of most kinds, and drafts read as personas.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from vault import content
from vault import personas as identities
from vault import sharing as consent
from vault.core import crypto, minisign
from vault.core.vault import Vault
from vault.data.csvfmt import import_csv_text
from vault.data.ingest import QSWriter
from vault.data.model import Sample
from vault.sharing.bundles import export_bundle

# The grant most tests use: steps + the physical-characteristic category (body_mass, height...)
# from 2026-10-10 to 2026-10-19 inclusive; posts tagged blog; email and age_over:18.
RANGE = ("2026-10-10", "2026-10-19")
IN_DAYS = [f"2026-10-{d:02d}" for d in range(10, 20)]
ALL_DAYS = [f"2026-10-{d:02d}" for d in range(1, 32)]
HOURS = (0, 6, 12, 18)
MARK = "ZEBRA-QUARTZ-"  # unique markers in every piece of data


@dataclass(frozen=True)
class World:
    persona: identities.Persona
    other: identities.Persona
    recipient: consent.Recipient
    identity: str  # AGE-SECRET-KEY-1...
    identity_file: Path
    items: dict[str, content.Item]


def _csv(metric: str, unit: str, base: float, days: list[str]) -> str:
    rows = []
    for day in days:
        for h in HOURS:
            t = f"{day}T{h:02d}:00:00Z"
            end = f"{day}T{h:02d}:30:00Z" if metric == "steps" else t
            rows.append(f"{t},{end},{metric},{base + h},{unit},Watch")
    return "start,end,metric,value,unit,source\n" + "\n".join(rows) + "\n"


def _add_item(
    vault: Vault,
    persona: str,
    title: str,
    kind: str,
    tags: tuple[str, ...],
    day: str,
    audience: str = content.PUBLIC,
) -> content.Item:
    tag = re.sub(r"\W+", "-", title)
    body = f"# {title}\n\n{MARK}{tag}\n".encode()
    meta = content.ItemMeta(
        title=title, kind=kind, tags=tags, created=f"{day}T09:00:00Z", audience=audience
    )
    return content.add(vault, io.BytesIO(body), meta, persona=persona)


def build_world(vault: Vault, tmp: Path) -> World:
    attrs = [
        identities.parse_attribute("name", "Ada Lovelace"),
        identities.parse_attribute("email", "ada@example.org"),
        identities.parse_attribute("phone", "+33123456789"),
        identities.parse_attribute("birth_date", "1990-01-02"),
        identities.parse_attribute("address", "1 rue X;Paris;;75001;France"),
    ]
    persona = identities.add_persona(vault, "Pro self", attrs)
    other = identities.add_persona(
        vault, "Other self", [identities.parse_attribute("email", "other@example.org")]
    )
    import_csv_text(vault, persona.id, _csv("steps", "count", 100, ALL_DAYS))
    import_csv_text(vault, persona.id, _csv("heart_rate", "/min", 60, ALL_DAYS))
    import_csv_text(vault, persona.id, _csv("body_mass", "kg", 70, ALL_DAYS))
    import_csv_text(vault, other.id, _csv("steps", "count", 5000, ALL_DAYS))
    items = {
        "in": _add_item(vault, persona.id, "Inside post", "post", ("blog",), "2026-10-12"),
        "out_kind": _add_item(vault, persona.id, "A note", "note", ("blog",), "2026-10-12"),
        "out_tag": _add_item(vault, persona.id, "Private post", "post", ("private",), "2026-10-12"),
        "out_time": _add_item(vault, persona.id, "Old post", "post", ("blog",), "2026-09-01"),
        "out_persona": _add_item(vault, other.id, "Other post", "post", ("blog",), "2026-10-12"),
    }
    secret, public = crypto.age_keygen()
    identity_file = tmp / "recipient.key"
    identity_file.write_text(consent.recipients.identity_file_text(secret, public))
    recipient = consent.add_recipient(
        vault, "Health Lab", public, contact="dpo@lab.example", homepage="https://lab.example"
    )
    return World(persona, other, recipient, secret, identity_file, items)


def add_audience_posts(vault: Vault, world: World) -> dict[str, content.Item]:
    """One post of the world's persona per audience but public, tagged blog and inside the
    grant's range, so inside every other dimension of `inside_scope`: by audience."""
    return {
        audience: _add_item(
            vault,
            world.persona.id,
            f"{audience.title()} audience post",
            "post",
            ("blog",),
            "2026-10-12",
            audience,
        )
        for audience in content.AUDIENCES[1:]
    }


def inside_scope() -> consent.ScopeRequest:
    return consent.ScopeRequest(
        metrics="steps",
        categories="pd:PhysicalCharacteristic",
        content_kinds="post",
        content_tags="blog",
        attributes="email,age_over:18",
    )


def make_grant(vault: Vault, world: World, **overrides: Any) -> consent.Grant:
    args: dict[str, Any] = {
        "recipient": world.recipient.name,
        "persona": world.persona.name,
        "scope": inside_scope(),
        "purpose": "dpv:AcademicResearch",
        "valid_until": "2099-12-31",
        "time_range": consent.TimeRange.build(*RANGE),
        "retention": "1y",
        "compensation": "a free annual check-up",
    }
    args.update(overrides)
    return consent.create_grant(vault, **args)


def receipt_schema() -> dict[str, Any]:
    """The consent receipt JSON Schema, read from docs/formats.md (so the docs stay true)."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "formats.md").read_text("utf-8")
    start = text.index("<!-- receipt-schema -->")
    block = text[start:].split("```json", 1)[1].split("```", 1)[0]
    schema: dict[str, Any] = json.loads(block)
    return schema


# --- One bundle sent ------------------------------------------------------------------------


def send_heart_rate(vault: Vault, bundle: Path, *, now: datetime, hours: int) -> str:
    """Ana's heart rate, hourly over the `hours` before `now`, sent in one bundle (written to
    `bundle`) to the recipient Clinic under a grant valid thirty days: what revoking and
    forgetting find copies of. Returns the grant's id."""
    ana = identities.add_persona(vault, "Ana")
    t0 = int((now - timedelta(hours=hours)).timestamp() * 1000)
    with QSWriter(vault, ana.id) as writer:
        for i in range(hours):
            t = t0 + i * 3_600_000
            writer.add(Sample("heart_rate", t, t, 60 + i % 9, "/min", source="Watch"))
    consent.add_recipient(vault, "Clinic", crypto.age_keygen()[1], contact="dpo@clinic.example")
    grant = consent.create_grant(
        vault,
        recipient="Clinic",
        persona="Ana",
        scope=consent.ScopeRequest(metrics="heart_rate"),
        purpose="dpv:ServiceProvision",
        valid_until=(now + timedelta(days=30)).date().isoformat(),
    )
    export_bundle(vault, grant.id, bundle)
    return grant.id


# --- Bundles as an attacker makes them ---------------------------------------------------------


def bundle_members(path: Path, identity: str) -> dict[str, bytes]:
    """The members of a bundle, decrypted with the recipient's identity."""
    out = io.BytesIO()
    with path.open("rb") as f:
        crypto.age_decrypt_stream(f, out, [identity])
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def tar_of(files: dict[str, bytes]) -> bytes:
    """A plain tar of regular files, in the USTAR format bundles use."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def encrypt_to(data: bytes, age_key: str, out: Path) -> Path:
    """`data` encrypted to `age_key`, written to `out`."""
    with out.open("wb") as f:
        crypto.age_encrypt_stream(io.BytesIO(data), f, age_key)
    return out


def forge_bundle(
    path: Path,
    world: World,
    out: Path,
    *,
    change: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
    manifest: bytes | None = None,
    receipt: bytes | None = None,
) -> str:
    """A bundle whose manifest and receipt were changed (`change(manifest, receipt)`, or
    replaced by raw bytes) and signed again with a stranger's key: what anyone who knows the
    recipient's age key can send. Every hash and signature checks out; only pinning the
    persona's key (`--key`) tells it apart. Returns the stranger's minisign key."""
    files = bundle_members(path, world.identity)
    seed = crypto.signing_seed()
    key = minisign.public_key_line(crypto.ed25519_public_key(seed))
    fields, terms = json.loads(files["manifest.json"]), json.loads(files["receipt.json"])
    fields["persona_minisign_key"] = terms["publicKey"] = key
    if change is not None:
        change(fields, terms)
    files["receipt.json"] = receipt if receipt is not None else json.dumps(terms).encode()
    files["receipt.json.minisig"] = minisign.sign(seed, None, files["receipt.json"], "r").encode()
    for listed in fields["files"]:
        data = files[listed["path"]]
        listed["sha256"], listed["size"] = hashlib.sha256(data).hexdigest(), len(data)
    files["manifest.json"] = manifest if manifest is not None else json.dumps(fields).encode()
    comment = f"coffre bundle {fields['bundle_id']} for {fields['recipient_fingerprint']}"
    files["manifest.json.minisig"] = minisign.sign(
        seed, None, files["manifest.json"], comment
    ).encode()
    encrypt_to(tar_of(files), world.recipient.age_key, out)
    return key


@dataclass(frozen=True)
class Delivered:
    """What `deliver_2024` sent: the grant, the note that left and the one that did not."""

    grant: str
    sent_note: str
    kept_note: str


def deliver_2024(vault: Vault, bundle: Path) -> Delivered:
    """Ana's heart rate at 08:00 UTC on 2021-06-01 and 2021-06-02 and on 2024-03-01 to
    2024-03-03, and two notes of March 2024. The recipient Clinic receives, in one bundle
    (written to `bundle`) under a grant limited to 2024, the 2024 heart rate and one note."""
    ana = identities.add_persona(vault, "Ana")
    with QSWriter(vault, ana.id) as writer:
        for day in ("2021-06-01", "2021-06-02", "2024-03-01", "2024-03-02", "2024-03-03"):
            t = int(datetime.fromisoformat(f"{day}T08:00:00+00:00").timestamp() * 1000)
            writer.add(Sample("heart_rate", t, t, 60, "/min", source="Watch"))
    notes = [
        content.add(
            vault,
            io.BytesIO(f"# {title}\n".encode()),
            content.ItemMeta(title=title, created="2024-03-01T09:00:00Z", audience="public"),
            persona=ana.id,
        )
        for title in ("Sent note", "Kept note")
    ]
    consent.add_recipient(vault, "Clinic", crypto.age_keygen()[1], contact="dpo@clinic.example")
    grant = consent.create_grant(
        vault,
        recipient="Clinic",
        persona="Ana",
        scope=consent.ScopeRequest(metrics="heart_rate", content_ids=notes[0].id),
        purpose="dpv:ServiceProvision",
        valid_until="2099-12-31",
        time_range=consent.TimeRange.build("2024-01-01", "2024-12-31"),
    )
    export_bundle(vault, grant.id, bundle)
    return Delivered(grant.id, notes[0].id, notes[1].id)


# --- Mastodon archives ----------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
MEDIA = "media_attachments/files/109/001/original/cat.png"
ACTOR = "https://social.example/users/ada"


PUBLIC_COLLECTION = "https://www.w3.org/ns/activitystreams#Public"
FOLLOWERS = f"{ACTOR}/followers"
# Mastodon's visibilities as its archives address them (`to`, `cc`).
VISIBILITY: dict[str, dict[str, list[str]]] = {
    "public": {"to": [PUBLIC_COLLECTION], "cc": [FOLLOWERS]},
    "unlisted": {"to": [FOLLOWERS], "cc": [PUBLIC_COLLECTION]},
    "followers": {"to": [FOLLOWERS], "cc": []},
    "direct": {"to": ["https://other.example/users/bob"], "cc": []},
}


def note(n: int, visibility: str = "public", **extra: Any) -> dict[str, Any]:
    obj = {
        "id": f"{ACTOR}/statuses/{n}",
        "type": "Note",
        "summary": None,
        "inReplyTo": None,
        "published": f"2023-01-0{n}T10:00:00Z",
        "url": f"https://social.example/@ada/{n}",
        "attributedTo": ACTOR,
        "sensitive": False,
        "content": f"<p>Post number {n} &amp; more</p>",
        "contentMap": {"en": f"<p>Post number {n}</p>"},
        "attachment": [],
        "tag": [],
        **VISIBILITY[visibility],
    }
    obj.update(extra)
    return {"id": f"{obj['id']}/activity", "type": "Create", "actor": ACTOR, "object": obj}


def outbox_text(first: list[Any], second: list[Any]) -> str:
    """An outbox as real archives write it: `orderedItems` twice, a wrong `totalItems`."""
    return (
        '{"@context": "https://www.w3.org/ns/activitystreams", "id": "outbox.json",'
        ' "type": "OrderedCollection", "totalItems": 99,'
        f' "orderedItems": {json.dumps(first)}, "orderedItems": {json.dumps(second)}}}'
    )


def default_files() -> dict[str, bytes]:
    first = [
        note(1),
        note(
            2,
            summary="spoilers",
            sensitive=True,
            attachment=[
                {
                    "type": "Document",
                    "mediaType": "image/png",
                    "url": "/" + MEDIA,
                    "name": "A cat asleep on a keyboard",
                }
            ],
            tag=[{"type": "Hashtag", "name": "#Cats", "href": "https://x/tags/cats"}],
        ),
    ]
    second = [
        note(3, inReplyTo=f"{ACTOR}/statuses/1", conversation="tag:social.example,2023:c1"),
        {"id": "b/activity", "type": "Announce", "actor": ACTOR, "object": "https://o/1"},
    ]
    return {
        "outbox.json": outbox_text(first, second).encode(),
        "actor.json": json.dumps({"type": "Person", "preferredUsername": "ada"}).encode(),
        MEDIA: PNG,
        "likes.json": b'{"orderedItems": []}',
    }


def build(path: Path, files: Mapping[str, str | bytes]) -> Path:
    """An archive at PATH holding FILES (name -> content): a zip, or else a .tar.gz."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in files.items():
                zf.writestr(name, data)
    else:
        with tarfile.open(path, "w:gz") as tar:
            for name, text in files.items():
                data = text.encode() if isinstance(text, str) else text
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


# --- Twitter/X archives ---------------------------------------------------------------------

JPG = b"\xff\xd8\xff\xe0" + b"jpeg bytes" * 300
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"video" * 500


def tweet(n: int, text: str, **extra: Any) -> dict[str, Any]:
    """One entry of tweets.js, as the archive writes it."""
    raw = {
        "id_str": str(1000 + n),
        "id": str(1000 + n),
        "full_text": text,
        "created_at": f"Wed Oct 1{n} 20:19:24 +0000 2018",
        "entities": {"hashtags": [], "urls": []},
        "retweeted": False,
    }
    raw.update(extra)
    return {"tweet": raw}


def tweets_js(part: int, entries: list[Any], name: str = "tweets") -> bytes:
    """A tweets.js part: JSON behind the `window.YTD` prefix."""
    return f"window.YTD.{name}.part{part} = {json.dumps(entries, indent=2)}".encode()


def twitter_files() -> dict[str, bytes]:
    """An archive's files: four tweets over two parts (one a retweet), a photo, a video."""
    photo = {
        "media_url_https": "https://pbs.twimg.com/media/AbCdEf.jpg",
        "type": "photo",
        "id_str": "9",
    }
    video = {
        "media_url_https": "https://pbs.twimg.com/ext_tw_video_thumb/1/pu/img/thumb.jpg",
        "type": "video",
        "video_info": {
            "variants": [
                {"bitrate": "256000", "url": "https://video.twimg.com/v/low.mp4?tag=10"},
                {"bitrate": "2176000", "url": "https://video.twimg.com/v/high.mp4?tag=10"},
            ]
        },
    }
    part0 = [
        tweet(1, "Hello &amp; welcome #first", entities={"hashtags": [{"text": "first"}]}),
        tweet(2, "RT @someone: not mine"),
        tweet(
            3,
            "A photo https://t.co/x",
            extended_entities={"media": [photo]},
            in_reply_to_status_id_str="1001",
        ),
    ]
    part1 = [tweet(4, "A video", extended_entities={"media": [video]})]
    return {
        "Your archive.html": b"<html></html>",
        "data/tweets.js": tweets_js(0, part0),
        "data/tweets-part1.js": tweets_js(1, part1),
        "data/tweets_media/1003-AbCdEf.jpg": JPG,
        "data/tweets_media/1004-high.mp4": MP4,
    }


# --- WordPress exports ----------------------------------------------------------------------


def wxr_item(
    post_id: int, title: str, post_type: str = "post", status: str = "publish", password: str = ""
) -> str:
    """One <item> of a WXR export (`password`: a password-protected post's)."""
    return f"""
    <item>
      <title>{title}</title>
      <link>https://blog.example/?p={post_id}</link>
      <pubDate>Mon, 02 Mar 2020 10:00:00 +0000</pubDate>
      <dc:creator><![CDATA[ada]]></dc:creator>
      <content:encoded><![CDATA[<p>Body of {title} &amp; co</p>]]></content:encoded>
      <excerpt:encoded><![CDATA[]]></excerpt:encoded>
      <wp:post_id>{post_id}</wp:post_id>
      <wp:post_date><![CDATA[2020-03-02 11:00:00]]></wp:post_date>
      <wp:post_date_gmt><![CDATA[2020-03-02 10:00:00]]></wp:post_date_gmt>
      <wp:post_name><![CDATA[slug-{post_id}]]></wp:post_name>
      <wp:status><![CDATA[{status}]]></wp:status>
      <wp:post_password><![CDATA[{password}]]></wp:post_password>
      <wp:post_type><![CDATA[{post_type}]]></wp:post_type>
      <category domain="category" nicename="travel"><![CDATA[Travel]]></category>
      <category domain="post_tag" nicename="alps"><![CDATA[Alps]]></category>
    </item>"""


def wxr(items: str, scheme: str = "http") -> str:
    """A WXR export holding ITEMS (`wp:` namespace on http or https, as both exist)."""
    return f"""<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0"
  xmlns:excerpt="{scheme}://wordpress.org/export/1.2/excerpt/"
  xmlns:content="http://purl.org/rss/1.0/modules/content/"
  xmlns:wfw="http://wellformedweb.org/CommentAPI/"
  xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:wp="{scheme}://wordpress.org/export/1.2/">
<channel>
  <title>A blog</title>
  <link>https://blog.example</link>
  <wp:wxr_version>1.2</wp:wxr_version>
  <wp:base_blog_url>https://blog.example</wp:base_blog_url>
  {items}
</channel>
</rss>
"""


# Three posts to import (a post, a page, a draft) and three to ignore.
WXR_ITEMS = (
    wxr_item(1, "First post")
    + wxr_item(2, "About", post_type="page")
    + wxr_item(3, "Draft idea", status="draft")
    + wxr_item(4, "Gone", status="trash")
    + wxr_item(5, "photo.jpg", post_type="attachment", status="inherit")
    + wxr_item(6, "Menu", post_type="nav_menu_item")
)


# --- Personas ---------------------------------------------------------------------------------


def as_persona(draft: identities.PersonaDraft) -> identities.Persona:
    """A draft read from a file as the persona it would become (a placeholder id, and a
    placeholder UID if it has none), for its accessors."""
    return identities.Persona("0" * 32, draft.name, draft.uid or "urn:uuid:x", draft.attributes)


def attribute(persona: identities.Persona, kind: str) -> identities.Attribute:
    """The persona's first attribute of `kind`, which the test expects it to have."""
    found = persona.first(kind)
    assert found is not None, f"no {kind} attribute"
    return found


def add_jane(vault: Vault) -> identities.Persona:
    """Jane Doe with one attribute of most kinds, her birth date sensitive."""
    return identities.add_persona(
        vault,
        "Jane Doe",
        [
            identities.parse_attribute("email.work", "jane@work.example"),
            identities.parse_attribute("email.home", "jane@home.example"),
            identities.parse_attribute("birth_date", "1990-05-01", sensitive=True),
            identities.parse_attribute("address.home", "1 rue de la Paix;Paris;;75002;France"),
            identities.parse_attribute(
                "handle.mastodon", "@jane@example.social https://example.social/@jane"
            ),
            identities.parse_attribute("pronouns", "she/her"),
        ],
    )


# --- Fitbit exports (Google Takeout) ------------------------------------------------------------
#
# A faithful reproduction of the Fitbit part of a Takeout: no real export with a licence that
# allows copying it here could be found. Built from the layouts public parsers document and
# observed exports show: the field names and two-digit-year dates of Global Export Data
# (`heart_rate-*.json` with `{"bpm", "confidence"}`, `resting_heart_rate-*.json` with
# `{"date", "value", "error"}`, sleep logs with `levels.data`, weight logs with `logId`,
# `date`, `time`, `source`), the READMEs Fitbit puts in `Physical Activity_GoogleData`
# (columns `timestamp`, `beats per minute`, `data source`...), and the snake-case columns of
# `Heart Rate Variability/` (`rmssd`, `nremhr`, `entropy`) and `Sleep Score/sleep_score.csv`.

FITBIT_GLOBAL = "Takeout/Fitbit/Global Export Data/"
FITBIT_ACTIVITY = "Takeout/Fitbit/Physical Activity_GoogleData/"
FITBIT_HRV = "Takeout/Fitbit/Heart Rate Variability/"
FITBIT_PROFILE = "Takeout/Fitbit/Your Profile/Profile.csv"


def fitbit_profile(zone: str = "America/New_York", weight_unit: str = "en_US") -> str:
    return (
        "id,full_name,timezone,height,weight,weight_unit,distance_unit\n"
        f"ABC123,Ana Example,{zone},170.0,150.0,{weight_unit},en_US\n"
    )


FITBIT_HEART = [
    {"dateTime": "01/02/21 08:00:05", "value": {"bpm": 72, "confidence": 2}},
    {"dateTime": "01/02/21 08:00:10", "value": {"bpm": 74, "confidence": 3}},
    {"dateTime": "01/02/21 08:00:20", "value": {"bpm": 75, "confidence": 0}},
]
FITBIT_STEPS = [
    {"dateTime": "01/02/21 08:00:00", "value": "12"},
    {"dateTime": "01/02/21 08:01:00", "value": "30"},
]
FITBIT_RESTING = [
    {"dateTime": "01/02/21 00:00:00", "value": {"date": "01/02/21", "value": 58.4, "error": 6.8}},
    {"dateTime": "01/03/21 00:00:00", "value": {"date": "01/03/21", "value": 0.0, "error": 0.0}},
]
FITBIT_SLEEP = [
    {  # a stages log
        "logId": 30000000001,
        "dateOfSleep": "2021-01-02",
        "startTime": "2021-01-01T23:30:00.000",
        "endTime": "2021-01-02T00:30:00.000",
        "type": "stages",
        "mainSleep": True,
        "levels": {
            "data": [
                {"dateTime": "2021-01-01T23:30:00.000", "level": "light", "seconds": 1800},
                {"dateTime": "2021-01-02T00:00:00.000", "level": "deep", "seconds": 1200},
                {"dateTime": "2021-01-02T00:20:00.000", "level": "rem", "seconds": 600},
            ]
        },
    },
    {  # a classic log (older trackers, naps): asleep, restless, awake
        "logId": 30000000002,
        "dateOfSleep": "2021-01-02",
        "startTime": "2021-01-02T14:00:00.000",
        "endTime": "2021-01-02T14:30:00.000",
        "type": "classic",
        "mainSleep": False,
        "levels": {
            "data": [
                {"dateTime": "2021-01-02T14:00:00.000", "level": "asleep", "seconds": 1500},
                {"dateTime": "2021-01-02T14:25:00.000", "level": "restless", "seconds": 300},
            ]
        },
    },
]
FITBIT_WEIGHT = [
    {
        "logId": 1609576200000,  # 01/02/21 08:30:00 as if it were UTC: a wall-clock time
        "weight": 154.3,
        "bmi": 24.17,
        "fat": 21.5,
        "date": "01/02/21",
        "time": "08:30:00",
        "source": "Aria",
    }
]
FITBIT_EXERCISE = [
    {
        "logId": 40000000001,
        "activityName": "Walk",
        "startTime": "01/02/21 12:00:00",
        "duration": 1200000,
        "distance": 1.5,
        "distanceUnit": "Kilometer",
        "calories": 95,
    }
]

FITBIT_EXPORT: dict[str, str] = {
    FITBIT_PROFILE: fitbit_profile(),
    FITBIT_GLOBAL + "heart_rate-2021-01-02.json": json.dumps(FITBIT_HEART),
    FITBIT_GLOBAL + "steps-2021-01-02.json": json.dumps(FITBIT_STEPS),
    FITBIT_GLOBAL + "distance-2021-01-02.json": json.dumps(
        [{"dateTime": "01/02/21 08:00:00", "value": "950"}]
    ),
    FITBIT_GLOBAL + "calories-2021-01-02.json": json.dumps(
        [{"dateTime": "01/02/21 08:00:00", "value": "1.5"}]
    ),
    FITBIT_GLOBAL + "resting_heart_rate-2021-01-02.json": json.dumps(FITBIT_RESTING),
    FITBIT_GLOBAL + "sleep-2021-01-02.json": json.dumps(FITBIT_SLEEP),
    FITBIT_GLOBAL + "weight-2021-01-02.json": json.dumps(FITBIT_WEIGHT),
    FITBIT_GLOBAL + "exercise-0.json": json.dumps(FITBIT_EXERCISE),
    FITBIT_ACTIVITY + "heart_rate_2024-05-01.csv": (
        "timestamp,beats per minute,data source\n"
        "2024-05-01T06:00:00Z,61,Pixel Watch 2\n"
        "2024-05-01T06:00:05Z,63,Pixel Watch 2\n"
    ),
    FITBIT_ACTIVITY + "steps_2024-05-01.csv": (
        "timestamp,steps,data source\n2024-05-01T06:00:00Z,40,Pixel Watch 2\n"
    ),
    FITBIT_HRV + "Daily Heart Rate Variability Summary - 2024-05-(1).csv": (
        "timestamp,rmssd,nremhr,entropy\n2024-05-01T00:00:00,38.2,55.1,2.9\n"
    ),
    FITBIT_HRV + "Heart Rate Variability Details - 2024-05-01.csv": (
        "timestamp,rmssd,coverage,low_frequency,high_frequency\n"
        "2024-05-01T02:00:00,41.0,0.95,800.1,410.7\n"
        "2024-05-01T02:05:00,36.5,0.91,760.0,380.2\n"
    ),
    "Takeout/Fitbit/Sleep Score/sleep_score.csv": (
        "sleep_log_entry_id,timestamp,overall_score,composition_score,revitalization_score,"
        "duration_score,deep_sleep_in_minutes,resting_heart_rate,restlessness\n"
        "30000000001,2024-05-01T12:10:00Z,81,20,19,42,70,55,0.07\n"
    ),
    "Takeout/Fitbit/Oxygen Saturation (SpO2)/Daily SpO2 - 2024-05-01-2024-06-01.csv": (
        "timestamp,average_value,lower_bound,upper_bound\n2024-05-01T00:00:00Z,95.8,93.1,98.4\n"
    ),
}


def write_tree(root: Path, files: Mapping[str, str]) -> Path:
    """A folder at ROOT holding FILES (relative name -> text), as an unpacked export is."""
    for name, text in files.items():
        f = root / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    return root


def fitbit_zip(tmp_path: Path, files: Mapping[str, str]) -> Path:
    return build(tmp_path / "takeout-20240601T000000Z-001.zip", files)


# --- Garmin: FIT files written from the FIT SDK's documented layout --------------------

FIT_EPOCH_S = 631_065_600  # 1989-12-31T00:00:00Z
# FIT base types: (type byte, struct code, invalid value)
FIT_ENUM, FIT_SINT8, FIT_UINT8 = (0x00, "B", 0xFF), (0x01, "b", 0x7F), (0x02, "B", 0xFF)
FIT_SINT16, FIT_UINT16 = (0x83, "h", 0x7FFF), (0x84, "H", 0xFFFF)
FIT_UINT32 = (0x86, "I", 0xFFFFFFFF)
_FIT_CRC = (0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
            0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400)  # fmt: skip

FitField = tuple[int, tuple[int, str, int], "int | list[int | None] | None"]


def fit_crc(data: bytes) -> int:
    """The FIT SDK's CRC-16 (its documented nibble table)."""
    crc = 0
    for byte in data:
        for nibble in (byte & 0xF, byte >> 4):
            tmp = _FIT_CRC[crc & 0xF]
            crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ _FIT_CRC[nibble]
    return crc


def fit_time(moment: datetime) -> int:
    """A FIT date_time: seconds since 1989-12-31T00:00:00Z."""
    return int(moment.timestamp()) - FIT_EPOCH_S


def fit_file(messages: list[tuple[int, list[FitField]]]) -> bytes:
    """A FIT file of MESSAGES, each (global message number, [(field number, base type,
    value)]): a value None is the type's invalid value, a list an array field. Each message
    gets its own definition (local type 0), as the SDK allows."""
    import struct

    body = bytearray()
    for number, fields in messages:
        body += struct.pack("<BBBHB", 0x40, 0, 0, number, len(fields))
        encoded = bytearray()
        for field, (base, code, invalid), value in fields:
            values = value if isinstance(value, list) else [value]
            raw = b"".join(struct.pack("<" + code, invalid if v is None else v) for v in values)
            body += bytes((field, len(raw), base))
            encoded += raw
        body += b"\x00" + encoded
    header = struct.pack("<BBHI4s", 14, 0x20, 2132, len(body), b".FIT")
    header += struct.pack("<H", fit_crc(header))
    data = header + bytes(body)
    return data + struct.pack("<H", fit_crc(data))


def fit_file_id(
    created: datetime, *, kind: int = 4, product: int = 2697
) -> tuple[int, list[FitField]]:
    """A file_id message: an activity file (type 4) of a Garmin (manufacturer 1) device."""
    return 0, [(0, FIT_ENUM, kind), (1, FIT_UINT16, 1), (2, FIT_UINT16, product),
               (4, FIT_UINT32, fit_time(created))]  # fmt: skip


# --- Garmin: the account data export ----------------------------------------------------
# Its layout and field names as exports lay them out (DI_CONNECT/...): the folder names are
# Garmin's; the fields (calendarDate, wellnessStartTimeGmt/Local, totalSteps, restingHeartRate,
# allDayStress.aggregatorList, bodyBattery.bodyBatteryStatList, sleepStartTimestampGMT,
# deepSleepSeconds...) are those the public parsers of these exports read. No export under a
# permissive licence is published (each is one person's history), so none is copied here.

GARMIN_DI = "DI_CONNECT/"
GARMIN_UDS = GARMIN_DI + "DI-Connect-Aggregator/UDSFile_2024-05-01_2024-08-09.json"
GARMIN_SLEEP = GARMIN_DI + "DI-Connect-Wellness/2024-05-01_2024-08-09_12345678_sleepData.json"
GARMIN_UPLOADS = GARMIN_DI + "DI-Connect-Uploaded-Files/UploadedFiles_0-_Part{}.zip"
GARMIN_ACTIVITIES = GARMIN_DI + "DI-Connect-Fitness/ana@example.org_0_summarizedActivities.json"


def garmin_day(day: str, **fields: Any) -> dict[str, Any]:
    """One UDSFile entry: a day in Paris (UTC+2 in summer), its wellness day in GMT."""
    d = datetime.fromisoformat(day)
    entry: dict[str, Any] = {
        "userProfilePK": 12345678,
        "calendarDate": day,
        "uuid": f"uuid-{day}",
        "wellnessStartTimeGmt": (d - timedelta(hours=2)).isoformat() + ".0",
        "wellnessStartTimeLocal": d.isoformat() + ".0",
        "wellnessEndTimeGmt": (d + timedelta(hours=22)).isoformat() + ".0",
        "wellnessEndTimeLocal": (d + timedelta(days=1)).isoformat() + ".0",
        "durationInMilliseconds": 86_400_000,
        "includesWellnessData": True,
        "source": "GARMIN",
    }
    entry.update(fields)
    return entry


def garmin_night(day: str, **fields: Any) -> dict[str, Any]:
    """One sleepData entry: a night ending on DAY, 23:00 to 07:00 local (UTC+2)."""
    d = datetime.fromisoformat(day)
    entry: dict[str, Any] = {
        "calendarDate": day,
        "sleepStartTimestampGMT": (d - timedelta(hours=3)).isoformat() + ".0",
        "sleepEndTimestampGMT": (d + timedelta(hours=5)).isoformat() + ".0",
        "sleepStartTimestampLocal": (d - timedelta(hours=1)).isoformat() + ".0",
        "sleepWindowConfirmationType": "ENHANCED_CONFIRMED_FINAL",
        "deepSleepSeconds": 5400,
        "lightSleepSeconds": 15000,
        "remSleepSeconds": 6600,
        "awakeSleepSeconds": 1800,
        "unmeasurableSeconds": 0,
        "averageRespiration": 14.0,
        "avgSleepStress": 12.5,
        "awakeCount": 2,
        "sleepScores": {"overallScore": 82, "qualityScore": 78},
    }
    entry.update(fields)
    return entry


def streamed_zip(files: dict[str, bytes]) -> bytes:
    """A zip written to a stream (its sizes after each entry's data, as Java's
    ZipOutputStream writes them, and as Garmin's nested zips are)."""

    class Sink(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            self.data += bytes(b)
            return len(b)

    sink = Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:  # type: ignore[arg-type]
        for name, data in files.items():
            zf.writestr(name, data)
    return bytes(sink.data)


def garmin_export(path: Path, files: dict[str, bytes]) -> Path:
    """A Garmin account export zip at PATH holding FILES (names under DI_CONNECT/...)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


# --- Health kinds of one source each (Fitbit's scores, Apple's audiograms) ----------------
# One sample of each a day, in the canonical unit, for the listing, sharing and forgetting
# tests: (metric, unit, value, span in ms).
HEALTH_KINDS: tuple[tuple[str, str, float, int], ...] = (
    ("stress_score", "{score}", 79.0, 86_400_000),
    ("readiness_score", "{score}", 71.0, 86_400_000),
    ("skin_temperature", "Cel", 33.9, 27_000_000),
    ("active_zone_minutes", "min", 2.0, 60_000),
    ("hearing_left_1000hz", "dB", 10.0, 0),
    ("hearing_right_4000hz", "dB", 35.0, 0),
)


def health_kind_samples(day: str, source: str) -> list[Sample]:
    """One sample of every HEALTH_KINDS metric at 08:00 UTC on DAY, from SOURCE."""
    start = int(datetime.fromisoformat(f"{day}T08:00:00+00:00").timestamp() * 1000)
    return [
        Sample(metric, start, start + span, value, unit, source)
        for metric, unit, value, span in HEALTH_KINDS
    ]
