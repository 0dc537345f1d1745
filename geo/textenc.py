"""Legacy Vietnamese text encodings (TCVN3/ABC, VNI-Windows, cp1258): decode, detect, encode."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from geo.errors import EncodingError

# TCVN 5712:1993 VN3 ("TCVN3", ".VnTime" fonts), byte -> character, for the bytes that
# differ from Latin-1. Generated from glibc iconv's TCVN5712-1 table; bytes 0xB0-0xB4 are
# combining tone marks. glibc's table is the full set (VN1, capitals on 0x01-0x17 and 0x80-0x9F);
# ABC files use only its lower-case-coded subset, which reads the same.
TCVN3_TABLE: dict[int, str] = {
    0x01: 'Ú', 0x02: 'Ụ', 0x04: 'Ừ', 0x05: 'Ử', 0x06: 'Ữ', 0x11: 'Ứ', 0x12: 'Ự', 0x13: 'Ỳ',
    0x14: 'Ỷ', 0x15: 'Ỹ', 0x16: 'Ý', 0x17: 'Ỵ', 0x80: 'À', 0x81: 'Ả', 0x82: 'Ã', 0x83: 'Á',
    0x84: 'Ạ', 0x85: 'Ặ', 0x86: 'Ậ', 0x87: 'È', 0x88: 'Ẻ', 0x89: 'Ẽ', 0x8A: 'É', 0x8B: 'Ẹ',
    0x8C: 'Ệ', 0x8D: 'Ì', 0x8E: 'Ỉ', 0x8F: 'Ĩ', 0x90: 'Í', 0x91: 'Ị', 0x92: 'Ò', 0x93: 'Ỏ',
    0x94: 'Õ', 0x95: 'Ó', 0x96: 'Ọ', 0x97: 'Ộ', 0x98: 'Ờ', 0x99: 'Ở', 0x9A: 'Ỡ', 0x9B: 'Ớ',
    0x9C: 'Ợ', 0x9D: 'Ù', 0x9E: 'Ủ', 0x9F: 'Ũ', 0xA1: 'Ă', 0xA2: 'Â', 0xA3: 'Ê', 0xA4: 'Ô',
    0xA5: 'Ơ', 0xA6: 'Ư', 0xA7: 'Đ', 0xA8: 'ă', 0xA9: 'â', 0xAA: 'ê', 0xAB: 'ô', 0xAC: 'ơ',
    0xAD: 'ư', 0xAE: 'đ', 0xAF: 'Ằ', 0xB0: '̀', 0xB1: '̉', 0xB2: '̃', 0xB3: '́', 0xB4: '̣',
    0xB5: 'à', 0xB6: 'ả', 0xB7: 'ã', 0xB8: 'á', 0xB9: 'ạ', 0xBA: 'Ẳ', 0xBB: 'ằ', 0xBC: 'ẳ',
    0xBD: 'ẵ', 0xBE: 'ắ', 0xBF: 'Ẵ', 0xC0: 'Ắ', 0xC1: 'Ầ', 0xC2: 'Ẩ', 0xC3: 'Ẫ', 0xC4: 'Ấ',
    0xC5: 'Ề', 0xC6: 'ặ', 0xC7: 'ầ', 0xC8: 'ẩ', 0xC9: 'ẫ', 0xCA: 'ấ', 0xCB: 'ậ', 0xCC: 'è',
    0xCD: 'Ể', 0xCE: 'ẻ', 0xCF: 'ẽ', 0xD0: 'é', 0xD1: 'ẹ', 0xD2: 'ề', 0xD3: 'ể', 0xD4: 'ễ',
    0xD5: 'ế', 0xD6: 'ệ', 0xD7: 'ì', 0xD8: 'ỉ', 0xD9: 'Ễ', 0xDA: 'Ế', 0xDB: 'Ồ', 0xDC: 'ĩ',
    0xDD: 'í', 0xDE: 'ị', 0xDF: 'ò', 0xE0: 'Ổ', 0xE1: 'ỏ', 0xE2: 'õ', 0xE3: 'ó', 0xE4: 'ọ',
    0xE5: 'ồ', 0xE6: 'ổ', 0xE7: 'ỗ', 0xE8: 'ố', 0xE9: 'ộ', 0xEA: 'ờ', 0xEB: 'ở', 0xEC: 'ỡ',
    0xED: 'ớ', 0xEE: 'ợ', 0xEF: 'ù', 0xF0: 'Ỗ', 0xF1: 'ủ', 0xF2: 'ũ', 0xF3: 'ú', 0xF4: 'ụ',
    0xF5: 'ừ', 0xF6: 'ử', 0xF7: 'ữ', 0xF8: 'ứ', 0xF9: 'ự', 0xFA: 'ỳ', 0xFB: 'ỷ', 0xFC: 'ỹ',
    0xFE: 'ỵ', 0xFF: 'Ố',
}  # fmt: skip

# VNI-Windows (VNI fonts such as "VNI-Times"): each Vietnamese letter -> its cp1252 text, a base
# letter followed by a mark byte, or one byte for đ, ơ, ư and the i/ỵ family. Taken from
# UniKey's VnConv table (unikey/data.cpp, VNI-WIN); all 134 entries agree with xvnkb's vni.h
# and VBKey's VNI_WINDOWS_TABLE. (The npm package vietnamese-conversion gets ỷ ỹ Ỷ Ỹ wrong.)
VNI_TABLE: dict[str, str] = {
    "á": "aù", "à": "aø", "ả": "aû", "ã": "aõ", "ạ": "aï", "â": "aâ",
    "ấ": "aá", "ầ": "aà", "ẩ": "aå", "ẫ": "aã", "ậ": "aä", "ă": "aê",
    "ắ": "aé", "ằ": "aè", "ẳ": "aú", "ẵ": "aü", "ặ": "aë", "đ": "ñ",
    "é": "eù", "è": "eø", "ẻ": "eû", "ẽ": "eõ", "ẹ": "eï", "ê": "eâ",
    "ế": "eá", "ề": "eà", "ể": "eå", "ễ": "eã", "ệ": "eä", "í": "í",
    "ì": "ì", "ỉ": "æ", "ĩ": "ó", "ị": "ò", "ó": "où", "ò": "oø",
    "ỏ": "oû", "õ": "oõ", "ọ": "oï", "ô": "oâ", "ố": "oá", "ồ": "oà",
    "ổ": "oå", "ỗ": "oã", "ộ": "oä", "ơ": "ô", "ớ": "ôù", "ờ": "ôø",
    "ở": "ôû", "ỡ": "ôõ", "ợ": "ôï", "ú": "uù", "ù": "uø", "ủ": "uû",
    "ũ": "uõ", "ụ": "uï", "ư": "ö", "ứ": "öù", "ừ": "öø", "ử": "öû",
    "ữ": "öõ", "ự": "öï", "ý": "yù", "ỳ": "yø", "ỷ": "yû", "ỹ": "yõ",
    "ỵ": "î",
    "Á": "AÙ", "À": "AØ", "Ả": "AÛ", "Ã": "AÕ", "Ạ": "AÏ", "Â": "AÂ",
    "Ấ": "AÁ", "Ầ": "AÀ", "Ẩ": "AÅ", "Ẫ": "AÃ", "Ậ": "AÄ", "Ă": "AÊ",
    "Ắ": "AÉ", "Ằ": "AÈ", "Ẳ": "AÚ", "Ẵ": "AÜ", "Ặ": "AË", "Đ": "Ñ",
    "É": "EÙ", "È": "EØ", "Ẻ": "EÛ", "Ẽ": "EÕ", "Ẹ": "EÏ", "Ê": "EÂ",
    "Ế": "EÁ", "Ề": "EÀ", "Ể": "EÅ", "Ễ": "EÃ", "Ệ": "EÄ", "Í": "Í",
    "Ì": "Ì", "Ỉ": "Æ", "Ĩ": "Ó", "Ị": "Ò", "Ó": "OÙ", "Ò": "OØ",
    "Ỏ": "OÛ", "Õ": "OÕ", "Ọ": "OÏ", "Ô": "OÂ", "Ố": "OÁ", "Ồ": "OÀ",
    "Ổ": "OÅ", "Ỗ": "OÃ", "Ộ": "OÄ", "Ơ": "Ô", "Ớ": "ÔÙ", "Ờ": "ÔØ",
    "Ở": "ÔÛ", "Ỡ": "ÔÕ", "Ợ": "ÔÏ", "Ú": "UÙ", "Ù": "UØ", "Ủ": "UÛ",
    "Ũ": "UÕ", "Ụ": "UÏ", "Ư": "Ö", "Ứ": "ÖÙ", "Ừ": "ÖØ", "Ử": "ÖÛ",
    "Ữ": "ÖÕ", "Ự": "ÖÏ", "Ý": "YÙ", "Ỳ": "YØ", "Ỷ": "YÛ", "Ỹ": "YÕ",
    "Ỵ": "Î",
}  # fmt: skip

ENCODINGS: tuple[str, ...] = ("utf-8", "cp1258", "tcvn3", "vni", "tcvn3-upper")

# Names people and .cpg files use; matched after lower-casing and turning "_" and " " into "-".
_ALIASES: dict[str, str] = {
    "utf-8": "utf-8", "utf8": "utf-8", "65001": "utf-8",
    "cp1258": "cp1258", "cp-1258": "cp1258", "windows-1258": "cp1258", "1258": "cp1258",
    "tcvn3": "tcvn3", "tcvn": "tcvn3", "abc": "tcvn3", "tcvn5712": "tcvn3",
    "tcvn5712-1": "tcvn3", "tcvn-5712": "tcvn3", "vntime": "tcvn3", ".vntime": "tcvn3",
    "vni": "vni", "vni-windows": "vni", "vni-win": "vni",
    "tcvn3-upper": "tcvn3-upper", "tcvn3upper": "tcvn3-upper", "abc-upper": "tcvn3-upper",
    "vntimeh": "tcvn3-upper", ".vntimeh": "tcvn3-upper",
}  # fmt: skip

_LABELS: dict[str, tuple[str, str]] = {  # (English, Vietnamese) names shown to people
    "utf-8": ("UTF-8", "UTF-8"),
    "cp1258": ("Windows-1258", "Windows-1258"),
    "tcvn3": ("TCVN3 (ABC, .VnTime fonts)", "TCVN3 (ABC, phông .VnTime)"),
    "vni": ("VNI-Windows", "VNI-Windows"),
    "tcvn3-upper": (
        "TCVN3 upper case (.VnTimeH fonts)",
        "TCVN3 chữ hoa (phông .VnTimeH)",
    ),
}

_NAMES = ", ".join(ENCODINGS)
_HINT_VI = f"Hãy chỉ rõ bảng mã bằng --encoding TÊN, với TÊN là một trong: {_NAMES}."
_HINT_EN = f"Pass the encoding with --encoding NAME, where NAME is one of: {_NAMES}."

# Tone marks (huyền, sắc, ngã, hỏi, nặng) as combining characters; TCVN3 bytes 0xB0-0xB4.
_GRAVE, _ACUTE, _TILDE, _HOOK, _DOT = "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"
_TONE_MARKS = frozenset((_GRAVE, _ACUTE, _TILDE, _HOOK, _DOT))

# A decoding counts as Vietnamese when at least this share of its judged words are syllables.
_MIN_SHARE = 0.6
# Order of preference when encodings score the same: TCVN3 was the commonest in provincial GIS.
_CANDIDATES = ("utf-8", "tcvn3", "vni", "cp1258")


def normalise_encoding_name(name: str) -> str:
    """The canonical name in ENCODINGS for ``name`` (case-insensitive; aliases accepted).

    >>> normalise_encoding_name("ABC"), normalise_encoding_name("VNI-Windows")
    ('tcvn3', 'vni')
    >>> normalise_encoding_name("latin-1")
    Traceback (most recent call last):
    geo.errors.EncodingError: Unknown text encoding 'latin-1'.
    """
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    canonical = _ALIASES.get(key)
    if canonical is None:
        raise EncodingError(
            f"Không biết bảng mã '{name}'.",
            f"Unknown text encoding '{name}'.",
            hint_vi=f"Các bảng mã được hỗ trợ: {_NAMES}.",
            hint_en=f"Supported encodings: {_NAMES}.",
        )
    return canonical


# --- decoding -------------------------------------------------------------------------------


def _cp1252_char(byte: int) -> str:
    # cp1252 leaves five bytes undefined; a latin-1 reader keeps them as C1 controls.
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


_CP1252_CHARS: tuple[str, ...] = tuple(_cp1252_char(b) for b in range(256))
_CP1252_BYTES: dict[str, int] = {c: b for b, c in enumerate(_CP1252_CHARS) if b >= 0x80}
_TCVN3_CHARS: tuple[str, ...] = tuple(TCVN3_TABLE.get(b, chr(b)) for b in range(256))
_TCVN3_BYTES: dict[str, int] = {c: b for b, c in enumerate(_TCVN3_CHARS)}


@cache
def _vni_sequences() -> dict[str, str]:
    """VNI text (one or two cp1252 characters) -> Vietnamese letter."""
    sequences = {code: letter for letter, code in VNI_TABLE.items()}
    for letter, code in VNI_TABLE.items():
        if len(code) == 2:
            # Hand-typed files mix a capital base with a small mark or the reverse: the base
            # letter decides the case.
            sequences.setdefault(code[0] + code[1].swapcase(), letter)
    return sequences


def _decode_tcvn3(raw: bytes) -> str:
    return "".join(_TCVN3_CHARS[b] for b in raw)


def _decode_tcvn3_upper(raw: bytes) -> str:
    # .VnTimeH fonts draw the lower-case codes as capitals, so the bytes are TCVN3's.
    return unicodedata.normalize("NFC", _decode_tcvn3(raw)).upper()


def _decode_vni(raw: bytes) -> str:
    text = "".join(_CP1252_CHARS[b] for b in raw)
    sequences = _vni_sequences()
    out: list[str] = []
    i = 0
    while i < len(text):
        pair = text[i : i + 2]
        if len(pair) == 2 and pair in sequences:
            out.append(sequences[pair])
            i += 2
        else:
            out.append(sequences.get(text[i], text[i]))
            i += 1
    return "".join(out)


_DECODERS = {
    "utf-8": lambda raw: raw.decode("utf-8"),
    "cp1258": lambda raw: raw.decode("cp1258"),
    "tcvn3": _decode_tcvn3,
    "vni": _decode_vni,
    "tcvn3-upper": _decode_tcvn3_upper,
}


def decode_legacy(raw: bytes, encoding: str) -> str:
    """Decode ``raw`` bytes in ``encoding`` (any name normalise_encoding_name accepts) to NFC.

    >>> decode_legacy(b"B\\xb6o Th\\xbeng", "tcvn3")
    'Bảo Thắng'
    >>> decode_legacy(b"", "vni")
    ''
    >>> decode_legacy(b"\\xff", "utf-8")
    Traceback (most recent call last):
    geo.errors.EncodingError: Bytes b'\\xff' are not valid UTF-8 (byte 0xff at position 0).

    UTF-8 and cp1258 are strict; every byte has a meaning in TCVN3 and VNI, so those never fail.
    """
    canonical = normalise_encoding_name(encoding)
    try:
        text = _DECODERS[canonical](bytes(raw))
    except UnicodeDecodeError as exc:
        raise _undecodable(bytes(raw), canonical, exc) from exc
    return unicodedata.normalize("NFC", text)


def _undecodable(raw: bytes, encoding: str, exc: UnicodeDecodeError) -> EncodingError:
    label_en, label_vi = _LABELS[encoding]
    byte = raw[exc.start]
    return EncodingError(
        f"Dãy byte {raw[:40]!r} không hợp lệ theo bảng mã {label_vi} "
        f"(byte 0x{byte:02x} ở vị trí {exc.start}).",
        f"Bytes {raw[:40]!r} are not valid {label_en} (byte 0x{byte:02x} at position {exc.start}).",
        hint_vi=f"Có lẽ văn bản dùng bảng mã khác. {_HINT_VI}",
        hint_en=f"The text is probably in another encoding. {_HINT_EN}",
    )


# --- encoding -------------------------------------------------------------------------------


def _split_tone(char: str) -> tuple[str, str]:
    """'ậ' -> ('â', '\\u0323'): the letter without its tone mark, and the tone mark."""
    parts = unicodedata.normalize("NFD", char)
    tones = "".join(c for c in parts if c in _TONE_MARKS)
    base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS))
    return base, tones


def _join(parts: Iterable[bytes | None]) -> bytes | None:
    """The parts joined, or None if any part is None."""
    out = bytearray()
    for part in parts:
        if part is None:
            return None
        out += part
    return bytes(out)


def _letter_then_tone(char: str, encode_one: Callable[[str], bytes | None]) -> bytes | None:
    """``char`` encoded whole, else as its letter followed by a combining tone byte."""
    direct = encode_one(char)
    if direct is not None:
        return direct
    base, tones = _split_tone(char)
    return _join(map(encode_one, (base, *tones))) if tones and len(base) == 1 else None


def _cp1258_byte(char: str) -> bytes | None:
    try:
        return char.encode("cp1258")
    except UnicodeEncodeError:
        return None


def _tcvn3_byte(char: str) -> bytes | None:
    code = _TCVN3_BYTES.get(char)
    return None if code is None else bytes([code])


def _encode_cp1258_char(char: str) -> bytes | None:
    # cp1258 holds â ă ê ô ơ ư but few toned letters: the tone goes in a combining byte.
    return _letter_then_tone(char, _cp1258_byte)


def _encode_tcvn3_char(char: str) -> bytes | None:
    return _letter_then_tone(char, _tcvn3_byte)


def _encode_tcvn3_upper_char(char: str) -> bytes | None:
    if char.islower():
        return None
    # The .VnTimeH fonts draw TCVN3's lower-case codes as capitals; ASCII stays as typed.
    return char.encode("ascii") if char.isascii() else _encode_tcvn3_char(char.lower())


def _encode_vni_char(char: str) -> bytes | None:
    code = VNI_TABLE.get(char)
    if code is not None:
        return code.encode("cp1252")
    byte = _CP1252_BYTES.get(char, ord(char) if ord(char) < 0x80 else None)
    # Bytes from 0xC0 up are VNI's letters and marks: a Western letter there would not survive.
    return bytes([byte]) if byte is not None and byte < 0xC0 else None


def _encode_utf8_char(char: str) -> bytes | None:
    return None if 0xD800 <= ord(char) <= 0xDFFF else char.encode("utf-8")


_CHAR_ENCODERS = {
    "utf-8": _encode_utf8_char,
    "cp1258": _encode_cp1258_char,
    "tcvn3": _encode_tcvn3_char,
    "vni": _encode_vni_char,
    "tcvn3-upper": _encode_tcvn3_upper_char,
}


def encode_legacy(text: str, encoding: str) -> bytes:
    """Encode ``text`` in ``encoding``: the inverse of decode_legacy, for test and demo files.

    >>> encode_legacy("Bảo Thắng", "tcvn3")
    b'B\\xb6o Th\\xbeng'
    >>> encode_legacy("", "vni")
    b''
    >>> encode_legacy("東京", "tcvn3")
    Traceback (most recent call last):
    geo.errors.EncodingError: TCVN3 (ABC, .VnTime fonts) cannot hold '東', '京' (in '東京').
    """
    canonical = normalise_encoding_name(encoding)
    encode_char = _CHAR_ENCODERS[canonical]
    text = unicodedata.normalize("NFC", text)
    encoded = _join(encode_char(c) for c in text)
    if encoded is None:
        raise _unencodable(text, canonical, [c for c in text if encode_char(c) is None])
    return encoded


def _unencodable(text: str, encoding: str, missing: list[str]) -> EncodingError:
    label_en, label_vi = _LABELS[encoding]
    shown = ", ".join(repr(c) for c in dict.fromkeys(missing))
    if encoding == "tcvn3-upper" and any(c.islower() for c in missing):
        return EncodingError(
            f"Bảng mã {label_vi} chỉ có chữ in hoa, không chứa {shown} (trong {text[:60]!r}).",
            f"{label_en} holds capitals only, not {shown} (in {text[:60]!r}).",
            hint_vi="Hãy viết hoa văn bản trước, hoặc dùng bảng mã tcvn3.",
            hint_en="Upper-case the text first, or use the tcvn3 encoding.",
        )
    return EncodingError(
        f"Bảng mã {label_vi} không chứa được {shown} (trong {text[:60]!r}).",
        f"{label_en} cannot hold {shown} (in {text[:60]!r}).",
        hint_vi="Hãy bỏ các ký tự đó hoặc dùng utf-8.",
        hint_en="Remove those characters or use utf-8.",
    )


# --- recovering bytes ------------------------------------------------------------------------


def recover_bytes(text: str) -> bytes | None:
    """The bytes that were read as ``text`` by a latin-1 or cp1252 reader; None if no such bytes.

    >>> recover_bytes("B¶o Th¾ng")
    b'B\\xb6o Th\\xbeng'
    >>> recover_bytes("")
    b''
    >>> recover_bytes("Bảo") is None  # 'ả' is no single byte in either: already Unicode
    True
    """
    out = bytearray()
    for char in text:
        byte = ord(char) if ord(char) < 0x100 else _CP1252_BYTES.get(char)
        if byte is None:
            return None
        out.append(byte)
    return bytes(out)


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
    tones = [c for c in decomposed if c in _TONE_MARKS]
    if len(tones) > 1:
        return False
    tone = tones[0] if tones else ""
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
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
        if char in _TONE_MARKS:
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
    if rhyme.endswith(("c", "ch", "p", "t")) and tone not in (_ACUTE, _DOT):
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
    label_en, label_vi = _LABELS[encoding]
    reason = f"{tally.good_values}/{tally.values} values decode to valid Vietnamese as {label_en}"
    reason_vi = (
        f"{tally.good_values}/{tally.values} giá trị giải mã thành tiếng Việt hợp lệ "
        f"theo {label_vi}"
    )
    if runner_up is not None:
        other, other_tally = runner_up
        reason += (
            f" (next best: {_LABELS[other][0]}, {other_tally.good_values}/{other_tally.values})"
        )
        reason_vi += (
            f" (kế tiếp: {_LABELS[other][1]}, {other_tally.good_values}/{other_tally.values})"
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
        for word in _words_to_judge(unicodedata.normalize("NFC", _decode_tcvn3(raw))):
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
        f"hợp lệ (tốt nhất: {_LABELS[best_name][1]}, {best.good_values}/{best.values} giá trị).",
        "Could not recognise the Vietnamese text encoding: no encoding gives valid Vietnamese "
        f"(best: {_LABELS[best_name][0]}, {best.good_values}/{best.values} values).",
        hint_vi=_HINT_VI,
        hint_en=_HINT_EN,
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
        label_en, label_vi = _LABELS[encoding]
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
    label_en, label_vi = _LABELS[encoding]
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
