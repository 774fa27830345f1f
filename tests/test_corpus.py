"""The corpus of real third-party files stays honest: every file is listed with its origin."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import CORPUS

# Licences that allow redistribution in this Apache-2.0 repository (see tests/corpus/README.md).
PERMISSIVE = ("MIT", "BSD", "Apache-2.0", "ISC", "CC0", "CC-BY", "Unlicense", "public domain")
MAX_CORPUS_BYTES = 6 * 1024 * 1024


def _folders() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith("__"))


def _rows(sources: Path) -> dict[str, str]:
    """File name -> the rest of its row, from the Markdown table of a SOURCES.md."""
    rows: dict[str, str] = {}
    for line in sources.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or set(cells[0]) <= set("-: "):
            continue
        rows[cells[0].strip("`")] = " | ".join(cells[1:])
    return rows


def test_every_corpus_file_is_listed_with_a_permissive_licence() -> None:
    for folder in _folders():
        sources = folder / "SOURCES.md"
        assert sources.is_file(), f"{folder.name} has no SOURCES.md"
        rows = _rows(sources)
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path == sources:
                continue
            name = path.relative_to(folder).as_posix()
            row = rows.get(name)
            assert row is not None, f"{folder.name}/{name} is not listed in SOURCES.md"
            assert any(re.search(re.escape(lic), row) for lic in PERMISSIVE), (
                f"{folder.name}/{name}: no permissive licence named"
            )


def test_the_corpus_stays_small() -> None:
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    assert total <= MAX_CORPUS_BYTES
