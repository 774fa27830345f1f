"""Beat lists lifted off export.xml's bytes (`BeatLifter`) against expat reading every beat
element: the two must import the same items, issues (with their lines) and notes, and fail
the same way, whatever the chunk boundaries.

No public Apple export with beat lists under a permissive licence could be found, so the
beat lists here are faithful reproductions of what iOS writes (`HeartRateVariabilityMetadataList`
of the export's own DTD, tests/corpus/apple-health/ahcd-export.xml, one
`<InstantaneousBeatsPerMinute bpm=".." time=".."/>` a line, times in the phone's locale),
plus the variants a hostile or hand-edited file could hold. The real exports of the corpus
and the shared samples (which hold no beats) check that lifting changes nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar
from xml.parsers import expat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.core.errors import VaultError
from vault.data.importers import apple_health, parse_apple_health
from vault.data.model import Series

from .test_apple_health_records import export_xml, hrv_record

Outcome = tuple[list[Any], list[tuple[str, str]], list[str], tuple[type, str] | None]
TIMES_12H = ["8:29:59.42 PM", "8:30:00.47 PM", "8:30:01.52\u202fPM", "11:59:59.90 PM"]
TIMES_24H = ["20:14:07.68", "20:14:08,71", "08:34:05,10", "23:59:59.95"]


def beats(n: int, first: int = 0) -> list[tuple[str, str]]:
    """`n` beats a second apart from 9:10:00 PM (12-hour clock, as en_US phones write)."""
    out = []
    for i in range(first, first + n):
        s = 600 + i
        out.append((str(55 + i % 40), f"9:{s // 60 % 60:02d}:{s % 60:02d}.{i % 100:02d} PM"))
    return out


def sdnn(body: str, start: str = "2024-03-05 21:10:00 -0400", value: str = "48.5") -> str:
    """An SDNN record around a hand-written beat list body (for shapes hrv_record cannot
    write)."""
    return (
        '<Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="Watch" '
        f'unit="ms" startDate="{start}" endDate="{start}" value="{value}">\n'
        f"<HeartRateVariabilityMetadataList>\n{body}</HeartRateVariabilityMetadataList>\n"
        "</Record>\n"
    )


class Spy(apple_health.BeatLifter):
    """A lifter that says how many runs it lifted and how many it held unclaimed."""

    made: ClassVar[list[Spy]] = []

    def __init__(self) -> None:
        super().__init__()
        self.held: list[int] = []
        Spy.made.append(self)

    def clear(self) -> None:
        self.held.append(len(self.runs))
        super().clear()


def read(path: Path, monkeypatch: pytest.MonkeyPatch, *, lift: bool, chunk: int) -> Outcome:
    """Everything an import of `path` says, read with or without lifting."""
    monkeypatch.setattr(apple_health, "LIFT_BEATS", lift)
    monkeypatch.setattr(apple_health, "CHUNK", chunk)
    monkeypatch.setattr(apple_health, "BeatLifter", Spy)
    issues: list[tuple[str, str]] = []
    notes: list[str] = []
    items: list[Any] = []
    error = None
    try:
        items = list(parse_apple_health(path, lambda *i: issues.append(i), notes.append))
    except VaultError as exc:
        error = (type(exc), str(exc))
    return items, issues, notes, error


def same_both_ways(
    path: Path, monkeypatch: pytest.MonkeyPatch, chunks: tuple[int, ...] = (7, 64, 1 << 20)
) -> tuple[Outcome, int]:
    """Read `path` plainly and lifted with each chunk size; each pair must agree (the order
    of items depends on the chunks: beat series are read at the end of a block). Returns
    the plain outcome and the runs lifted, with the last chunk size."""
    lifted_runs = 0
    for chunk in chunks:
        plain = read(path, monkeypatch, lift=False, chunk=chunk)
        Spy.made.clear()
        assert read(path, monkeypatch, lift=True, chunk=chunk) == plain, f"chunk {chunk}"
        (lifter,) = Spy.made
        assert plain[3] is not None or not lifter.runs  # nothing left over
        lifted_runs = lifter.count
    return plain, lifted_runs


def write(tmp_path: Path, text: str, name: str = "export.xml", *, crlf: bool = False) -> Path:
    path = tmp_path / name
    data = text.encode()
    path.write_bytes(data.replace(b"\n", b"\r\n") if crlf else data)
    return path


def beat_series(items: list[Any]) -> list[Series]:
    return [i for i in items if isinstance(i, Series)]


# --- real exports ----------------------------------------------------------------------------


def real_exports(corpus: Path, samples: Path) -> list[Path]:
    found = sorted((corpus / "apple-health").glob("*export.*"))
    found += sorted(
        p for p in (samples / "apple-health").rglob("*") if p.suffix in (".xml", ".zip")
    )
    return found


def test_real_exports_import_the_same_lifted_or_not(
    corpus: Path, samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exports = real_exports(corpus, samples)
    assert exports
    for path in exports:
        (items, _, _, error), _ = same_both_ways(path, monkeypatch, chunks=(4096, 1 << 20))
        assert error is None and items, path


# --- crafted lists ---------------------------------------------------------------------------


def test_lists_are_lifted_and_read_as_each_beat_would_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lists = [beats(60), list(zip(["61", "62", "63"], TIMES_12H, strict=False))]
    lists.append(list(zip(["70", "71", "72", "73"], TIMES_24H, strict=True)))
    body = "".join(
        hrv_record(f"2024-03-0{i + 1} 21:10:00 -0400", listed) for i, listed in enumerate(lists)
    )
    (items, issues, _, error), lifted = same_both_ways(
        write(tmp_path, export_xml(body)), monkeypatch
    )
    assert error is None and not issues
    assert lifted == len(lists)  # one run per list
    assert [len(s.times) for s in beat_series(items)] == [len(b) for b in lists]


def test_every_chunk_boundary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every split point inside a short list: chunk sizes 1 to 97 cut each element at every
    offset (the document is longer than the largest chunk times its element count)."""
    path = write(tmp_path, export_xml(hrv_record("2024-03-05 21:10:00 -0400", beats(5))))
    for chunk in range(1, 98):
        plain = read(path, monkeypatch, lift=False, chunk=chunk)
        assert len(beat_series(plain[0])[0].times) == 5
        Spy.made.clear()
        assert read(path, monkeypatch, lift=True, chunk=chunk) == plain, chunk
        assert Spy.made[0].count >= 1  # a cut element is held for the next block, not missed


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=4000), max_size=12))
def test_runs_lifted_at_random_split_points_give_every_beat(cuts: list[int]) -> None:
    """The lifter fed the document in random pieces: expat reading its output (a placeholder
    read as its run) sees the beats and line structure expat sees in the original."""
    listed = [*beats(30), ("8", "bad"), ("64", "9:10:31.00 PM")]
    doc = export_xml(
        hrv_record("2024-03-05 21:10:00 -0400", listed)
        + '<!-- <InstantaneousBeatsPerMinute bpm="60" time="9:00:00.00 PM"/> -->\n'
        + sdnn('<InstantaneousBeatsPerMinute time="9:10:00.00 PM" bpm="61"/>\n')
    ).encode()
    lifter = apple_health.BeatLifter()
    points = sorted({c % (len(doc) + 1) for c in cuts})
    pieces = [doc[a:b] for a, b in zip([0, *points], [*points, len(doc)], strict=True)]
    out = b"".join(lifter.feed(p) for p in pieces) + lifter.flush()
    assert out.count(b"\n") == doc.count(b"\n")

    def seen(data: bytes, runs: dict[str, Any]) -> list[tuple[int, float]]:
        got: list[tuple[int, float]] = []

        def start(tag: str, a: dict[str, str]) -> None:
            if tag == "InstantaneousBeatsPerMinute":
                if lifter.token in a:
                    got.extend(zip(*runs.pop(a[lifter.token]), strict=True))
                else:
                    got.append(read(a.get("bpm", ""), a.get("time", "")))

        parser = expat.ParserCreate()
        parser.StartElementHandler = start
        parser.Parse(data, True)
        return got

    def read(bpm: str, when: str) -> tuple[int, float]:
        return apple_health.read_beat(bpm, when, apple_health.time_of_day_ms)

    expected = [read(*beat) for beat in [*listed, ("61", "9:10:00.00 PM")]]
    assert lifter.count >= 1
    assert seen(out, lifter.runs) == seen(doc, {}) == expected
    assert (-1, 8.0) in expected  # the bad time, read as such both ways


B = "<InstantaneousBeatsPerMinute"
END = "</InstantaneousBeatsPerMinute>"


@pytest.mark.parametrize(
    ("element", "readable"),
    [
        (f"{B} bpm='61' time='9:10:30.00 PM'/>", True),  # single quotes
        (f'{B} time="9:10:30.00 PM" bpm="61"/>', True),  # the other order
        (f'{B} bpm="61" time="9:10:30.00&#x202F;PM"/>', True),  # entities
        (f'{B} bpm="61" time="9:10&#58;30.00 PM"/>', True),
        (f'{B} bpm="61" time="9:10:30.00 PM" extra="1"/>', True),
        (f'{B} bpm="61" time="9:10:30.00 PM" />', True),  # a space before />
        (f'{B} bpm="61" time="9:10:30.00 PM">{END}', True),
        (f'{B}  bpm="61" time="9:10:30.00 PM"/>', True),
        (f'{B} bpm="61.5" time="9:10:30.00 PM"/>', True),
        (f'{B} bpm="61" time="9:10:30.00\tPM"/>', True),  # a tab, read as a space
        (f'{B} bpm="61" time="9-10-30.00 PM"/>', False),
        (f'{B} bpm="61"/>', False),  # no time
        (f'{B} time="9:10:30.00 PM"/>', False),  # no bpm
        (f"{B}/>", False),
    ],
)
def test_odd_shapes_among_strict_ones_read_the_same(
    element: str, readable: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    strict = "".join(f'<InstantaneousBeatsPerMinute bpm="{b}" time="{t}"/>\n' for b, t in beats(3))
    body = strict + element + "\n" + strict.replace("9:10", "9:11")
    (items, _, _, error), lifted = same_both_ways(
        write(tmp_path, export_xml(sdnn(body))), monkeypatch
    )
    assert error is None and lifted == 2  # the runs on either side; the odd one left to expat
    assert len(beat_series(items)[0].times) == 6 + readable


@pytest.mark.parametrize(
    "value",
    ["61", "8", "301", "0", "99999999999999", ""],
)
@pytest.mark.parametrize("when", ["9:10:00.00 PM", "25:10:00.00", "9:61:00.00 PM", "", "x"])
def test_bad_values_are_counted_the_same(
    value: str, when: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = [*beats(2), (value, when), *beats(2, first=3)]
    (items, _, notes, error), _ = same_both_ways(
        write(tmp_path, export_xml(hrv_record("2024-03-05 21:10:00 -0400", listed))),
        monkeypatch,
        chunks=(64, 1 << 20),
    )
    assert error is None
    good = value == "61" and when == "9:10:00.00 PM"
    assert len(beat_series(items)[0].times) == len(listed) - (0 if good else 1)
    assert any("beat-to-beat" in n for n in notes) != good


def test_beats_in_comments_cdata_and_instructions_are_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = "".join(f'<InstantaneousBeatsPerMinute bpm="{b}" time="{t}"/>\n' for b, t in beats(4))
    body = (
        f"<!--\n{listed}-->\n"
        + sdnn(f"<![CDATA[\n{listed}]]>\n<!-- {listed} -->\n<?note {listed}?>\n{listed}")
        + f"<!-- {listed}-->\n"
    )
    (items, _, _, error), lifted = same_both_ways(write(tmp_path, export_xml(body)), monkeypatch)
    assert error is None and lifted == 6  # lifted, and those not in the record never claimed
    assert len(beat_series(items)[0].times) == 4


def test_unclaimed_runs_are_dropped_block_by_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A comment holding thousands of beats keeps no more than one block's runs at a time."""
    listed = "".join(
        f'<InstantaneousBeatsPerMinute bpm="{b}" time="{t}"/>\n' for b, t in beats(2000)
    )
    path = write(tmp_path, export_xml(f"<!--\n{listed}-->\n"))
    Spy.made.clear()
    read(path, monkeypatch, lift=True, chunk=4096)
    (lifter,) = Spy.made
    assert lifter.count > 10 and max(lifter.held) <= 2 and not lifter.runs


def test_a_forged_placeholder_is_a_beat_without_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A placeholder written in the file, with a token name guessed in the token's own shape,
    neither claims another record's run nor is dropped silently: it is an unreadable beat."""
    forged = '<InstantaneousBeatsPerMinute b0123456789abcdef="0"/>\n'
    body = sdnn(forged) + hrv_record("2024-03-06 21:10:00 -0400", beats(5)) + forged
    (items, _, notes, error), lifted = same_both_ways(
        write(tmp_path, export_xml(body)), monkeypatch
    )
    assert error is None and lifted == 1
    assert [len(s.times) for s in beat_series(items)] == [5]
    assert any(n.startswith("1 beat-to-beat reading") for n in notes)


def test_beats_outside_any_record_are_ignored_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = "".join(f'<InstantaneousBeatsPerMinute bpm="{b}" time="{t}"/>\n' for b, t in beats(4))
    body = f"{listed}<Workout>{listed}</Workout>\n" + hrv_record(
        "2024-03-06 21:10:00 -0400", beats(3)
    )
    (items, _, _, error), lifted = same_both_ways(write(tmp_path, export_xml(body)), monkeypatch)
    assert error is None and lifted == 3
    assert [len(s.times) for s in beat_series(items)] == [3]


def test_records_with_no_beats_and_with_ten_thousand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = [
        (str(50 + i % 50), f"{9 + i // 3600}:{i // 60 % 60:02d}:{i % 60:02d}.00")
        for i in range(10_000)
    ]
    body = sdnn("") + hrv_record("2024-03-06 09:00:00 -0400", many)
    body += hrv_record("2024-03-07 09:00:00 -0400", beats(1))  # a one-beat run
    (items, _, _, error), lifted = same_both_ways(
        write(tmp_path, export_xml(body)), monkeypatch, chunks=(4096, 1 << 20)
    )
    assert error is None and lifted == 2
    assert [len(s.times) for s in beat_series(items)] == [10_000, 1]


def test_crlf_line_ends_keep_the_lines_of_issues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issues after the beats name the same lines: the placeholder keeps the line ends."""
    bad = '<Record type="HKQuantityTypeIdentifierStepCount" startDate="x" endDate="y" value="1"/>\n'
    body = hrv_record("2024-03-06 21:10:00 -0400", beats(20)) + bad + sdnn("") + bad
    body += hrv_record("2024-03-07 21:10:00 -0400", beats(5), value="x")  # refused at its end
    lines = export_xml(body).split("\n")
    after = lines.index("</HeartRateVariabilityMetadataList>") + 1
    refused = [i + 1 for i, line in enumerate(lines) if line == "</Record>"][-1]
    for crlf in (False, True):
        path = write(tmp_path, export_xml(body), crlf=crlf)
        (_, issues, notes, error), lifted = same_both_ways(path, monkeypatch)
        assert error is None and lifted == 2 and issues
        found = []
        for where, _ in issues:
            line = re.search(r"line (\d+)", where)
            assert line is not None and int(line.group(1)) > after
            found.append(int(line.group(1)))
        assert refused in found
        assert any(n.startswith("5 beat-to-beat readings") for n in notes)


@pytest.mark.parametrize("sep", ["\r", "\r \n", "\r\t\n", " \r", "\r\n\r", "\n\r"])
def test_lone_carriage_returns_between_beats_keep_the_lines_of_issues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sep: str
) -> None:
    """expat counts CR LF as one line end and a lone CR or LF as one each: the placeholder
    keeps as many, so an issue after the run names the line expat names."""
    listed = sep.join(f'{B} bpm="{b}" time="{t}"/>' for b, t in beats(6))
    bad = '<Record type="HKQuantityTypeIdentifierStepCount" startDate="x" endDate="y" value="1"/>\n'
    doc = export_xml(sdnn(listed + "\n") + bad)
    (_, issues, _, error), lifted = same_both_ways(write(tmp_path, doc), monkeypatch)
    assert error is None and lifted == 1
    before = doc[: doc.index(bad)]
    line = len(re.findall(r"\r\n?|\n", before)) + 1  # as expat counts them
    assert [where for where, _ in issues if f"line {line} " in where]


def test_beats_before_the_root_element_fail_as_expat_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before `<HealthData>`, the first beat is the document's element and the second is
    junk after it: nothing is lifted there, so the error names the second beat's line."""
    two = "".join(f'{B} bpm="{b}" time="{t}"/>\n' for b, t in beats(2))
    doc = f'<?xml version="1.0" encoding="UTF-8"?>\n{two}<HealthData>\n</HealthData>\n'
    (_, _, _, error), _ = same_both_ways(write(tmp_path, doc), monkeypatch)
    assert error is not None and "malformed XML" in error[1] and "line 3 " in error[1]


def test_a_list_keeps_its_first_beats_up_to_the_most_and_counts_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record holding more beats than a list can (a hostile file's millions) keeps the
    first ones, lifted or read by expat alike, and the note counts the rest."""
    monkeypatch.setattr(apple_health, "MAX_LIST_BEATS", 5)
    listed = beats(8)
    odd = [f'{B} bpm="{b}" time="{t}" extra="1"/>\n' for b, t in beats(2, first=8)]
    body = hrv_record("2024-03-05 21:10:00 -0400", listed) + sdnn("".join(odd))
    (items, _, notes, error), _ = same_both_ways(write(tmp_path, export_xml(body)), monkeypatch)
    assert error is None
    assert [len(s.times) for s in beat_series(items)] == [5, 2]
    over = len(listed) - 5
    assert any(n.startswith(f"{over} beat-to-beat readings past the first 5 ") for n in notes)


def test_a_block_before_the_root_is_parsed_in_two_calls_at_most() -> None:
    """Beats in a comment before the root are not handed to expat one call each: expat
    reads an open comment again at every call, which would make such a file quadratic."""
    calls: list[bytes] = []

    class Parser:
        def Parse(self, data: bytes, final: bool) -> None:
            calls.append(data)

    beat = f'{B} bpm="61" time="9:10:00.00 PM"/>\n'
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- <HealthData>\n'
    data = head + (beat * 1000).encode() + b"-->\n<HealthData>\n"
    lifter = apple_health.BeatLifter()
    apple_health._parse_head(Parser(), lifter, data, {"root": 0})  # type: ignore[arg-type]
    assert len(calls) <= 2 and b"".join(calls) == data and lifter.count == 0


MALFORMED: list[Callable[[str], str]] = [
    # a beat inside an attribute value: `<` is not allowed there
    lambda listed: f'<Record type="{listed}"/>\n',
    # an error on the line right after a run: the column must not move
    lambda listed: sdnn(listed.rstrip("\n") + " <Oops\n"),
    lambda listed: sdnn(listed.rstrip("\n") + " &nope;\n"),
    lambda listed: sdnn(listed.replace("\n", "") + " &nope;\n"),  # a run on one line
    # a run that ends a comment early, or a CDATA section left open
    lambda listed: f"<!-- {listed} -- -->\n",
    lambda listed: f"<![CDATA[ {listed}\n",
    # beats after the root element, and before it
    lambda listed: f"</HealthData>\n{listed}<HealthData>\n",
]


@pytest.mark.parametrize("make", MALFORMED)
@pytest.mark.parametrize("crlf", [False, True])
def test_malformed_xml_fails_the_same_way(
    make: Callable[[str], str], crlf: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = "".join(
        f'  <InstantaneousBeatsPerMinute bpm="{b}" time="{t}"/>\n'
        for b, t in [*beats(3), ("61", "9:10:00.00\u202fPM")]
    )
    path = write(tmp_path, export_xml(make(listed)), crlf=crlf)
    (_, _, _, error), _ = same_both_ways(path, monkeypatch)
    assert error is not None and "malformed XML" in error[1]


def test_invalid_utf8_in_a_time_fails_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = '<InstantaneousBeatsPerMinute bpm="61" time="9:10:00.00 PM"/>\n' * 3
    data = export_xml(sdnn(listed)).encode().replace(b"00 PM", b"00\xe2\x80PM", 2)
    path = tmp_path / "export.xml"
    path.write_bytes(data)
    (_, _, _, error), _ = same_both_ways(path, monkeypatch)
    assert error is not None and "malformed XML" in error[1]


def test_another_declared_encoding_is_left_to_expat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = "".join(
        f'<InstantaneousBeatsPerMinute bpm="{b}" time="{t}"/>\n'
        for b, t in [*beats(3), ("61", "9:10:00.00\u00a0PM")]
    )
    text = export_xml(sdnn(listed)).replace("UTF-8", "ISO-8859-1")
    path = tmp_path / "export.xml"
    path.write_bytes(text.encode("latin-1"))
    (items, _, _, error), lifted = same_both_ways(path, monkeypatch)
    assert error is None and lifted == 0
    assert len(beat_series(items)[0].times) == 4


def test_no_beat_element_the_pattern_takes_is_longer_than_the_carry() -> None:
    """`feed` holds back the bytes after the last `<` among the last _BEAT_MAX: the longest
    element the strict shape allows must fit, or a beat cut by a block could be missed."""
    bpm, when = "9" * 16, "\u202f" * 32  # 96 bytes of UTF-8
    longest = f'<InstantaneousBeatsPerMinute bpm="{bpm}" time="{when}"/>'.encode()
    assert len(longest) <= apple_health._BEAT_MAX
    assert apple_health._BEAT_RUN.fullmatch(longest) is not None
    assert apple_health._BEAT_RUN.fullmatch(longest.replace(b'="9', b'="99')) is None
