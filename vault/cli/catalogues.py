"""The translation catalogues: every message the command line and the TUI show, extracted
with Babel into `vault/locale/coffre.pot`, merged into each language's `.po`, compiled to the
`.mo` that `vault.core.i18n` reads.

`make catalogues` (`python -m vault.cli.catalogues`) runs all three; the tests call the same
functions to say which messages a catalogue lacks. Messages are found in:

- calls of `_`, `N_`, `ngettext`, `N_plural`, `pgettext` and `NP_` anywhere in `vault/` and `tui/`;
- what click shows of a command: its docstring (its help) and every `help="..."` given to a
  command, group or option of `vault/cli/`;
- the first line of each error class's docstring (`vault/core/errors.py`), the message the
  error shows;
- click's own messages (usage, options, errors), from click's source.
"""

from __future__ import annotations

import ast
import inspect
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from vault.core.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (ROOT / "vault", ROOT / "tui")
CLI_DIR = ROOT / "vault" / "cli"
ERRORS = ROOT / "vault" / "core" / "errors.py"
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
KEYWORDS = {
    "_": None,
    "N_": None,
    "ngettext": (1, 2),
    "N_plural": (1, 2),
    "pgettext": ((1, "c"), 2),
    "NP_": ((1, "c"), 2),
}
# Every language but English (the source text) has a catalogue.
TRANSLATED = tuple(lang for lang in LANGUAGES if lang != "en")
UPDATE_HINT = (
    "run `make catalogues` (extracts the messages and merges them into "
    "vault/locale/*/LC_MESSAGES/coffre.po), translate the new or changed entries of each "
    ".po (empty msgstr, or marked fuzzy), then run `make catalogues` again to compile the .mo"
)

Message = str | tuple[str, str]


@dataclass(frozen=True)
class Found:
    """One message and where it was found (for the .pot's references)."""

    message: Message
    path: str
    line: int
    context: str | None = None  # pgettext's, telling apart two uses of one English word


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


def _relative(path: Path) -> str:
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return f"click/{path.name}"


def _calls(path: Path) -> Iterator[Found]:
    """`_`, `N_`, `ngettext`, `N_plural` and `pgettext` calls, by Babel's Python extractor."""
    with path.open("rb") as source:
        for line, message, _comments, context in extract("python", source, KEYWORDS):
            if isinstance(message, tuple):
                # ngettext: singular and plural (the count is not a message).
                yield Found((message[0], message[1]), _relative(path), line, context)
            elif message:
                yield Found(message, _relative(path), line, context)


def _is_command(decorator: ast.expr) -> bool:
    """`@x.command(...)`, `@x.group(...)`, `@click.command(...)`, `@click.group(...)`, and a
    module's own command decorator (`@_request_command`)."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = (
        target.attr
        if isinstance(target, ast.Attribute)
        else target.id
        if isinstance(target, ast.Name)
        else ""
    )
    return name in {"command", "group"} or name.endswith("_command")


def _click_texts(path: Path) -> Iterator[Found]:
    """What click shows of the commands of PATH: docstrings as help, and `help=` strings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(map(_is_command, node.decorator_list)):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield Found(doc.partition("\f")[0], _relative(path), node.lineno)
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in {"help", "short_help", "epilog"}:
                    value = keyword.value
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        yield Found(inspect.cleandoc(value.value), _relative(path), value.lineno)


def _error_texts(path: Path) -> Iterator[Found]:
    """The message of each error class: its docstring's first line, without the full stop
    (`VaultError.summary`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield Found(doc.splitlines()[0].rstrip("."), _relative(path), node.lineno)


def _click_sources() -> list[Path]:
    return sorted(Path(click.__file__).parent.glob("*.py"))


def found_messages() -> list[Found]:
    """Every message the front ends may show, in a stable order."""
    found: list[Found] = []
    for source in SOURCES:
        for path in sorted(source.rglob("*.py")):
            found.extend(_calls(path))
    for path in sorted(CLI_DIR.glob("*.py")):
        found.extend(_click_texts(path))
    found.extend(_error_texts(ERRORS))
    for path in _click_sources():
        found.extend(_calls(path))
    return found


def template() -> Catalog:
    """The .pot: every message, with where it is used."""
    catalog = Catalog(project="Coffre", domain=DOMAIN, fuzzy=False)
    for item in found_messages():
        key = item.message if isinstance(item.message, str) else item.message[0]
        existing = catalog.get(key, context=item.context)
        location = (item.path, item.line)
        if existing is not None:
            if location not in existing.locations:
                existing.locations.append(location)
            continue
        catalog.add(item.message, locations=[location], context=item.context)
    return catalog


def read(lang: str) -> Catalog:
    with po_path(lang).open("rb") as source:
        return read_po(source, locale=lang, domain=DOMAIN)


def compiled(catalog: Catalog) -> bytes:
    """The .mo of CATALOG, as `make catalogues` writes it (fuzzy entries left out)."""
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def missing(lang: str, pot: Catalog | None = None) -> list[str]:
    """The messages of the template that LANG's catalogue does not translate: absent, empty,
    or fuzzy (a changed message whose old translation awaits checking)."""
    pot = pot or template()
    po = read(lang)
    lacking = []
    for message in pot:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        entry = po.get(msgid, context=message.context)
        strings = (
            []
            if entry is None
            else [entry.string]
            if isinstance(entry.string, str)
            else entry.string
        )
        if entry is None or entry.fuzzy or not strings or not all(strings):
            lacking.append(msgid)
    return lacking


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    # Messages no longer in the code are dropped, not kept as obsolete entries.
    write_po(buffer, catalog, width=100, sort_output=False, omit_header=False, ignore_obsolete=True)
    path.write_bytes(buffer.getvalue())


def build() -> dict[str, list[str]]:
    """Extract, merge and compile: the .pot, each language's .po (new messages empty, changed
    ones fuzzy, dropped ones kept as obsolete) and its .mo. Returns what each lacks."""
    pot = template()
    _write(pot, TEMPLATE)
    lacking: dict[str, list[str]] = {}
    for lang in TRANSLATED:
        path = po_path(lang)
        if path.exists():
            po = read(lang)
            po.update(pot, update_header_comment=False)
        else:
            po = Catalog(locale=lang, domain=DOMAIN, project="Coffre", fuzzy=False)
            po.update(pot)
        _write(po, path)
        mo_path(lang).write_bytes(compiled(read(lang)))
        lacking[lang] = missing(lang, pot)
    return lacking


def main() -> None:  # pragma: no cover - `make catalogues`
    lacking = build()
    for lang, messages in lacking.items():
        click.echo(f"{lang}: {len(messages)} to translate in {po_path(lang)}")
    sys.exit(1 if any(lacking.values()) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
