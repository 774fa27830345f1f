"""Where the vault is and where the passphrase comes from, for non-interactive callers.

Order for the vault: an explicit path, else `COFFRE_VAULT`, else the platform's user data
directory. Order for the passphrase (as restic users know it): `COFFRE_PASSPHRASE`, else
`COFFRE_PASSPHRASE_FILE`, else `COFFRE_PASSPHRASE_COMMAND`; prompting is the CLI's business.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path

from vault.core.errors import PassphraseUnavailable

ENV_VAULT = "COFFRE_VAULT"
ENV_PASSPHRASE = "COFFRE_PASSPHRASE"
ENV_PASSPHRASE_FILE = "COFFRE_PASSPHRASE_FILE"
ENV_PASSPHRASE_COMMAND = "COFFRE_PASSPHRASE_COMMAND"
ENV_NEW_PASSPHRASE = "COFFRE_NEW_PASSPHRASE"
ENV_TOKEN_FILE = "COFFRE_TOKEN_FILE"

# Variables holding a passphrase itself: never passed on to a command Coffre runs.
SECRET_VARIABLES = (ENV_PASSPHRASE, ENV_NEW_PASSPHRASE)


def default_vault_dir() -> Path:
    import platformdirs  # lazy: keeps start-up fast for commands given --vault

    return Path(platformdirs.user_data_dir("coffre", appauthor=False)) / "vault"


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
            raise PassphraseUnavailable(f"cannot read {ENV_PASSPHRASE_FILE}") from exc
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
            raise PassphraseUnavailable(f"{ENV_PASSPHRASE_COMMAND} could not run") from exc
        if result.returncode != 0:
            raise PassphraseUnavailable(
                f"{ENV_PASSPHRASE_COMMAND} exited with status {result.returncode}"
            )
        try:
            return _strip_newline(result.stdout.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise PassphraseUnavailable(f"{ENV_PASSPHRASE_COMMAND} printed invalid UTF-8") from exc
    return None
