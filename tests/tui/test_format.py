"""How the TUI writes counts, cut text and paths: plurals that agree, ellipses that mark a
cut and keep within the width asked, default paths made absolute."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui import format as fmt


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, "0 periods"), (1, "1 period"), (2, "2 periods"), (51_000, "51,000 periods")],
)
def test_plural_agrees_with_the_count(n: int, expected: str) -> None:
    assert fmt.plural(n, "period") == expected


def test_plural_takes_an_irregular_form() -> None:
    assert fmt.plural(1, "entry", "entries") == "1 entry"
    assert fmt.plural(3, "entry", "entries") == "3 entries"


def test_plan_counts_in_words_agree() -> None:
    assert fmt.plan_counts({"samples": 1, "days": 1, "content_items": 1}) == (
        "1 sample over 1 day, 1 content item"
    )
    assert fmt.plan_counts({"samples": 2_225, "days": 185, "content_items": 3}) == (
        "2,225 samples over 185 days, 3 content items"
    )


@pytest.mark.parametrize("width", range(1, 30))
def test_clip_and_squeeze_keep_within_the_width(width: int) -> None:
    name = "x:HKQuantityTypeIdentifierDietaryEnergyConsumed"
    for cut in (fmt.clip(name, width), fmt.squeeze(name, width)):
        assert len(cut) <= width
        assert cut.endswith("…") or "…" in cut or cut == name[:width]
    assert fmt.clip("short", width + 5) == "short"
    assert fmt.squeeze("short", width + 5) == "short"


def test_squeeze_keeps_both_ends() -> None:
    name = "x:HKQuantityTypeIdentifierDietaryEnergyConsumed"
    cut = fmt.squeeze(name, 20)
    head, _, tail = cut.partition("…")
    assert name.startswith(head) and name.endswith(tail) and len(cut) == 20


def test_absolute_resolves_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert fmt.absolute("bundle.age") == str(tmp_path / "bundle.age")
    assert fmt.absolute("/elsewhere/x") == "/elsewhere/x"
