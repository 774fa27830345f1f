"""Twitter/X archives: the `window.YTD` prefix, parts, media, retweets, t.co links, bad files
skipped whole, bad entries counted; real tweets from tests/corpus/twitter."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from tests.builders import JPG, build, tweet, tweets_js, twitter_files
from vault import content
from vault.content.importers import SKIPPED_WHOLE, twitter
from vault.core.errors import MalformedInput
from vault.core.vault import Vault


def test_prefix_is_stripped_never_evaluated() -> None:
    assert twitter.strip_prefix("window.YTD.tweets.part0 = [1]", "x") == "[1]"
    with pytest.raises(MalformedInput, match="does not start with"):
        twitter.strip_prefix("alert(1); window.YTD.tweets.part0 = []", "x")


def test_import_archive(vault: Vault, tmp_path: Path) -> None:
    summary = twitter.import_archive(vault, build(tmp_path / "twitter.zip", twitter_files()))
    assert (summary.added, summary.ignored, summary.attachments) == (3, 1, 2)
    items = {i.created[:10]: i for i in content.list_items(vault)}
    first = items["2018-10-11"]
    assert (first.title, first.tags, first.media_type) == (
        "Hello & welcome #first",
        ("first",),
        "text/plain",
    )
    assert first.source_url == "https://x.com/i/web/status/1001"
    photo = items["2018-10-13"]
    assert photo.reply_to == "1001"
    assert b"".join(content.read_attachment(vault, photo.id, 0)) == JPG
    video = content.get_version(vault, items["2018-10-14"].id)
    assert (video.attachments[0].name, video.attachments[0].media_type) == (
        "1004-high.mp4",
        "video/mp4",
    )
    again = twitter.import_archive(vault, tmp_path / "twitter.zip")
    assert (again.added, again.duplicates) == (0, 3)


def test_older_archive_names(vault: Vault, tmp_path: Path) -> None:
    files = {"data/tweet.js": tweets_js(0, [tweet(1, "old style")], name="tweet")}
    assert twitter.import_archive(vault, build(tmp_path / "old.zip", files)).added == 1


def test_a_tweet_whose_media_is_missing_is_skipped_and_counted(
    vault: Vault, tmp_path: Path
) -> None:
    files = twitter_files()
    del files["data/tweets_media/1003-AbCdEf.jpg"]
    summary = twitter.import_archive(vault, build(tmp_path / "m.zip", files))
    assert (summary.added, summary.attachments) == (2, 1)
    assert [(e.location, e.problem) for e in summary.errors] == [
        ("data/tweets.js", "1 entry skipped: a media file that is not in the archive")
    ]
    assert vault.check() == []


DEEP = "[" * 100_000 + "]" * 100_000  # deeper than any parser recurses


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"var x = []", "does not start with `window.YTD.<name>.partN =`"),
        (b"window.YTD.tweets.part0 = [{]", r"is not valid JSON \(line 1"),
        (b"window.YTD.tweets.part0 = {}", "does not hold a list of tweets"),
        (b"window.YTD.tweets.part0 = [\xff]", r"is not valid UTF-8 \(byte 27\)"),
        (f"window.YTD.tweets.part0 = {DEEP}".encode(), "nests too deeply"),
        (b"window.YTD.tweets.part0 = [" + b"1" * 5000 + b"]", "holds a number too long"),
    ],
)
def test_a_bad_tweets_file_is_skipped_whole_and_listed(
    vault: Vault, tmp_path: Path, data: bytes, problem: str
) -> None:
    files = twitter_files()
    files["data/tweets-part1.js"] = data
    summary = twitter.import_archive(vault, build(tmp_path / "bad.zip", files))
    assert summary.added == vault.store.count(content.ITEM) == 2  # the tweets of tweets.js
    (issue,) = summary.errors
    assert issue.location == "data/tweets-part1.js"
    assert re.search(problem, issue.problem) and issue.problem.endswith(SKIPPED_WHOLE)
    assert "bad.zip" not in issue.problem


def test_bad_entries_are_skipped_and_counted_once_per_file(vault: Vault, tmp_path: Path) -> None:
    files = twitter_files()
    undated = tweet(5, "when?", created_at="yesterday")
    entries = [{"tweet": {"id_str": "1"}}, "not an object", undated, tweet(6, "fine")]
    files["data/tweets-part1.js"] = tweets_js(1, entries)
    summary = twitter.import_archive(vault, build(tmp_path / "t.zip", files))
    assert summary.added == 3
    assert [(e.location, e.problem) for e in summary.errors] == [
        ("data/tweets-part1.js", "2 entries skipped: not a tweet (no id or text)"),
        ("data/tweets-part1.js", "1 entry skipped: a date that cannot be read"),
    ]


def test_short_links_are_expanded_from_the_archives_entities(vault: Vault, tmp_path: Path) -> None:
    raw = tweet(
        1,
        "See https://t.co/abc123 and https://t.co/zzz999 https://t.co/pic456",
        entities={
            "hashtags": [],
            "urls": [
                {"url": "https://t.co/abc123", "expanded_url": "https://example.org/a?b=1&c=2"}
            ],
        },
        extended_entities={
            "media": [
                {
                    "url": "https://t.co/pic456",
                    "expanded_url": "https://x.com/ada/status/1001/photo/1",
                    "media_url_https": "https://pbs.twimg.com/media/AbCdEf.jpg",
                }
            ]
        },
    )
    files = {
        "data/tweets.js": tweets_js(0, [raw]),
        "data/tweets_media/1001-AbCdEf.jpg": JPG,
    }
    twitter.import_archive(vault, build(tmp_path / "t.zip", files))
    (item,) = content.list_items(vault)
    text = b"".join(content.read(vault, item.id)).decode()
    # A t.co link the entities do not explain is left as it is.
    assert text == (
        "See https://example.org/a?b=1&c=2 and https://t.co/zzz999 "
        "https://x.com/ada/status/1001/photo/1"
    )
    assert item.extra["links"] == {
        "https://t.co/abc123": "https://example.org/a?b=1&c=2",
        "https://t.co/pic456": "https://x.com/ada/status/1001/photo/1",
    }


def test_real_tweets_in_an_archive(vault: Vault, corpus: Path, tmp_path: Path) -> None:
    """Real tweets (tests/corpus/twitter) wrapped as an archive's tweets.js wraps them, with
    the photo a tweet names stored as archives store it; the expected text is computed here
    from each tweet's own entities."""
    tweets = json.loads((corpus / "twitter" / "tweets.json").read_text())
    media = [
        f"data/tweets_media/{t['id_str']}-{m['media_url_https'].rsplit('/', 1)[1]}"
        for t in tweets
        for m in t.get("extended_entities", {}).get("media", [])
    ]
    files = {"data/tweets.js": tweets_js(0, [{"tweet": t} for t in tweets])}
    files.update({name: JPG for name in media})
    summary = twitter.import_archive(vault, build(tmp_path / "x.zip", files))
    authored = [t for t in tweets if "retweeted_status" not in t]
    assert (summary.added, summary.ignored, summary.errors) == (
        len(authored),
        len(tweets) - len(authored),
        (),
    )
    assert summary.attachments == len(media)
    stored = {i.source_url.rsplit("/", 1)[1]: i for i in content.list_items(vault) if i.source_url}
    for t in authored:
        expected = html.unescape(t["full_text"])
        for entity in [
            *t["entities"].get("urls", []),
            *t.get("extended_entities", {}).get("media", []),
        ]:
            expected = expected.replace(entity["url"], entity["expanded_url"])
        item = stored[t["id_str"]]
        assert b"".join(content.read(vault, item.id)).decode() == expected
    with_links = [t for t in authored if t["entities"].get("urls")]
    assert with_links  # the corpus has tweets with t.co links


def _history(*actions: tuple[str, str]) -> bytes:
    entries = [{"protectedHistory": {"protectedAt": t, "action": a}} for t, a in actions]
    return tweets_js(0, entries, name="protected_history")


@pytest.mark.parametrize(
    ("history", "audience"),
    [
        (None, "public"),
        (_history(("2019-01-01T00:00:00.000Z", "Protect")), "followers"),
        (
            _history(
                ("2020-05-01T00:00:00.000Z", "Unprotect"), ("2019-01-01T00:00:00.000Z", "Protect")
            ),
            "public",
        ),
    ],
)
def test_a_protected_account_makes_every_tweet_followers_only(
    vault: Vault, tmp_path: Path, history: bytes | None, audience: str
) -> None:
    files = twitter_files()
    if history is not None:
        files["data/protected-history.js"] = history
    twitter.import_archive(vault, build(tmp_path / "twitter.zip", files))
    assert {i.audience for i in content.list_items(vault)} == {audience}


def test_an_unreadable_protected_history_makes_every_tweet_followers_only(
    vault: Vault, tmp_path: Path
) -> None:
    """Whether the account was protected is then unknown: the narrower audience is kept."""
    files = twitter_files()
    files["data/protected-history.js"] = b"window.YTD.protected_history.part0 = [{"
    summary = twitter.import_archive(vault, build(tmp_path / "t.zip", files))
    assert summary.added == 3
    assert {i.audience for i in content.list_items(vault)} == {"followers"}
    (issue,) = summary.errors
    assert issue.location == "data/protected-history.js"
    assert issue.problem.endswith(f"{SKIPPED_WHOLE}; every tweet taken as followers-only")


def test_odd_values_in_a_tweet_do_not_stop_the_import(vault: Vault, tmp_path: Path) -> None:
    """A video variant whose bitrate is not a number, a reply id that is not a string."""
    files = twitter_files()
    odd = tweet(5, "odd", in_reply_to_status_id_str={"x": 1})
    video = {
        "media_url_https": "https://pbs.twimg.com/v/thumb.jpg",
        "video_info": {"variants": [{"bitrate": "fast", "url": "https://video.twimg.com/v/a.mp4"}]},
    }
    odd_video = tweet(6, "video", extended_entities={"media": [video]})
    files["data/tweets-part1.js"] = tweets_js(1, [odd, odd_video])
    files["data/tweets_media/1006-a.mp4"] = JPG
    summary = twitter.import_archive(vault, build(tmp_path / "t.zip", files))
    assert (summary.added, summary.errors) == (4, ())
    assert {i.reply_to for i in content.list_items(vault) if i.title == "odd"} == {None}
