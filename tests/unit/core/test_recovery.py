"""The recovery kit: the code (typed by hand, a mistake reported as a mistake), the vault
opened and its passphrase reset with it after a forget's epoch rotation and a re-key, a new
kit ending the old one, a replaced or rolled-back row refused, the format 5 migration, and
the code never stored, logged or shown in an error."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import PASSPHRASE, raw_vault_bytes
from vault.core import crypto, recovery, schema
from vault.core.errors import (
    IntegrityError,
    InvalidParameter,
    OutputExists,
    PassphraseUnavailable,
    VaultError,
    WrongPassphrase,
    WrongRecoveryCode,
)
from vault.core.state import open_state, seal_state
from vault.core.vault import Vault

NEW = "a brand new passphrase for the vault"


def _raw(code: str) -> str:
    return code.replace("-", "")


def _set_row(vault_dir: Path, name: str, value: bytes) -> None:
    """Replace a header row as anyone who can write the file can."""
    conn = sqlite3.connect(vault_dir / schema.DB_NAME)
    conn.execute("UPDATE meta SET value=? WHERE name=?", (value, name))
    conn.commit()
    conn.close()


def _row(vault_dir: Path, name: str) -> bytes:
    conn = sqlite3.connect(vault_dir / schema.DB_NAME)
    (value,) = conn.execute("SELECT CAST(value AS BLOB) FROM meta WHERE name=?", (name,)).fetchone()
    conn.close()
    return bytes(value)


# --- the code -------------------------------------------------------------------------------


@given(st.binary(min_size=recovery.SECRET_SIZE, max_size=recovery.SECRET_SIZE))
def test_a_code_reads_back_however_it_is_typed(secret: bytes) -> None:
    code = recovery.format_code(secret)
    groups = code.split("-")
    assert [len(g) for g in groups] == [recovery.GROUP] * (recovery.CODE_LENGTH // recovery.GROUP)
    assert recovery.parse_code(code) == secret
    assert recovery.parse_code(code.lower()) == secret
    assert recovery.parse_code(" ".join(groups)) == secret
    assert recovery.parse_code(_raw(code)) == secret
    # What a hand may write for 0 and 1 reads as them.
    assert recovery.parse_code(code.replace("0", "O").replace("1", "l")) == secret


def test_a_code_holds_at_least_160_random_bits() -> None:
    assert recovery.SECRET_SIZE * 8 >= 160
    secrets = {recovery.parse_code(recovery.format_code(crypto.random_bytes(21))) for _ in range(8)}
    assert len(secrets) == 8


def test_every_slip_of_one_character_or_one_swap_is_reported_as_mistyped() -> None:
    raw = _raw(recovery.format_code(crypto.random_bytes(recovery.SECRET_SIZE)))
    slips = [
        raw[:i] + c + raw[i + 1 :]
        for i in range(len(raw))
        for c in recovery.ALPHABET
        if c != raw[i]
    ]
    slips += [
        raw[:i] + raw[i + 1] + raw[i] + raw[i + 2 :]
        for i in range(len(raw) - 1)
        if raw[i] != raw[i + 1]
    ]
    slips += [raw[:-1], raw + "0", raw[:5] + "U" + raw[6:], ""]
    for slip in slips:
        with pytest.raises(InvalidParameter) as caught:
            recovery.parse_code(slip)
        assert raw not in str(caught.value)


@given(st.binary(max_size=200), st.data())
def test_a_sealed_box_opens_only_whole_and_with_its_key(data: bytes, draw: st.DataObject) -> None:
    secret, public = crypto.box_keypair(crypto.new_key())
    sealed = crypto.box_seal(public, data)
    assert crypto.box_open(secret, public, sealed) == data
    flip = draw.draw(st.integers(0, len(sealed) * 8 - 1))
    changed = bytearray(sealed)
    changed[flip // 8] ^= 1 << (flip % 8)
    other_secret, other_public = crypto.box_keypair(crypto.new_key())
    for key, pub, box in ((secret, public, bytes(changed)), (other_secret, other_public, sealed)):
        with pytest.raises(crypto.CryptoFailure):
            crypto.box_open(key, pub, box)
    with pytest.raises(crypto.CryptoFailure):
        crypto.box_open(secret, public, sealed[: draw.draw(st.integers(0, len(sealed) - 1))])


# --- opening the vault with it ----------------------------------------------------------------


def test_the_kit_gives_the_vault_back_when_the_passphrase_is_forgotten(vault_dir: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        with v.store.write() as txn:
            rid = txn.put("note", b"kept through the recovery")
        assert v.recovery_public_key() is None
        kit = v.make_recovery_kit()
        assert v.recovery_public_key() == recovery.kit_keys(recovery.parse_code(kit.code)).public
    with Vault.reset_passphrase_with_code(vault_dir, kit.code.lower(), NEW) as v:
        assert v.store.get("note", rid).data == b"kept through the recovery"
        entry = v.audit_log()[-1]
        assert (entry.action, entry.details.get("via")) == ("vault.passwd", "recovery-code")
    with pytest.raises(WrongPassphrase):
        Vault.open(vault_dir, PASSPHRASE)
    with Vault.open(vault_dir, NEW) as v:
        assert v.check() == []
        v.change_passphrase(PASSPHRASE)  # an ordinary change: the kit keeps working too
    # The kit keeps working after the reset and the change.
    with Vault.open_with_recovery_code(vault_dir, kit.code) as v:
        assert v.store.get("note", rid).data == b"kept through the recovery"


def test_the_kit_follows_a_forget_and_a_rekey_made_after_it(vault_dir: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        with v.store.write() as txn:
            kept = txn.put("note", b"kept")
            gone = txn.put("note", b"forgotten")
        kit = v.make_recovery_kit()
        before_forget = _row(vault_dir, recovery.META_ROW)
        epoch = v.store.state().epoch_no
        with v.store.write() as txn:
            txn.delete("note", gone)
            txn.rotate_epoch()
        assert v.store.state().epoch_no == epoch + 1
    with Vault.open_with_recovery_code(vault_dir, kit.code) as v:
        assert v.store.get("note", kept).data == b"kept"
        assert not v.store.exists("note", gone)
    with Vault.open(vault_dir, PASSPHRASE) as v:
        v.rekey(PASSPHRASE)
    with Vault.open_with_recovery_code(vault_dir, kit.code) as v:
        assert v.store.get("note", kept).data == b"kept"
        assert v.check() == []
    # The row of the epoch before the forget, put back, is refused rather than used.
    _set_row(vault_dir, recovery.META_ROW, before_forget)
    with pytest.raises(IntegrityError):
        Vault.open_with_recovery_code(vault_dir, kit.code)


def test_a_mistyped_code_a_wrong_code_and_no_kit_are_told_apart(
    vault_dir: Path, tmp_path: Path
) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        with pytest.raises(WrongRecoveryCode):  # no kit made yet
            Vault.open_with_recovery_code(vault_dir, recovery.format_code(bytes(21)))
        kit = v.make_recovery_kit()
    with Vault.create(tmp_path / "other", PASSPHRASE, kdf="minimum") as other:
        other_kit = other.make_recovery_kit()
    raw = _raw(kit.code)
    slip = raw[:-1] + ("0" if raw[-1] != "0" else "1")
    errors: list[VaultError] = []
    with pytest.raises(InvalidParameter) as mistyped:
        Vault.open_with_recovery_code(vault_dir, slip)
    with pytest.raises(WrongRecoveryCode) as wrong:
        Vault.open_with_recovery_code(vault_dir, other_kit.code)
    errors += [mistyped.value, wrong.value]
    assert mistyped.value.exit_code != wrong.value.exit_code
    for error in errors:
        assert raw not in str(error) and _raw(other_kit.code) not in str(error)


def test_a_new_kit_ends_the_previous_one(vault_dir: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        first = v.make_recovery_kit()
        first_row = _row(vault_dir, recovery.META_ROW)
        second = v.make_recovery_kit()
        assert first.code != second.code and first.id != second.id
        actions = [e.action for e in v.audit_log()]
    assert actions.count("vault.recovery_kit") == 2
    with pytest.raises(WrongRecoveryCode):
        Vault.open_with_recovery_code(vault_dir, first.code)
    Vault.open_with_recovery_code(vault_dir, second.code).close()
    # Even with its own row put back, the first kit is refused: the state names the second.
    _set_row(vault_dir, recovery.META_ROW, first_row)
    with pytest.raises(WrongRecoveryCode):
        Vault.open_with_recovery_code(vault_dir, first.code)


def test_a_row_sealed_by_someone_else_is_refused(vault_dir: Path) -> None:
    """Whoever learns the kit's public key can seal a box to it: without the authentication
    key, what it holds (keys of the forger's choosing) is refused, not used."""
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        kit = v.make_recovery_kit()
        public = v.recovery_public_key()
        epoch_no = v.store.state().epoch_no
    assert public is not None
    forged = struct.pack(">Q32s32s32s", epoch_no, crypto.new_key(), crypto.new_key(), bytes(32))
    _set_row(vault_dir, recovery.META_ROW, recovery.seal_for_recovery(public, forged))
    with pytest.raises(IntegrityError):
        Vault.open_with_recovery_code(vault_dir, kit.code)
    _set_row(vault_dir, recovery.META_ROW, b"\x00" * 200)
    with pytest.raises(WrongRecoveryCode):
        Vault.open_with_recovery_code(vault_dir, kit.code)


def test_the_kits_public_key_cannot_be_replaced(vault_dir: Path) -> None:
    """The public key lives in the sealed state, not in a header row of its own: it is not
    in the file in clear, and a state changed to carry another one does not open."""
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        v.make_recovery_kit()
        public = v.recovery_public_key()
        state = v.store.state()
    assert public is not None and public not in raw_vault_bytes(vault_dir)
    sealed = bytearray(_row(vault_dir, "state"))
    for offset in (30, len(sealed) - 50):  # in the digests, and in the recovery keys
        changed = bytearray(sealed)
        changed[offset] ^= 1
        _set_row(vault_dir, "state", bytes(changed))
        with pytest.raises(IntegrityError):
            Vault.open(vault_dir, PASSPHRASE)
    _set_row(vault_dir, "state", bytes(sealed))
    with Vault.open(vault_dir, PASSPHRASE) as v:
        assert v.store.state().recovery_public == state.recovery_public


def test_a_vault_opened_with_the_code_wraps_nothing_before_a_new_passphrase(
    vault_dir: Path,
) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        kit = v.make_recovery_kit()
        epoch = v.store.state().epoch_no
    with (
        Vault.open_with_recovery_code(vault_dir, kit.code) as v,
        pytest.raises(PassphraseUnavailable),
        v.store.write() as txn,
    ):
        txn.rotate_epoch()
    with Vault.open(vault_dir, PASSPHRASE) as v:
        assert v.store.state().epoch_no == epoch


def test_the_code_is_never_stored_logged_or_shown(vault_dir: Path, tmp_path: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        kit = v.make_recovery_kit(["https://s3.example.org/vault"])
    secret = recovery.parse_code(kit.code)
    keys = recovery.kit_keys(secret)
    with Vault.reset_passphrase_with_code(vault_dir, kit.code, NEW) as v:
        log = json.dumps([e.as_dict() for e in v.audit_log()])
    raw = raw_vault_bytes(vault_dir)
    for form in (kit.code, _raw(kit.code), kit.code.lower(), secret.hex(), keys.public.hex()):
        assert form.encode() not in raw and form not in log
    for key in (secret, keys.secret, keys.auth, keys.public):
        assert key not in raw
    assert kit.code not in repr(kit) and kit.code not in json.dumps(kit.as_dict())
    assert kit.id in log


def test_the_kit_file_is_private_and_never_overwritten(vault_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "kit.txt"
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        kit = recovery.write_kit(v, target, remotes=[], force=False)
        text = target.read_text("utf-8")
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
        assert kit.code in text and kit.vault_id in text and kit.id in text
        with pytest.raises(OutputExists):
            recovery.write_kit(v, target, remotes=[], force=False)
        assert target.read_text("utf-8") == text
        # A save that fails leaves the current kit current.
        with pytest.raises(OSError):
            v.make_recovery_kit(save=lambda _kit: (_ for _ in ()).throw(OSError("disk full")))
    Vault.open_with_recovery_code(vault_dir, kit.code).close()
    with Vault.open(vault_dir, PASSPHRASE) as v:
        newer = recovery.write_kit(v, target, remotes=["sftp://example.org/v"], force=True)
    assert newer.code in target.read_text("utf-8") and "sftp://example.org/v" in target.read_text()
    with pytest.raises(WrongRecoveryCode):
        Vault.open_with_recovery_code(vault_dir, kit.code)


def test_what_the_remote_engine_seals_to_the_kit_opens_with_its_code(fresh_vault: Vault) -> None:
    kit = fresh_vault.make_recovery_kit()
    public = fresh_vault.recovery_public_key()
    assert public is not None
    sealed = recovery.seal_for_recovery(public, b"remote head keys")
    assert recovery.open_with_recovery_code(kit.code, sealed) == b"remote head keys"
    other = recovery.format_code(crypto.random_bytes(recovery.SECRET_SIZE))
    with pytest.raises(WrongRecoveryCode):
        recovery.open_with_recovery_code(other, sealed)
    with pytest.raises(InvalidParameter):
        recovery.open_with_recovery_code(kit.code[:-1], sealed)


def test_a_format_4_vault_gains_room_for_a_kit(vault_dir: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        with v.store.write() as txn:
            rid = txn.put("note", b"kept")
        _set_row(vault_dir, "state", seal_state(v.store.ring, v.store.state(), format=4))
    _set_row(vault_dir, "format", b"4")
    with pytest.raises(WrongRecoveryCode):  # a format 4 vault never had a kit
        Vault.open_with_recovery_code(vault_dir, recovery.format_code(bytes(21)))
    with Vault.open(vault_dir, PASSPHRASE) as v:
        assert v.info.format == schema.FORMAT_VERSION == 5
        assert v.store.get("note", rid).data == b"kept"
        with pytest.raises(IntegrityError):  # the state is bound to the new number
            open_state(v.store.ring, v.store.header("state"), format=4)
        assert v.recovery_public_key() is None
        kit = v.make_recovery_kit()
    with Vault.open_with_recovery_code(vault_dir, kit.code) as v:
        assert v.store.get("note", rid).data == b"kept"


def test_a_forget_leaves_no_old_recovery_row_behind(fresh_vault: Vault, tmp_path: Path) -> None:
    """The row of the epoch a forget destroyed (it holds that epoch's key) is overwritten in
    every file; the kit opens the vault as the forget left it, and a copy made before opens
    with it as that copy would with the passphrase of its time."""
    from vault import personas
    from vault.forget import Target, forget

    ana = personas.add_persona(fresh_vault, "Ana")
    personas.add_persona(fresh_vault, "Bo")
    kit = fresh_vault.make_recovery_kit()
    old_row = fresh_vault.store.header(recovery.META_ROW)
    fresh_vault.store.checkpoint()
    copy = tmp_path / "backup"
    shutil.copytree(fresh_vault.path, copy)
    forget(fresh_vault, Target.of_persona(ana.id))
    assert old_row not in raw_vault_bytes(fresh_vault.path)
    with Vault.open_with_recovery_code(fresh_vault.path, kit.code) as v:
        assert [p.name for p in personas.list_personas(v)] == ["Bo"]
    with Vault.open_with_recovery_code(copy, kit.code) as old:
        assert sorted(p.name for p in personas.list_personas(old)) == ["Ana", "Bo"]
