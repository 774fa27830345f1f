"""Twitter/X archives: `data/tweets.js` (and `tweets-part*.js`), with media.

Each file is JavaScript of the form `window.YTD.tweets.part0 = [...]`: the prefix is
stripped and the rest parsed as JSON, never evaluated. Retweets are not authored content and
are skipped. Media come from `extended_entities` and live in `data/tweets_media/` as
`<tweet id>-<file name>`.

Tweets are public unless the account is protected: `data/protected-history.js`, when the
archive has it, lists each time the account was protected or unprotected, and protection
applies to every tweet, so when the last entry is `Protect` every tweet is followers-only.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from vault import content
from vault.content import audience
from vault.content.importers import Tally, title_from_text, write_media
from vault.core import archive
from vault.core.archive import Archive
from vault.core.errors import MalformedInput, MissingMedia
from vault.core.importing import ImportSummary
from vault.core.progress import ProgressCallback

if TYPE_CHECKING:
    from vault.core.vault import Vault

_PREFIX: Final = re.compile(r"\A\s*window\.YTD\.[A-Za-z0-9_]+\.part[0-9]+\s*=\s*")
_PART: Final = re.compile(r"data/tweets?-part[0-9]+\.js\Z")
_MEDIA_DIRS: Final = ("data/tweets_media/", "data/tweet_media/")


@dataclass(frozen=True)
class Tweet:
    id: str
    text: str
    created: str
    reply_to: str | None
    tags: tuple[str, ...]
    media: tuple[tuple[str, str], ...]  # (archive member, media type)


def strip_prefix(text: str, label: str) -> str:
    """The JSON after `window.YTD.<name>.partN =`, refusing anything else."""
    match = _PREFIX.match(text)
    if match is None:
        raise MalformedInput(f"{label} does not start with `window.YTD.<name>.partN =`")
    return text[match.end() :]


def _tweet_files(ar: Archive) -> tuple[str, list[str]]:
    for marker in ("data/tweets.js", "data/tweet.js"):
        try:
            root = ar.locate(marker)
        except MalformedInput:
            continue
        parts = sorted(n for n in ar.members if n.startswith(root) and _PART.search(n))
        return root, [root + marker, *parts]
    raise MalformedInput(f"{ar.label}: no data/tweets.js in the archive")


def _created(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise MalformedInput(f"{where}: the tweet has no created_at")
    try:
        return content.normalize_time(datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y"))
    except ValueError:
        raise MalformedInput(f"{where}: created_at {value[:40]!r} is not a date") from None


def _media(ar: Archive, root: str, tweet_id: str, raw: dict[str, Any], where: str) -> list[Any]:
    found = []
    entities = raw.get("extended_entities") or {}
    for media in entities.get("media", []) if isinstance(entities, dict) else []:
        if not isinstance(media, dict):
            continue
        urls = [media.get("media_url_https"), media.get("media_url")]
        info = media.get("video_info")
        if isinstance(info, dict):
            variants = [v for v in info.get("variants", []) if isinstance(v, dict)]
            variants.sort(key=lambda v: -int(v.get("bitrate", 0) or 0))
            urls = [v.get("url") for v in variants] + urls
        names = [PurePosixPath(urlsplit(u).path).name for u in urls if isinstance(u, str) and u]
        candidates = [root + d + f"{tweet_id}-{n}" for d in _MEDIA_DIRS for n in names]
        member = next((c for c in candidates if ar.has(c)), None)
        if member is None:
            shown = names[0] if names else "a media file"
            raise MissingMedia(f"{where} refers to {tweet_id}-{shown}, which is missing")
        found.append((member, content.guess_media_type(member)))
    return found


def parse_tweets(ar: Archive) -> tuple[list[Tweet], int]:
    """The authored tweets of every tweets file and the number of retweets skipped."""
    root, files = _tweet_files(ar)
    tweets: list[Tweet] = []
    retweets = 0
    for name in files:
        text = strip_prefix(ar.read_text(name), f"{ar.label}: {name}")
        entries = ar.read_json(name, text=text)
        if not isinstance(entries, list):
            raise MalformedInput(f"{ar.label}: {name} does not hold a list of tweets")
        for index, entry in enumerate(entries):
            where = f"{ar.label}: {name} entry {index + 1}"
            raw = entry.get("tweet", entry) if isinstance(entry, dict) else None
            if not isinstance(raw, dict):
                raise MalformedInput(f"{where} is not a tweet object")
            tweet_id = raw.get("id_str") or raw.get("id")
            body = raw.get("full_text", raw.get("text"))
            if not isinstance(tweet_id, str | int) or not isinstance(body, str):
                raise MalformedInput(f"{where} has no id or text")
            if "retweeted_status" in raw or body.startswith("RT @"):
                retweets += 1
                continue
            hashtags = (raw.get("entities") or {}).get("hashtags", [])
            tags = tuple(str(h["text"]) for h in hashtags if isinstance(h, dict) and h.get("text"))
            tweets.append(
                Tweet(
                    id=str(tweet_id),
                    text=html.unescape(body),
                    created=_created(raw.get("created_at"), where),
                    reply_to=raw.get("in_reply_to_status_id_str") or None,
                    tags=tags,
                    media=tuple(_media(ar, root, str(tweet_id), raw, where)),
                )
            )
    return tweets, retweets


def account_audience(ar: Archive, root: str) -> str:
    """`followers` when the archive's protected history ends protected, else `public`."""
    name = root + "data/protected-history.js"
    if not ar.has(name):
        return audience.PUBLIC
    entries = ar.read_json(name, text=strip_prefix(ar.read_text(name), f"{ar.label}: {name}"))
    if not isinstance(entries, list):
        raise MalformedInput(f"{ar.label}: {name} does not hold a list")
    changes = [
        (str(h.get("protectedAt", "")), str(h.get("action", "")))
        for e in entries
        if isinstance(e, dict) and isinstance(h := e.get("protectedHistory", e), dict)
    ]
    if changes and max(changes)[1].lower() == "protect":
        return audience.FOLLOWERS
    return audience.PUBLIC


def import_archive(
    vault: Vault,
    path: str | os.PathLike[str],
    *,
    persona: str | None = None,
    progress: ProgressCallback | None = None,
    limits: archive.Limits = archive.DEFAULT_LIMITS,
) -> ImportSummary:
    """Import a Twitter/X archive in one transaction; re-importing adds nothing."""
    with archive.open_archive(Path(path), limits) as ar:
        tweets, retweets = parse_tweets(ar)
        seen_by = account_audience(ar, _tweet_files(ar)[0])
        tally = Tally(
            vault, "twitter", persona=persona, progress=progress, total=len(tweets), media=True
        )
        tally.ignored = retweets
        with vault.store.write() as txn:
            fresh = tally.fresh(tweets, lambda tweet: "twitter:" + tweet.id)
            media = write_media(txn, vault, ar, [m for t in fresh for m, _ in t.media])
            for tweet in fresh:
                atts = [
                    content.NewAttachment(
                        PurePosixPath(member).name, media_type, media[member].pop()
                    )
                    for member, media_type in tweet.media
                ]
                body = txn.write_blob([tweet.text.encode("utf-8")])
                meta = content.ItemMeta(
                    title=title_from_text(tweet.text),
                    kind="post",
                    tags=content.normalize_tags(tweet.tags),
                    created=tweet.created,
                    media_type="text/plain",
                    reply_to=tweet.reply_to,
                    source="twitter",
                    source_url=f"https://x.com/i/web/status/{tweet.id}",
                    audience=seen_by,
                )
                tally.add(txn, body, meta, attachments=atts, dedup=["twitter:" + tweet.id])
            tally.audit(txn)
    return tally.summary()
