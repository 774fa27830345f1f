"""The clock of a vault: every time the library stamps (audit entries, records, receipts,
exports) or compares with (expiries, retention rules) comes from `Vault.clock`, so a test or a
reproducible demo fixes the time in one place instead of patching each module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from vault.core.errors import InvalidParameter
from vault.core.i18n import N_

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC to the second, with `Z`: the form of every time Coffre stores."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Clock(ABC):
    """Tells the time; a subclass says where the time comes from."""

    @abstractmethod
    def now(self) -> datetime:
        """The current instant, as an aware UTC datetime."""

    def iso(self) -> str:
        """The current instant as RFC 3339 UTC to the second (`2026-06-15T09:30:00Z`)."""
        return iso(self.now())

    def ms(self) -> int:
        """The current instant in milliseconds since the Unix epoch (the unit of samples)."""
        return (self.now() - _EPOCH) // _MS  # exact: a float timestamp can round down a ms

    def today(self) -> date:
        """The current UTC date."""
        return self.now().date()


class SystemClock(Clock):
    """The operating system's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class FixedClock(Clock):
    """A clock stopped at one instant: tests and reproducible demos."""

    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise InvalidParameter(N_("a fixed clock needs an aware datetime (with a time zone)"))

    def now(self) -> datetime:
        return self.at.astimezone(UTC)


SYSTEM_CLOCK: Final = SystemClock()
"""The clock of every vault not given another, and of work done without a vault (checking a
bundle received)."""
