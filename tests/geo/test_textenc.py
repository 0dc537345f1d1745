"""Legacy Vietnamese text: round trips, glibc's TCVN3, a second VNI table, guessing, mojibake."""

from __future__ import annotations

import random
import shutil
import subprocess
import unicodedata

import pytest

from geo.errors import EncodingError
from geo.textenc import (
    ENCODINGS,
    VNI_TABLE,
    decode_legacy,
    encode_legacy,
    normalise_encoding_name,
    recover_bytes,
)
from geo.textguess import (
    fix_text_column,
    guess_encoding,
    is_vietnamese_syllable,
    looks_like_mojibake,
)

# Place and person names from DOMAIN.md and the demo commune.
NAMES = [
    "Bảo Thắng",
    "Tịnh Long",
    "Gia Phú",
    "Quảng Ngãi",
    "Lào Cai",
    "Đắk Lắk",
    "Nguyễn Văn Ước",
    "Hợp tác xã Ứng Hòa",
    "ĐỒNG THÁP",
    "Xã Tịnh Khê",
    "Thôn Cóc",
    "Làng Chưng",
]
UPPER_NAMES = ["BẢO THẮNG", "ĐỒNG THÁP", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "GIA PHÚ", "LÀO CAI"]
BYTE_ENCODINGS = ("utf-8", "cp1258", "tcvn3", "vni")


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("UTF-8", "utf-8"),
        ("utf8", "utf-8"),
        ("Windows-1258", "cp1258"),
        ("CP1258", "cp1258"),
        ("tcvn", "tcvn3"),
        ("ABC", "tcvn3"),
        ("TCVN5712", "tcvn3"),
        ("tcvn3", "tcvn3"),
        ("VNI-Windows", "vni"),
        ("vni", "vni"),
        (" vni_windows ", "vni"),
        (".VnTimeH", "tcvn3-upper"),
    ],
)
def test_normalise_encoding_name_accepts_aliases(name: str, canonical: str) -> None:
    assert normalise_encoding_name(name) == canonical
    assert canonical in ENCODINGS


@pytest.mark.parametrize("name", ["latin-1", "koi8-r", "", "viscii"])
def test_unknown_encoding_name_lists_supported_names(name: str) -> None:
    with pytest.raises(EncodingError) as info:
        normalise_encoding_name(name)
    for message in (info.value.message("vi"), info.value.message("en")):
        assert all(n in message for n in ("utf-8", "cp1258", "tcvn3", "vni"))
    assert "Không biết bảng mã" in info.value.vi


@pytest.mark.parametrize("encoding", BYTE_ENCODINGS)
@pytest.mark.parametrize("name", NAMES)
def test_round_trip(name: str, encoding: str) -> None:
    raw = encode_legacy(name, encoding)
    decoded = decode_legacy(raw, encoding)
    assert decoded == name
    assert unicodedata.is_normalized("NFC", decoded)


@pytest.mark.parametrize("name", UPPER_NAMES)
def test_round_trip_upper_case_tcvn3(name: str) -> None:
    raw = encode_legacy(name, "tcvn3-upper")
    # .VnTimeH text keeps ASCII capitals and uses the lower-case codes for Vietnamese letters.
    assert raw == encode_legacy(name.lower(), "tcvn3").upper()
    assert decode_legacy(raw, "tcvn3-upper") == name


def test_upper_case_tcvn3_decodes_a_real_vntimeh_heading() -> None:
    assert (
        decode_legacy("CéNG HOµ X· HéI CHñ NGHÜA VIÖT NAM".encode("latin-1"), "tcvn3-upper")
        == "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    )


def test_cp1258_writes_tone_marks_as_combining_bytes_and_decodes_to_nfc() -> None:
    raw = encode_legacy("Nguyễn", "cp1258")
    assert raw == b"Nguy\xea\xden"  # ê, then the combining tilde
    decoded = decode_legacy(raw, "cp1258")
    assert decoded == "Nguyễn"
    assert len(decoded) == 6
    assert unicodedata.is_normalized("NFC", decoded)


def test_glibc_example_recovered_from_latin1_text() -> None:
    raw = recover_bytes("B¶o Th¾ng")
    assert raw == b"B\xb6o Th\xbeng"
    assert decode_legacy(raw, "tcvn3") == "Bảo Thắng"


def test_tcvn3_table_matches_glibc_iconv_for_every_byte() -> None:
    iconv = shutil.which("iconv")
    if iconv is None:
        pytest.skip("iconv (glibc) is not installed")
    values = [bytes([b]) for b in range(1, 256) if b != 0x0A]
    # Newlines keep glibc from composing a letter with the tone byte after it.
    out = subprocess.run(
        [iconv, "-f", "TCVN5712-1", "-t", "UTF-8"],
        input=b"\n".join(values),
        capture_output=True,
        check=True,
    )
    glibc = out.stdout.decode("utf-8").split("\n")
    ours = [decode_legacy(v, "tcvn3") for v in values]
    assert len(glibc) == len(ours) == 254
    assert ours == glibc


@pytest.mark.parametrize("name", NAMES)
def test_tcvn3_names_match_glibc_iconv(name: str) -> None:
    iconv = shutil.which("iconv")
    if iconv is None:
        pytest.skip("iconv (glibc) is not installed")
    out = subprocess.run(
        [iconv, "-f", "UTF-8", "-t", "TCVN5712-1"],
        input=name.encode("utf-8"),
        capture_output=True,
        check=True,
    )
    assert encode_legacy(name, "tcvn3") == out.stdout
    assert decode_legacy(out.stdout, "tcvn3") == name


# A second source for VNI-Windows: xvnkb's vni.h (Dao Hai Lam, 2002), as cp1252 text. The table
# in geo/textenc.py comes from UniKey's VnConv; the y row is where some converters go wrong.
XVNKB_VNI = {
    "á": "aù", "à": "aø", "ả": "aû", "ã": "aõ", "ạ": "aï",
    "ấ": "aá", "ầ": "aà", "ẩ": "aå", "ẫ": "aã", "ậ": "aä",
    "ắ": "aé", "ằ": "aè", "ẳ": "aú", "ẵ": "aü", "ặ": "aë",
    "ế": "eá", "ệ": "eä", "ỉ": "æ", "ĩ": "ó", "ị": "ò",
    "ơ": "ô", "ớ": "ôù", "ợ": "ôï", "ư": "ö", "ừ": "öø", "ự": "öï",
    "ỳ": "yø", "ỷ": "yû", "ỹ": "yõ", "ỵ": "î", "đ": "ñ",
    "Á": "AÙ", "Ấ": "AÁ", "Ặ": "AË", "Ơ": "Ô", "Ở": "ÔÛ", "Ư": "Ö",
    "Ứ": "ÖÙ", "Ỹ": "YÕ", "Ỵ": "Î", "Đ": "Ñ", "Ị": "Ò",
}  # fmt: skip


@pytest.mark.parametrize(("letter", "vni"), sorted(XVNKB_VNI.items()))
def test_vni_table_agrees_with_a_second_source(letter: str, vni: str) -> None:
    assert VNI_TABLE[letter] == vni
    assert encode_legacy(letter, "vni") == vni.encode("cp1252")
    assert decode_legacy(vni.encode("cp1252"), "vni") == letter


def test_vni_table_covers_every_vietnamese_letter_once() -> None:
    assert len(VNI_TABLE) == 134
    assert len(set(VNI_TABLE.values())) == 134
    assert all(unicodedata.is_normalized("NFC", k) and len(k) == 1 for k in VNI_TABLE)


@pytest.mark.parametrize(
    ("vni", "expected"),
    [("Baûo Thaéng", "Bảo Thắng"), ("Hôïp taùc xaõ", "Hợp tác xã"), ("AÙ Aù aÙ", "Á Á á")],
)
def test_vni_decoding(vni: str, expected: str) -> None:
    assert decode_legacy(vni.encode("cp1252"), "vni") == expected


@pytest.mark.parametrize(
    ("text", "encoding", "bad"),
    [
        ("東京", "tcvn3", "東"),
        ("Straße", "vni", "ß"),  # 0xDF is a VNI mark byte
        ("Bảo 日", "cp1258", "日"),
        ("Bảo Thắng", "tcvn3-upper", "ả"),
    ],
)
def test_encode_refuses_what_the_encoding_cannot_hold(text: str, encoding: str, bad: str) -> None:
    with pytest.raises(EncodingError) as info:
        encode_legacy(text, encoding)
    assert repr(bad) in info.value.en
    assert repr(bad) in info.value.vi
    assert info.value.hint_en and info.value.hint_vi


@pytest.mark.parametrize(("raw", "encoding"), [(b"B\xe1\xba", "utf-8"), (b"B\x81o", "cp1258")])
def test_decode_refuses_invalid_bytes(raw: bytes, encoding: str) -> None:
    with pytest.raises(EncodingError) as info:
        decode_legacy(raw, encoding)
    assert "--encoding" in info.value.hint_en
    assert "--encoding" in info.value.hint_vi


@pytest.mark.parametrize("encoding", BYTE_ENCODINGS)
def test_guess_encoding_of_a_column(encoding: str) -> None:
    guess = guess_encoding(encode_legacy(n, encoding) for n in NAMES)
    assert guess.encoding == encoding
    assert guess.confidence >= 0.9
    assert f"{len(NAMES)}/{len(NAMES)} values" in guess.reason
    assert "giá trị" in guess.reason_vi
    assert guess.example_decoded in NAMES
    assert encode_legacy(guess.example_decoded, encoding).decode("latin-1") == guess.example_raw


def test_guess_encoding_recognises_vntimeh_capitals() -> None:
    guess = guess_encoding(encode_legacy(n, "tcvn3-upper") for n in UPPER_NAMES)
    assert guess.encoding == "tcvn3-upper"
    assert guess.example_decoded in UPPER_NAMES


def test_guess_encoding_of_ascii_is_utf8() -> None:
    guess = guess_encoding([b"Gia Phu", b"Thon 5", b""])
    assert (guess.encoding, guess.confidence) == ("utf-8", 1.0)
    assert guess_encoding([]).encoding == "utf-8"


@pytest.mark.parametrize(
    "raw",
    [
        "Привет мир".encode("koi8-r"),
        "日本語".encode("shift_jis"),
        "日本語のテキスト".encode(),
        "Müller Straße".encode("latin-1"),
        random.Random(5712).randbytes(40),
    ],
)
def test_guess_encoding_refuses_text_that_is_not_vietnamese(raw: bytes) -> None:
    with pytest.raises(EncodingError) as info:
        guess_encoding([raw])
    assert "--encoding" in info.value.hint_en
    assert "--encoding" in info.value.hint_vi
    assert all(n in info.value.hint_en for n in ("utf-8", "cp1258", "tcvn3", "vni"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B¶o Th¾ng", True),  # TCVN3 read as latin-1
        ("Baûo Thaéng", True),  # VNI read as cp1252
        ("Báº£o", True),  # UTF-8 read as latin-1
        ("Hîp t¸c x· ¦ng Hßa", True),
        ("Bảo Thắng", False),
        ("Hòa", False),
        ("Gia Phú", False),
        ("Long", False),
        ("", False),
        ("Müller", False),
    ],
)
def test_looks_like_mojibake(text: str, expected: bool) -> None:
    assert looks_like_mojibake(text) is expected


def test_recover_bytes_from_cp1252_reading() -> None:
    original = "Mường Khương".encode()
    as_cp1252 = "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in original)
    assert recover_bytes(as_cp1252) == original
    assert recover_bytes("Mường") is None


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("Thắng", True),
        ("NGHĨA", True),
        ("giếng", True),
        ("quỳnh", True),
        ("Lắk", True),
        ("Thuỷ", True),
        ("Ước", True),
        ("Baûo", False),  # VNI read as cp1252
        ("Baềo", False),  # cp1258 read as TCVN3
        ("Haị", False),  # tone on a closing glide
        ("Bàt", False),  # stop final with huyền
        ("Bảả", False),
        ("", False),
    ],
)
def test_is_vietnamese_syllable(word: str, expected: bool) -> None:
    assert is_vietnamese_syllable(word) is expected


def test_fix_text_column_guesses_and_keeps_empty_values() -> None:
    values = [encode_legacy(n, "tcvn3").decode("latin-1") for n in NAMES]
    fixed, guess = fix_text_column([*values, None, ""], None)
    assert fixed == [*NAMES, None, ""]
    assert guess.encoding == "tcvn3"
    assert all(unicodedata.is_normalized("NFC", v) for v in fixed if v)


def test_fix_text_column_with_a_given_encoding() -> None:
    values = [encode_legacy(n, "vni").decode("latin-1") for n in NAMES]
    fixed, guess = fix_text_column(values, "VNI-Windows")
    assert fixed == NAMES
    assert guess.encoding == "vni"
    assert guess.confidence == 1.0
    assert "as requested" in guess.reason


def test_fix_text_column_leaves_ascii_and_unicode_alone() -> None:
    fixed, guess = fix_text_column(["Gia Phu", None, "Thon 5"], None)
    assert fixed == ["Gia Phu", None, "Thon 5"]
    assert guess.encoding == "utf-8"
    decomposed = unicodedata.normalize("NFD", "Bảo Thắng")
    fixed, guess = fix_text_column([decomposed, "Gia Phú"], None)
    assert fixed == ["Bảo Thắng", "Gia Phú"]
    assert guess.encoding == "utf-8"


def test_fix_text_column_refuses_a_wrong_encoding_name() -> None:
    with pytest.raises(EncodingError):
        fix_text_column(["B¶o Th¾ng"], "abc-def")
