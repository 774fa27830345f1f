"""Mastodon account archives (zip or tar.gz): the person's own posts, with media.

`outbox.json` is an ActivityStreams OrderedCollection. `Create` activities whose object is a
`Note` are the person's posts (content warning in `summary`, attachments with alt text in
`name`, files under `media_attachments/`); `Announce` activities are boosts of other people's
posts and are not imported. Every post keeps its visibility as its audience, read from the
ActivityPub addressing: the Public collection in `to` is public, in `cc` unlisted; the
followers collection is followers-only; anything else (a direct message) is direct. Real
archives repeat the `orderedItems` key and their `totalItems` does not match the items, so
repeated keys are merged and the count ignored.

The outbox is the archive's one document: if it cannot be read, the archive is refused; an
actor.json that cannot be read is skipped and listed (posts to followers are still told by
their `.../followers` address). A
post of a good outbox without an id, with a date that cannot be read, with an attachment
without a url or a media file the archive lacks is skipped whole (so that a complete archive
imported later adds it), and reported once with a count; a media path that climbs out of the
archive refuses it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from vault import content
from vault.content import audience
from vault.content.importers import (
    Tally,
    html_to_text,
    title_from_text,
    unreadable,
    write_media,
)
from vault.core import archive
from vault.core.archive import Archive
from vault.core.errors import InvalidParameter, MalformedInput, UnsafeArchive
from vault.core.i18n import N_, N_plural, Text
from vault.core.importing import ImportIssue, ImportSummary, parser_limits
from vault.core.progress import ProgressCallback

if TYPE_CHECKING:
    from vault.core.vault import Vault

AUTHORED_TYPES: Final = frozenset({"Note", "Article", "Question", "Page"})
# The ActivityStreams Public collection, in its full and compacted spellings.
PUBLIC_COLLECTION: Final = frozenset(
    {"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"}
)


@dataclass(frozen=True)
class MediaRef:
    member: str
    media_type: str
    alt: str | None


@dataclass(frozen=True)
class Post:
    """One authored post as read from the outbox."""

    id: str
    html: str
    published: str
    content_warning: str | None
    sensitive: bool
    in_reply_to: str | None
    conversation: str | None
    url: str | None
    tags: tuple[str, ...]
    language: str | None
    media: tuple[MediaRef, ...]
    audience: str = audience.DIRECT


def merge_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` that concatenates lists under a repeated key (the last value wins
    for anything else), as real Mastodon outboxes repeat `orderedItems`."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out and isinstance(out[key], list) and isinstance(value, list):
            out[key] = out[key] + value
        else:
            out[key] = value
    return out


def _media_member(url: str, root: str) -> str:
    path = urlsplit(url).path if "://" in url else url
    path = path.lstrip("/")
    at = path.find("media_attachments/")
    if at > 0:
        path = path[at:]
    return root + archive.safe_name(path, "outbox.json")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _addressed(value: Any) -> set[str]:
    """The ids a `to` or `cc` holds: one id or a list of them."""
    values = value if isinstance(value, list) else [value]
    return {v for v in values if isinstance(v, str)}


def visibility(obj: dict[str, Any], activity: dict[str, Any], followers: str | None) -> str:
    """A post's audience from its addressing (the object's, else its activity's).

    Mastodon's four visibilities map to public, unlisted, followers and direct. A post that
    names no Public and no followers collection is taken as direct, the narrowest, so that
    nothing addressed to a few people ever counts as public."""
    to = _addressed(obj.get("to", activity.get("to")))
    cc = _addressed(obj.get("cc", activity.get("cc")))
    if to & PUBLIC_COLLECTION:
        return audience.PUBLIC
    if cc & PUBLIC_COLLECTION:
        return audience.UNLISTED
    for target in to | cc:
        if target == followers or target.endswith("/followers"):
            return audience.FOLLOWERS
    return audience.DIRECT


def parse_outbox(
    ar: Archive, root: str, followers: str | None = None
) -> tuple[list[Post], int, list[ImportIssue]]:
    """The authored posts of the outbox, the number of activities ignored (boosts...), and
    the posts skipped, counted by problem. `followers` is the account's followers collection
    (from actor.json), when known."""
    name = root + "outbox.json"
    outbox = ar.read_json(name, object_pairs_hook=merge_repeated_keys)
    if not isinstance(outbox, dict):
        raise MalformedInput(
            N_("{label}: {problem}"),
            label=ar.label,
            problem=Text(N_("{name} is not an ActivityStreams collection"), name=name),
        )
    activities = outbox.get("orderedItems", [])
    if not isinstance(activities, list):
        raise MalformedInput(
            N_("{label}: {problem}"),
            label=ar.label,
            problem=Text(N_("{name}: orderedItems is not a list"), name=name),
        )
    posts: list[Post] = []
    ignored = 0
    not_objects = 0
    bad: dict[Text, int] = {}
    for index, activity in enumerate(activities):
        where = f"{name} item {index + 1}"
        if not isinstance(activity, dict):
            not_objects += 1
            continue
        obj = activity.get("object")
        if activity.get("type") != "Create" or not isinstance(obj, dict):
            ignored += 1  # Announce (boosts), Like, Follow... are not authored content
            continue
        if not isinstance(kind := obj.get("type"), str) or kind not in AUTHORED_TYPES:
            ignored += 1
            continue
        try:
            post = _post(ar, obj, activity, root, where)
        except _PostDefect as defect:
            bad[defect.problem] = bad.get(defect.problem, 0) + 1
            continue
        posts.append(replace(post, audience=visibility(obj, activity, followers)))
    issues = [
        ImportIssue(
            name,
            Text(N_plural("{n:,} post skipped: {why}", "{n:,} posts skipped: {why}"), n=n, why=why),
        )
        for why, n in bad.items()
    ]
    if not_objects:
        issues.append(
            ImportIssue(
                name,
                Text(
                    N_plural(
                        "{n:,} item skipped: not an activity",
                        "{n:,} items skipped: not an activity",
                    ),
                    n=not_objects,
                ),
            )
        )
    return posts, ignored, issues


class _PostDefect(Exception):
    """A post of the outbox that cannot be imported; PROBLEM says why, without its content."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = Text(problem)  # a fixed sentence, said in the person's language


def _post(
    ar: Archive, obj: dict[str, Any], activity: dict[str, Any], root: str, where: str
) -> Post:
    post_id = _text(obj.get("id"))
    if post_id is None:
        raise _PostDefect(N_("no id"))
    published = obj.get("published") or activity.get("published")
    try:
        when = content.normalize_time(published, N_("publication date"))
    except InvalidParameter:
        raise _PostDefect(N_("a publication date that cannot be read")) from None
    media = []
    attachments = obj.get("attachment") or []
    if not isinstance(attachments, list):
        raise _PostDefect(N_("attachment is not a list"))
    for att in attachments:
        if not isinstance(att, dict) or not _text(att.get("url")):
            raise _PostDefect(N_("an attachment without a url"))
        member = _media_member(att["url"], root)
        if not ar.has(member):
            # Skipped whole, so that importing a complete archive later adds it.
            raise _PostDefect(N_("a media file that is not in the archive"))
        media_type = _text(att.get("mediaType")) or content.guess_media_type(member)
        media.append(MediaRef(member, media_type, _text(att.get("name"))))
    tags = tuple(
        str(t["name"]).lstrip("#")
        for t in obj.get("tag") or []
        if isinstance(t, dict) and t.get("type") == "Hashtag" and _text(t.get("name"))
    )
    content_map = obj.get("contentMap")
    language = next(iter(content_map), None) if isinstance(content_map, dict) else None
    return Post(
        id=post_id,
        html=body if isinstance(body := obj.get("content"), str) else "",
        published=when,
        content_warning=_text(obj.get("summary")),
        sensitive=bool(obj.get("sensitive")),
        in_reply_to=_text(obj.get("inReplyTo")),
        conversation=_text(obj.get("conversation")),
        url=_text(obj.get("url")) or post_id,
        tags=tags,
        language=language,
        media=tuple(media),
    )


def import_archive(
    vault: Vault,
    path: str | os.PathLike[str],
    *,
    persona: str | None = None,
    progress: ProgressCallback | None = None,
    limits: archive.Limits = archive.DEFAULT_LIMITS,
) -> ImportSummary:
    """Import a Mastodon archive in one transaction; re-importing adds nothing."""
    with archive.open_archive(Path(path), limits) as ar:
        root = ar.locate("outbox.json")
        account: str | None = None
        followers: str | None = None
        actor_issue: list[ImportIssue] = []
        if ar.has(root + "actor.json"):
            try:
                with parser_limits(root + "actor.json"):
                    actor = ar.read_json(root + "actor.json")
            except UnsafeArchive:
                raise
            except Exception as exc:
                # Followers-only posts are still told apart by their `.../followers` address.
                actor = None
                actor_issue.append(unreadable(root + "actor.json", exc, label=ar.label))
            if isinstance(actor, dict):
                account = _text(actor.get("preferredUsername"))
                followers = _text(actor.get("followers"))
        posts, ignored, issues = parse_outbox(ar, root, followers)
        issues = actor_issue + issues
        tally = Tally(
            vault, "mastodon", persona=persona, progress=progress, total=len(posts), media=True
        )
        tally.ignored = ignored
        tally.errors.extend(issues)
        with vault.store.write() as txn:
            fresh = tally.fresh(posts, lambda post: "mastodon:" + post.id)
            media = write_media(txn, vault, ar, [m.member for p in fresh for m in p.media])
            for post in fresh:
                atts = [
                    content.NewAttachment(
                        Path(m.member).name, m.media_type, media[m.member].pop(), m.alt
                    )
                    for m in post.media
                ]
                body = txn.write_blob([post.html.encode("utf-8")])
                text = html_to_text(post.html)
                extra: dict[str, Any] = {"sensitive": post.sensitive}
                if post.language:
                    extra["language"] = post.language
                if account:
                    extra["account"] = account
                meta = content.ItemMeta(
                    title=post.content_warning or title_from_text(text),
                    kind="post",
                    tags=content.normalize_tags(post.tags),
                    created=post.published,
                    media_type="text/html",
                    reply_to=post.in_reply_to,
                    thread=post.conversation,
                    content_warning=post.content_warning,
                    source="mastodon",
                    source_url=post.url,
                    extra=extra,
                    audience=post.audience,
                )
                tally.add(txn, body, meta, attachments=atts, dedup=["mastodon:" + post.id])
            tally.audit(txn)
    return tally.summary()
