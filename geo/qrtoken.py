"""Household QR tokens (mã QR hộ gia đình): short, unguessable, typeable codes with a check.

A token is 13 random symbols of Crockford base32 (digits and upper-case letters without
I, L, O, U) followed by one check symbol: 14 characters in all, e.g. ``K7QX93MAR2TD5Y``.

Entropy: 13 × 5 = **65 bits** from :mod:`secrets` (3.7 × 10¹⁹ tokens). Even if every one of
Vietnam's ~27 million households had a token, one random guess would hit some household with
probability 27e6 / 2⁶⁵ ≈ 7 × 10⁻¹³; the public route is rate-limited on top of that.

Check symbol: the 14 symbols, read as elements of GF(32) (the field of 32 elements built on the
primitive polynomial x⁵ + x² + 1), satisfy Σ αⁱ·vᵢ = 0, where vᵢ is the value of the i-th
symbol from the right and α = x. (This is the Damm algorithm with the quasigroup x∘y = αx + y.)

* A single substitution changes the sum by αⁱ·e with e ≠ 0: never zero, so always caught.
* Swapping two different symbols at positions i ≠ j changes it by (αⁱ + αʲ)(a + b); α has
  order 31 > 14, so αⁱ ≠ αʲ and the change is never zero: every transposition is caught,
  adjacent or not, including one with the check symbol itself.
* Twin errors (aa → bb side by side) are caught too; any other error slips through with
  probability 1/32.

The canonical form (stored, and in URLs ``/q/{token}``) has no dashes; :func:`display` groups
it 4-4-4-2 for print: ``K7QX-93MA-R2TD-5Y``. :func:`normalise` forgives what people do when they
type a code: lower case, spaces, dashes, and the letters O, I, L for 0, 1, 1.
"""

from __future__ import annotations

import secrets
import unicodedata

import numpy as np

from geo.errors import InvalidInput

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_LENGTH = 13
LENGTH = DATA_LENGTH + 1
ENTROPY_BITS = 5 * DATA_LENGTH
GROUPS = (4, 4, 4, 2)
MAX_INPUT = 64  # longer input is refused before any work is done

_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
# Separators people type or that come with copied text: dashes of every kind, and spaces.
_SEPARATORS = frozenset("-‐‑‒–—―−_.") | frozenset(" \t\r\n\u00a0\u202f\u3000")
_FIELD_POLY = 0b100101  # x⁵ + x² + 1, primitive: α = x has order 31


def _times_alpha(value: int) -> int:
    """``value · α`` in GF(32).

    >>> _times_alpha(1), _times_alpha(16), _times_alpha(0)
    (2, 5, 0)
    """
    value <<= 1
    return value ^ _FIELD_POLY if value & 0b100000 else value


def _syndrome(symbols: str) -> int:
    """Σ αⁱ·vᵢ over GF(32) (Horner form), i counted from the right; 0 for a valid token."""
    total = 0
    for symbol in symbols:
        total = _times_alpha(total) ^ _VALUE[symbol]
    return total


def check_character(data: str) -> str:
    """The check symbol to append to canonical ``data`` symbols so that the syndrome is 0.

    >>> check_character("0000000000000"), check_character("0000000000001")
    ('0', '2')
    >>> check_character("K7QX93MAR2TD5")
    'Y'
    >>> check_character("")
    '0'
    """
    return ALPHABET[_times_alpha(_syndrome(data))]


def new_token() -> str:
    """A fresh random token in canonical form: 13 random symbols (65 bits) and the check.

    >>> t = new_token()
    >>> len(t), normalise(t) == t
    (14, True)
    """
    number = secrets.randbits(ENTROPY_BITS)
    data = "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(DATA_LENGTH)))
    return data + check_character(data)


def new_tokens(n: int) -> list[str]:
    """``n`` fresh tokens at once (an import of a million households), the same as ``n`` calls
    of ``new_token``: 13 symbols from 5 random bits each (a byte's low 5 bits are uniform), and
    the check symbol computed for all of them together.

    >>> ts = new_tokens(3)
    >>> len(ts), all(len(t) == 14 and normalise(t) == t for t in ts), new_tokens(0)
    (3, True, [])
    """
    if n == 0:
        return []
    values = (np.frombuffer(secrets.token_bytes(n * DATA_LENGTH), dtype=np.uint8) & 31).reshape(
        n, DATA_LENGTH
    )
    total = np.zeros(n, dtype=np.uint8)
    for i in range(DATA_LENGTH):  # Horner, as _syndrome, on every token at once
        total = total << 1
        total = np.where(total & 0b100000, total ^ _FIELD_POLY, total) ^ values[:, i]
    total = total << 1
    check = np.where(total & 0b100000, total ^ _FIELD_POLY, total)
    letters = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)
    symbols = np.empty((n, LENGTH), dtype=np.uint8)
    symbols[:, :DATA_LENGTH] = letters[values]
    symbols[:, DATA_LENGTH] = letters[check]
    text = symbols.tobytes().decode("ascii")
    return [text[i : i + LENGTH] for i in range(0, len(text), LENGTH)]


def _fold(text: str) -> str:
    """Upper case, separators removed, O/I/L read as 0/1/1 (full-width forms folded by NFKC)."""
    text = unicodedata.normalize("NFKC", text).upper()
    return "".join(c for c in text if c not in _SEPARATORS).translate(_CONFUSABLE)


def normalise(text: str) -> str | None:
    """The canonical token for what a person typed or a scanner read; None if it is not one.

    Malformed text and a failed check both give None (:func:`mistype` says which); a caller
    answers a well-formed unknown token exactly as a revoked one (nothing is learned from
    trying).

    >>> normalise("k7qx 93ma-r2td-5y"), normalise("K7QX-93MA-R2TD-5Y")
    ('K7QX93MAR2TD5Y', 'K7QX93MAR2TD5Y')
    >>> normalise("K7QX93MAR2TD5J")  # wrong check symbol
    >>> normalise("K7QX93MAR2DT5Y")  # two symbols swapped
    >>> normalise(""), normalise("K7QX93MAR2TD5"), normalise("U7QX93MAR2TD5Y")
    (None, None, None)
    """
    if not isinstance(text, str) or len(text) > MAX_INPUT:
        return None
    folded = _fold(text)
    if len(folded) != LENGTH or any(c not in _VALUE for c in folded):
        return None
    return folded if _syndrome(folded) == 0 else None


MISTYPES = ("empty", "length", "symbols", "check")


def mistype(text: str) -> str | None:
    """Why typed ``text`` cannot be a token, or None when it is one (its check symbol is right).

    ``"empty"``, ``"length"`` (not 14 symbols once separators are dropped), ``"symbols"`` (a
    letter the alphabet has not: U, or punctuation) or ``"check"`` (14 symbols whose check
    symbol is wrong: a typing mistake). The check is public (anyone can compute it), so telling
    a mistyped code from a well-formed unknown one reveals nothing about which codes exist.

    >>> mistype("k7qx 93ma-r2td-5y"), mistype("K7QX93MAR2TD5J"), mistype("K7QX93MAR2TD5")
    (None, 'check', 'length')
    >>> mistype(""), mistype("U7QX93MAR2TD5Y"), mistype("GP-01-0001")
    ('empty', 'symbols', 'length')
    """
    if not isinstance(text, str) or not text.strip():
        return "empty"
    if len(text) > MAX_INPUT:
        return "length"
    folded = _fold(text)
    if len(folded) != LENGTH:
        return "length"
    if any(c not in _VALUE for c in folded):
        return "symbols"
    return None if _syndrome(folded) == 0 else "check"


def is_well_formed(text: str) -> bool:
    """True when ``text`` (canonical or typed) is a token whose check symbol is right.

    >>> is_well_formed("k7qx-93ma-r2td-5y"), is_well_formed("K7QX-93MA-R2TD-5"), is_well_formed("")
    (True, False, False)
    """
    return normalise(text) is not None


def display(token: str) -> str:
    """The token grouped 4-4-4-2 with dashes, for printing under the QR code.

    Accepts any form :func:`normalise` accepts; raises ``InvalidInput`` for anything else,
    since printing a code that cannot be typed back would be worse than printing none.

    >>> display("K7QX93MAR2TD5Y"), display("k7qx 93ma r2td 5y")
    ('K7QX-93MA-R2TD-5Y', 'K7QX-93MA-R2TD-5Y')
    >>> display("")
    Traceback (most recent call last):
    ...
    geo.errors.InvalidInput: Not a household QR code: ''.
    """
    canonical = normalise(token)
    if canonical is None:
        raise InvalidInput(
            f"Không phải mã QR hộ gia đình: {token!r}.", f"Not a household QR code: {token!r}."
        )
    parts, start = [], 0
    for size in GROUPS:
        parts.append(canonical[start : start + size])
        start += size
    return "-".join(parts)
