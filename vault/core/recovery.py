"""The recovery kit: a code kept on paper that opens the vault when the passphrase is lost.

    code: 168 random bits and a bech32 checksum, 40 Crockford base32 characters in groups of 5
    code --HKDF--> box seed --> the kit's X25519 key pair
         --HKDF--> the kit's authentication key
    header row `recovery` = sealed box, to the kit's public key, of
                            (epoch number, root key, epoch key, tag under the authentication key)

No Argon2 on this path: the code has full entropy, so HKDF is enough. The unlocked vault
keeps the kit's public key and authentication key in its sealed state (format 5), never the
code: every epoch rotation (a forget) and every re-key seals the new root and epoch keys to
the kit in the same transaction, without the code being present, and a passphrase change
leaves them as they are. The keys are sealed to a public key because the vault must not hold
anything that opens them: whoever once held the root key (an old passphrase and an old copy)
learns the public key, which seals, and nothing that opens what a later re-key seals.

A sealed box is anonymous: anyone who knows the public key can make one. The tag, under a key
only the code and the unlocked vault have, is what tells the row Coffre wrote from one sealed
by someone else; and once it opens, the root must open the vault's sealed state, which must
name this kit and the same epoch (an old row put back, or an older kit's, is refused).

Lost passphrase and kit = the vault is gone: nothing else opens it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from vault.core import crypto, i18n
from vault.core.errors import IntegrityError, InvalidParameter, WrongRecoveryCode
from vault.core.i18n import N_
from vault.core.keys import FORMAT_TAG, KeyRing
from vault.core.outputs import check_free, pending_output
from vault.core.state import VaultState, open_state

if TYPE_CHECKING:
    from vault.core.txn import Txn
    from vault.core.vault import Vault

META_ROW: Final = "recovery"
SECRET_SIZE: Final = 21  # 168 bits from the OS
GROUP: Final = 5
# Crockford's base32: no I, L, O or U, so what is copied by hand reads back one way.
ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_CHARS: Final = 34  # 170 bits: the secret, then 2 zero bits
CHECK_CHARS: Final = 6  # bech32's checksum: any mistake in up to 4 characters is caught
CODE_LENGTH: Final = DATA_CHARS + CHECK_CHARS  # 40 characters, 8 groups of 5
_PAD_BITS: Final = DATA_CHARS * 5 - SECRET_SIZE * 8
_READ_AS: Final = {"O": "0", "I": "1", "L": "1"}  # what a person may have written instead
_SEPARATORS: Final = frozenset(" -_.\t\r\n")
# The checksum covers this prefix too (bech32's human-readable part): a code of another kind
# with a valid checksum of its own is still reported as mistyped.
_PREFIX: Final = [ord(c) >> 5 for c in "coffre-rk"] + [0] + [ord(c) & 31 for c in "coffre-rk"]
_PAYLOAD: Final = struct.Struct(">Q32s32s32s")  # epoch number, root, epoch key, tag


@dataclass(frozen=True)
class KitKeys:
    """What a recovery code derives: the kit's box key pair and its authentication key."""

    secret: bytes = field(repr=False)
    public: bytes
    auth: bytes = field(repr=False)


def format_code(secret: bytes) -> str:
    """The code of SECRET as a person copies it: 8 groups of 5 characters joined by dashes."""
    value = int.from_bytes(secret, "big") << _PAD_BITS
    data = [(value >> (5 * i)) & 31 for i in reversed(range(DATA_CHARS))]
    polymod = crypto.bech32_polymod(_PREFIX + data + [0] * CHECK_CHARS) ^ 1
    check = [(polymod >> (5 * i)) & 31 for i in reversed(range(CHECK_CHARS))]
    chars = "".join(ALPHABET[d] for d in data + check)
    return "-".join(chars[i : i + GROUP] for i in range(0, CODE_LENGTH, GROUP))


def parse_code(text: str) -> bytes:
    """The secret of a recovery code as typed: case, spaces and dashes ignored, O read as 0
    and I or L as 1. InvalidParameter for a code that cannot be one (wrong length, a
    character no code has, or a checksum that does not hold: a typing mistake), so a
    mistyped code is never reported as a wrong one. The message never repeats the code."""
    chars = [_READ_AS.get(c, c) for c in text.upper() if c not in _SEPARATORS]
    if len(chars) != CODE_LENGTH:
        raise InvalidParameter(
            N_(
                "a recovery code has {length} letters and digits (in groups of {group}); "
                "this one has {found}"
            ),
            length=CODE_LENGTH,
            group=GROUP,
            found=len(chars),
        )
    digits = []
    for position, c in enumerate(chars, start=1):
        digit = ALPHABET.find(c)
        if digit < 0:
            raise InvalidParameter(
                N_("character {position} of the recovery code is not one a code holds"),
                position=position,
            )
        digits.append(digit)
    value = 0
    for digit in digits[:DATA_CHARS]:
        value = value << 5 | digit
    if crypto.bech32_polymod(_PREFIX + digits) != 1 or value & ((1 << _PAD_BITS) - 1):
        raise InvalidParameter(
            N_(
                "the recovery code is mistyped (its checksum does not match): compare each "
                "group with the kit"
            )
        )
    return (value >> _PAD_BITS).to_bytes(SECRET_SIZE, "big")


def kit_keys(secret: bytes) -> KitKeys:
    """The kit's keys, from the code's secret (HKDF: the secret has full entropy)."""
    box_secret, public = crypto.box_keypair(crypto.derive_key(secret, "recovery-box"))
    return KitKeys(box_secret, public, crypto.derive_key(secret, "recovery-auth"))


def kit_id(public: bytes) -> str:
    """A short name of a kit (16 hex digits), printed on it and in the audit log, so the
    current kit can be told from an older one without showing its code."""
    return crypto.keyed_hash(b"coffre/v1/recovery-kit-id", public)[:8].hex()


def _tag(auth: bytes, vault_id: bytes, epoch_no: int, root: bytes, epoch_key: bytes) -> bytes:
    data = FORMAT_TAG + b"recovery\x00" + vault_id + struct.pack(">Q", epoch_no)
    return crypto.keyed_hash(auth, data + root + epoch_key)


def seal_keys(ring: KeyRing, state: VaultState) -> bytes:
    """The `recovery` row: the ring's root and current epoch key sealed to the state's kit."""
    tag = _tag(state.recovery_mac, ring.vault_id, ring.epoch_no, ring.root, ring.epoch_key)
    payload = _PAYLOAD.pack(ring.epoch_no, ring.root, ring.epoch_key, tag)
    return crypto.box_seal(state.recovery_public, payload)


def reseal(txn: Txn) -> None:
    """Seal the keys now in use to the kit, if one was made: called in the transaction that
    rotates the epoch or re-keys, so the kit opens the vault as that transaction leaves it."""
    if txn.state.recovery_public:
        txn.set_meta(META_ROW, seal_keys(txn.store.ring, txn.state))


def unlock(meta: dict[str, bytes], secret: bytes) -> KeyRing:
    """The vault's keys from its header and a recovery code's secret, once everything they
    open agrees: WrongRecoveryCode when the code does not open the row (another vault's, or
    replaced by a newer kit), IntegrityError when the row opens but is not what this vault
    wrote or not current. The ring holds no passphrase key: set a new passphrase next."""
    sealed = meta.get(META_ROW)
    if sealed is None:
        raise WrongRecoveryCode(N_("no recovery kit was made for this vault"))
    keys = kit_keys(secret)
    try:
        payload = crypto.box_open(keys.secret, keys.public, sealed)
        epoch_no, root, epoch_key, tag = _PAYLOAD.unpack(payload)
    except (crypto.CryptoFailure, struct.error):
        raise WrongRecoveryCode from None
    vault_id = meta["vault_id"]
    expected = _tag(keys.auth, vault_id, epoch_no, root, epoch_key)
    if not crypto.constant_time_equal(tag, expected):
        # Sealed to this kit's public key by someone without its authentication key.
        raise IntegrityError(N_("the recovery row was not written by this vault"))
    ring = KeyRing(vault_id, root, b"", epoch_no, epoch_key)
    state = open_state(ring, meta["state"])
    if state.recovery_public != keys.public:
        ring.wipe()
        raise WrongRecoveryCode(N_("a newer recovery kit replaced this one"))
    if state.epoch_no != epoch_no:
        ring.wipe()
        raise IntegrityError(N_("the recovery row is not the vault's current one (put back?)"))
    return ring


# --- what the remote engine calls ----------------------------------------------------------


def seal_for_recovery(public_key: bytes, data: bytes) -> bytes:
    """Seal DATA to a kit's public key (`Vault.recovery_public_key`), so the kit's code opens
    it. Anonymous: whoever opens it must authenticate what it holds by other means."""
    if len(public_key) != crypto.KEY_SIZE:
        raise InvalidParameter(N_("a recovery public key has 32 bytes"))
    return crypto.box_seal(public_key, data)


def open_with_recovery_code(code: str, sealed: bytes) -> bytes:
    """Open what `seal_for_recovery` sealed, with the kit's code as typed: InvalidParameter
    for a mistyped code, WrongRecoveryCode when the code does not open it."""
    keys = kit_keys(parse_code(code))
    try:
        return crypto.box_open(keys.secret, keys.public, sealed)
    except crypto.CryptoFailure:
        raise WrongRecoveryCode from None


# --- the kit itself ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RecoveryKit:
    """A kit as made: the code appears only here and in the kit's text, nowhere else."""

    id: str
    vault_id: str
    made: datetime
    remotes: tuple[str, ...]
    code: str = field(repr=False)

    def as_dict(self) -> dict[str, object]:
        """What a front end may show of the kit: never its code."""
        return {
            "id": self.id,
            "vault": self.vault_id,
            "made": self.made.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "remotes": list(self.remotes),
        }

    def text(self) -> str:
        """The printable kit: plain text, all a person needs besides a copy of the vault, in
        the person's language (their own paper: English when no catalogue speaks it)."""
        _ = i18n.translator(i18n.language())
        remotes = "\n".join(f"  {url}" for url in self.remotes) or "  " + _(NO_REMOTE)
        made = self.made.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return _(KIT_TEXT).format(
            made=made, vault_id=self.vault_id, kit_id=self.id, remotes=remotes, code=self.code
        )


KIT_TEXT: Final = N_("""COFFRE RECOVERY KIT

Made          {made}
Vault id      {vault_id}
Kit id        {kit_id}
Remotes
{remotes}

Recovery code

    {code}

Passphrase (write it here by hand if you wish, or keep it elsewhere):

    ____________________________________________________________

What this kit does
- If you forget your passphrase: `coffre passwd --recovery-code` asks for this code and
  sets a new passphrase. Letters and digits count; case and dashes do not.
- Keep it on paper, in a safe place. Anyone with this code and a copy of the vault (or of
  its remote) can open the vault, without the passphrase.
- Lost passphrase + this kit = your vault back.
  Lost kit + lost passphrase = your vault is gone: nobody can open it, not even Coffre.
- Making a new kit makes this one stop opening the vault. A copy of the vault made while
  this kit was current still opens with it, as it would with the passphrase of that time.
""")
NO_REMOTE: Final = N_("(none yet)")  # the kit's remotes before any is added


def make_kit(
    vault: Vault, remotes: Sequence[str], save: Callable[[RecoveryKit], None] | None
) -> RecoveryKit:
    """A new code; the vault's keys sealed to it, and the previous kit's row replaced, in one
    transaction. SAVE runs inside it, before the commit: if saving fails, the previous kit
    stays the current one and nothing changed."""
    secret = crypto.random_bytes(SECRET_SIZE)
    keys = kit_keys(secret)
    with vault.store.write() as txn:
        kit = RecoveryKit(
            kit_id(keys.public),
            vault.info.vault_id,
            vault.clock.now().astimezone(UTC).replace(microsecond=0),
            tuple(remotes),
            format_code(secret),
        )
        txn.state.recovery_public, txn.state.recovery_mac = keys.public, keys.auth
        reseal(txn)
        txn.audit("vault.recovery_kit", kit=kit.id)
        if save is not None:
            save(kit)
    return kit


def write_kit(vault: Vault, target: Path, *, remotes: Sequence[str], force: bool) -> RecoveryKit:
    """Make a new kit and write its text to TARGET the way every output file is written
    (0600, complete or not at all; an existing file only with FORCE). The file is in place
    before the vault commits the kit; if the commit then fails, the file is removed: no file
    ever holds a code that does not open the vault."""
    check_free([target], force=force)
    published = False
    with pending_output(target, force=force) as pending:

        def save(kit: RecoveryKit) -> None:
            nonlocal published
            pending.file.write(kit.text().encode("utf-8"))
            pending.publish()
            published = True

        try:
            return make_kit(vault, remotes, save)
        except BaseException:
            if published:
                target.unlink(missing_ok=True)
            raise
