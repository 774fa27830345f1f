"""The registry of import formats: one entry per format, consistent with the importers, and
cheap to load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vault.core.errors import InvalidParameter
from vault.core.vault import Vault
from vault.data.importers import garmin
from vault.imports import FORMATS, Accepts, formats_of, get_format
from vault.personas import add_persona, list_personas

# The formats the design names for `coffre import`, in its order.
NAMES = [
    "apple-health",
    "google-takeout",
    "fitbit",
    "garmin",
    "csv",
    "vcard",
    "jsonresume",
    "markdown",
    "mastodon",
    "twitter",
    "wordpress",
]


def test_every_format_once() -> None:
    assert [fmt.name for fmt in FORMATS] == NAMES
    for fmt in FORMATS:
        assert get_format(fmt.name) is fmt
        assert fmt.description.endswith(".") and "\n" not in fmt.description
        assert fmt.accepts.file_ok or fmt.accepts.folder
        assert fmt.example.startswith(f"coffre import {fmt.name} ")
        # Data and content belong to a persona; persona imports make personas.
        assert fmt.needs_persona == (fmt.area != "personas")
    assert {fmt.area for fmt in FORMATS} == {"personas", "content", "data"}
    assert [f.name for f in formats_of("personas")] == ["vcard", "jsonresume"]


def test_unknown_format() -> None:
    with pytest.raises(InvalidParameter, match=r"no import format 'polar'.*apple-health"):
        get_format("polar")


def test_garmin_reads_what_its_importer_reads() -> None:
    assert set(garmin.SUFFIXES) <= set(get_format("garmin").accepts.files)


def test_accepts_in_words() -> None:
    assert Accepts(files=(".csv",)).describe() == "a .csv file"
    assert Accepts(archives=(".zip",), folder=True).describe() == "a .zip archive or a folder"
    assert (
        Accepts(files=(".xml",), archives=(".zip",), folder=True).describe()
        == "a .xml file, a .zip archive or a folder"
    )


def test_run_refuses_what_a_format_does_not_take(fresh_vault: Vault, tmp_path: Path) -> None:
    card = tmp_path / "me.vcf"
    card.write_text("BEGIN:VCARD\nVERSION:4.0\nFN:Ada\nEND:VCARD\n")
    add_persona(fresh_vault, "Sam")
    vcard = get_format("vcard")
    with pytest.raises(InvalidParameter, match="creates personas"):
        vcard.run(fresh_vault, card, persona="Sam")
    with pytest.raises(InvalidParameter, match="no option time_zone"):
        vcard.run(fresh_vault, card, options={"time_zone": "UTC"})
    assert [p.name for p in list_personas(fresh_vault)] == ["Sam"]
    summary = vcard.run(fresh_vault, card)
    assert (summary.format, summary.added) == ("vcard", 1)


def test_takeout_option_reaches_its_importer(fresh_vault: Vault, tmp_path: Path) -> None:
    f = tmp_path / "Takeout/Fitbit/Global Export Data/steps-2021-01-02.json"
    f.parent.mkdir(parents=True)
    f.write_text('[{"dateTime": "01/02/21 08:00:00", "value": "12"}]')
    add_persona(fresh_vault, "Sam")
    summary = get_format("google-takeout").run(
        fresh_vault, tmp_path / "Takeout", options={"time_zone": "Asia/Tokyo"}
    )
    assert (summary.format, summary.added, summary.time_zone) == ("google-takeout", 1, "Asia/Tokyo")


def test_loading_the_registry_loads_no_importer() -> None:
    """`coffre import --help` and the TUI's dialog list formats without paying for them."""
    code = (
        "import sys, vault.imports\n"
        "areas = ('vault.personas', 'vault.content', 'vault.data')\n"
        "bad = [m for m in sys.modules if m.startswith(areas)]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_importer_is_found() -> None:
    """Each format names its importer as text: a typo would show only when it runs."""
    for fmt in FORMATS:
        assert callable(fmt.load()), fmt.name


# Real files written by others (../shared/samples/SOURCES.md: origin and licence of each):
# the format check in front of every import must let each one through to its own importer.
REAL_INPUTS = [
    ("apple-health", "apple-health/alxdrcirilo/export.zip"),
    ("apple-health", "apple-health/alxdrcirilo/export.xml"),
    ("apple-health", "apple-health/dogsheep/tests_export.xml"),
    ("garmin", "garmin-fit/garmin-fenix-5-run.fit"),
    ("garmin", "garmin-fit/MonitoringFile.fit"),
    ("garmin", "garmin-fit/WeightScaleSingleUser.fit"),
    ("garmin", "apple-health/dogsheep/route_2019-06-11_3.00pm.gpx"),
    ("garmin", "garmin-fit"),
    ("jsonresume", "jsonresume/sample.resume.json"),
    ("markdown", "markdown-frontmatter"),
]


@pytest.mark.parametrize(("fmt", "relative"), REAL_INPUTS, ids=[r for _f, r in REAL_INPUTS])
def test_real_exports_pass_their_own_format_check(samples: Path, fmt: str, relative: str) -> None:
    get_format(fmt).check(samples / relative)


def test_real_vcards_pass_the_vcard_check(samples: Path) -> None:
    cards = sorted((samples / "vcard").glob("*.vcf"))
    assert cards
    for card in cards:
        get_format("vcard").check(card)
