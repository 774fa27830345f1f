"""The vault's clock: its formats, and the one clock every stamp of the library comes from."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE
from vault import content
from vault import personas as identities
from vault import sharing as consent
from vault.core import crypto
from vault.core.clock import SYSTEM_CLOCK, FixedClock, iso
from vault.core.errors import GrantExpired, InvalidParameter
from vault.core.vault import Vault
from vault.forget import rules

AT = datetime(2031, 2, 3, 4, 5, 6, 789_000, tzinfo=UTC)
AT_ISO = "2031-02-03T04:05:06Z"


def test_a_fixed_clock_tells_its_instant_in_every_form() -> None:
    clock = FixedClock(AT)
    assert clock.now() == AT
    assert clock.iso() == AT_ISO
    assert clock.ms() == 1_927_857_906_789  # calendar.timegm, plus the ms
    assert clock.today() == date(2031, 2, 3)


def test_times_are_told_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    clock = FixedClock(AT.astimezone(paris))
    assert clock.now().utcoffset() == timedelta(0)
    assert clock.iso() == iso(AT) == AT_ISO
    with pytest.raises(InvalidParameter):
        FixedClock(datetime(2031, 2, 3))  # naive: which zone?


def test_the_system_clock_is_aware_utc() -> None:
    before = datetime.now(UTC)
    now = SYSTEM_CLOCK.now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert before <= now <= datetime.now(UTC)
    assert SYSTEM_CLOCK.iso().endswith("Z") and len(SYSTEM_CLOCK.iso()) == len(AT_ISO)


def test_a_vault_stamps_with_its_clock(vault_dir: Path) -> None:
    """The audit log, personas, recipients, content items and retention rules all take their
    time from the clock the vault was opened with."""
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum", clock=FixedClock(AT)) as v:
        assert v.clock.now() == AT
        persona = identities.add_persona(v, "Jane")
        assert (persona.created, persona.updated) == (AT_ISO, AT_ISO)
        recipient = consent.add_recipient(v, "Clinic", crypto.age_keygen()[1])
        assert recipient.created == AT_ISO
        item = content.add(v, [b"text"], content.ItemMeta("Hello"), persona=persona.id)
        assert item.created == AT_ISO
        assert rules.add_rule(v, "metric", "steps", "30d").created == AT_ISO
    later = AT + timedelta(days=1)
    with Vault.open(vault_dir, PASSPHRASE, clock=FixedClock(later)) as v:
        edited = identities.update_persona(v, persona.id, name="Jane Doe")
        assert (edited.created, edited.updated) == (AT_ISO, iso(later))
        log = v.audit_log()
    assert [e.time for e in log[:-1]] == [AT_ISO] * (len(log) - 1)
    assert (log[-1].action, log[-1].time) == ("persona.edit", iso(later))


def test_grants_are_given_and_expire_by_the_vault_clock(vault_dir: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum", clock=FixedClock(AT)) as v:
        persona = identities.add_persona(v, "Jane", [identities.parse_attribute("email", "j@x.y")])
        consent.add_recipient(v, "Clinic", crypto.age_keygen()[1])
        grant = consent.create_grant(
            v,
            recipient="Clinic",
            persona=persona.id,
            scope=consent.ScopeRequest(attributes="email"),
            purpose="dpv:ServiceProvision",
            valid_until="2031-02-10",
        )
        assert (grant.created, grant.history[0].time) == (AT_ISO, AT_ISO)
        assert consent.check_exportable(v, grant) == grant
    with Vault.open(vault_dir, PASSPHRASE, clock=FixedClock(AT + timedelta(days=30))) as v:
        with pytest.raises(GrantExpired):
            consent.check_exportable(v, grant)
        assert consent.get_grant(v, grant.id).history[-1].status == consent.EXPIRED
