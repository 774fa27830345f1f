"""The one error hierarchy of Coffre.

Every error the library raises on purpose is a `VaultError`. The docstring of each class is
its user-facing message; `detail` adds safe context (a record kind, a file name, a line
number), never plaintext, keys or passphrases. Each class carries the process exit code the
CLI uses, so scripts can tell failures apart (docs/cli.md lists them).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from vault.core.i18n import Text

# Exit codes 0 (success), 1 (unexpected) and 2 (usage) are fixed by convention.
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2


class VaultError(Exception):
    """Something went wrong in the vault."""

    exit_code: ClassVar[int] = EXIT_UNEXPECTED

    def __init__(self, detail: str | tuple[str, str] | None = None, /, **values: object) -> None:
        # With VALUES, DETAIL is a template marked with `N_` (or `N_plural`, counted by the
        # value `n`): the front ends translate the template and fill in the values.
        self.detail: str | None = (
            Text(detail, **values)
            if isinstance(detail, tuple) or (detail is not None and values)
            else detail
        )
        super().__init__(self.message)

    @property
    def summary(self) -> str:
        """The class docstring's first line without its full stop: the message in English,
        and the key the front ends translate it by (the catalogue extracts these lines)."""
        return (type(self).__doc__ or "Vault error.").strip().splitlines()[0].rstrip(".")

    @property
    def message(self) -> str:
        """The user-facing message: the class docstring's first line, plus the safe detail."""
        base = self.summary
        return f"{base}: {self.detail}" if self.detail else f"{base}."


# --- passphrase (3) -------------------------------------------------------------------------


class PassphraseError(VaultError):
    """The passphrase could not be used."""

    exit_code = 3


class WrongPassphrase(PassphraseError):
    """Wrong passphrase (or the vault header is damaged)."""


class PassphraseUnavailable(PassphraseError):
    """No passphrase was given."""


class WrongToken(PassphraseError):
    """The token does not open this vault (wrong vault, cancelled, or its grant revoked)."""


class WeakPassphrase(PassphraseError):
    """The passphrase is not acceptable."""


class WrongRecoveryCode(PassphraseError):
    """The recovery code does not open this vault (another vault's, or an older kit's)."""


# --- not found (4) --------------------------------------------------------------------------


class NotFound(VaultError):
    """Not found."""

    exit_code = 4


class VaultNotFound(NotFound):
    """No vault here."""


class RecordNotFound(NotFound):
    """No such record."""


# --- integrity (5) --------------------------------------------------------------------------


class IntegrityError(VaultError):
    """Integrity check failed: the vault was damaged or tampered with."""

    exit_code = 5


class TamperedRecord(IntegrityError):
    """A record failed authentication (damaged or tampered with)."""


class AuditChainBroken(IntegrityError):
    """The audit log's hash chain does not verify."""


class DamagedDatabase(IntegrityError):
    """The vault database file is damaged."""


class UnsafeVaultFile(IntegrityError):
    """The vault holds something Coffre did not make; Coffre will not use it."""


class BadSignature(IntegrityError):
    """The signature does not verify."""


class TamperedBundle(IntegrityError):
    """The bundle was damaged or tampered with."""


class TruncatedBundle(IntegrityError):
    """The bundle is truncated."""


# --- consent (6) ----------------------------------------------------------------------------


class ConsentRefused(VaultError):
    """Refused: no consent covers this."""

    exit_code = 6


class GrantExpired(ConsentRefused):
    """Refused: the grant has expired."""


class GrantWithdrawn(ConsentRefused):
    """Refused: the grant was withdrawn."""


class TokenExpired(ConsentRefused):
    """Refused: the export token has expired."""


class TokenOnlyExports(ConsentRefused):
    """Refused: an export token only exports its own grant."""


class NothingInScope(ConsentRefused):
    """Refused: the grant's scope selects nothing to share."""


# --- bad input (7) --------------------------------------------------------------------------


class BadInput(VaultError):
    """The input is not valid."""

    exit_code = 7


class MalformedInput(BadInput):
    """The input file is malformed."""


class UnsafeArchive(BadInput):
    """The archive is unsafe and was refused."""


class InvalidParameter(BadInput):
    """Invalid parameter."""


class TruncatedArchive(MalformedInput):
    """The archive is truncated or damaged."""


class WrongFormat(BadInput):
    """The file is not in this import's format."""


class MissingMedia(MalformedInput):
    """A media file the archive refers to is missing."""


class EmptyScope(InvalidParameter):
    """The grant's scope is empty."""


class ContradictoryScope(InvalidParameter):
    """The grant's scope contradicts itself."""


class MalformedAgeKey(BadInput):
    """The age key is malformed."""


class NotForThisIdentity(BadInput):
    """This bundle cannot be opened with the identity given."""


# --- conflicts (8) --------------------------------------------------------------------------


class AlreadyExists(VaultError):
    """Already exists."""

    exit_code = 8


class VaultExists(AlreadyExists):
    """A vault already exists here."""


class OutputExists(AlreadyExists):
    """Not replacing an existing file."""


# --- format (9) and concurrency (10) --------------------------------------------------------


class UnsupportedFormat(VaultError):
    """This vault was written by a newer version of Coffre; upgrade Coffre to open it."""

    exit_code = 9


class VaultBusy(VaultError):
    """The vault is busy (another process holds it for too long); try again."""

    exit_code = 10


# --- remotes (11) -----------------------------------------------------------------------------


class RemoteError(VaultError):
    """The remote could not be used."""

    exit_code = 11


class RemoteUnreachable(RemoteError):
    """The remote could not be reached; nothing was changed, try again later."""


class RemoteDenied(RemoteError):
    """The remote refused the request (check its credentials and permissions)."""


class RemoteEmpty(NotFound):
    """The remote holds no vault."""


class TamperedRemote(IntegrityError):
    """The remote's copy was changed outside Coffre; nothing of it was applied."""


class RemoteRolledBack(IntegrityError):
    """The remote serves an older state than one already seen; nothing of it was applied."""


class RemoteWithheld(IntegrityError):
    """The remote withholds objects a device wrote; nothing of it was applied."""


class PassphraseChangedElsewhere(PassphraseError):
    """The passphrase was changed on another device; unlock with the new one to sync."""


def _with_subclasses(cls: type[VaultError]) -> Iterator[type[VaultError]]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _with_subclasses(sub)


# Every class above, parents before their children: found, not listed, so none is forgotten.
ALL_ERRORS: tuple[type[VaultError], ...] = tuple(_with_subclasses(VaultError))
