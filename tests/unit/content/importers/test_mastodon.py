"""Mastodon archives: posts, content warnings, media with alt text, boosts, bad archives, bad
posts counted; visibility kept as the audience, so that direct messages and followers-only
posts never leave under a grant that does not name them."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.builders import (
    ACTOR,
    FOLLOWERS,
    MEDIA,
    PNG,
    PUBLIC_COLLECTION,
    VISIBILITY,
    build,
    default_files,
    note,
    outbox_text,
)
from vault import content, personas, sharing
from vault.content.importers import SKIPPED_WHOLE, mastodon
from vault.core import crypto
from vault.core.errors import MalformedInput, TruncatedArchive, UnsafeArchive
from vault.core.vault import Vault
from vault.sharing.bundles.plan import build_plan


def test_repeated_keys_are_merged() -> None:
    text = outbox_text([1, 2], [3])
    assert json.loads(text, object_pairs_hook=mastodon.merge_repeated_keys)["orderedItems"] == [
        1,
        2,
        3,
    ]


@pytest.mark.parametrize("suffix", [".zip", ".tar.gz"])
def test_import_archive(vault: Vault, tmp_path: Path, suffix: str) -> None:
    path = build(tmp_path / f"archive{suffix}", default_files())
    summary = mastodon.import_archive(vault, path)
    assert (summary.added, summary.duplicates, summary.ignored, summary.attachments) == (3, 0, 1, 1)
    items = {i.created[:10]: i for i in content.list_items(vault)}
    cw = items["2023-01-02"]
    assert (cw.kind, cw.title, cw.content_warning, cw.tags) == (
        "post",
        "spoilers",
        "spoilers",
        ("cats",),
    )
    assert cw.extra == {"sensitive": True, "language": "en", "account": "ada"}
    assert cw.source_url == "https://social.example/@ada/2"
    version = content.get_version(vault, cw.id)
    (att,) = version.attachments
    assert (att.name, att.media_type, att.alt, att.size) == (
        "cat.png",
        "image/png",
        "A cat asleep on a keyboard",
        len(PNG),
    )
    assert b"".join(content.read_attachment(vault, cw.id, 0)) == PNG
    statement = json.loads(version.statement)
    assert statement["attachments"][0]["sha256"] == att.sha256
    reply = items["2023-01-03"]
    assert reply.reply_to == f"{ACTOR}/statuses/1"
    assert reply.thread == "tag:social.example,2023:c1"
    assert items["2023-01-01"].title == "Post number 1 & more"
    assert b"".join(content.read(vault, items["2023-01-01"].id)).startswith(b"<p>Post number 1")


def test_reimport_adds_nothing(vault: Vault, tmp_path: Path) -> None:
    path = build(tmp_path / "a.zip", default_files())
    mastodon.import_archive(vault, path)
    chunks_before = vault.store.counts()["blob_chunks"]
    again = mastodon.import_archive(vault, path)
    assert (again.added, again.duplicates) == (0, 3)
    assert vault.store.count(content.ITEM) == 3
    assert vault.store.counts()["blob_chunks"] == chunks_before


def test_wrapping_folder_and_shared_media(vault: Vault, tmp_path: Path) -> None:
    files = default_files()
    att = {"type": "Document", "mediaType": "image/png", "url": MEDIA, "name": None}
    outbox = outbox_text([note(1, attachment=[att]), note(2, attachment=[att])], [])
    files["outbox.json"] = outbox.encode()
    wrapped = {f"archive-2023/{k}": v for k, v in files.items()}
    summary = mastodon.import_archive(vault, build(tmp_path / "w.tar.gz", wrapped))
    assert (summary.added, summary.attachments) == (2, 2)
    first, second = content.list_items(vault)
    content.remove(vault, first.id)
    assert b"".join(content.read_attachment(vault, second.id, 0)) == PNG
    assert vault.check() == []


def _refused(vault: Vault, path: Path, error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        mastodon.import_archive(vault, path)
    assert vault.store.count(content.ITEM) == 0
    assert vault.store.counts()["blob_chunks"] == 0


def test_a_post_whose_media_is_missing_is_skipped_then_added_from_a_complete_archive(
    vault: Vault, tmp_path: Path
) -> None:
    files = default_files()
    complete = dict(files)
    del files[MEDIA]
    summary = mastodon.import_archive(vault, build(tmp_path / "m.zip", files))
    assert summary.added == 2 and summary.attachments == 0
    assert [(e.location, e.problem) for e in summary.errors] == [
        ("outbox.json", "1 post skipped: a media file that is not in the archive")
    ]
    assert vault.store.counts()["blob_chunks"] > 0 and vault.check() == []
    again = mastodon.import_archive(vault, build(tmp_path / "full.zip", complete))
    assert (again.added, again.attachments, again.duplicates) == (1, 1, 2)


def test_malformed_outbox(vault: Vault, tmp_path: Path) -> None:
    files = default_files()
    files["outbox.json"] = files["outbox.json"][:-10]
    _refused(
        vault,
        build(tmp_path / "j.zip", files),
        MalformedInput,
        r"outbox\.json is not valid JSON \(line 1",
    )


def test_invalid_utf8(vault: Vault, tmp_path: Path) -> None:
    files = default_files()
    files["outbox.json"] = files["outbox.json"].replace(b"Post number 1", b"Post \xff 1")
    _refused(
        vault, build(tmp_path / "u.zip", files), MalformedInput, r"outbox\.json is not valid UTF-8"
    )


def test_bad_posts_are_skipped_and_counted_once(vault: Vault, tmp_path: Path) -> None:
    files = default_files()
    no_id = note(4)
    del no_id["object"]["id"]
    no_url = note(6, attachment=[{"type": "Document", "name": "x"}])
    listed_type = note(7, type=["Note"])  # a list is no type this importer knows: ignored
    posts = [note(1, published="yesterday"), note(2, published="tomorrow"), no_id, note(5)]
    posts.append(listed_type)
    files["outbox.json"] = outbox_text([*posts, no_url, "not an activity"], []).encode()
    summary = mastodon.import_archive(vault, build(tmp_path / "d.zip", files))
    assert summary.added == vault.store.count(content.ITEM) == 1
    assert summary.ignored == 1
    assert [(e.location, e.problem) for e in summary.errors] == [
        ("outbox.json", "2 posts skipped: a publication date that cannot be read"),
        ("outbox.json", "1 post skipped: no id"),
        ("outbox.json", "1 post skipped: an attachment without a url"),
        ("outbox.json", "1 item skipped: not an activity"),
    ]


def test_traversal_in_media_url(vault: Vault, tmp_path: Path) -> None:
    files = default_files()
    att = {"type": "Document", "url": "/media_attachments/../../etc/passwd"}
    files["outbox.json"] = outbox_text([note(1, attachment=[att])], []).encode()
    _refused(vault, build(tmp_path / "t.zip", files), UnsafeArchive, r"climbs out")


def test_truncated_archive(vault: Vault, tmp_path: Path) -> None:
    path = build(tmp_path / "cut.tar.gz", default_files())
    path.write_bytes(path.read_bytes()[:-200])
    _refused(vault, path, TruncatedArchive, r"cut\.tar\.gz")


def test_no_outbox(vault: Vault, tmp_path: Path) -> None:
    _refused(
        vault, build(tmp_path / "n.zip", {"actor.json": b"{}"}), MalformedInput, r"no outbox\.json"
    )


def test_unpacked_folder(vault: Vault, tmp_path: Path) -> None:
    folder = tmp_path / "unpacked"
    for name, data in default_files().items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    assert mastodon.import_archive(vault, folder).added == 3


def test_editing_a_post_keeps_its_media(vault: Vault, tmp_path: Path) -> None:
    mastodon.import_archive(vault, build(tmp_path / "a.zip", default_files()))
    post = next(i for i in content.list_items(vault) if i.attachments)
    edited = content.edit(vault, post.id, body=[b"<p>fixed a typo</p>"])
    content.forget_version(vault, post.id, 1)
    assert edited.attachments == 1
    assert b"".join(content.read_attachment(vault, post.id, 0)) == PNG
    assert vault.check() == []


def test_each_post_keeps_its_visibility_as_its_audience(vault: Vault, tmp_path: Path) -> None:
    # As a real archive addresses them: Public in `to` or `cc`, the followers collection,
    # or only the people mentioned; a post with no addressing at all counts as direct.
    posts = [note(n, visibility) for n, visibility in enumerate(VISIBILITY, start=1)]
    unaddressed = note(5)
    del unaddressed["object"]["to"], unaddressed["object"]["cc"]
    files = default_files()
    files["outbox.json"] = outbox_text([*posts, unaddressed], []).encode()
    actor = {"type": "Person", "preferredUsername": "ada", "followers": FOLLOWERS}
    files["actor.json"] = json.dumps(actor).encode()
    mastodon.import_archive(vault, build(tmp_path / "a.zip", files))
    audiences = {i.created[:10]: i.audience for i in content.list_items(vault)}
    assert audiences == {
        "2023-01-01": "public",
        "2023-01-02": "unlisted",
        "2023-01-03": "followers",
        "2023-01-04": "direct",
        "2023-01-05": "direct",
    }
    public = content.list_items(vault, audience="public")
    assert [i.created[:10] for i in public] == ["2023-01-01"]


def test_addressing_on_the_activity_counts_when_the_object_has_none() -> None:
    activity = {"to": ["https://www.w3.org/ns/activitystreams#Public"]}
    assert mastodon.visibility({}, activity, None) == "public"
    assert mastodon.visibility({"to": "as:Public"}, {}, None) == "public"
    custom = "https://social.example/users/ada/fans"
    assert mastodon.visibility({"to": [custom]}, {}, custom) == "followers"


def _backup(tmp: Path, files: dict[str, bytes]) -> Path:
    """A Mastodon backup packed as `tar czf archive.tar.gz .` packs its folder: a `./` top
    and every member under `./`."""
    path = tmp / "archive-20241205103921-5f2c.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        top = tarfile.TarInfo(".")
        top.type = tarfile.DIRTYPE
        tar.addfile(top)
        for name, data in files.items():
            info = tarfile.TarInfo("./" + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _mastodon_backup() -> dict[str, bytes]:
    """A faithful reproduction of a Mastodon 4 backup (no archive under a permissive licence
    could be had): files as BackupService writes them (outbox.json, actor.json, likes.json,
    bookmarks.json, avatar, media under an instance-named folder), each status addressed as
    Mastodon's ActivityPub serializer addresses its visibility: public (Public in `to`,
    followers and mentions in `cc`), unlisted (followers in `to`, Public in `cc`), private
    (followers in `to`, mentions in `cc`), direct (only the mentioned accounts), plus boosts."""
    bob = "https://other.example/users/bob"
    mention = [{"type": "Mention", "href": bob, "name": "@bob@other.example"}]
    att = {
        "type": "Document",
        "mediaType": "image/png",
        "url": "/social.example/" + MEDIA,  # real backups may prefix the instance's folder
        "name": "A cat",
        "blurhash": "UBL_:rOpGG-;~qRjWBay",
        "width": 2,
        "height": 2,
    }
    statuses = [
        note(1, "public"),
        note(2, "unlisted"),
        note(3, "followers", cc=[bob], tag=mention),
        note(4, "direct", tag=mention, attachment=[att]),
        note(5, "public", attachment=[att]),
        note(6, "direct", to=[bob, "https://third.example/users/cy"], tag=mention),
        note(7, "followers"),
    ]
    boost = {
        "id": f"{ACTOR}/statuses/8/activity",
        "type": "Announce",
        "actor": ACTOR,
        "published": "2023-01-08T10:00:00Z",
        "to": [PUBLIC_COLLECTION],
        "cc": [FOLLOWERS, bob],
        "object": "https://other.example/users/bob/statuses/1",
    }
    actor = {
        "type": "Person",
        "id": ACTOR,
        "preferredUsername": "ada",
        "followers": FOLLOWERS,
        "outbox": "outbox.json",
        "icon": {"type": "Image", "mediaType": "image/png", "url": "avatar.png"},
    }
    return {
        "actor.json": json.dumps(actor).encode(),
        "outbox.json": outbox_text([*statuses[:4], boost], statuses[4:]).encode(),
        "likes.json": b'{"type": "OrderedCollection", "orderedItems": []}',
        "bookmarks.json": b'{"type": "OrderedCollection", "orderedItems": []}',
        "avatar.png": PNG,
        MEDIA: PNG,
    }


def test_only_public_posts_leave_under_a_grant_for_posts(vault: Vault, tmp_path: Path) -> None:
    """The audiences are counted independently from the outbox's own addressing; a grant for
    `post` content (no audience named) plans exactly the public posts, never a direct message
    or a followers-only post."""
    files = _mastodon_backup()
    summary = mastodon.import_archive(vault, _backup(tmp_path, files))
    outbox = json.loads(files["outbox.json"], object_pairs_hook=mastodon.merge_repeated_keys)
    created = [a["object"] for a in outbox["orderedItems"] if a["type"] == "Create"]

    def addressed(obj: dict[str, Any], field: str) -> set[str]:
        return set(obj.get(field) or [])

    public = {o["id"] for o in created if PUBLIC_COLLECTION in addressed(o, "to")}
    unlisted = {o["id"] for o in created if PUBLIC_COLLECTION in addressed(o, "cc")} - public
    followers = (
        {o["id"] for o in created if FOLLOWERS in addressed(o, "to") | addressed(o, "cc")}
        - public
        - unlisted
    )
    direct = {o["id"] for o in created} - public - unlisted - followers
    assert summary.added == len(created) and summary.errors == ()
    assert summary.ignored == len(outbox["orderedItems"]) - len(created)
    by_audience: dict[str, set[str]] = {}
    for item in content.list_items(vault):
        by_audience.setdefault(item.audience, set()).add(item.source_url or "")
    urls = {o["id"]: o["url"] for o in created}
    assert by_audience == {
        "public": {urls[i] for i in public},
        "unlisted": {urls[i] for i in unlisted},
        "followers": {urls[i] for i in followers},
        "direct": {urls[i] for i in direct},
    }
    assert summary.attachments == sum(len(o["attachment"]) for o in created)

    _, age_public = crypto.age_keygen()
    persona = personas.list_personas(vault)[0]
    sharing.add_recipient(vault, "Blog mirror", age_public)
    grant = sharing.create_grant(
        vault,
        recipient="Blog mirror",
        persona=persona.id,
        scope=sharing.ScopeRequest(content_kinds="post"),
        purpose="dpv:ServiceProvision",
        valid_until="2099-12-31",
    )
    plan = build_plan(vault, grant)
    assert {c.item.source_url for c in plan.content} == {urls[i] for i in public}
    assert {c.item.audience for c in plan.content} == {"public"}


def test_an_unreadable_actor_is_listed_and_visibility_still_kept(
    vault: Vault, tmp_path: Path
) -> None:
    files = default_files()
    posts = [note(n, visibility) for n, visibility in enumerate(VISIBILITY, start=1)]
    files["outbox.json"] = outbox_text(posts, []).encode()
    files["actor.json"] = b'{"type": "Person",'
    summary = mastodon.import_archive(vault, build(tmp_path / "a.zip", files))
    assert summary.added == len(VISIBILITY)
    (issue,) = summary.errors
    assert issue.location == "actor.json" and issue.problem.endswith(SKIPPED_WHOLE)
    assert [i.audience for i in content.list_items(vault)] == list(VISIBILITY)
