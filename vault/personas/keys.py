"""A persona's keys, all derived from the one random secret sealed in its record: its Ed25519
signing key, for each recipient a pairwise signing key and pseudonymous id (two recipients
comparing what they received cannot link the persona), and its X25519 key, which age knows as
a recipient (`age1...`) and an identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from vault.core import crypto, minisign
from vault.core.errors import InvalidParameter
from vault.core.i18n import N_
from vault.personas.records import load_with_secret

if TYPE_CHECKING:
    from vault.core.vault import Vault


@dataclass(frozen=True)
class Signer:
    """An Ed25519 signing key of a persona (its own, or the pairwise one for a recipient).

    `pseudonym` is the id the persona shows that recipient (its own id when not pairwise).
    The seed never leaves this object: callers get public keys and signatures only.
    """

    persona_id: str
    public_key: bytes
    pseudonym: str
    recipient: str | None
    _seed: bytes = field(repr=False)

    @property
    def key_id(self) -> bytes:
        """The 8-byte minisign key number of this key."""
        return crypto.ed25519_key_id(self.public_key)

    def sign(self, message: bytes) -> bytes:
        """A detached 64-byte Ed25519 signature of `message`."""
        return crypto.ed25519_sign(self._seed, message)

    def minisign_public_key(self) -> str:
        """The public key in minisign's base64 form (`minisign -P KEY` takes it)."""
        return minisign.public_key_line(self.public_key, self.key_id)


def pairwise_seed(vault: Vault, ref: str, recipient: str) -> tuple[str, bytes, str]:
    """(persona id, pairwise signing seed, pseudonym) for one recipient: what an export token
    of a grant to that recipient holds to sign its bundles. The persona's secret stays here;
    the seed signs for this recipient only."""
    persona, secret = load_with_secret(vault, ref)
    return persona.id, _signing_seed(secret, recipient), pairwise_id(secret, recipient)


def signer_of_seed(persona_id: str, seed: bytes, pseudonym: str, recipient: str) -> Signer:
    """The pairwise signer rebuilt from a seed `pairwise_seed` gave (on the token path)."""
    return Signer(persona_id, crypto.ed25519_public_key(seed), pseudonym, recipient, seed)


def _signing_seed(secret: bytes, recipient: str | None) -> bytes:
    if recipient is None:
        return crypto.derive_key(secret, "persona-sign")
    return crypto.derive_key(secret, "persona-pairwise-sign", _fingerprint(recipient))


def _fingerprint(recipient: str) -> bytes:
    fp = recipient.strip()
    if not fp:
        raise InvalidParameter(N_("a recipient fingerprint cannot be empty"))
    return fp.encode("utf-8")


def pairwise_id(secret: bytes, recipient: str) -> str:
    """The pseudonymous id a persona shows one recipient: stable for it, unlinkable across."""
    return crypto.derive_key(secret, "persona-pairwise-id", _fingerprint(recipient))[:16].hex()


def signer(vault: Vault, ref: str, *, recipient: str | None = None) -> Signer:
    """The persona's signing key; with `recipient` (its fingerprint), the pairwise one."""
    persona, secret = load_with_secret(vault, ref)
    seed = _signing_seed(secret, recipient)
    pseudonym = persona.id if recipient is None else pairwise_id(secret, recipient)
    return Signer(persona.id, crypto.ed25519_public_key(seed), pseudonym, recipient, seed)


_BECH32: Final = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32(hrp: str, data: bytes) -> str:
    """BIP 173 Bech32 (as age writes its keys), without the 90-character limit."""
    acc = bits = 0
    words: list[int] = []
    for byte in data:
        acc, bits = (acc << 8) | byte, bits + 8
        while bits >= 5:
            bits -= 5
            words.append((acc >> bits) & 31)
    if bits:
        words.append((acc << (5 - bits)) & 31)
    chk = 1
    for v in [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + words + [0] * 6:
        top = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ v
        for i, gen in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            if (top >> i) & 1:
                chk ^= gen
    chk ^= 1
    words += [(chk >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[w] for w in words)


def age_recipient(vault: Vault, ref: str) -> str:
    """The persona's X25519 public key as an age recipient (`age -r age1...` encrypts to it)."""
    return _bech32("age", x25519_public_key(vault, ref))


def age_identity(vault: Vault, ref: str) -> str:
    """The persona's X25519 secret as an age identity, for decrypting inside the vault only."""
    return _bech32("age-secret-key-", x25519_secret_key(vault, ref)).upper()


def x25519_public_key(vault: Vault, ref: str) -> bytes:
    """The persona's X25519 public key (others encrypt to the persona with it)."""
    _persona, secret = load_with_secret(vault, ref)
    return crypto.x25519_keypair(crypto.derive_key(secret, "persona-x25519"))[1]


def x25519_secret_key(vault: Vault, ref: str) -> bytes:
    """The persona's X25519 secret key, for decrypting inside the vault (never export it)."""
    _persona, secret = load_with_secret(vault, ref)
    return crypto.x25519_keypair(crypto.derive_key(secret, "persona-x25519"))[0]
