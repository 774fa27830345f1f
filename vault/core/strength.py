"""How hard a passphrase is to guess, estimated with zxcvbn (Dropbox's estimator: dictionary
words, names, keyboard patterns, sequences, dates and repeats, not just character classes).

One function for every front end: `coffre init` and `passwd`, and the TUI's create screen,
call `assess` and show its `reason`; `require` refuses what is below the floor. Nothing here
prints, and no result holds or repeats the passphrase.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vault.core.errors import WeakPassphrase
from vault.core.i18n import N_, N_plural, Text

MIN_LENGTH = 8
"""Shorter passphrases are refused whatever their estimate."""
FLOOR_SCORE = 2
"""zxcvbn scores run 0 (guessed in under 10^3 tries) to 4 (over 10^10): below 2 is refused."""
GOOD_SCORE = 3
"""At the floor but below this (score 2), a passphrase is accepted with a warning."""
_ESTIMATED_LENGTH = 72
"""zxcvbn refuses longer input (its matching grows fast with length); a passphrase longer
than this is estimated on its first 72 characters, which only underestimates it."""


@dataclass(frozen=True)
class Strength:
    """An estimate: zxcvbn's score (0 to 4), the length, and a short reason for people."""

    score: int
    length: int
    reason: str

    @property
    def acceptable(self) -> bool:
        """At or above the floor: long enough and not guessable in a few thousand tries."""
        return self.length >= MIN_LENGTH and self.score >= FLOOR_SCORE

    @property
    def weak(self) -> bool:
        """Accepted, but worth a warning (or refused, when not acceptable)."""
        return not self.acceptable or self.score < GOOD_SCORE


def assess(passphrase: str, *, context: Iterable[str] = ()) -> Strength:
    """Estimate PASSPHRASE; CONTEXT holds words a guesser would try first (a vault's path,
    a persona's name), which then count as easy."""
    # Imported on use: it loads its dictionaries. It ships no type hints.
    from zxcvbn import zxcvbn  # type: ignore[import-untyped]

    length = len(passphrase)
    if not passphrase:
        return Strength(0, 0, Text(N_("it is empty")))
    result = zxcvbn(passphrase[:_ESTIMATED_LENGTH], user_inputs=[w for w in context if w])
    score = int(result["score"])
    if length < MIN_LENGTH:
        reason: str = Text(
            N_plural(
                "it has {n} character; use at least {least}, ideally a few words",
                "it has {n} characters; use at least {least}, ideally a few words",
            ),
            n=length,
            least=MIN_LENGTH,
        )
    elif score >= GOOD_SCORE:
        reason = Text(N_("it would resist a long offline guessing attack"))
    else:
        feedback = result["feedback"]
        # zxcvbn's warnings describe the kind of pattern ("a very common password"), never the
        # text itself.
        why = str(feedback.get("warning") or "").rstrip(".")
        when = result["crack_times_display"]["offline_slow_hashing_1e4_per_second"]
        # zxcvbn speaks English only: its warning and its time are shown as it writes them.
        guessed = N_("it could be guessed in {time} offline; add a few uncommon words")
        reason = Text(guessed, time=when)
        if why:
            reason = Text(
                N_("{warning}; {reason}"), warning=why[0].lower() + why[1:], reason=reason
            )
    return Strength(score, length, reason)


def require(passphrase: str, *, weak_ok: bool = False, context: Iterable[str] = ()) -> Strength:
    """`assess`, refusing (WeakPassphrase, exit 3) a passphrase below the floor unless
    WEAK_OK; an empty one is refused even then."""
    strength = assess(passphrase, context=context)
    if not passphrase:
        raise WeakPassphrase(N_("it is empty"))
    if not strength.acceptable and not weak_ok:
        raise WeakPassphrase(N_("{reason} (--weak-ok accepts it anyway)"), reason=strength.reason)
    return strength
