"""Builders shared by the tests (no tests here).

- A sharing world for the consent, bundle, ledger and sharing CLI tests: a vault with two
  personas, QS data, content and a recipient key pair, with data inside and outside every
  dimension of the scope `inside_scope` describes.
- Mastodon archives as the real exports lay them out, for the content importer and CLI tests.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault import content
from vault import personas as identities
from vault import sharing as consent
from vault.core import crypto
from vault.core.vault import Vault
from vault.data.csvfmt import import_csv_text

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
    vault: Vault, persona: str, title: str, kind: str, tags: tuple[str, ...], day: str
) -> content.Item:
    tag = re.sub(r"\W+", "-", title)
    body = f"# {title}\n\n{MARK}{tag}\n".encode()
    meta = content.ItemMeta(title=title, kind=kind, tags=tags, created=f"{day}T09:00:00Z")
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


def inside_scope() -> dict[str, Any]:
    return {
        "metrics_": "steps",
        "categories": "pd:PhysicalCharacteristic",
        "content_kinds": "post",
        "content_tags": "blog",
        "attributes": "email,age_over:18",
    }


def make_grant(vault: Vault, world: World, **overrides: Any) -> consent.Grant:
    args: dict[str, Any] = {
        "recipient": world.recipient.name,
        "persona": world.persona.name,
        "scope": inside_scope(),
        "purpose": "dpv:ScientificResearch",
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


# --- Mastodon archives ----------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
MEDIA = "media_attachments/files/109/001/original/cat.png"
ACTOR = "https://social.example/users/ada"


def note(n: int, **extra: Any) -> dict[str, Any]:
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


def build(path: Path, files: dict[str, bytes]) -> Path:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in files.items():
                zf.writestr(name, data)
    else:
        with tarfile.open(path, "w:gz") as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


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
