"""Which legacy encoding a file's text is in: judge decoded text by Vietnamese syllable
structure, tally candidates (UTF-8, TCVN3, VNI, cp1258) over samples, spot mojibake, and fix a
column decoded with the wrong table."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from geo.errors import EncodingError
from geo.textenc import (
    ACUTE,
    DOT,
    HINT_EN,
    HINT_VI,
    LABELS,
    TONE_MARKS,
    VNI_TABLE,
    decode_legacy,
    decode_tcvn3,
    normalise_encoding_name,
    recover_bytes,
)

# A decoding counts as Vietnamese when at least this share of its judged words are syllables.
_MIN_SHARE = 0.6
# Order of preference when encodings score the same: TCVN3 was the commonest in provincial GIS.
_CANDIDATES = ("utf-8", "tcvn3", "vni", "cp1258")

# --- judging whether text is Vietnamese ---------------------------------------------------------

_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") | frozenset(VNI_TABLE)
# ASCII punctuation, digits and white space split words; nothing else does, so that mojibake
# symbols such as ¶ ¾ « stay inside the word they spoil.
_SEPARATORS = re.compile(r"[\s\x21-\x40\x5b-\x60\x7b-\x7e]+")
_CONSONANTS = "bcdđfghjklmnpqrstvwxz"
# Every rhyme (vần) of Vietnamese without its tone; a final k (Đắk Lắk) is read as c.
_RHYMES = frozenset(
    """
    a ac ach ai am an ang anh ao ap at au ay ăc ăm ăn ăng ăp ăt âc âm ân âng âp ât âu ây
    e ec em en eng eo ep et ê êch êm ên ênh êp êt êu
    i ia ich im in inh ip it iu iêc iêm iên iêng iêp iêt iêu
    o oc oi om on ong op ot oa oac oach oai oam oan oang oanh oao oap oat oay
    oăc oăm oăn oăng oăt oe oen oeo oet ooc oong ô ôc ôi ôm ôn ông ôp ôt ơ ơi ơm ơn ơp ơt
    u ua uân uâng uât uây uc uê uêch uênh ui um un ung up ut uy uya uych uyên uyêt uynh uyt
    uyu uô uôc uôi uôm uôn uông uôt uơ
    ư ưa ưc ưi ưm ưn ưng ưt ưu ươc ươi ươm ươn ương ươp ươt ươu y yêm yên yêng yêt yêu
    """.split()
)


def is_vietnamese_syllable(word: str) -> bool:
    """Whether ``word`` is one well-formed Vietnamese syllable (any case, NFC or NFD).

    Onset + rhyme from the table of rhymes, at most one tone mark, stop finals (c, ch, p, t)
    only with sắc or nặng, and no tone on a closing glide ("aị" is mojibake, "ại" is not).

    >>> is_vietnamese_syllable("Thắng"), is_vietnamese_syllable("Đắk"), is_vietnamese_syllable("")
    (True, True, False)
    >>> is_vietnamese_syllable("Baûo"), is_vietnamese_syllable("Baềo")
    (False, False)
    """
    if not word or not all(c in _LETTERS for c in unicodedata.normalize("NFC", word)):
        return False
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = [c for c in decomposed if c in TONE_MARKS]
    if len(tones) > 1:
        return False
    tone = tones[0] if tones else ""
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in TONE_MARKS))
    tone_at = _tone_position(decomposed) if tone else -1
    onset = base[: len(base) - len(base.lstrip(_CONSONANTS))]
    options = [(onset, "")]
    if onset in ("g", "q") and base[1:2] == {"g": "i", "q": "u"}[onset]:
        # "gi" and "qu" are onsets whose vowel may also start the rhyme: gì, giếng, quý, quỳnh.
        glide = base[1]
        options += [(onset + glide, ""), (onset + glide, glide)]
    return any(
        _rhyme_ok(prefix + base[len(start) :], tone, tone_at - len(start) + len(prefix))
        for start, prefix in options
    )


def _tone_position(decomposed: str) -> int:
    """Index of the letter carrying the tone mark in the NFC string without tones."""
    letters = -1
    for char in decomposed:
        if char in TONE_MARKS:
            return letters
        if not unicodedata.combining(char):
            letters += 1
    return -1


def _rhyme_ok(rhyme: str, tone: str, tone_at: int) -> bool:
    if rhyme.endswith("k"):
        rhyme = rhyme[:-1] + "c"
    if rhyme not in _RHYMES:
        return False
    if tone and not 0 <= tone_at < len(rhyme):
        return False
    if rhyme.endswith(("c", "ch", "p", "t")) and tone not in (ACUTE, DOT):
        return False
    closing_glide = len(rhyme) >= 2 and rhyme[-1] in "iyou" and rhyme != "uy"
    return not (tone and closing_glide and tone_at == len(rhyme) - 1)


def _words_to_judge(text: str) -> list[str]:
    """Words that tell encodings apart: those with a non-ASCII or control character."""
    return [w for w in _SEPARATORS.split(text) if w and not (w.isascii() and w.isprintable())]


@dataclass
class _Tally:
    """How much of a set of decoded values reads as Vietnamese."""

    words: int = 0
    good_words: int = 0
    values: int = 0
    good_values: int = 0

    def add(self, text: str, weight: int = 1) -> None:
        words = _words_to_judge(text)
        if not words:
            return
        good = sum(is_vietnamese_syllable(w) for w in words)
        self.words += weight * len(words)
        self.good_words += weight * good
        self.values += weight
        self.good_values += weight * (good == len(words))

    @property
    def share(self) -> float:
        return self.good_words / self.words if self.words else 1.0


def _plain_ascii(raw: bytes) -> bool:
    return raw.isascii() and raw.decode("ascii").isprintable()


def _tally(samples: Counter[bytes], encoding: str) -> _Tally | None:
    """Score ``samples`` decoded with ``encoding``; None if one of them does not decode."""
    tally = _Tally()
    for raw, count in samples.items():
        try:
            tally.add(decode_legacy(raw, encoding), count)
        except EncodingError:
            return None
    return tally


def looks_like_mojibake(text: str) -> bool:
    """Whether ``text`` is Vietnamese that a latin-1/cp1252 reader garbled (TCVN3, VNI, UTF-8).

    >>> looks_like_mojibake("B¶o Th¾ng"), looks_like_mojibake("Baûo Thaéng")
    (True, True)
    >>> looks_like_mojibake("Bảo Thắng"), looks_like_mojibake("Hòa"), looks_like_mojibake("")
    (False, False, False)
    """
    if not _words_to_judge(text):
        return False
    raw = recover_bytes(text)
    if raw is None:
        return False
    own = _Tally()
    own.add(unicodedata.normalize("NFC", text))
    if own.share == 1.0:
        return False
    sample = Counter([raw])
    tallies = [t for t in (_tally(sample, e) for e in _CANDIDATES) if t is not None]
    best = max((t.share for t in tallies if t.words), default=0.0)
    return best >= _MIN_SHARE and best > own.share


# --- guessing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncodingGuess:
    """Which encoding a text column is in, how sure we are, and why (English and Vietnamese)."""

    encoding: str
    confidence: float
    reason: str
    reason_vi: str
    example_raw: str
    example_decoded: str


def guess_encoding(samples: Iterable[bytes]) -> EncodingGuess:
    """Guess the encoding of raw text values by how much of each decoding is Vietnamese.

    Strict UTF-8 that reads as Vietnamese wins outright; otherwise the legacy encoding whose
    decoding has the largest share of valid syllables, ties going to TCVN3, then VNI, then
    cp1258. Pure ASCII (or nothing) is "utf-8".

    >>> guess_encoding([b"B\\xb6o Th\\xbeng", b"Gia Ph\\xf3"]).encoding
    'tcvn3'
    >>> guess_encoding([]).encoding
    'utf-8'
    >>> guess_encoding(["日本語".encode("shift_jis")])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    geo.errors.EncodingError: Could not recognise the Vietnamese text encoding: ...
    """
    counts = Counter(bytes(s) for s in samples if s)
    judged = Counter({raw: n for raw, n in counts.items() if not _plain_ascii(raw)})
    if not judged:
        first = next(iter(counts), b"").decode("ascii", errors="replace")
        return EncodingGuess(
            "utf-8",
            1.0,
            "all values are plain ASCII: nothing to convert",
            "mọi giá trị đều là ASCII thuần: không cần chuyển đổi",
            first,
            first,
        )
    tallies = {e: t for e in _CANDIDATES if (t := _tally(judged, e)) is not None}
    utf8 = tallies.get("utf-8")
    if utf8 is not None and utf8.share >= 0.5:
        # Random legacy bytes almost never form valid UTF-8 sequences.
        return _guess(judged, "utf-8", utf8, None, confidence=0.9 + 0.1 * utf8.share)
    ranked = sorted(tallies.items(), key=lambda kv: (-kv[1].share, _CANDIDATES.index(kv[0])))
    best_name, best = ranked[0]
    if best.share < _MIN_SHARE:
        raise _unrecognised(judged, ranked)
    runner_up = ranked[1] if len(ranked) > 1 else None
    margin = best.share - (runner_up[1].share if runner_up else 0.0)
    confidence = best.share * min(1.0, 0.5 + 2.5 * margin)
    if best_name == "tcvn3" and _looks_vntimeh(judged):
        best_name = "tcvn3-upper"
    return _guess(judged, best_name, best, runner_up, confidence=confidence)


def _guess(
    judged: Counter[bytes],
    encoding: str,
    tally: _Tally,
    runner_up: tuple[str, _Tally] | None,
    *,
    confidence: float,
) -> EncodingGuess:
    label_en, label_vi = LABELS[encoding]
    reason = f"{tally.good_values}/{tally.values} values decode to valid Vietnamese as {label_en}"
    reason_vi = (
        f"{tally.good_values}/{tally.values} giá trị giải mã thành tiếng Việt hợp lệ "
        f"theo {label_vi}"
    )
    if runner_up is not None:
        other, other_tally = runner_up
        reason += (
            f" (next best: {LABELS[other][0]}, {other_tally.good_values}/{other_tally.values})"
        )
        reason_vi += (
            f" (kế tiếp: {LABELS[other][1]}, {other_tally.good_values}/{other_tally.values})"
        )
    raw = _example(judged, encoding)
    return EncodingGuess(
        encoding,
        round(min(max(confidence, 0.0), 1.0), 2),
        reason,
        reason_vi,
        raw.decode("latin-1"),
        decode_legacy(raw, encoding),
    )


def _example(judged: Counter[bytes], encoding: str) -> bytes:
    """The commonest value that decodes to valid Vietnamese, else the commonest value."""
    ordered = [raw for raw, _ in judged.most_common()]
    for raw in ordered[:200]:
        words = _words_to_judge(decode_legacy(raw, encoding))
        if all(is_vietnamese_syllable(w) for w in words):
            return raw
    return ordered[0]


def _looks_vntimeh(judged: Counter[bytes]) -> bool:
    """TCVN3 text typed for .VnTimeH fonts: capitals from ASCII, lower-case Vietnamese codes.

    "CéNG HOµ" decodes to "CộNG HOà": a word with upper-case ASCII letters and lower-case
    accented ones that is not merely capitalised ("Xã").
    """
    upper_style = lower_style = 0
    for raw in judged:
        for word in _words_to_judge(unicodedata.normalize("NFC", decode_tcvn3(raw))):
            tail = word[1:]
            if any(c.isascii() and c.islower() for c in tail):
                lower_style += 1
            elif any(c.isascii() and c.isupper() for c in tail) and any(
                not c.isascii() and c.islower() for c in word
            ):
                upper_style += 1
    return upper_style > lower_style


def _unrecognised(judged: Counter[bytes], ranked: list[tuple[str, _Tally]]) -> EncodingError:
    best_name, best = ranked[0]
    example = next(iter(judged))
    return EncodingError(
        "Không nhận ra bảng mã tiếng Việt của văn bản: không bảng mã nào cho ra tiếng Việt "
        f"hợp lệ (tốt nhất: {LABELS[best_name][1]}, {best.good_values}/{best.values} giá trị).",
        "Could not recognise the Vietnamese text encoding: no encoding gives valid Vietnamese "
        f"(best: {LABELS[best_name][0]}, {best.good_values}/{best.values} values).",
        hint_vi=HINT_VI,
        hint_en=HINT_EN,
        details=[f"{name}: {t.good_values}/{t.values} values" for name, t in ranked]
        + [f"example value (latin-1): {example.decode('latin-1')!r}"],
    )


def fix_text_column(
    values: Sequence[str | None], encoding: str | None
) -> tuple[list[str | None], EncodingGuess]:
    """Decode a text column read as latin-1 (one character per byte) to NFC Unicode.

    With ``encoding=None`` the encoding is guessed over all non-empty values; None and ""
    stay as they are. A column holding characters no byte can give is already Unicode and is
    only normalised.

    >>> fix_text_column(["B¶o Th¾ng", None, ""], None)[0]
    ['Bảo Thắng', None, '']
    >>> fix_text_column([], None)[1].encoding
    'utf-8'
    """
    present = list(dict.fromkeys(v for v in values if v))
    if encoding is None:
        recovered = {v: recover_bytes(v) for v in present}
        raws = {v: r for v, r in recovered.items() if r is not None}
        if len(raws) < len(recovered):
            unicode_value = next(v for v in present if v not in raws)
            return [_nfc(v) for v in values], _already_unicode(unicode_value)
        guess = guess_encoding(raws[v] for v in values if v)
        chosen = guess.encoding
    else:
        chosen = normalise_encoding_name(encoding)
        raws = {v: _recover_for(v, chosen) for v in present}
    decoded = {v: decode_legacy(raw, chosen) for v, raw in raws.items()}
    if encoding is not None:
        guess = _requested(raws, decoded, chosen)
    return [decoded[v] if v else v for v in values], guess


def _nfc(value: str | None) -> str | None:
    return unicodedata.normalize("NFC", value) if value else value


def _already_unicode(example: str) -> EncodingGuess:
    return EncodingGuess(
        "utf-8",
        1.0,
        "values are already Unicode text (they hold characters no single byte gives)",
        "giá trị đã là văn bản Unicode (có ký tự không byte đơn nào cho ra)",
        example,
        unicodedata.normalize("NFC", example),
    )


def _recover_for(value: str, encoding: str) -> bytes:
    raw = recover_bytes(value)
    if raw is None:
        label_en, label_vi = LABELS[encoding]
        raise EncodingError(
            f"Giá trị {value[:60]!r} đã là văn bản Unicode, không giải mã lại theo {label_vi} được.",
            f"Value {value[:60]!r} is already Unicode text and cannot be decoded again as "
            f"{label_en}.",
            hint_vi="Bỏ --encoding để hệ thống tự nhận dạng.",
            hint_en="Leave out --encoding and let the importer detect the encoding.",
        )
    return raw


def _requested(raws: dict[str, bytes], decoded: dict[str, str], encoding: str) -> EncodingGuess:
    tally = _Tally()
    for text in decoded.values():
        tally.add(text)
    label_en, label_vi = LABELS[encoding]
    example = next((v for v, raw in raws.items() if not _plain_ascii(raw)), next(iter(raws), ""))
    return EncodingGuess(
        encoding,
        round(tally.share, 2),
        f"decoded as {label_en}, as requested; "
        f"{tally.good_values}/{tally.values} values read as valid Vietnamese",
        f"giải mã theo {label_vi} như yêu cầu; "
        f"{tally.good_values}/{tally.values} giá trị là tiếng Việt hợp lệ",
        example,
        decoded.get(example, example),
    )
