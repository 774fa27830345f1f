"""`coffre import FORMAT`: every format of the registry runs through the CLI with --json on a
small real or built input, prints the one summary shape, and adds nothing the second time."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from pathlib import Path

import click
import pytest

from tests.builders import WXR_ITEMS, build, default_files, twitter_files, wxr
from tests.cli.conftest import SUMMARY_KEYS, checked, invoke
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
    "garmin": "garmin-fit/garmin-fenix-5-run.fit",
    "csv": _csv,
    "vcard": "vcard/vcard40_full.vcf",
    "jsonresume": "jsonresume/sample.resume.json",
    "markdown": "markdown-frontmatter",
    "mastodon": lambda tmp: build(tmp / "mastodon.zip", default_files()),
    "twitter": lambda tmp: build(tmp / "twitter.tar.gz", twitter_files()),
    "wordpress": _wordpress,
}


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
    name: str, vault_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    fmt = get_format(name)
    path = _input(name, request, tmp_path)
    checked(vault_dir, "init", "--kdf", "minimum")
    checked(vault_dir, "persona", "add", "Sam Runner")
    first = json.loads(checked(vault_dir, "import", name, str(path), "--json").stdout)
    assert set(first) == SUMMARY_KEYS
    assert (first["format"], first["source"]) == (name, name)
    assert first["added"] > 0 and first["errors"] == []
    assert first["items"] == first["added_ids"]
    if fmt.area != "data":  # personas and items have ids; samples do not
        assert len(first["added_ids"]) == first["added"]
    records = _records(vault_dir)
    again = json.loads(checked(vault_dir, "import", name, str(path), "--json").stdout)
    assert (again["added"], again["added_ids"]) == (0, [])
    assert again["duplicates"] + len(again["unchanged"]) >= first["added"]
    assert _records(vault_dir) == records


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
