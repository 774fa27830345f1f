"""Twitter/X archives: the `window.YTD` prefix, parts, media, retweets, bad input."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from vault import content
from vault.content.importers import twitter
from vault.core.errors import MalformedInput, MissingMedia
from vault.core.vault import Vault
from vault.personas import add_persona

JPG = b"\xff\xd8\xff\xe0" + b"jpeg bytes" * 300
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"video" * 500


def tweet(n: int, text: str, **extra: Any) -> dict[str, Any]:
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


def js(part: int, entries: list[Any], name: str = "tweets") -> bytes:
    return f"window.YTD.{name}.part{part} = {json.dumps(entries, indent=2)}".encode()


def default_files() -> dict[str, bytes]:
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
        "data/tweets.js": js(0, part0),
        "data/tweets-part1.js": js(1, part1),
        "data/tweets_media/1003-AbCdEf.jpg": JPG,
        "data/tweets_media/1004-high.mp4": MP4,
    }


def build(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


@pytest.fixture
def vault(fresh_vault: Vault) -> Vault:
    add_persona(fresh_vault, "Ada")
    return fresh_vault


def test_prefix_is_stripped_never_evaluated() -> None:
    assert twitter.strip_prefix("window.YTD.tweets.part0 = [1]", "x") == "[1]"
    with pytest.raises(MalformedInput, match="does not start with"):
        twitter.strip_prefix("alert(1); window.YTD.tweets.part0 = []", "x")


def test_import_archive(vault: Vault, tmp_path: Path) -> None:
    summary = twitter.import_archive(vault, build(tmp_path / "twitter.zip", default_files()))
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
    files = {"data/tweet.js": js(0, [tweet(1, "old style")], name="tweet")}
    assert twitter.import_archive(vault, build(tmp_path / "old.zip", files)).added == 1


def test_missing_media(vault: Vault, tmp_path: Path) -> None:
    files = default_files()
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
    files = default_files()
    files["data/tweets-part1.js"] = data
    with pytest.raises(MalformedInput, match=rf"tweets-part1\.js.*{problem}"):
        twitter.import_archive(vault, build(tmp_path / "bad.zip", files))
    assert vault.store.count(content.ITEM) == 0
