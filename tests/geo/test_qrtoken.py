"""Household QR tokens: format, forgiving input, and a check symbol that catches every typo
of the kinds people make (proved exhaustively over a sample of tokens)."""

from __future__ import annotations

import random
import re

import pytest

from geo import qrtoken
from geo.errors import InvalidInput
from geo.qrtoken import ALPHABET, LENGTH, check_character, display, is_well_formed, normalise

SAMPLE_SEED = 924  # Decision 924/QĐ-TTg: any fixed seed keeps the sample reproducible


def _sample(n: int) -> list[str]:
    """``n`` valid tokens from a seeded generator, plus the all-zero and all-Z extremes."""
    rng = random.Random(SAMPLE_SEED)
    data = ["0" * 13, "Z" * 13] + ["".join(rng.choices(ALPHABET, k=13)) for _ in range(n)]
    return [d + check_character(d) for d in data]


SAMPLE = _sample(200)


def test_alphabet_is_crockford_without_confusables() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)
    assert qrtoken.ENTROPY_BITS >= 64


def test_new_tokens_are_canonical_random_and_distinct() -> None:
    tokens = [qrtoken.new_token() for _ in range(5000)]
    assert len(set(tokens)) == len(tokens)
    assert all(re.fullmatch(f"[{ALPHABET}]{{{LENGTH}}}", t) for t in tokens)
    assert all(normalise(t) == t for t in tokens)
    # every symbol turns up in every data position: no position is stuck or biased to a half
    for position in range(qrtoken.DATA_LENGTH):
        assert len({t[position] for t in tokens}) == 32


def test_field_generator_is_primitive() -> None:
    """α must have order 31, or two positions would share a weight and a swap would pass."""
    powers, value = [], 1
    for _ in range(31):
        powers.append(value)
        value = qrtoken._times_alpha(value)
    assert value == 1 and sorted(powers) == list(range(1, 32))


@pytest.mark.parametrize("token", SAMPLE[:20])
def test_every_single_substitution_is_caught(token: str) -> None:
    for i in range(LENGTH):
        for symbol in ALPHABET:
            if symbol != token[i]:
                assert normalise(token[:i] + symbol + token[i + 1 :]) is None, (token, i, symbol)


def test_every_transposition_is_caught() -> None:
    """Adjacent swaps (the common slip) and swaps at any distance, check symbol included."""
    checked = 0
    for token in SAMPLE:
        for i in range(LENGTH):
            for j in range(i + 1, LENGTH):
                if token[i] != token[j]:
                    swapped = list(token)
                    swapped[i], swapped[j] = swapped[j], swapped[i]
                    assert normalise("".join(swapped)) is None, (token, i, j)
                    checked += 1
    assert checked > 15_000


def test_every_adjacent_twin_error_is_caught() -> None:
    for token in SAMPLE[:20]:
        for i in range(LENGTH - 1):
            if token[i] == token[i + 1]:
                for symbol in ALPHABET.replace(token[i], ""):
                    assert normalise(token[:i] + symbol * 2 + token[i + 2 :]) is None


def test_every_check_symbol_is_reachable() -> None:
    assert {t[-1] for t in _sample(2000)} == set(ALPHABET)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("K7QX93MAR2TD5Y", "K7QX93MAR2TD5Y"),
        ("K7QX-93MA-R2TD-5Y", "K7QX93MAR2TD5Y"),
        ("  k7qx 93ma r2td 5y\n", "K7QX93MAR2TD5Y"),
        ("K7QX–93MA—R2TD‑5Y", "K7QX93MAR2TD5Y"),  # en dash, em dash, non-breaking hyphen
        ("Ｋ７ＱＸ９３ＭＡＲ２ＴＤ５Ｙ", "K7QX93MAR2TD5Y"),  # full-width, from some phone keyboards
    ],
)
def test_normalise_forgives_how_people_type(typed: str, expected: str) -> None:
    assert normalise(typed) == expected
    assert is_well_formed(typed)


def test_confusable_letters_read_as_digits() -> None:
    token = next(t for t in SAMPLE if "0" in t[:-1] and "1" in t[:-1])
    typed = token.replace("0", "o").replace("1", "l", 1).replace("1", "I")
    assert normalise(typed) == token


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "-",
        "K7QX93MAR2TD5",  # check symbol missing
        "K7QX93MAR2TD5YY",  # one symbol too many
        "K7QX93MAR2TD5J",  # wrong check symbol
        "U7QX93MAR2TD5Y",  # U is not in the alphabet
        "K7QX93MAR2TD5*",  # Crockford's extra mod-37 check symbols are not used
        "Đ7QX93MAR2TD5Y",
        "0" * 40,
        "K7QX93MAR2TD5Y" * 10,
        "../../etc/passwd",
        None,
        12345678901234,
    ],
)
def test_malformed_and_bad_check_give_none(text) -> None:
    assert normalise(text) is None
    assert not is_well_formed(text)


def test_display_groups_for_print_and_reads_back() -> None:
    for token in SAMPLE:
        shown = display(token)
        assert [len(g) for g in shown.split("-")] == list(qrtoken.GROUPS)
        assert shown.replace("-", "") == token
        assert normalise(shown) == token and normalise(shown.lower()) == token


def test_display_refuses_what_is_not_a_token() -> None:
    with pytest.raises(InvalidInput) as err:
        display("K7QX93MAR2TD5J")
    assert "mã QR" in err.value.vi


def test_tokens_made_in_bulk_are_the_same_kind_as_one_by_one() -> None:
    """An import makes its households' tokens at once: each must pass the one-by-one checks."""
    tokens = qrtoken.new_tokens(20_000)
    assert len(set(tokens)) == len(tokens) == 20_000
    assert all(len(t) == LENGTH and normalise(t) == t for t in tokens)
    assert all(check_character(t[:-1]) == t[-1] for t in tokens)
    # every symbol is used in every position (5 random bits each, not a biased subset)
    for position in range(LENGTH - 1):
        assert {t[position] for t in tokens} == set(ALPHABET)
    assert qrtoken.new_tokens(0) == []
