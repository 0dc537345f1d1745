"""Legacy Vietnamese text encodings (TCVN3/ABC, VNI-Windows, cp1258): decode, encode, recover
the bytes behind mojibake. Telling which encoding a file uses is ``geo.textguess``."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
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

LABELS: dict[str, tuple[str, str]] = {  # (English, Vietnamese) names shown to people
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
HINT_VI = f"Hãy chỉ rõ bảng mã bằng --encoding TÊN, với TÊN là một trong: {_NAMES}."
HINT_EN = f"Pass the encoding with --encoding NAME, where NAME is one of: {_NAMES}."

# Tone marks (huyền, sắc, ngã, hỏi, nặng) as combining characters; TCVN3 bytes 0xB0-0xB4.
GRAVE, ACUTE, TILDE, HOOK, DOT = "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"
TONE_MARKS = frozenset((GRAVE, ACUTE, TILDE, HOOK, DOT))


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


def decode_tcvn3(raw: bytes) -> str:
    return "".join(_TCVN3_CHARS[b] for b in raw)


def _decode_tcvn3_upper(raw: bytes) -> str:
    # .VnTimeH fonts draw the lower-case codes as capitals, so the bytes are TCVN3's.
    return unicodedata.normalize("NFC", decode_tcvn3(raw)).upper()


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
    "tcvn3": decode_tcvn3,
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
    label_en, label_vi = LABELS[encoding]
    byte = raw[exc.start]
    return EncodingError(
        f"Dãy byte {raw[:40]!r} không hợp lệ theo bảng mã {label_vi} "
        f"(byte 0x{byte:02x} ở vị trí {exc.start}).",
        f"Bytes {raw[:40]!r} are not valid {label_en} (byte 0x{byte:02x} at position {exc.start}).",
        hint_vi=f"Có lẽ văn bản dùng bảng mã khác. {HINT_VI}",
        hint_en=f"The text is probably in another encoding. {HINT_EN}",
    )


# --- encoding -------------------------------------------------------------------------------


def _split_tone(char: str) -> tuple[str, str]:
    """'ậ' -> ('â', '\\u0323'): the letter without its tone mark, and the tone mark."""
    parts = unicodedata.normalize("NFD", char)
    tones = "".join(c for c in parts if c in TONE_MARKS)
    base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
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
    label_en, label_vi = LABELS[encoding]
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
