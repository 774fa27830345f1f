"""Twitter/X archives: the `window.YTD` prefix, parts, media, retweets, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders import JPG, build, tweet, tweets_js, twitter_files
from vault import content
from vault.content.importers import twitter
from vault.core.errors import MalformedInput, MissingMedia
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


def test_missing_media(vault: Vault, tmp_path: Path) -> None:
    files = twitter_files()
    del files["data/tweets_media/1003-AbCdEf.jpg"]
    with pytest.raises(MissingMedia, match=r"tweets\.js entry 3 refers to 1003-AbCdEf\.jpg"):
        twitter.import_archive(vault, build(tmp_path / "m.zip", files))
    assert vault.store.count(content.ITEM) == 0


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"var x = []", "does not start with"),
        (b"window.YTD.tweets.part0 = [{]", r"not valid JSON \(line 1"),
        (b"window.YTD.tweets.part0 = {}", "does not hold a list"),
        (b'window.YTD.tweets.part0 = [{"tweet": {"id_str": "1"}}]', "has no id or text"),
        (b"window.YTD.tweets.part0 = [\xff]", "not valid UTF-8"),
    ],
)
def test_bad_part_file(vault: Vault, tmp_path: Path, data: bytes, problem: str) -> None:
    files = twitter_files()
    files["data/tweets-part1.js"] = data
    with pytest.raises(MalformedInput, match=rf"tweets-part1\.js.*{problem}"):
        twitter.import_archive(vault, build(tmp_path / "bad.zip", files))
    assert vault.store.count(content.ITEM) == 0


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
