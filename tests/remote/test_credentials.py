"""Where the keys of an S3 remote come from: the environment, the AWS shared files, or a
`credential_process` command; and that no message ever repeats a secret."""

from __future__ import annotations

import json
import secrets
import shlex
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vault.core.errors import InvalidParameter, RemoteDenied
from vault.remote.credentials import (
    Credentials,
    Keys,
    parse_command,
    parse_process_output,
    resolve,
    run_credentials_command,
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An environment with no AWS variables and a home of its own (no ~/.aws of this machine)."""
    home = tmp_path / "home"
    home.mkdir()
    return {"HOME": str(home)}


def aws_file(env: dict[str, str], name: str, text: str) -> Path:
    folder = Path(env["HOME"]) / ".aws"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def script(tmp_path: Path, body: str) -> str:
    """A command line running a small Python script (paths quoted as a shell would)."""
    path = tmp_path / f"helper-{secrets.token_hex(4)}.py"
    path.write_text(textwrap.dedent(body))
    return shlex.join([sys.executable, str(path)])


# --- the environment ----------------------------------------------------------------------------


def test_keys_come_from_the_usual_variables(env: dict[str, str]) -> None:
    env |= {
        "AWS_ACCESS_KEY_ID": "AKIDENV",
        "AWS_SECRET_ACCESS_KEY": "secret/env+key",
        "AWS_SESSION_TOKEN": "token-env",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    found = resolve(environ=env)
    assert found == Credentials(
        keys=Keys("AKIDENV", "secret/env+key", "token-env"), region="eu-west-1"
    )
    env["AWS_REGION"] = "eu-north-1"
    assert resolve(environ=env).region == "eu-north-1"


@pytest.mark.parametrize("present", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
def test_half_a_key_pair_is_refused(env: dict[str, str], present: str) -> None:
    env[present] = "only-this"
    with pytest.raises(InvalidParameter, match="both") as caught:
        resolve(environ=env)
    assert "only-this" not in str(caught.value)


def test_no_credentials_anywhere_is_refused_with_the_ways_to_give_them(env: dict[str, str]) -> None:
    with pytest.raises(InvalidParameter, match="AWS_ACCESS_KEY_ID"):
        resolve(environ=env)


def test_a_region_that_is_not_one_is_refused(env: dict[str, str]) -> None:
    env |= {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_REGION": "../x"}
    with pytest.raises(InvalidParameter):
        resolve(environ=env)


# --- profiles -----------------------------------------------------------------------------------


def test_the_default_profile_of_the_credentials_file_is_used(env: dict[str, str]) -> None:
    aws_file(
        env,
        "credentials",
        """
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key = se%cret=with;odd#chars
        """,
    )
    aws_file(env, "config", "[default]\nregion = ca-central-1\n")
    assert resolve(environ=env) == Credentials(
        keys=Keys("AKIDDEFAULT", "se%cret=with;odd#chars"), region="ca-central-1"
    )


def test_a_named_profile_comes_from_the_files_the_variables_name(
    env: dict[str, str], tmp_path: Path
) -> None:
    creds, config = tmp_path / "my-credentials", tmp_path / "my-config"
    creds.write_text("[work]\naws_access_key_id = AKIDWORK\naws_secret_access_key = s-work\n")
    config.write_text("[profile work]\nregion = us-west-2\n")
    env |= {"AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_CONFIG_FILE": str(config)}
    expected = Credentials(keys=Keys("AKIDWORK", "s-work"), region="us-west-2")
    assert resolve(profile="work", environ=env) == expected
    assert resolve(environ=env | {"AWS_PROFILE": "work"}) == expected


def test_a_named_profile_wins_over_the_variables(env: dict[str, str]) -> None:
    aws_file(env, "credentials", "[p]\naws_access_key_id = AKIDP\naws_secret_access_key = sp\n")
    env |= {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "senv"}
    assert resolve(profile="p", environ=env).keys == Keys("AKIDP", "sp")


def test_keys_and_a_credential_process_in_the_config_file(env: dict[str, str]) -> None:
    aws_file(
        env,
        "config",
        """
        [profile static]
        aws_access_key_id = AKIDCONF
        aws_secret_access_key = sconf
        aws_session_token = tconf
        [profile helper]
        region = sa-east-1
        credential_process = /opt/helper --account "my account"
        """,
    )
    assert resolve(profile="static", environ=env).keys == Keys("AKIDCONF", "sconf", "tconf")
    helper = resolve(profile="helper", environ=env)
    assert helper == Credentials(
        command=("/opt/helper", "--account", "my account"), region="sa-east-1"
    )


@pytest.mark.parametrize("profile", ["missing", "empty"])
def test_a_named_profile_without_credentials_is_refused(env: dict[str, str], profile: str) -> None:
    aws_file(env, "credentials", "[empty]\nregion = eu-west-1\n")
    with pytest.raises(InvalidParameter, match=profile):
        resolve(profile=profile, environ=env)


def test_a_profile_name_that_is_not_one_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(InvalidParameter):
        resolve(profile="a]\n[b", environ=env)


def test_a_broken_credentials_file_is_refused_without_quoting_it(env: dict[str, str]) -> None:
    aws_file(env, "credentials", "aws_secret_access_key = LEAKED-IF-QUOTED\n[default\n")
    with pytest.raises(InvalidParameter, match="not a valid ini file") as caught:
        resolve(environ=env)
    assert "LEAKED" not in str(caught.value)


# --- a credential_process command ----------------------------------------------------------------


def test_a_command_is_kept_as_the_command_and_run_at_each_use(
    env: dict[str, str], tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    command = script(
        tmp_path,
        f"""
        import json, pathlib
        path = pathlib.Path({str(runs)!r})
        count = len(path.read_text()) + 1 if path.exists() else 1
        path.write_text("x" * count)
        print(json.dumps({{
            "Version": 1, "AccessKeyId": f"AKID{{count}}", "SecretAccessKey": "s",
            "SessionToken": "t", "Expiration": "2030-05-01T10:00:00Z",
        }}))
        """,
    )
    found = resolve(command=command, environ=env | {"AWS_ACCESS_KEY_ID": "ignored"})
    assert found.keys is None and found.command == tuple(shlex.split(command))
    assert not runs.exists()
    first, second = found.current(), found.current()
    assert (first.access_key_id, second.access_key_id) == ("AKID1", "AKID2")
    assert second == Keys("AKID2", "s", "t", datetime(2030, 5, 1, 10, tzinfo=UTC))


def test_a_failing_command_is_denied_without_repeating_what_it_printed(tmp_path: Path) -> None:
    command = script(
        tmp_path,
        """
        import sys
        print('{"Version": 1, "AccessKeyId": "AKIDLEAK", "SecretAccessKey": "LEAK"}')
        print("LEAK on stderr", file=sys.stderr)
        sys.exit(7)
        """,
    )
    with pytest.raises(RemoteDenied) as caught:
        run_credentials_command(parse_command(command))
    assert caught.value.detail == "the credentials command failed (exit status 7)"
    assert "LEAK" not in str(caught.value)


@pytest.mark.parametrize(
    "output",
    [
        "not json at all: LEAK",
        '{"Version": 2, "AccessKeyId": "LEAK", "SecretAccessKey": "LEAK"}',
        '{"Version": true, "AccessKeyId": "LEAK", "SecretAccessKey": "LEAK"}',
        '{"Version": 1, "AccessKeyId": "LEAK"}',
        '{"Version": 1, "AccessKeyId": "", "SecretAccessKey": "LEAK"}',
        '{"Version": 1, "AccessKeyId": "LEAK", "SecretAccessKey": ["LEAK"]}',
        '{"Version": 1, "AccessKeyId": "a", "SecretAccessKey": "LEAK", "SessionToken": 5}',
        '{"Version": 1, "AccessKeyId": "a", "SecretAccessKey": "LEAK", "Expiration": "soon"}',
        '["Version", 1, "LEAK"]',
        "",
    ],
)
def test_a_command_printing_junk_is_denied_without_echoing_it(tmp_path: Path, output: str) -> None:
    command = script(tmp_path, f"print({output!r})")
    with pytest.raises(RemoteDenied, match="no valid credentials") as caught:
        run_credentials_command(parse_command(command))
    assert "LEAK" not in str(caught.value)


def test_too_much_output_is_not_parsed() -> None:
    padding = " " * (70 * 1024)
    with pytest.raises(RemoteDenied):
        parse_process_output(
            f'{{"Version": 1, "AccessKeyId": "a", "SecretAccessKey": "b"}}{padding}'.encode()
        )


def test_a_command_that_does_not_exist_or_hangs_is_denied(tmp_path: Path) -> None:
    with pytest.raises(RemoteDenied, match="not found"):
        run_credentials_command((str(tmp_path / "no-such-helper"),))
    hanging = script(tmp_path, "import time\ntime.sleep(60)\n")
    with pytest.raises(RemoteDenied, match="did not finish"):
        run_credentials_command(parse_command(hanging), timeout=0.5)


def test_a_command_gets_no_input(tmp_path: Path) -> None:
    """A helper that would prompt reads end-of-file instead of waiting for a keyboard."""
    command = script(
        tmp_path,
        """
        import json, sys
        typed = sys.stdin.read()
        keys = {"Version": 1, "AccessKeyId": f"read{len(typed)}", "SecretAccessKey": "s"}
        print(json.dumps(keys))
        """,
    )
    assert run_credentials_command(parse_command(command)).access_key_id == "read0"


@pytest.mark.parametrize("line", ["", "   ", "helper 'unclosed"])
def test_a_command_line_that_is_not_one_is_refused(line: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_command(line)


def test_no_shell_runs_the_command(tmp_path: Path) -> None:
    """`;`, `$(...)` and `>` are plain arguments: a command line is never given to a shell."""
    marker = tmp_path / "shell-ran"
    command = script(
        tmp_path,
        """
        import json, sys
        keys = {"Version": 1, "AccessKeyId": str(len(sys.argv) - 1), "SecretAccessKey": "s"}
        print(json.dumps(keys))
        """,
    )
    extra = f"; touch {marker} $(touch {marker}) > {marker}"
    argv = parse_command(f"{command} {extra}")
    # The script sees each word as one argument of its own.
    assert run_credentials_command(argv).access_key_id == str(len(extra.split()))
    assert not marker.exists()


# --- stored in the vault ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "credentials",
    [
        Credentials(keys=Keys("AKID", "secret", None)),
        Credentials(keys=Keys("AKID", "secret", "token"), region="eu-west-3"),
        Credentials(command=("/usr/bin/helper", "--profile", "a b")),
    ],
)
def test_credentials_round_trip_through_plain_data_and_json(credentials: Credentials) -> None:
    data = credentials.to_dict()
    assert Credentials.from_dict(json.loads(json.dumps(data))) == credentials
    text = credentials.to_json()
    assert json.loads(text) == data
    assert Credentials.from_json(text) == credentials
    assert Credentials.from_json(text.encode()) == credentials


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "{}",
        '{"version": 2, "command": ["x"]}',
        '{"version": 1}',
        '{"version": 1, "command": []}',
        '{"version": 1, "command": [1]}',
        '{"version": 1, "command": "x"}',
        '{"version": 1, "keys": {"access_key_id": "a"}}',
        '{"version": 1, "keys": {"access_key_id": "a", "secret_access_key": "b"}, "region": 5}',
        '{"version": 1, "keys": {"access_key_id": "a", "secret_access_key": "b"}, "region": "A B"}',
        b"\xff",
    ],
)
def test_stored_credentials_that_are_not_readable_are_refused(text: str | bytes) -> None:
    with pytest.raises(InvalidParameter):
        Credentials.from_json(text)


def test_credentials_are_keys_or_a_command_never_both_nor_neither() -> None:
    with pytest.raises(InvalidParameter):
        Credentials()
    with pytest.raises(InvalidParameter):
        Credentials(keys=Keys("a", "b"), command=("x",))


def test_the_secret_is_never_in_a_repr_nor_a_description() -> None:
    credentials = Credentials(keys=Keys("AKIDSHOWN", "SECRETHIDDEN", "TOKENHIDDEN"))
    for text in (repr(credentials), str(credentials), credentials.describe()):
        assert "HIDDEN" not in text
    assert "AKIDSHOWN" in credentials.describe()
