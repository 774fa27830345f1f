"""The conventions every `coffre` command follows (docs/cli.md, Conventions), checked over the
whole command tree: a command added later is covered without touching this file."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from tests.cli.conftest import checked, init_vault, invoke, run
from vault.cli import output
from vault.cli.main import cli
from vault.core.progress import ProgressEvent


def _walk(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _walk(command, (*path, name))


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    return command


PATHS = list(_walk(cli))
IDS = [" ".join(p) for p in PATHS]


def test_the_walk_finds_the_whole_tree() -> None:
    # Every area's top-level command, and subcommands under the groups.
    tops = {p[0] for p in PATHS}
    assert {"init", "persona", "content", "grant", "import", "help", "completion"} <= tops
    assert ("persona", "rm") in PATHS and ("import", "csv") in PATHS


# --- help, examples, completion ----------------------------------------------------------------


def _examples(help_text: str) -> list[str]:
    """The command lines under the help's `Examples:` heading (continuation lines joined)."""
    lines = help_text.split("Examples:", 1)[1].splitlines()
    found: list[str] = []
    for line in lines:
        text = line.strip()
        if not text:
            if found:
                break
            continue
        if found and found[-1].endswith("\\"):
            found[-1] = found[-1][:-1] + " " + text
        else:
            found.append(text)
    return found


def _command_words(example: str) -> list[str]:
    """The words given to `coffre` in EXAMPLE: after any VAR=value prefix, up to a pipe or a
    redirection."""
    words = shlex.split(example)
    while words and "=" in words[0] and words[0] != "coffre":
        words.pop(0)
    assert words[0] == "coffre", example
    cut = [i for i, w in enumerate(words) if w in {"|", ">", ">>", "&&", ";"}]
    return words[1 : cut[0] if cut else None]


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_every_help_has_examples_that_parse(path: tuple[str, ...]) -> None:
    result = invoke(None, *path, "--help")
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.stdout
    examples = _examples(result.stdout)
    assert examples, result.stdout
    command = _command(path)
    for example in examples:
        words = _command_words(example)
        # Root options (`-q`, `--vault DIR`) may come first; then the command's own path.
        root = cli.make_context("coffre", list(words), resilient_parsing=True)
        rest = [*root._protected_args, *root.args]
        assert rest[: len(path)] == list(path), example
        # resilient_parsing skips what needs the real world (files that exist, required
        # options) but an unknown option still fails: every option in the example exists.
        if not isinstance(command, click.Group):
            command.make_context(path[-1], rest[len(path) :], parent=root, resilient_parsing=True)


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_help_command_shows_the_same_page(path: tuple[str, ...]) -> None:
    by_option = invoke(None, *path, "--help")
    by_command = invoke(None, "help", *path)
    assert by_command.exit_code == 0
    assert by_command.stdout == by_option.stdout


def test_help_alone_is_the_root_help_and_unknown_commands_are_usage_errors() -> None:
    assert invoke(None, "help").stdout == invoke(None, "--help").stdout
    result = invoke(None, "help", "persona", "nope")
    assert result.exit_code == 2
    assert "no such command: coffre persona nope" in result.stderr


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script_for_the_shell(shell: str) -> None:
    script = run(None, "completion", shell)
    assert "_COFFRE_COMPLETE" in script
    assert f"{shell}_complete" in script


def test_completion_completes_commands_and_subcommands() -> None:
    def complete(words: str) -> set[str]:
        result = click.testing.CliRunner().invoke(
            cli,
            [],
            prog_name="coffre",
            env={
                "_COFFRE_COMPLETE": "bash_complete",
                "COMP_WORDS": words,
                "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
            },
        )
        # bash_complete answers one `type,value` line per candidate.
        return {line.split(",", 1)[1] for line in result.stdout.splitlines()}

    assert complete("coffre pers") == {"persona"}
    assert {"rm", "add", "list"} <= complete("coffre persona ")


# --- confirmation and dry run --------------------------------------------------------------------


def _options(command: click.Command, name: str) -> set[str]:
    return {o for p in command.params if p.name == name for o in p.opts}


def test_confirming_and_previewing_commands_take_the_short_options() -> None:
    confirming = [p for p in PATHS if _options(_command(p), "yes")]
    previewing = [p for p in PATHS if _options(_command(p), "dry_run")]
    assert {("forget",), ("persona", "rm"), ("content", "rm")} <= set(confirming)
    assert {("forget",), ("export",)} <= set(previewing)
    for path in confirming:
        assert _options(_command(path), "yes") == {"-y", "--yes"}, path
    for path in previewing:
        assert _options(_command(path), "dry_run") == {"-n", "--dry-run"}, path


@pytest.fixture
def stocked(vault_dir: Path, tmp_path: Path) -> Path:
    """A vault with a persona, a note, its samples and a recovery kit: something for each
    confirmation."""
    init_vault(vault_dir, "Ana")
    checked(vault_dir, "recovery-kit", "-o", str(tmp_path / "kit.txt"))
    note = tmp_path / "note.md"
    note.write_text("# Night train\n\nbody\n")
    checked(vault_dir, "content", "add", str(note))
    data = tmp_path / "data.csv"
    data.write_text(
        "start,end,metric,value,unit,source\n2024-03-01T10:00:00Z,,heart_rate,74,/min,Watch\n"
    )
    checked(vault_dir, "import", "csv", str(data))
    remote = tmp_path / "remote"
    remote.mkdir()
    checked(vault_dir, "remote", "add", "usb", remote.as_uri())
    checked(vault_dir, "sync")
    checked(None, "clone", remote.as_uri(), str(tmp_path / "phone"), "--device-name", "Phone")
    checked(vault_dir, "sync")
    return vault_dir


def _confirming_cases(vault_dir: Path) -> dict[tuple[str, ...], list[str]]:
    """Each command that asks for confirmation, with arguments naming something to act on."""
    item = json.loads(run(vault_dir, "content", "list", "--json"))[0]["id"]
    return {
        ("persona", "rm"): ["persona", "rm", "Ana"],
        ("content", "rm"): ["content", "rm", item],
        ("forget",): ["forget", "--metric", "heart_rate"],
        ("recovery-kit",): ["recovery-kit", "-o", str(vault_dir.parent / "kit.txt"), "--force"],
        ("remote", "rm"): ["remote", "rm", "usb"],
        ("device", "revoke"): ["device", "revoke", "Phone"],
    }


def _state(vault_dir: Path) -> tuple[str, ...]:
    kit = vault_dir.parent / "kit.txt"
    return (
        run(vault_dir, "remote", "list", "--json"),
        run(vault_dir, "device", "list", "--json"),
        run(vault_dir, "persona", "list", "--json"),
        run(vault_dir, "content", "list", "--json"),
        run(vault_dir, "data", "metrics", "--json"),
        run(vault_dir, "recovery-kit", "-o", str(kit), "-n", "--force", "--json"),  # its id
        kit.read_text("utf-8"),
    )


def test_without_a_terminal_every_confirmation_needs_yes(stocked: Path) -> None:
    cases = _confirming_cases(stocked)
    assert set(cases) == {p for p in PATHS if _options(_command(p), "yes")}
    before = _state(stocked)
    for args in cases.values():
        result = checked(stocked, *args, code=7)
        assert "needs --yes when not on a terminal" in result.stderr
        assert "Usage:" not in result.stderr
    assert _state(stocked) == before


def test_declining_changes_nothing_and_exits_0(
    stocked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "interactive", lambda: True)
    before = _state(stocked)
    for args in _confirming_cases(stocked).values():
        result = click.testing.CliRunner().invoke(
            cli,
            ["--vault", str(stocked), *args],
            input="n\n",
            env={"COFFRE_PASSPHRASE": "correct horse battery staple"},
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        assert "Nothing changed." in result.stderr
        assert "Aborted" not in result.output
    assert _state(stocked) == before


def test_answering_yes_goes_ahead(stocked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "interactive", lambda: True)
    args = _confirming_cases(stocked)[("forget",)]
    result = click.testing.CliRunner().invoke(
        cli,
        ["--vault", str(stocked), *args],
        input="y\n",
        env={"COFFRE_PASSPHRASE": "correct horse battery staple"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "Would forget" in result.stdout  # the preview came before the question
    assert json.loads(run(stocked, "data", "metrics", "--json")) == []


def test_short_options_confirm_and_preview(stocked: Path) -> None:
    preview = run(stocked, "forget", "--metric", "heart_rate", "-n")
    assert "Would forget" in preview
    assert json.loads(run(stocked, "data", "metrics", "--json")) != []
    run(stocked, "forget", "--metric", "heart_rate", "-y")
    assert json.loads(run(stocked, "data", "metrics", "--json")) == []


# --- interruption ------------------------------------------------------------------------------

CSV_HEADER = "start,end,metric,value,unit,source\n"


def _csv(path: Path, rows: int) -> Path:
    lines = [
        f"2023-01-{1 + i // 1440:02d}T{(i // 60) % 24:02d}:{i % 60:02d}:00Z,,heart_rate,"
        f"{60 + i % 40},/min,Watch\n"
        for i in range(rows)
    ]
    path.write_text(CSV_HEADER + "".join(lines))
    return path


def _interrupt_at(monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    """Ctrl-C as the progress callback sees STAGE finish (the import's transaction is still
    open when its store stage finishes: it commits after)."""

    def interrupted(self: output.StderrProgress, event: object) -> None:
        if getattr(event, "stage", None) == stage and getattr(event, "finished", False):
            raise KeyboardInterrupt

    monkeypatch.setattr(output.StderrProgress, "__call__", interrupted)


def test_ctrl_c_during_an_import_exits_130_and_keeps_nothing(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vault.data.ingest import QSWriter

    init_vault(vault_dir, "Ana")
    audit_before = run(vault_dir, "audit", "--json")
    data = _csv(tmp_path / "data.csv", 50)
    finish = QSWriter._finish

    def finish_then_interrupt(self: QSWriter) -> None:
        finish(self)  # every sample and the audit entry written, not yet committed
        raise KeyboardInterrupt

    monkeypatch.setattr(QSWriter, "_finish", finish_then_interrupt)
    result = checked(vault_dir, "import", "csv", str(data), code=130)
    assert result.stderr == "interrupted: nothing was imported\n"
    assert "Aborted" not in result.output
    monkeypatch.undo()
    assert json.loads(run(vault_dir, "data", "metrics", "--json")) == []
    assert run(vault_dir, "audit", "--json") == audit_before


def test_ctrl_c_after_a_commit_says_what_was_kept(
    vault_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vault.personas

    init_vault(vault_dir)
    add = vault.personas.add_persona

    def add_then_interrupt(*args: object, **kwargs: object) -> object:
        add(*args, **kwargs)  # type: ignore[arg-type]
        raise KeyboardInterrupt

    monkeypatch.setattr(vault.personas, "add_persona", add_then_interrupt)
    result = checked(vault_dir, "persona", "add", "Ana", code=130)
    assert result.stderr.startswith("interrupted; what was saved before the interruption is kept")
    monkeypatch.undo()
    assert [p["name"] for p in json.loads(run(vault_dir, "persona", "list", "--json"))] == ["Ana"]


def test_ctrl_c_in_a_read_only_command_says_the_vault_is_unchanged(
    vault_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_vault(vault_dir, "Ana")
    _interrupt_at(monkeypatch, "check")
    result = checked(vault_dir, "check", code=130)
    assert result.stderr == "interrupted; the vault is unchanged\n"


def test_end_of_input_at_a_prompt_is_an_interruption(
    stocked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "interactive", lambda: True)
    result = click.testing.CliRunner().invoke(
        cli,
        ["--vault", str(stocked), "persona", "rm", "Ana"],
        input="",  # Ctrl-D: click turns it, as Ctrl-C, into Abort
        env={"COFFRE_PASSPHRASE": "correct horse battery staple"},
        catch_exceptions=False,
    )
    assert result.exit_code == 130
    assert result.stderr.endswith("interrupted; the vault is unchanged\n")
    assert "Aborted" not in result.output


def test_sigint_during_an_import_in_a_real_process(vault_dir: Path, tmp_path: Path) -> None:
    """The real signal: Python raises KeyboardInterrupt in the running import; the process
    exits 130 and the vault holds none of the file."""
    import os
    import signal
    import subprocess
    import sys

    init_vault(vault_dir, "Ana")
    # Far more work than the signal needs to arrive, even on a loaded machine (it lands early).
    data = _csv(tmp_path / "big.csv", 400_000)
    env = {
        **os.environ,
        "COFFRE_PASSPHRASE": "correct horse battery staple",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    command = "from vault.cli.main import main; main()"
    args = ["-v", "--vault", str(vault_dir), "import", "csv", str(data)]
    proc = subprocess.Popen(
        [sys.executable, "-c", command, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    # With -v the opened vault is named on stderr, just before the import starts.
    assert proc.stderr.readline().startswith("vault ")
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert rest.strip().splitlines()[-1] == "interrupted: nothing was imported"
    assert json.loads(run(vault_dir, "data", "metrics", "--json")) == []


# --- quiet, verbose, colour ----------------------------------------------------------------------


def test_quiet_keeps_the_result_and_errors_only(stocked: Path) -> None:
    added = checked(stocked, "-q", "persona", "add", "Bea")
    assert len(added.stdout.strip()) == 32 and added.stderr == ""
    removed = checked(stocked, "-q", "persona", "rm", "Bea", "-y")
    assert removed.stdout == removed.stderr == ""
    checked(stocked, "persona", "add", "Cy")
    loud = checked(stocked, "persona", "rm", "Cy", "-y")
    assert "deleted" in loud.stderr  # what -q left out
    failed = checked(stocked, "-q", "persona", "show", "Nobody", code=4)
    assert failed.stderr.startswith("error: ")


def test_verbose_adds_detail(stocked: Path) -> None:
    plain = checked(stocked, "status")
    loud = checked(stocked, "-v", "status")
    assert loud.stdout == plain.stdout
    assert f"vault {stocked}" in loud.stderr and f"vault {stocked}" not in plain.stderr


def test_no_colour_off_a_terminal_and_colour_when_asked(stocked: Path) -> None:
    plain = checked(stocked, "persona", "show", "Nobody", code=4)
    assert "\x1b[" not in plain.output
    coloured = checked(stocked, "--color", "always", "persona", "show", "Nobody", code=4)
    assert "\x1b[" in coloured.stderr and "error: " in coloured.stderr
    assert coloured.stdout == ""


class _Terminal:
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("choice", "environ", "coloured"),
    [
        ("auto", {}, True),
        ("auto", {"NO_COLOR": "1"}, False),
        ("auto", {"TERM": "dumb"}, False),
        ("never", {}, False),
        ("always", {"NO_COLOR": "1"}, True),  # the explicit option wins over the variable
    ],
)
def test_colour_rules(
    choice: str, environ: dict[str, str], coloured: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(output.settings, "color", choice)
    assert output.colour_on(_Terminal()) is coloured  # type: ignore[arg-type]


def test_quiet_and_verbose_are_reset_for_each_run(stocked: Path) -> None:
    checked(stocked, "-q", "-v", "status")
    assert not output.settings.verbose  # -q wins over -v
    checked(stocked, "status")
    assert not output.settings.quiet and output.settings.color == "auto"


# --- progress ----------------------------------------------------------------------------------


def test_progress_is_drawn_only_on_a_terminal(stocked: Path, tmp_path: Path) -> None:
    # The runner's stderr is no terminal: an import draws no bar, only its summary.
    data = _csv(tmp_path / "more.csv", 30)
    result = checked(stocked, "import", "csv", str(data))
    assert result.stderr == ""
    assert not output.StderrProgress("x").enabled


def _drawn(events: list[ProgressEvent]) -> str:
    import io

    screen = io.StringIO()
    bar = output.StderrProgress("import", force=True, stream=screen)
    for event in events:
        bar(event)
    bar.close()
    return screen.getvalue()


def test_progress_in_bytes_reaches_100_percent_with_binary_units() -> None:
    total = 3 * 1024 * 1024
    # The last count falls short of the estimate, as compressed input can: still 100 %.
    events = [
        ProgressEvent("read", 0, total, unit="bytes"),
        ProgressEvent("read", total // 3, total, unit="bytes"),
        ProgressEvent("read", total - 100, total, finished=True, unit="bytes"),
    ]
    screen = _drawn(events)
    assert "100%" in screen
    assert "3.0 MiB/3.0 MiB" in screen
    assert "99%" not in screen.rsplit("\r", 1)[-1]


def test_progress_in_records_shows_counts_and_units() -> None:
    events = [
        ProgressEvent("check", 0, 12_000, unit="records"),
        ProgressEvent("check", 12_000, 12_000, finished=True, unit="records"),
    ]
    screen = _drawn(events)
    assert "12,000/12,000 records" in screen and "100%" in screen


def test_progress_of_unknown_size_ends_at_its_count() -> None:
    events = [
        ProgressEvent("store", 0, None, unit="samples"),
        ProgressEvent("store", 500, None, unit="samples"),
        ProgressEvent("store", 800, None, finished=True, unit="samples"),
    ]
    screen = _drawn(events)
    assert "800/800 samples" in screen and "100%" in screen


def test_progress_speaks_the_persons_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stage names the library marks and the units are drawn in French; the counts are
    grouped the French way."""
    from vault.core.i18n import N_, number

    monkeypatch.setenv("LANGUAGE", "fr")
    events = [
        ProgressEvent("read", 0, 10, unit="bytes"),  # the first stage takes the bar's label
        ProgressEvent(N_("store"), 0, 12_000, unit="samples"),
        ProgressEvent(N_("store"), 12_000, 12_000, finished=True, unit="samples"),
    ]
    screen = _drawn(events)
    assert "import: enregistrement" in screen
    assert f"{number(12_000)}/{number(12_000)} mesures" in screen
    assert number(12_000) != "12,000"  # grouped the French way


def test_si_and_binary_amounts() -> None:
    assert output.si_amount(950) == "950"
    assert output.si_amount(12_345) == "12.3k"
    assert output.si_amount(4_500_000) == "4.5M"
    assert output.binary_size(512) == "512 B"
    assert output.binary_size(1536) == "1.5 KiB"
    assert output.binary_size(5 * 1024**3) == "5.0 GiB"
