"""Passphrase strength (`vault.core.strength`): the floor, the warning band, no echo."""

from __future__ import annotations

import pytest

from tests.conftest import PASSPHRASE
from vault.core.errors import WeakPassphrase
from vault.core.strength import FLOOR_SCORE, GOOD_SCORE, MIN_LENGTH, assess, require


@pytest.mark.parametrize("weak", ["", "a", "xy", "1234567", "password", "password1", "qwertyuiop"])
def test_below_the_floor_is_refused(weak: str) -> None:
    strength = assess(weak)
    assert not strength.acceptable and strength.weak
    with pytest.raises(WeakPassphrase):
        require(weak)


def test_short_is_refused_whatever_the_score() -> None:
    # Seven random-looking characters score well with zxcvbn but are still too short.
    short = "q7#Kd!z"
    assert len(short) < MIN_LENGTH
    assert not assess(short).acceptable
    assert "7 characters" in assess(short).reason


@pytest.mark.parametrize("strong", [PASSPHRASE, "amber-basil-cedar-delta", "tundra quartz lumen"])
def test_word_passphrases_pass_without_a_warning(strong: str) -> None:
    strength = require(strong)
    assert strength.score >= GOOD_SCORE and not strength.weak


def test_the_band_between_floor_and_good_is_accepted_with_a_warning() -> None:
    strength = require("hunter22hunter")
    assert FLOOR_SCORE <= strength.score < GOOD_SCORE
    assert strength.acceptable and strength.weak


def test_weak_ok_accepts_all_but_empty() -> None:
    assert require("xy", weak_ok=True).weak
    with pytest.raises(WeakPassphrase, match="empty"):
        require("", weak_ok=True)


def test_context_words_count_as_easy() -> None:
    word = "Zygomorphicbanquet"
    assert assess(word, context=[word]).score < assess(word).score


def test_reasons_never_hold_the_passphrase() -> None:
    for secret in ("password1", "hunter22hunter", "qwertyuiop", "Zygomorphicbanquet"):
        strength = assess(secret)
        assert secret not in strength.reason and secret.lower() not in strength.reason.lower()
        assert secret not in repr(strength)


def test_a_very_long_passphrase_is_estimated_without_error() -> None:
    # zxcvbn refuses more than 72 characters: the estimate uses the start only.
    long = "correct horse battery staple " * 10
    assert require(long).acceptable
