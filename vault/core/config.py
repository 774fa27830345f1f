"""Where the vault is and where the passphrase comes from, for non-interactive callers; and
the person's settings that outlive a run (the TUI's language), in the user config directory.

Order for the vault: an explicit path, else `COFFRE_VAULT`, else the platform's user data
directory. Order for the passphrase (as restic users know it): `COFFRE_PASSPHRASE`, else
`COFFRE_PASSPHRASE_FILE`, else `COFFRE_PASSPHRASE_COMMAND`; prompting is the CLI's business.
A recovery code comes from `COFFRE_RECOVERY_CODE_FILE` (never from a variable holding it).
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path

from vault.core.errors import PassphraseUnavailable
from vault.core.i18n import N_

ENV_VAULT = "COFFRE_VAULT"
ENV_PASSPHRASE = "COFFRE_PASSPHRASE"
ENV_PASSPHRASE_FILE = "COFFRE_PASSPHRASE_FILE"
ENV_PASSPHRASE_COMMAND = "COFFRE_PASSPHRASE_COMMAND"
ENV_NEW_PASSPHRASE = "COFFRE_NEW_PASSPHRASE"
ENV_TOKEN_FILE = "COFFRE_TOKEN_FILE"
ENV_RECOVERY_CODE_FILE = "COFFRE_RECOVERY_CODE_FILE"
# A recovery code is 40 characters and a few separators; a file read to its end could be a
# device or a pipe that never ends.
_MAX_CODE_FILE = 1024
ENV_CONFIG_DIR = "COFFRE_CONFIG_DIR"  # where settings.json is (default: the platform's)

# Variables holding a passphrase itself: never passed on to a command Coffre runs.
SECRET_VARIABLES = (ENV_PASSPHRASE, ENV_NEW_PASSPHRASE)


def default_vault_dir() -> Path:
    import platformdirs  # lazy: keeps start-up fast for commands given --vault

    return Path(platformdirs.user_data_dir("coffre", appauthor=False)) / "vault"


def settings_file(env: Mapping[str, str] = os.environ) -> Path:
    """The person's settings: `COFFRE_CONFIG_DIR/settings.json`, else in the platform's user
    config directory. It holds preferences only, never a secret or anything of the vault."""
    if env.get(ENV_CONFIG_DIR):
        return Path(env[ENV_CONFIG_DIR]).expanduser() / "settings.json"
    import platformdirs

    return Path(platformdirs.user_config_dir("coffre", appauthor=False)) / "settings.json"


def read_setting(name: str) -> str | None:
    """A saved setting, or None when unset or when the file is unreadable (a preference
    never stops Coffre)."""
    import json

    try:
        saved = json.loads(settings_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = saved.get(name) if isinstance(saved, dict) else None
    return value if isinstance(value, str) else None


def write_setting(name: str, value: str) -> None:
    """Save a setting, keeping the others (the folder is made private, the file 0600)."""
    import json

    path = settings_file()
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = {}
    if not isinstance(saved, dict):
        saved = {}
    saved[name] = value
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(saved, out, indent=2)
    temporary.replace(path)


def vault_dir(explicit: str | os.PathLike[str] | None, env: Mapping[str, str] = os.environ) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    if env.get(ENV_VAULT):
        return Path(env[ENV_VAULT]).expanduser()
    return default_vault_dir()


def _strip_newline(text: str) -> str:
    # Only the one line ending an editor or `echo` adds: spaces may be part of a passphrase.
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


def _without_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """The environment a passphrase command runs in: ours (a password manager needs its
    agent's socket, its home, a display), minus the passphrases we were given."""
    return {name: value for name, value in env.items() if name not in SECRET_VARIABLES}


def passphrase_from_env(env: Mapping[str, str] = os.environ) -> str | None:
    """The passphrase from the environment's sources, or None when none is set."""
    if env.get(ENV_PASSPHRASE):
        return env[ENV_PASSPHRASE]
    if env.get(ENV_PASSPHRASE_FILE):
        try:
            return _strip_newline(Path(env[ENV_PASSPHRASE_FILE]).read_text("utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise PassphraseUnavailable(
                N_("cannot read {variable}"), variable=ENV_PASSPHRASE_FILE
            ) from exc
    if env.get(ENV_PASSPHRASE_COMMAND):
        try:
            result = subprocess.run(
                shlex.split(env[ENV_PASSPHRASE_COMMAND]),
                capture_output=True,
                check=False,
                timeout=120,
                env=_without_secrets(os.environ),
            )
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            raise PassphraseUnavailable(
                N_("{variable} could not run"), variable=ENV_PASSPHRASE_COMMAND
            ) from exc
        if result.returncode != 0:
            raise PassphraseUnavailable(
                N_("{variable} exited with status {status}"),
                variable=ENV_PASSPHRASE_COMMAND,
                status=result.returncode,
            )
        try:
            return _strip_newline(result.stdout.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise PassphraseUnavailable(
                N_("{variable} printed invalid UTF-8"), variable=ENV_PASSPHRASE_COMMAND
            ) from exc
    return None


def recovery_code_from_env(env: Mapping[str, str] = os.environ) -> str | None:
    """The recovery code in the file `COFFRE_RECOVERY_CODE_FILE` names, or None when it is
    not set. Only a regular file is read, and only its first KiB; the error names the
    variable, never what the file holds."""
    name = env.get(ENV_RECOVERY_CODE_FILE)
    if not name:
        return None
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO does not wait for a writer
    except OSError as exc:
        raise PassphraseUnavailable(
            N_("cannot read {variable}"), variable=ENV_RECOVERY_CODE_FILE
        ) from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PassphraseUnavailable(
                N_("{variable} is not a regular file"), variable=ENV_RECOVERY_CODE_FILE
            )
        raw = os.read(fd, _MAX_CODE_FILE + 1)
    except OSError as exc:
        raise PassphraseUnavailable(
            N_("cannot read {variable}"), variable=ENV_RECOVERY_CODE_FILE
        ) from exc
    finally:
        os.close(fd)
    if len(raw) > _MAX_CODE_FILE:
        raise PassphraseUnavailable(
            N_("{variable} holds more than a code"), variable=ENV_RECOVERY_CODE_FILE
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PassphraseUnavailable(
            N_("{variable} is not UTF-8 text"), variable=ENV_RECOVERY_CODE_FILE
        ) from exc
