"""Credentials for an S3 remote: where they come from, and the keys they give at each use.

Three sources, as the AWS tools have them: the usual environment variables, a named profile of
the shared credentials and config files, and a command printing the AWS `credential_process`
JSON. Keys found in the environment or a profile are kept as keys; a command is kept as the
command and run again at each use, so short-lived credentials (a password manager, an SSO
helper) keep working. The sync engine stores a `Credentials` only sealed inside the vault; this
module stores nothing.

Every message here is safe to show: it names the variable, file, profile or exit status, never
a key, a token or what a command printed.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeGuard

from vault.core.errors import InvalidParameter, RemoteDenied
from vault.core.i18n import N_

COMMAND_TIMEOUT: Final = 60.0  # seconds; a helper may wait for a hardware key or a browser
MAX_COMMAND_OUTPUT: Final = 64 * 1024  # the JSON is a few hundred bytes; more is not ours
REGION_RE: Final = re.compile(r"\A[a-z0-9][a-z0-9-]{0,62}\Z")
PROFILE_RE: Final = re.compile(r"\A[A-Za-z0-9_.@+=,-]{1,128}\Z")


@dataclass(frozen=True)
class Keys:
    """One set of keys that sign requests; `expires` is when they stop working, if known."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expires: datetime | None = None


@dataclass(frozen=True)
class Credentials:
    """How to get the keys of an S3 remote: static `keys`, or a `command` run at each use.

    `region` is the region the environment or profile named, used when the URL names none.
    """

    keys: Keys | None = None
    command: tuple[str, ...] = ()
    region: str | None = None

    def __post_init__(self) -> None:
        if (self.keys is None) == (not self.command):
            raise InvalidParameter(N_("S3 credentials are either keys or a command"))
        if self.region is not None and not REGION_RE.match(self.region):
            raise InvalidParameter(N_("not an S3 region name"))

    def current(self) -> Keys:
        """The keys to sign with now: the stored keys, or what the command prints now."""
        if self.keys is not None:
            return self.keys
        return run_credentials_command(self.command)

    def describe(self) -> str:
        """Where the keys come from, without any secret (for `remote show` and messages)."""
        if self.keys is not None:
            return f"the access key {self.keys.access_key_id}"
        return f"the command {shlex.join(self.command)}"

    def to_dict(self) -> dict[str, Any]:
        """The credentials as plain data, to be sealed in the vault (it holds the secret key)."""
        out: dict[str, Any] = {"version": 1, "region": self.region}
        if self.keys is not None:
            out["keys"] = {
                "access_key_id": self.keys.access_key_id,
                "secret_access_key": self.keys.secret_access_key,
                "session_token": self.keys.session_token,
            }
        else:
            out["command"] = list(self.command)
        return out

    def to_json(self) -> str:
        """`to_dict` as compact JSON."""
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Credentials:
        """Credentials written by `to_dict` (InvalidParameter for anything else)."""
        bad = InvalidParameter(N_("stored S3 credentials are not readable"))
        if not isinstance(data, Mapping) or data.get("version") != 1:
            raise bad
        region = data.get("region")
        if region is not None and not isinstance(region, str):
            raise bad
        if "command" in data:
            command = data["command"]
            if (
                not isinstance(command, list)
                or not command
                or not all(isinstance(a, str) for a in command)
            ):
                raise bad
            return cls(command=tuple(command), region=region)
        keys = data.get("keys")
        if not isinstance(keys, Mapping):
            raise bad
        access, secret = keys.get("access_key_id"), keys.get("secret_access_key")
        token = keys.get("session_token")
        if not _nonempty(access) or not _nonempty(secret) or not _optional_str(token):
            raise bad
        return cls(keys=Keys(access, secret, token), region=region)

    @classmethod
    def from_json(cls, text: str | bytes) -> Credentials:
        """Credentials written by `to_json` (InvalidParameter for anything else)."""
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise InvalidParameter(N_("stored S3 credentials are not readable")) from None
        if not isinstance(data, dict):
            raise InvalidParameter(N_("stored S3 credentials are not readable"))
        return cls.from_dict(data)


def _nonempty(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value != ""


def _optional_str(value: object) -> TypeGuard[str | None]:
    return value is None or _nonempty(value)


# --- the credential_process protocol -----------------------------------------------------------


def parse_command(command: str) -> tuple[str, ...]:
    """A command line split as a shell would, but run without one (no expansion, no pipes)."""
    try:
        argv = tuple(shlex.split(command))
    except ValueError:
        raise InvalidParameter(N_("the credentials command is not a valid command line")) from None
    if not argv:
        raise InvalidParameter(N_("the credentials command is empty"))
    return argv


def run_credentials_command(argv: tuple[str, ...], timeout: float = COMMAND_TIMEOUT) -> Keys:
    """Run a `credential_process` command and read the keys it prints.

    Its output is never shown, even in part, nor is what it writes to stderr: either may hold
    a secret. It gets no input, so a helper that would prompt fails instead of hanging.
    """
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise RemoteDenied(N_("the credentials command was not found")) from None
    except PermissionError:
        raise RemoteDenied(N_("the credentials command cannot be run")) from None
    except subprocess.TimeoutExpired:
        raise RemoteDenied(
            N_("the credentials command did not finish in {timeout:g} s"), timeout=timeout
        ) from None
    except OSError as exc:
        raise RemoteDenied(
            N_("the credentials command cannot be run ({reason})"), reason=exc.strerror
        ) from None
    if done.returncode != 0:
        raise RemoteDenied(
            N_("the credentials command failed (exit status {status})"), status=done.returncode
        )
    return parse_process_output(done.stdout)


def parse_process_output(output: bytes) -> Keys:
    """The keys in `credential_process` JSON: Version 1, AccessKeyId, SecretAccessKey, and
    optionally SessionToken and Expiration (ISO 8601)."""
    bad = RemoteDenied(N_("the credentials command printed no valid credentials"))
    if len(output) > MAX_COMMAND_OUTPUT:
        raise bad
    try:
        data = json.loads(output)
    except (ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, dict) or data.get("Version") != 1 or isinstance(data["Version"], bool):
        raise bad
    access, secret = data.get("AccessKeyId"), data.get("SecretAccessKey")
    token, expiration = data.get("SessionToken"), data.get("Expiration")
    if not _nonempty(access) or not _nonempty(secret) or not _optional_str(token):
        raise bad
    expires = None
    if expiration is not None:
        if not isinstance(expiration, str):
            raise bad
        try:
            expires = datetime.fromisoformat(expiration.replace("Z", "+00:00"))
        except ValueError:
            raise bad from None
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
    return Keys(access, secret, token, expires)


# --- resolving credentials from the environment and the AWS files ------------------------------


def resolve(
    *,
    profile: str | None = None,
    command: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Credentials:
    """The credentials to use, from the first source that has them.

    In order: `command` (a `credential_process` command line); the `profile` named (in the
    shared credentials file, then the config file); the AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY variables; the profile AWS_PROFILE names, or `default`. A profile
    named explicitly must exist; no credentials anywhere is InvalidParameter.
    """
    env = os.environ if environ is None else environ
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    if region is not None and not REGION_RE.match(region):
        raise InvalidParameter(N_("AWS_REGION is not an S3 region name"))
    if command is not None:
        return Credentials(command=parse_command(command), region=region)
    if profile is not None:
        found = from_profile(profile, env, region)
        if found is None:
            raise InvalidParameter(
                N_("the AWS profile {profile!r} holds no credentials"), profile=profile
            )
        return found
    access, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if access or secret:
        if not access or not secret:
            raise InvalidParameter(N_("set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"))
        token = env.get("AWS_SESSION_TOKEN") or None
        return Credentials(keys=Keys(access, secret, token), region=region)
    found = from_profile(env.get("AWS_PROFILE") or "default", env, region)
    if found is None:
        raise InvalidParameter(
            N_(
                "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "name an AWS profile, or give a credentials command"
            )
        )
    return found


def _aws_file(env: Mapping[str, str], variable: str, default: str) -> Path:
    named = env.get(variable)
    if named:
        return Path(named).expanduser()
    home = env.get("HOME")
    return (Path(home) if home else Path.home()) / ".aws" / default


def _read_ini(path: Path) -> configparser.RawConfigParser:
    """An AWS ini file (RawConfigParser: a `%` in a secret is not interpolation)."""
    parser = configparser.RawConfigParser(default_section="\x00none")
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return parser
    except (OSError, UnicodeDecodeError):
        raise InvalidParameter(N_("the AWS file {path} cannot be read"), path=path) from None
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error:
        # The parser's message may quote a line of the file, which may hold a secret.
        raise InvalidParameter(
            N_("the AWS file {path} is not a valid ini file"), path=path
        ) from None
    return parser


def from_profile(
    profile: str, env: Mapping[str, str], env_region: str | None = None
) -> Credentials | None:
    """The credentials a profile of the AWS shared files holds, or None if it holds none.

    Keys come from the credentials file's `[NAME]` section, else from the config file's
    `[profile NAME]` (`[default]` for the default profile); a `credential_process` there is
    kept as a command. The region is the config file's, unless the environment names one.
    """
    if not PROFILE_RE.match(profile):
        raise InvalidParameter(N_("not an AWS profile name"))
    creds = _read_ini(_aws_file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials"))
    config = _read_ini(_aws_file(env, "AWS_CONFIG_FILE", "config"))
    section = "default" if profile == "default" else f"profile {profile}"
    conf = dict(config.items(section)) if config.has_section(section) else {}
    region = env_region or conf.get("region") or None
    if region is not None and not REGION_RE.match(region):
        raise InvalidParameter(
            N_("the AWS profile {profile!r} names an invalid region"), profile=profile
        )
    for values in (dict(creds.items(profile)) if creds.has_section(profile) else {}, conf):
        access = values.get("aws_access_key_id", "").strip()
        secret = values.get("aws_secret_access_key", "").strip()
        if access and secret:
            token = values.get("aws_session_token", "").strip() or None
            return Credentials(keys=Keys(access, secret, token), region=region)
        process = values.get("credential_process", "").strip()
        if process:
            return Credentials(command=parse_command(process), region=region)
    return None


__all__ = [
    "Credentials",
    "Keys",
    "parse_command",
    "parse_process_output",
    "resolve",
    "run_credentials_command",
]
