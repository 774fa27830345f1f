"""Twitter/X archives: `data/tweets.js` (and `tweets-part*.js`), with media.

Each file is JavaScript of the form `window.YTD.tweets.part0 = [...]`: the prefix is
stripped and the rest parsed as JSON, never evaluated. Retweets are not authored content and
are skipped. Media come from `extended_entities` and live in `data/tweets_media/` as
`<tweet id>-<file name>`. The t.co links of a tweet's text are replaced by the addresses the
archive gives for them (`entities.urls[].expanded_url`, and the media's), and the pairs kept
in the item's metadata (`links`).

Each tweets file is read whole before anything of it is stored: a file that cannot be read is
skipped whole and listed in the summary's errors, and the other files are imported. Entries
of a good file that are not tweets, whose date cannot be read or whose media file the archive
lacks are skipped whole (a complete archive imported later adds them), and reported once per
file with a count.

Tweets are public unless the account is protected: `data/protected-history.js`, when the
archive has it, lists each time the account was protected or unprotected, and protection
applies to every tweet, so when the last entry is `Protect` every tweet is followers-only.
When that file cannot be read, every tweet is taken as followers-only, and the file listed.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from vault import content
from vault.content import audience
from vault.content.importers import Tally, title_from_text, unreadable, write_media
from vault.core import archive
from vault.core.archive import Archive
from vault.core.errors import MalformedInput, MissingMedia, UnsafeArchive
from vault.core.i18n import N_, N_plural, Text
from vault.core.importing import ImportIssue, ImportSummary, parser_limits
from vault.core.progress import ProgressCallback

if TYPE_CHECKING:
    from vault.core.vault import Vault

_PREFIX: Final = re.compile(r"\A\s*window\.YTD\.[A-Za-z0-9_]+\.part[0-9]+\s*=\s*")
_PART: Final = re.compile(r"data/tweets?-part[0-9]+\.js\Z")
_MEDIA_DIRS: Final = ("data/tweets_media/", "data/tweet_media/")
_SHORT_LINK: Final = re.compile(r"https?://t\.co/[A-Za-z0-9]+")


@dataclass(frozen=True)
class Tweet:
    id: str
    text: str
    created: str
    reply_to: str | None
    tags: tuple[str, ...]
    media: tuple[tuple[str, str], ...]  # (archive member, media type)
    links: tuple[tuple[str, str], ...] = ()  # (t.co link, the address it stands for)


def strip_prefix(text: str, label: str, name: str = "") -> str:
    """The JSON after `window.YTD.<name>.partN =`, refusing anything else (LABEL names the
    archive, NAME the file in it)."""
    match = _PREFIX.match(text)
    if match is None:
        problem = Text(
            N_("{name} does not start with `window.YTD.<name>.partN =`"), name=name or label
        )
        if not name:
            raise MalformedInput(problem)
        raise MalformedInput(N_("{label}: {problem}"), label=label, problem=problem)
    return text[match.end() :]


def _tweet_files(ar: Archive) -> tuple[str, list[str]]:
    for marker in ("data/tweets.js", "data/tweet.js"):
        try:
            root = ar.locate(marker)
        except MalformedInput:
            continue
        parts = sorted(n for n in ar.members if n.startswith(root) and _PART.search(n))
        return root, [root + marker, *parts]
    raise MalformedInput(N_("{label}: no data/tweets.js in the archive"), label=ar.label)


def _created(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise MalformedInput(N_("{where}: the tweet has no created_at"), where=where)
    try:
        return content.normalize_time(datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y"))
    except ValueError:
        raise MalformedInput(
            N_("{where}: created_at {value!r} is not a date"), where=where, value=value[:40]
        ) from None


def _bitrate(value: Any) -> int:
    """A video variant's bitrate (a string in archives); 0 when it is not a number."""
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else 0


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
            variants.sort(key=lambda v: -_bitrate(v.get("bitrate")))
            urls = [v.get("url") for v in variants] + urls
        names = [PurePosixPath(urlsplit(u).path).name for u in urls if isinstance(u, str) and u]
        candidates = [root + d + f"{tweet_id}-{n}" for d in _MEDIA_DIRS for n in names]
        member = next((c for c in candidates if ar.has(c)), None)
        if member is None:
            shown = names[0] if names else "a media file"
            raise MissingMedia(
                N_("{where} refers to {tweet_id}-{shown}, which is missing"),
                where=where,
                tweet_id=tweet_id,
                shown=shown,
            )
        found.append((member, content.guess_media_type(member)))
    return found


def expand_links(text: str, raw: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """TEXT with each t.co link replaced by the address the tweet's entities give for it
    (links and media), and the replaced pairs. A link the entities do not explain stays."""
    known: dict[str, str] = {}
    for group in (raw.get("entities"), raw.get("extended_entities")):
        if not isinstance(group, dict):
            continue
        for key in ("urls", "media"):
            entries = group.get(key)
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, dict):
                    continue
                short, long = entry.get("url"), entry.get("expanded_url")
                if (
                    isinstance(short, str)
                    and isinstance(long, str)
                    and _SHORT_LINK.fullmatch(short)
                    and long.startswith(("https://", "http://"))
                    and not any(c.isspace() for c in long)
                ):
                    known[short] = long
    used: dict[str, str] = {}

    def expanded(match: re.Match[str]) -> str:
        short = match.group(0)
        if short in known:
            used[short] = known[short]
            return known[short]
        return short

    return _SHORT_LINK.sub(expanded, text), used


def _entries(ar: Archive, name: str) -> list[Any]:
    """The entries of one tweets file, read whole; any problem raises."""
    with parser_limits(name):
        text = strip_prefix(ar.read_text(name), ar.label, name)
        entries = ar.read_json(name, text=text)
    if not isinstance(entries, list):
        raise MalformedInput(
            N_("{label}: {problem}"),
            label=ar.label,
            problem=Text(N_("{name} does not hold a list of tweets"), name=name),
        )
    return entries


def _tweet(ar: Archive, root: str, raw: dict[str, Any], where: str) -> Tweet:
    """One authored tweet; MalformedInput when its date cannot be read, MissingMedia when a
    media file it names is not in the archive."""
    tweet_id = str(raw.get("id_str") or raw.get("id"))
    text, links = expand_links(html.unescape(str(raw.get("full_text", raw.get("text")))), raw)
    entities = raw.get("entities")
    hashtags = entities.get("hashtags") if isinstance(entities, dict) else None
    tags = tuple(
        str(h["text"])
        for h in (hashtags if isinstance(hashtags, list) else [])
        if isinstance(h, dict) and h.get("text")
    )
    reply = raw.get("in_reply_to_status_id_str")
    return Tweet(
        id=tweet_id,
        text=text,
        created=_created(raw.get("created_at"), where),
        reply_to=str(reply) if isinstance(reply, str | int) and reply else None,
        tags=tags,
        media=tuple(_media(ar, root, tweet_id, raw, where)),
        links=tuple(links.items()),
    )


def parse_tweets(ar: Archive) -> tuple[list[Tweet], int, list[ImportIssue]]:
    """The authored tweets of every tweets file, the number of retweets skipped, and the
    problems: files skipped whole, entries skipped (counted once per file)."""
    root, files = _tweet_files(ar)
    tweets: list[Tweet] = []
    retweets = 0
    issues: list[ImportIssue] = []
    for name in files:
        try:
            entries = _entries(ar, name)
        except UnsafeArchive:
            raise
        except Exception as exc:
            issues.append(unreadable(name, exc, label=ar.label))
            continue
        not_tweets = undated = without_media = 0
        for index, entry in enumerate(entries):
            where = f"{ar.label}: {name} entry {index + 1}"
            raw = entry.get("tweet", entry) if isinstance(entry, dict) else None
            if not isinstance(raw, dict):
                not_tweets += 1
                continue
            tweet_id = raw.get("id_str") or raw.get("id")
            body = raw.get("full_text", raw.get("text"))
            if not isinstance(tweet_id, str | int) or not isinstance(body, str):
                not_tweets += 1
                continue
            if "retweeted_status" in raw or body.startswith("RT @"):
                retweets += 1
                continue
            try:
                tweets.append(_tweet(ar, root, raw, where))
            except MissingMedia:
                # Skipped whole, so that importing a complete archive later adds it.
                without_media += 1
            except MalformedInput:
                undated += 1
        for count, problem in (
            (not_tweets, N_("not a tweet (no id or text)")),
            (undated, N_("a date that cannot be read")),
            (without_media, N_("a media file that is not in the archive")),
        ):
            if count:
                skipped = N_plural("{n:,} entry skipped: {why}", "{n:,} entries skipped: {why}")
                issues.append(ImportIssue(name, Text(skipped, n=count, why=Text(problem))))
    return tweets, retweets, issues


def account_audience(ar: Archive, root: str) -> str:
    """`followers` when the archive's protected history ends protected, else `public`."""
    name = root + "data/protected-history.js"
    if not ar.has(name):
        return audience.PUBLIC
    entries = ar.read_json(name, text=strip_prefix(ar.read_text(name), ar.label, name))
    if not isinstance(entries, list):
        raise MalformedInput(
            N_("{label}: {problem}"),
            label=ar.label,
            problem=Text(N_("{name} does not hold a list"), name=name),
        )
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
        tweets, retweets, issues = parse_tweets(ar)
        root = _tweet_files(ar)[0]
        try:
            with parser_limits(root + "data/protected-history.js"):
                seen_by = account_audience(ar, root)
        except UnsafeArchive:
            raise
        except Exception as exc:
            # Whether the account was protected is unknown: the narrower audience is safer.
            seen_by = audience.FOLLOWERS
            issue = unreadable(root + "data/protected-history.js", exc, label=ar.label)
            issues.append(
                replace(issue, problem=issue.problem + "; every tweet taken as followers-only")
            )
        tally = Tally(
            vault, "twitter", persona=persona, progress=progress, total=len(tweets), media=True
        )
        tally.ignored = retweets
        tally.errors.extend(issues)
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
                    extra={"links": dict(tweet.links)} if tweet.links else {},
                )
                tally.add(txn, body, meta, attachments=atts, dedup=["twitter:" + tweet.id])
            tally.audit(txn)
    return tally.summary()
