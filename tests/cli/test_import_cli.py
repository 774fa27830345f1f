"""`coffre import FORMAT`: every format of the registry runs through the CLI with --json on a
small real or built input, prints the one summary shape, and adds nothing the second time;
help, examples and docs follow the registry. Then the health formats (apple-health,
google-takeout, garmin) in detail: text and JSON summaries, time zones, exit codes, and an
unchanged vault after a refused file.

The other formats' details are tested with their area's commands: vcard and jsonresume in
test_persona_cli.py, markdown and mastodon in test_content_cli.py, csv in test_data_cli.py."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

import click
import pytest

from tests.builders import (
    GARMIN_UDS,
    GARMIN_UPLOADS,
    WXR_ITEMS,
    build,
    default_files,
    garmin_day,
    garmin_export,
    note,
    outbox_text,
    streamed_zip,
    tweet,
    tweets_js,
    twitter_files,
    wxr,
)
from tests.cli.conftest import SUMMARY_KEYS, check_json, checked, init_vault, invoke
from tests.conftest import CORPUS
from vault.cli.main import cli
from vault.imports import FORMATS, ImportFormat, get_format

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
CSV = (
    "start,end,metric,value,unit,source\n"
    "2024-03-01T10:00:00+01:00,2024-03-01T10:10:00+01:00,steps,812,{steps},iPhone\n"
    "2024-03-01T10:05:00+01:00,,heart_rate,74,/min,Apple Watch\n"
)


def _takeout(tmp: Path) -> Path:
    f = tmp / "Takeout/Fitbit/Global Export Data/steps-2021-01-02.json"
    f.parent.mkdir(parents=True)
    f.write_text('[{"dateTime": "01/02/21 08:00:00", "value": "12"}]')
    return tmp / "Takeout"


def _csv(tmp: Path) -> Path:
    path = tmp / "data.csv"
    path.write_text(CSV)
    return path


def _wordpress(tmp: Path) -> Path:
    path = tmp / "blog.xml"
    path.write_text(wxr(WXR_ITEMS), encoding="utf-8")
    return path


# Each format's input: a shared real sample (path under the samples folder) or a builder.
INPUTS: dict[str, str | Callable[[Path], Path]] = {
    "apple-health": "apple-health/alxdrcirilo/export.zip",
    "google-takeout": _takeout,
    "fitbit": _takeout,
    "garmin": "garmin-fit/garmin-fenix-5-run.fit",
    "csv": _csv,
    "vcard": "vcard/vcard40_full.vcf",
    "jsonresume": "jsonresume/sample.resume.json",
    "markdown": "markdown-frontmatter",
    "mastodon": lambda tmp: build(tmp / "mastodon.zip", default_files()),
    "twitter": lambda tmp: build(tmp / "twitter.tar.gz", twitter_files()),
    "wordpress": _wordpress,
}


@pytest.fixture
def sams_vault(vault_dir: Path) -> Path:
    """A new vault with one persona, Sam Runner, the one imports go to."""
    return init_vault(vault_dir, "Sam Runner")


def _input(name: str, request: pytest.FixtureRequest, tmp: Path) -> Path:
    found = INPUTS[name]
    if isinstance(found, str):
        samples: Path = request.getfixturevalue("samples")
        return samples / found
    return found(tmp)


def test_every_format_has_an_input() -> None:
    assert set(INPUTS) == {fmt.name for fmt in FORMATS}


@pytest.mark.parametrize("name", [fmt.name for fmt in FORMATS])
def test_every_format_imports_once_with_json(
    name: str, sams_vault: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    fmt = get_format(name)
    path = _input(name, request, tmp_path)
    first = check_json("import", checked(sams_vault, "import", name, str(path), "--json").stdout)
    assert set(first) == SUMMARY_KEYS
    assert (first["format"], first["source"]) == (name, name)
    assert first["added"] > 0 and first["errors"] == []
    assert first["items"] == first["added_ids"]
    if fmt.area != "data":  # personas and items have ids; samples do not
        assert len(first["added_ids"]) == first["added"]
        assert first["added_by_metric"] == {}
    else:  # into an empty vault: what it added per metric is what the vault lists
        listed = json.loads(checked(sams_vault, "data", "metrics", "--json").stdout)
        stored = {m["metric"]: m["samples"] for m in listed}
        assert stored.pop("workout", 0) == first["workouts"]  # listed, counted apart
        assert first["added_by_metric"] == stored
    records = _records(sams_vault)
    again = json.loads(checked(sams_vault, "import", name, str(path), "--json").stdout)
    assert (again["added"], again["added_ids"], again["added_by_metric"]) == (0, [], {})
    assert again["duplicates"] + len(again["unchanged"]) >= first["added"]
    assert _records(sams_vault) == records


def _records(vault_dir: Path) -> dict[str, int]:
    """The vault's record counts (an import that adds nothing still writes its audit entry)."""
    counts: dict[str, int] = json.loads(checked(vault_dir, "status", "--json").stdout)["counts"]
    return {k: v for k, v in counts.items() if k != "audit_entries"}


def _command(fmt: ImportFormat) -> click.Command:
    group = cli.get_command(click.Context(cli), "import")
    assert isinstance(group, click.Group)
    command = group.get_command(click.Context(group), fmt.name)
    assert command is not None
    return command


@pytest.mark.parametrize("name", [fmt.name for fmt in FORMATS])
def test_help_shows_the_example_and_the_options(name: str) -> None:
    fmt = get_format(name)
    result = invoke(None, "import", name, "--help")
    assert result.exit_code == 0
    assert fmt.description in " ".join(result.stdout.split())  # as click wraps it
    assert fmt.example in result.stdout
    assert "--json" in result.stdout
    assert ("--persona" in result.stdout) == fmt.needs_persona
    for option in fmt.options:
        assert option.flag in result.stdout


@pytest.mark.parametrize("name", [fmt.name for fmt in FORMATS])
def test_the_example_parses(name: str, tmp_path: Path) -> None:
    """The help's example is a command line the command accepts (given a path that exists)."""
    fmt = get_format(name)
    words = shlex.split(fmt.example)
    assert words[:3] == ["coffre", "import", name]
    given = tmp_path / Path(words[3]).name
    if fmt.accepts.file_ok:
        given.write_text("")
    else:
        given.mkdir()
    command = _command(fmt)
    with command.make_context(name, [str(given), *words[4:]]) as ctx:
        assert ctx.params["path"] == given


def test_a_file_only_format_refuses_a_folder(tmp_path: Path) -> None:
    result = invoke(tmp_path / "vault", "import", "csv", str(tmp_path))
    assert result.exit_code == 2
    assert "is a directory" in result.stderr


def _synopsis(fmt: ImportFormat) -> str:
    """The command line the docs' heading must show, read from the command itself."""
    parts = [f"coffre import {fmt.name}"]
    for param in _command(fmt).params:
        if isinstance(param, click.Argument):
            parts.append(param.human_readable_name)
        elif param.name == "persona_ref":
            parts.append("[--persona P]")
        elif param.name != "as_json":
            parts.append(f"[{param.opts[0]} {param.metavar}]")
    return " ".join([*parts, "[--json]"])


def test_the_docs_document_exactly_the_registry() -> None:
    text = DOCS.read_text(encoding="utf-8")
    table = text.split("<!-- import-formats")[1].split("<!-- /import-formats -->")[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert rows == [
        f"| `{fmt.name}` | {fmt.title} | {fmt.area} | {fmt.accepts.describe()} | "
        f"{'yes' if fmt.needs_persona else 'no'} |"
        for fmt in FORMATS
    ]
    headings = re.findall(r"^### `(coffre import .*)`$", text, re.MULTILINE)
    assert headings == [_synopsis(fmt) for fmt in FORMATS]


# --- The health formats in detail --------------------------------------------------------


def test_apple_health_json_summary(sams_vault: Path, samples: Path) -> None:
    args = ("import", "apple-health", str(samples / "apple-health/alxdrcirilo/export.zip"))
    summary = json.loads(checked(sams_vault, *args, "--json").stdout)
    assert set(summary) == SUMMARY_KEYS
    assert summary["added"] == 8 and summary["errors"] == []
    again = json.loads(checked(sams_vault, *args, "--json").stdout)
    assert (again["added"], again["duplicates"]) == (0, 8)
    shown = json.loads(checked(sams_vault, "data", "show", "heart_rate", "--json").stdout)
    assert [row["value"] for row in shown] == [74, 75]


def test_apple_health_text_summary(sams_vault: Path, samples: Path) -> None:
    result = checked(
        sams_vault,
        "import",
        "apple-health",
        str(samples / "apple-health/dogsheep/zip_export.xml"),
        "--persona",
        "Sam Runner",
    )
    assert "Added 2 samples, 1 workouts, 2 daily summaries" in result.stdout
    assert "1 errors" in result.stdout
    assert "route file" in result.stderr  # the missing route is listed, on stderr


def test_garmin_folder_lists_the_truncated_file(
    sams_vault: Path, samples: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "fit"
    shutil.copytree(samples / "garmin-fit", folder)
    summary = json.loads(checked(sams_vault, "import", "garmin", str(folder), "--json").stdout)
    assert summary["workouts"] == 1
    assert [e["location"] for e in summary["errors"]] == ["activity-unexpected-eof.fit"]


def test_garmin_account_export_imports_and_lists_its_bad_inner_file(
    sams_vault: Path, tmp_path: Path
) -> None:
    """A Garmin account export given to `import garmin` (built as in
    tests/unit/data/importers/test_garmin_export.py): exit 0, its bad FIT file listed."""
    fit = (CORPUS / "fit" / "garmin-fenix-5-bike.fit").read_bytes()
    bad = (CORPUS / "fit" / "activity-unexpected-eof.fit").read_bytes()
    inner = streamed_zip({"fenix.fit": fit, "cut.fit": bad})
    days = json.dumps([garmin_day("2024-05-01", totalSteps=9120)]).encode()
    export = garmin_export(
        tmp_path / "export.zip", {GARMIN_UDS: days, GARMIN_UPLOADS.format(1): inner}
    )
    summary = json.loads(checked(sams_vault, "import", "garmin", str(export), "--json").stdout)
    assert summary["workouts"] == 1
    assert [e["location"] for e in summary["errors"]] == [GARMIN_UPLOADS.format(1) + "/cut.fit"]
    again = json.loads(checked(sams_vault, "import", "garmin", str(export), "--json").stdout)
    assert (again["added"], again["workouts"]) == (0, 0)


def test_garmin_truncated_file_alone_exits_7_and_changes_nothing(
    sams_vault: Path, samples: Path
) -> None:
    before = json.loads(checked(sams_vault, "status", "--json").stdout)["counts"]
    result = checked(
        sams_vault,
        "import",
        "garmin",
        str(samples / "garmin-fit/activity-unexpected-eof.fit"),
        code=7,
    )
    assert "activity-unexpected-eof.fit: truncated" in result.stderr
    assert result.stdout == ""
    assert json.loads(checked(sams_vault, "status", "--json").stdout)["counts"] == before


def test_google_takeout_time_zone(sams_vault: Path, tmp_path: Path) -> None:
    takeout = _takeout(tmp_path)
    result = checked(
        sams_vault, "import", "google-takeout", str(takeout), "--time-zone", "Europe/Paris"
    )
    assert "read in Europe/Paris" in result.stderr
    shown = json.loads(checked(sams_vault, "data", "show", "steps", "--json").stdout)
    # 08:00 in Paris, in UTC, with the offset of Paris kept.
    assert (shown[0]["start"], shown[0]["offset"]) == ("2021-01-02T07:00:00Z", "+01:00")


def test_bad_time_zone_is_a_usage_error(sams_vault: Path, tmp_path: Path) -> None:
    result = checked(
        sams_vault,
        "import",
        "google-takeout",
        str(tmp_path),
        "--time-zone",
        "Nowhere/Land",
        code=7,
    )
    assert "Nowhere/Land" in result.stderr


def test_malformed_export_exit_code(sams_vault: Path, tmp_path: Path) -> None:
    bad = tmp_path / "export.xml"
    bad.write_text('<HealthData locale="en"><Record></HealthData>')
    result = checked(sams_vault, "import", "apple-health", str(bad), code=7)
    assert "export.xml line 1" in result.stderr


def test_commands_have_help() -> None:
    for name in ("apple-health", "google-takeout", "garmin"):
        result = invoke(None, "import", name, "--help")
        assert result.exit_code == 0
        assert "--persona" in result.stdout and "--json" in result.stdout


# --- crafted inputs: refused with their reason, exit 7, the vault unchanged ---------------------

DEEP = "[" * 100_000 + "]" * 100_000  # deeper than any parser recurses
LONG = "1" * 5_000  # more digits than Python converts to an integer


def _note_with(tmp: Path, text: str) -> Path:
    """One note, imported alone: all or nothing (in a folder it would be skipped and listed)."""
    (tmp / "a.md").write_text(text + "\nbody\n")
    return tmp / "a.md"


def _outbox_with(tmp: Path, value: str) -> Path:
    files = default_files()
    files["outbox.json"] = (
        outbox_text([note(1, extra="__VALUE__")], []).replace('"__VALUE__"', value).encode()
    )
    return build(tmp / "mastodon.zip", files)


def _tweets_with(tmp: Path, value: str) -> Path:
    files = twitter_files()
    files["data/tweets.js"] = tweets_js(0, [tweet(1, "hi", extra="__VALUE__")]).replace(
        b'"__VALUE__"', value.encode()
    )
    return build(tmp / "twitter.zip", files)


@pytest.mark.parametrize(
    ("value", "reason"),
    [(DEEP, "nests too deeply"), (LONG, "holds a number too long to read")],
)
def test_a_crafted_tweets_file_is_skipped_whole_and_listed(
    value: str, reason: str, sams_vault: Path, tmp_path: Path
) -> None:
    """In an archive, a crafted tweets file is one bad file: listed with its reason, the
    other files imported, exit 0 (a single-file import would exit 7)."""
    summary = json.loads(
        checked(
            sams_vault, "import", "twitter", str(_tweets_with(tmp_path, value)), "--json"
        ).stdout
    )
    assert summary["added"] == 1  # the tweet of tweets-part1.js
    assert summary["errors"] == [
        {
            "location": "data/tweets.js",
            "problem": f"data/tweets.js {reason}: skipped whole, nothing imported from this file",
        }
    ]


def _file_with(name: str, text: str) -> Callable[[Path], Path]:
    def write(tmp: Path) -> Path:
        (tmp / name).write_text(text)
        return tmp / name

    return write


def _session_with(tmp: Path, value: str) -> Path:
    session = tmp / "Takeout/Fit/All Sessions/run.json"
    session.parent.mkdir(parents=True)
    session.write_text(f'{{"startTime": "2023-01-01T00:00:00Z", "x": {value}}}')
    return tmp / "Takeout"


CRAFTED: dict[str, tuple[str, Callable[[Path], Path], str]] = {
    "deep YAML front matter": (
        "markdown", lambda t: _note_with(t, f"---\nx: {DEEP}\n---"),
        r"a\.md: the front matter nests too deeply",
    ),
    "deep JSON front matter": (
        "markdown", lambda t: _note_with(t, f'{{"x": {DEEP}}}\n'),
        r"a\.md: the front matter nests too deeply",
    ),
    "deep TOML front matter": (
        "markdown", lambda t: _note_with(t, f"+++\nx = {DEEP}\n+++"),
        r"a\.md: the front matter nests too deeply",
    ),
    "impossible date in front matter": (
        "markdown", lambda t: _note_with(t, "---\ndate: 2020-13-45\n---"),
        r"a\.md: the date is not an ISO 8601 date or time",
    ),
    "long number in front matter": (
        "markdown", lambda t: _note_with(t, f"---\nx: {LONG}\n---"),
        r"a\.md: invalid YAML front matter \(a value out of range\)",
    ),
    "deep Mastodon outbox": (
        "mastodon", lambda t: _outbox_with(t, DEEP), r"outbox\.json nests too deeply"
    ),
    "long number in a Mastodon outbox": (
        "mastodon", lambda t: _outbox_with(t, LONG), r"mastodon\.zip holds a number too long"
    ),
    "deep JSON Resume": (
        "jsonresume", _file_with("resume.json", f'{{"basics": {DEEP}}}'),
        r"resume\.json nests too deeply",
    ),
    "long number in a JSON Resume": (
        "jsonresume", _file_with("resume.json", f'{{"basics": {{"name": "A"}}, "x": {LONG}}}'),
        r"resume\.json holds a number too long",
    ),
    "deep jCard": (
        "vcard", _file_with("card.json", f'["vcard", [["fn", {{}}, "text", {DEEP}]]]'),
        r"card\.json nests too deeply",
    ),
}  # fmt: skip


def test_a_crafted_file_in_a_takeout_is_skipped_whole_with_its_reason(
    sams_vault: Path, tmp_path: Path
) -> None:
    """In a folder or archive, a hostile file is one bad file: skipped whole, named with its
    reason, the import exits 0 (the per-file rule)."""
    path = _session_with(tmp_path, DEEP)
    result = checked(sams_vault, "import", "google-takeout", str(path), "--json", code=0)
    summary = json.loads(result.stdout)
    assert (summary["added"], summary["workouts"]) == (0, 0)
    assert summary["errors"] == [
        {
            "location": "Fit/All Sessions/run.json",
            "problem": "nests too deeply: skipped whole, nothing imported from this file",
        }
    ]


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_input_is_refused_with_its_reason_and_changes_nothing(
    case: str, sams_vault: Path, tmp_path: Path
) -> None:
    name, make, reason = CRAFTED[case]
    path = make(tmp_path)
    before = json.loads(checked(sams_vault, "status", "--json").stdout)["counts"]
    result = checked(sams_vault, "import", name, str(path), code=7)
    assert re.search(reason, result.stderr), result.stderr
    assert "unexpected" not in result.stderr
    assert json.loads(checked(sams_vault, "status", "--json").stdout)["counts"] == before
