"""Every import format Coffre reads, listed once.

The CLI builds its `coffre import` commands from `FORMATS`, the TUI's import dialog offers
them, and a test checks that docs/cli.md documents exactly these. Each format's importer
stays in its area (personas, content, data) and is imported only when the format runs, so
reading this list costs nothing at start-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from vault.core.errors import InvalidParameter, WrongFormat
from vault.core.i18n import N_, Text
from vault.core.importing import parser_limits
from vault.core.sniff import Sniffed, sniff

if TYPE_CHECKING:
    from vault.core.importing import ImportSummary
    from vault.core.progress import ProgressCallback
    from vault.core.vault import Vault

Area = Literal["personas", "content", "data"]
# What an import of each area adds, for the summaries people read.
RECORDS: Final[Mapping[Area, str]] = {
    "personas": N_("personas"),
    "content": N_("items"),
    "data": N_("samples"),
}
# The archives vault.core.archive opens (it tells them apart by content, not by name).
ARCHIVES: Final = (".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
# The files a Markdown import reads (vault.content.importers.markdown.SUFFIXES, which the
# registry does not import at start-up; a test keeps the two equal).
MARKDOWN_SUFFIXES: Final = (".md", ".markdown", ".mdown", ".mkd", ".mkdn", ".mkdown", ".txt")


@dataclass(frozen=True)
class Accepts:
    """What a format reads: single files and archives with these suffixes, and/or a folder
    (an unpacked export, or a folder of files)."""

    files: tuple[str, ...] = ()
    archives: tuple[str, ...] = ()
    folder: bool = False

    @property
    def file_ok(self) -> bool:
        """Whether a file (a single file or an archive) is accepted, not only a folder."""
        return bool(self.files or self.archives)

    def describe(self) -> Text:
        """`a .xml file, a .zip archive or a folder`: what to give, in words (English; the
        front ends show it with `i18n.localise`)."""
        parts = []
        if self.files:
            parts.append(Text(N_("a {suffixes} file"), suffixes="/".join(self.files)))
        if self.archives:
            parts.append(Text(N_("a {suffixes} archive"), suffixes="/".join(self.archives)))
        if self.folder:
            parts.append(Text(N_("a folder")))
        some = parts[0]
        for part in parts[1:-1]:
            some = Text(N_("{some}, {next}"), some=some, next=part)
        return some if len(parts) == 1 else Text(N_("{some} or {last}"), some=some, last=parts[-1])


# Names for the single files `vault.core.sniff` tells apart, for "this looks like ...".
_FILE_NAMES: Final[Mapping[str, str]] = {
    "fit": N_("a FIT file"),
    "xml:gpx": N_("a GPX file"),
    "xml:trainingcenterdatabase": N_("a TCX file"),
    "xml:healthdata": N_("an Apple Health export"),
    "xml:rss": N_("a WordPress export"),
    "xml:html": N_("an HTML page"),
    "vcard": N_("a vCard file"),
}
# Kinds too common to point at a format: any text, JSON or binary file could be one.
_WEAK: Final = frozenset({"text", "json:object", "json:array", "binary", "empty", "tar"})


@dataclass(frozen=True)
class Looks:
    """How a format's input is recognised before it is parsed (see `vault.core.sniff`).

    `files`: the kinds of single file it is (`fit`, `xml:gpx` for an XML document whose root
    is <gpx>, `json:array`, `text`); `members`: for a zip or a folder, endings of the file
    names one of which must be present (case-insensitive; `/fit/` matches a folder);
    `suffixes`: endings of the names of single files taken as this format's whatever their
    first bytes (a Markdown note may begin with HTML), unless they look like another format's.
    """

    noun: str  # N_("a Mastodon archive"): what the format reads, for refusals
    files: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()

    def matches(self, sniffed: Sniffed) -> bool:
        """Whether SNIFFED is this format's kind of file or holds one of its members."""
        if sniffed.kind in ("zip", "folder"):
            return any(_member_matches(name, self.members) for name in sniffed.members)
        return _key(sniffed) in self.files


def _key(sniffed: Sniffed) -> str:
    return f"{sniffed.kind}:{sniffed.root}" if sniffed.kind in ("xml", "json") else sniffed.kind


def _member_matches(name: str, endings: tuple[str, ...]) -> bool:
    lowered = "/" + name.lower()
    return any(lowered.endswith(e) or (e.endswith("/") and e in lowered) for e in endings)


@dataclass(frozen=True)
class ImportOption:
    """A setting one format takes besides its path and persona (Takeout's time zone)."""

    name: str  # the importer's keyword, e.g. "time_zone"; the CLI flag is --time-zone
    metavar: str
    help: str
    # "module:function" raising InvalidParameter for a bad value, so a bad setting is named
    # before the input is looked at; "" when the importer alone checks it
    validate: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class ImportFormat:
    """One format: what it reads, where its data goes, and the importer that runs it."""

    name: str  # the `coffre import NAME` command
    title: str  # the format's name for people: "Apple Health"
    area: Area
    description: str  # one line: the first line of the command's help
    accepts: Accepts
    example: str  # a command line, shown in --help
    # "module:function", imported only when the format runs; `run` calls it in the way
    # of its area (see there)
    importer: str
    looks: Looks
    options: tuple[ImportOption, ...] = ()
    details: str = ""  # more for --help: what is read, what happens to bad input

    @property
    def needs_persona(self) -> bool:
        """Data and content belong to a persona; persona imports make them."""
        return self.area != "personas"

    @property
    def records(self) -> str:
        """What an import of this format adds: personas, items or samples."""
        return RECORDS[self.area]

    def run(
        self,
        vault: Vault,
        path: str | Path,
        *,
        persona: str | None = None,
        progress: ProgressCallback | None = None,
        options: Mapping[str, str] | None = None,
    ) -> ImportSummary:
        """Import PATH in this format, all or nothing; re-importing it adds nothing.

        `persona` (id, id prefix or name; None: the only one) is where the data goes, for
        the formats that need one; `options` are the format's own settings by name.
        """
        given = dict(options or {})
        unknown = sorted(set(given) - {option.name for option in self.options})
        if unknown:
            raise InvalidParameter(
                N_("the {format} import has no option {option}"),
                format=self.name,
                option=unknown[0],
            )
        if persona is not None and not self.needs_persona:
            raise InvalidParameter(
                N_("the {format} import creates personas: it takes none"), format=self.name
            )
        for option in self.options:
            if option.validate and option.name in given:
                _function(option.validate)(given[option.name])
        self.check(Path(path))
        importer = self.load()
        with parser_limits(Path(path).name):  # whichever parser or walk meets the document
            if self.area == "data":
                # A data importer takes the persona's id and the format's options as keywords.
                from vault.personas import resolve_persona

                persona_id = resolve_persona(vault, persona).id
                return importer(vault, persona_id, Path(path), progress=progress, **given)
            if self.area == "content":
                # A content importer resolves the persona itself: it signs with its key.
                return importer(vault, Path(path), persona=persona, progress=progress)
            return importer(vault, Path(path))  # a persona import makes its personas

    def check(self, path: Path) -> None:
        """Refuse PATH unless it looks like this format, naming what it looks like instead.

        A tar, an empty file or folder and a file of no telling kind go on to the importer,
        whose own checks name what is missing; a truncated zip is named as truncated here.
        """
        sniffed = sniff(path)
        if self.looks.matches(sniffed) or _key(sniffed) in ("tar", "empty"):
            return
        if self._named_for_it(path, sniffed):
            return
        if sniffed.kind in ("zip", "folder") and not sniffed.members:
            return  # nothing in it to be the wrong kind: the importer adds nothing or says why
        if sniffed.kind in ("zip", "folder") or _key(sniffed) not in _WEAK:
            for other in FORMATS:
                if other is not self and other.looks.matches(sniffed):
                    what = _FILE_NAMES.get(_key(sniffed), other.looks.noun)
                    raise WrongFormat(
                        N_("{file} looks like {what}: try `coffre import {format}`"),
                        file=path.name,
                        what=Text(what),
                        format=other.name,
                    )
        if sniffed.kind in ("zip", "folder") and self.looks.members:
            wanted = ", ".join(e.strip("/") for e in self.looks.members)
            raise WrongFormat(
                N_("{file} is not {noun} (no {wanted} in it)"),
                file=path.name,
                noun=Text(self.looks.noun),
                wanted=wanted,
            )
        if sniffed.kind not in ("zip", "folder") and not self.looks.files:
            raise WrongFormat(
                N_("{file} is not {noun}: give {what}"),
                file=path.name,
                noun=Text(self.looks.noun),
                what=self.accepts.describe(),
            )
        # The nouns are marked for the catalogue where they are written: as a `Text` each is
        # said in the person's language with the refusal.
        noun = Text(self.looks.noun)
        named = _FILE_NAMES.get(_key(sniffed))
        if named:
            looks = N_("{file} is not {noun} (it looks like {named})")
            raise WrongFormat(looks, file=path.name, noun=noun, named=Text(named))
        raise WrongFormat(N_("{file} is not {noun}"), file=path.name, noun=noun)

    def _named_for_it(self, path: Path, sniffed: Sniffed) -> bool:
        """Whether PATH is a single file named as this format's (`Looks.suffixes`) that
        does not look like another format's own kind of file."""
        if sniffed.kind in ("zip", "folder") or not path.name.lower().endswith(self.looks.suffixes):
            return False
        key = _key(sniffed)
        return key in _WEAK or not any(
            key in other.looks.files for other in FORMATS if other is not self
        )

    def load(self) -> Callable[..., ImportSummary]:
        """The function that runs this format, imported now (`importer` names it)."""
        function: Callable[..., ImportSummary] = _function(self.importer)
        return function


def _function(spec: str) -> Callable[..., Any]:
    """The function "module:name" names, its module imported now."""
    module, _, name = spec.partition(":")
    # Every import writes records: what keeps export tokens current must be registered first.
    import vault.sharing.tokens  # noqa: F401

    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


FORMATS: Final[tuple[ImportFormat, ...]] = (
    ImportFormat(
        name="apple-health",
        title="Apple Health",
        area="data",
        description=N_(
            "Import an Apple Health export: export.zip, export.xml or the unzipped folder."
        ),
        accepts=Accepts(files=(".xml",), archives=(".zip",), folder=True),
        example="coffre import apple-health export.zip --persona ana",
        importer="vault.data.importers.apple_health:import_apple_health",
        looks=Looks(N_("an Apple Health export"), files=("xml:healthdata",), members=(".xml",)),
        details=N_(
            "Records in every unit exports use, the readings of blood-pressure and food "
            "correlations (once each), workouts with their routes, activity rings, beat-to-beat "
            "lists, ECG recordings with their voltages, audiograms (each ear's threshold at "
            "each frequency) and clinical records (FHIR); a value "
            "outside its metric's range is reported, not stored. Exports from iOS 16 and later "
            "(broken DTD, stray control characters) are read as they are."
        ),
    ),
    ImportFormat(
        name="google-takeout",
        title="Google Takeout",
        area="data",
        description=N_(
            "Import Google Fit and Fitbit data from a Google Takeout zip or its extracted folder."
        ),
        accepts=Accepts(archives=(".zip",), folder=True),
        example="coffre import google-takeout takeout.zip --time-zone Europe/Paris",
        importer="vault.data.importers.google_takeout:import_google_takeout",
        looks=Looks(N_("a Google Takeout"), members=("/fit/", "/fitbit/")),
        details=N_(
            "Google Fit's data streams, each named by its own id, Google's merged stream "
            "counted; sessions as workouts; Fitbit's daily files. A file that cannot be read "
            "is skipped whole and listed in the errors; the others are imported."
        ),
        options=(
            ImportOption(
                "time_zone",
                "ZONE",
                N_(
                    "IANA zone of Fitbit's offset-less times, and the offset Google Fit's samples "
                    "and sessions are shown in (default: the zone of Fitbit's Profile.csv, else "
                    "this machine's)."
                ),
                validate="vault.data.importers.google_takeout:zone",
            ),
        ),
    ),
    ImportFormat(
        name="fitbit",
        title="Fitbit",
        area="data",
        description=N_(
            "Import the Fitbit part of a Google Takeout (the zip or its extracted folder): "
            "heart rate, steps, sleep, weight, HRV and more."
        ),
        accepts=Accepts(archives=(".zip",), folder=True),
        example="coffre import fitbit takeout-20240101T000000Z-001.zip",
        importer="vault.data.importers.fitbit:import_fitbit",
        looks=Looks(
            N_("a Fitbit export"),
            members=(
                "/global export data/",
                "/physical activity_googledata/",
                "/heart rate variability/",
                "/sleep score/",
                "/oxygen saturation (spo2)/",
                "/stress score/",
                "/daily readiness/",
                "/active zone minutes (azm)/",
            ),
        ),
        options=(
            ImportOption(
                "time_zone",
                "ZONE",
                N_(
                    "IANA zone of Fitbit's wall-clock times (default: the zone in the export's "
                    "Profile.csv, else this machine's)."
                ),
                validate="vault.data.importers.google_takeout:zone",
            ),
            ImportOption(
                "weight_unit",
                "UNIT",
                N_(
                    "Unit of the weight logs: kg, lb or st "
                    "(default: the profile's setting, else kg)."
                ),
                validate="vault.data.importers.fitbit:parse_weight_unit",
            ),
        ),
        details=N_(
            "Global Export Data's JSON files (intraday heart rate with its confidence, steps, "
            "distance, calories as total energy, floors, resting heart rate, sleep stages, "
            "weight, BMI and body fat, exercises) and the per-type CSV folders (Physical "
            "Activity_GoogleData, Heart Rate Variability, Sleep Score, Oxygen Saturation, "
            "Stress Score, Daily Readiness, Temperature, Active Zone Minutes). A "
            "file that cannot be read is skipped whole and listed in the errors; the kinds "
            "of file left out are named in the notes."
        ),
    ),
    ImportFormat(
        name="garmin",
        title="Garmin",
        area="data",
        description=N_(
            "Import Garmin FIT (activity, monitoring, weight, wellness), GPX or TCX files (one "
            "file, a folder or a zip of them), or Garmin's account data export."
        ),
        accepts=Accepts(files=(".fit", ".gpx", ".tcx"), archives=(".zip",), folder=True),
        example="coffre import garmin activity.fit",
        importer="vault.data.importers.garmin:import_garmin",
        looks=Looks(
            N_("a Garmin file"),
            files=("fit", "xml:gpx", "xml:trainingcenterdatabase"),
            members=(".fit", ".gpx", ".tcx", "/di_connect/"),
        ),
        options=(
            ImportOption(
                "scale_user",
                "N",
                N_(
                    "In weight scale files shared by several people, import only user N's "
                    "weighings (without it, such a file is refused with the users it holds)."
                ),
                validate="vault.data.importers.garmin:parse_scale_user",
            ),
        ),
        details=N_(
            "A damaged FIT file is never half-imported: alone it stops the import; in a "
            "folder or zip it is skipped whole and listed in the errors, and the other files "
            'are imported. Given Garmin\'s account export (the zip of its "Export your data" '
            "page, or that zip unpacked: it holds DI_CONNECT/), it reads the daily summaries, "
            "the sleep windows, the FIT files inside the zips of uploaded files, streamed "
            "without unpacking anything to disk, and the activity summaries of activities no "
            "FIT file holds."
        ),
    ),
    ImportFormat(
        name="csv",
        title="CSV",
        area="data",
        description=N_(
            "Import samples from a CSV file in the long format: start,end,metric,value,unit,source."
        ),
        accepts=Accepts(files=(".csv",)),
        example="coffre import csv measurements.csv --persona ana --json",
        importer="vault.data.csvfmt:import_csv",
        looks=Looks(N_("a CSV file"), files=("text",)),
        details=N_(
            "The whole file is one transaction: a bad row stops the import (its line and "
            "column are named) and leaves the vault unchanged. docs/formats.md describes the "
            "format."
        ),
    ),
    ImportFormat(
        name="vcard",
        title="vCard",
        area="personas",
        description=N_(
            "Import personas from a vCard 4.0, 3.0 or 2.1 .vcf file, or a jCard .json file."
        ),
        accepts=Accepts(files=(".vcf", ".json")),
        example="coffre import vcard contacts-me.vcf",
        importer="vault.personas.vcard:import_vcard",
        looks=Looks(N_("a vCard or jCard file"), files=("vcard", "json:array")),
        details=N_(
            "A card whose UID is already in the vault updates that persona; groups, places "
            "and cards without a name are skipped, counted once per reason. vCard 2.1's "
            "quoted-printable values, CHARSET and inline base64 photos are read. Importing "
            "the same file twice changes nothing; a malformed file changes nothing."
        ),
    ),
    ImportFormat(
        name="jsonresume",
        title="JSON Resume",
        area="personas",
        description=N_(
            "Import a persona from a JSON Resume file (a persona of the same name is updated)."
        ),
        accepts=Accepts(files=(".json",)),
        example="coffre import jsonresume resume.json",
        importer="vault.personas.jsonresume:import_jsonresume",
        looks=Looks(N_("a JSON Resume"), files=("json:object",)),
        details=N_(
            "A résumé of the pre-1.0 schema (website, picture, work company...) is read "
            "under the 1.0 names, said in the notes."
        ),
    ),
    ImportFormat(
        name="markdown",
        title="Markdown",
        area="content",
        description=N_(
            "Import a Markdown/text file, or a folder of them, with YAML, TOML or JSON front "
            "matter."
        ),
        accepts=Accepts(files=MARKDOWN_SUFFIXES, folder=True),
        example="coffre import markdown ~/notes",
        importer="vault.content.importers.markdown:import_markdown",
        looks=Looks(N_("Markdown"), members=MARKDOWN_SUFFIXES, suffixes=MARKDOWN_SUFFIXES),
        details=N_(
            "In a folder, a file that cannot be read is skipped whole and listed in the "
            "errors; the others are imported. A Jekyll post without a readable date takes "
            "the date of its file name."
        ),
    ),
    ImportFormat(
        name="mastodon",
        title="Mastodon",
        area="content",
        description=N_(
            "Import a Mastodon archive (zip, tar.gz or unpacked folder): posts and their media."
        ),
        accepts=Accepts(archives=ARCHIVES, folder=True),
        example="coffre import mastodon archive-20240101.tar.gz",
        importer="vault.content.importers.mastodon:import_archive",
        looks=Looks(N_("a Mastodon archive"), members=("/outbox.json",)),
        details=N_(
            "Each post keeps its visibility as its audience (direct messages stay direct). "
            "Boosts are ignored; a post that cannot be read is skipped and counted."
        ),
    ),
    ImportFormat(
        name="twitter",
        title="Twitter/X",
        area="content",
        description=N_(
            "Import a Twitter/X archive (zip, tar.gz or unpacked folder): tweets and their media."
        ),
        accepts=Accepts(archives=ARCHIVES, folder=True),
        example="coffre import twitter twitter-2023-01-01.zip",
        importer="vault.content.importers.twitter:import_archive",
        looks=Looks(N_("a Twitter/X archive"), members=("/data/tweets.js", "/data/tweet.js")),
        details=N_(
            "t.co links are expanded from the archive's own records; retweets are ignored. A "
            "tweets file that cannot be read is skipped whole and listed in the errors."
        ),
    ),
    ImportFormat(
        name="wordpress",
        title="WordPress",
        area="content",
        description=N_("Import the posts and pages of a WordPress export (WXR XML file)."),
        accepts=Accepts(files=(".xml",)),
        example="coffre import wordpress blog.WordPress.xml",
        importer="vault.content.importers.wordpress:import_wxr",
        looks=Looks(N_("a WordPress export"), files=("xml:rss",)),
        details=N_(
            "Attachments, menus, revisions and other item types are counted and left out; an "
            "item that does not say it is a post or page is reported, not guessed."
        ),
    ),
)


def get_format(name: str) -> ImportFormat:
    """The format called NAME; InvalidParameter names the known ones otherwise."""
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    known = ", ".join(fmt.name for fmt in FORMATS)
    raise InvalidParameter(N_("no import format {name!r} (known: {known})"), name=name, known=known)


def formats_of(area: Area) -> tuple[ImportFormat, ...]:
    """The formats whose data goes to AREA, in the order of `FORMATS`."""
    return tuple(fmt for fmt in FORMATS if fmt.area == area)
