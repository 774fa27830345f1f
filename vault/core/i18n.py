"""Coffre in the person's language: gettext translations of what the front ends show, and
numbers and dates written the way the language writes them.

The language follows gettext's own order (`LANGUAGE`, `LC_ALL`, `LC_MESSAGES`, `LANG`);
`coffre --lang` and the TUI's setting set `LANGUAGE` for this process, so click's own
messages (which call `gettext.gettext` under the `coffre` domain, see `use_for_click`) follow
the same choice. English is the source text: with no catalogue for the language, text is
shown as written. The catalogues are compiled `.mo` files beside this package
(`vault/locale/`), made by `make catalogues` (`vault/core/catalogues.py`).

The library never prints: it marks the text people will read with `N_` (a no-op the
extraction finds) and the front ends translate it when they show it. Babel, which formats
numbers and dates, is imported only when a language other than English asks for it, so the
command line starts as fast as before.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from vault.core.errors import VaultError

DOMAIN: Final = "coffre"
LOCALE_DIR: Final = Path(__file__).resolve().parent.parent / "locale"
# The languages Coffre speaks, English (the source text) first.
LANGUAGES: Final = ("en", "fr")
# gettext's order: the first of these that is set chooses the language.
_ENV: Final = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_found: dict[tuple[str | None, ...], gettext.NullTranslations] = {}


def N_(message: str) -> str:
    """Mark MESSAGE for the catalogue without translating it: it is translated where it is
    shown (the library holds English; the front end speaks the person's language)."""
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Mark the two forms of a counted message for the catalogue without translating them:
    `ngettext(*forms, n)` picks the form where it is shown."""
    return singular, plural


def _translations() -> gettext.NullTranslations:
    # Looked up per call (a dictionary hit): `--lang`, the TUI's setting and the tests change
    # the environment of a running process.
    key = tuple(os.environ.get(name) for name in _ENV)
    found = _found.get(key)
    if found is None:
        found = gettext.translation(DOMAIN, LOCALE_DIR, fallback=True)
        _found[key] = found
    return found


def _(message: str) -> str:
    """MESSAGE in the current language (as written when the catalogue lacks it)."""
    return _translations().gettext(message)


def pgettext(context: str, message: str) -> str:
    """MESSAGE in the current language, where CONTEXT tells apart two uses of the same
    English word (an attribute's "Key" is not a keyboard's)."""
    return _translations().pgettext(context, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message that fits the count N, in the current language (French says
    "0 fichier", English "0 files": the catalogue's plural rule decides)."""
    return _translations().ngettext(singular, plural, n)


class Text(str):
    """A sentence the library composed from a template marked for the catalogue (`N_`, or
    `N_plural` for a counted one, chosen by the value `n`) and its values.

    It is the English sentence wherever a string goes (JSON, logs, comparisons), and
    `localise` writes it again in the person's language: the catalogue translates the template,
    then the values fill it in. Values that are themselves `Text` are localised too; any other
    value (a file name, an id, a number) is shown as it is.
    """

    template: str | tuple[str, str]
    values: Mapping[str, object]

    def __new__(cls, template: str | tuple[str, str], /, **values: object) -> Text:
        shown = template if isinstance(template, str) else _english_form(template, values)
        text = super().__new__(cls, shown.format(**values))
        text.template = template
        text.values = values
        return text

    def __reduce__(self) -> tuple[Callable[..., Text], tuple[object, ...]]:
        # Rebuilt from its template and values (an import's helper process sends them): the
        # English alone is no template, and may hold braces (a file named `{x}.md`).
        return _text, (self.template, dict(self.values))


def _text(template: str | tuple[str, str], values: Mapping[str, object]) -> Text:
    return Text(template, **values)


def _english_form(forms: tuple[str, str], values: Mapping[str, object]) -> str:
    return forms[0] if values.get("n") == 1 else forms[1]


def localise(text: str) -> str:
    """TEXT in the current language: a `Text` by its template and values, any other string
    as the catalogue has it (a fixed sentence the library marked with `N_`), else as it is."""
    if not isinstance(text, Text):
        return _(text) if text else text
    values = {k: localise(v) if isinstance(v, Text) else v for k, v in text.values.items()}
    if isinstance(text.template, str):
        template = _(text.template)
    else:
        count = text.values.get("n")
        template = ngettext(*text.template, count if isinstance(count, int) else 2)
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        # A translation that lost a placeholder (tests/test_i18n.py guards against it) must
        # not hide the message: the English is always complete.
        return str.__str__(text)


def localise_name(text: str) -> str:
    """TEXT in the current language when the library composed it (a `Text`, such as
    `f.gpx track 2`); any other string is a name (a file's, a record's), shown as it is and
    never looked up in the catalogue. For an import issue's location."""
    return localise(text) if isinstance(text, Text) else text


def sentence(text: str) -> str:
    """TEXT, when it is a fixed sentence marked with `N_`, as a `Text`: a value of another
    sentence is localised only when it is a `Text` (a file name must not be translated), so
    a fixed reason put inside a composed one is passed through this first. Text holding a
    brace is returned as it is: it is no template (and `str.format` would refuse it)."""
    if isinstance(text, Text) or "{" in text or "}" in text:
        return text
    return Text(text)


def error_message(error: VaultError) -> str:
    """ERROR's message in the current language: its class's line from the catalogue (the
    docstring's first line, `VaultError.summary`), then the detail (`localise`)."""
    base = _(error.summary)
    if error.detail:
        return _("{message}: {detail}").format(message=base, detail=localise(error.detail))
    return _("{message}.").format(message=base)


def translator(lang: str) -> Callable[[str], str]:
    """The gettext of LANG whatever the current language: for a text written in several
    languages at once (a bundle's README, an erasure request)."""
    if lang == "en":
        return str  # the source text
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True).gettext


def person_languages() -> tuple[str, ...]:
    """The languages of a text for someone else to read: the person's own first, then
    English, which the recipient is most likely to read (English alone for English)."""
    own = language()
    return ("en",) if own == "en" else (own, "en")


def language() -> str:
    """The language in use: `fr` when the French catalogue answers, else `en`."""
    info = _translations().info()
    return info.get("language", "en").split("_")[0] or "en"


def normalise(lang: str) -> str:
    """LANG (`fr`, `fr_FR.UTF-8`, `English`...) as one of LANGUAGES, or ValueError."""
    code = lang.strip().lower().replace("-", "_").split(".")[0].split("_")[0]
    names = {"english": "en", "anglais": "en", "french": "fr", "français": "fr"}
    code = names.get(code, code)
    if code not in LANGUAGES:
        raise ValueError(lang)
    return code


def set_language(lang: str | None) -> str | None:
    """Speak LANG (one of LANGUAGES) in this process from now on, or follow the environment
    again with None; return the previous `LANGUAGE` setting, to restore it."""
    previous = os.environ.get("LANGUAGE")
    if lang is None:
        os.environ.pop("LANGUAGE", None)
    else:
        # English has no catalogue: `LANGUAGE=en` finds none and shows the source text.
        os.environ["LANGUAGE"] = normalise(lang)
    return previous


def restore_language(previous: str | None) -> None:
    """Undo `set_language` (PREVIOUS is what it returned)."""
    if previous is None:
        os.environ.pop("LANGUAGE", None)
    else:
        os.environ["LANGUAGE"] = previous


def use_for_click() -> None:
    """Let click's own messages (usage, options, errors) come from Coffre's catalogue: click
    calls `gettext.gettext`, which reads the process's text domain."""
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)


# --- words the library records in English ----------------------------------------------------


def NP_(context: str, word: str) -> str:
    """Mark WORD, in CONTEXT, for the catalogue without translating it (`said` translates it
    where it is shown): the words of a fixed vocabulary the library records in English."""
    return word


def said(context: str, word: str, known: tuple[str, ...]) -> str:
    """WORD of a fixed vocabulary (KNOWN, marked with `NP_` under CONTEXT) in the current
    language; a word outside it (written by a newer Coffre) is shown as it is. Commands take,
    and JSON gives, the English word."""
    return pgettext(context, word) if word in known else word


# A grant's state and a bundle's.
STATES: Final = (
    NP_("state", "given"),
    NP_("state", "expired"),
    NP_("state", "withdrawn"),
    NP_("state", "complete"),
    NP_("state", "interrupted"),
)
# Why an erasure request was made: the same English words as STATES, read as a cause.
REASONS: Final = (NP_("reason", "withdrawn"), NP_("reason", "expired"), NP_("reason", "forgotten"))
# Each word written out: the catalogue's extraction reads literal calls only.
CONTENT_KINDS: Final = (
    NP_("content kind", "note"),
    NP_("content kind", "post"),
    NP_("content kind", "article"),
    NP_("content kind", "page"),
    NP_("content kind", "file"),
    NP_("content kind", "photo"),
    NP_("content kind", "audio"),
    NP_("content kind", "video"),
    NP_("content kind", "model"),
)
AUDIENCES: Final = (
    NP_("audience", "public"),
    NP_("audience", "unlisted"),
    NP_("audience", "followers"),
    NP_("audience", "direct"),
    NP_("audience", "private"),
    NP_("audience", "draft"),
)


def state(word: str) -> str:
    """A grant's or a bundle's state (`given`, `withdrawn`, `complete`...) for people."""
    return said("state", word, STATES)


def reason(word: str) -> str:
    """Why an erasure request was made (`withdrawn`, `expired`, `forgotten`) for people."""
    return said("reason", word, REASONS)


def content_kind(word: str) -> str:
    """A content item's kind (`note`, `post`...) for people."""
    return said("content kind", word, CONTENT_KINDS)


def audience(word: str) -> str:
    """Who a content item was written for (`public`, `private`...) for people."""
    return said("audience", word, AUDIENCES)


# --- numbers and dates ---------------------------------------------------------------------


def number(value: float, digits: int | None = None) -> str:
    """VALUE with the language's digit grouping and decimal sign (`12,345.6` in English,
    `12 345,6` in French); DIGITS decimals, or as an integer when None."""
    if language() == "en":
        # Python's own formatting is English: no Babel to import for the default language.
        return f"{value:,.0f}" if digits is None else f"{value:,.{digits}f}"
    from babel.numbers import format_decimal

    pattern = "#,##0" if not digits else "#,##0." + "0" * digits
    return format_decimal(value, format=pattern, locale=language())


def decimal(value: float, digits: int) -> str:
    """VALUE with DIGITS decimals and the language's decimal sign, without grouping (`3.5`,
    `3,5`)."""
    if language() == "en":
        return f"{value:.{digits}f}"
    from babel.numbers import format_decimal

    pattern = "0" if not digits else "0." + "0" * digits
    return format_decimal(value, format=pattern, locale=language())


def size(n: float, *, coarse: bool = False) -> str:
    """N bytes with a binary prefix in the language's units and decimal sign (`1.5 MiB` in
    English, `1,5 Mio` in French, which counts in octets); COARSE shows mebibytes whole (a
    vault's size moves by pages). Text output only: JSON gives bytes."""
    value = float(n)
    # The catalogue's context tells these units apart from the same letters elsewhere.
    units = (
        pgettext("size", "{n} B"),
        pgettext("size", "{n} KiB"),
        pgettext("size", "{n} MiB"),
        pgettext("size", "{n} GiB"),
    )
    for power, unit in enumerate(units):
        if value < 1024 or power == len(units) - 1:
            whole = power == 0 or (coarse and power == 2)
            return unit.format(n=f"{value:.0f}" if whole else decimal(value, 1))
        value /= 1024
    raise AssertionError  # pragma: no cover  (the loop returns at GiB)


def day(value: date | str) -> str:
    """A calendar day (a date, or an ISO 8601 date as text) as the language writes it: as
    given in English, as the command line always showed it (`2026-06-15`); in words
    elsewhere (`15 juin 2026`). Text that is not a date is returned as it is."""
    if language() == "en":
        return value.isoformat() if isinstance(value, date) else value
    if isinstance(value, str):
        try:
            shown = date.fromisoformat(value)
        except ValueError:
            return value
    else:
        shown = value
    from babel.dates import format_date

    return format_date(shown, format="long", locale=language())


def moment(value: str) -> str:
    """A moment the library records as ISO 8601 UTC text (`2026-11-29T09:00:00Z`), as the
    language writes it: as recorded in English (scripts and people read it alike there), in
    words in French (`29 novembre 2026 à 09:00 UTC`). Text that is not such a moment is
    returned as it is."""
    if language() == "en":
        return value
    from datetime import UTC, datetime

    try:
        shown = datetime.fromisoformat(value)  # Python 3.11 reads the `Z` of UTC itself
    except ValueError:
        return value
    if shown.tzinfo is None:
        return value
    shown = shown.astimezone(UTC)
    return _("{day} at {time} UTC").format(day=day(shown.date()), time=shown.strftime("%H:%M"))
