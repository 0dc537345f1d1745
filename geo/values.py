"""Parse attribute values as communes write them: Vietnamese yes/no, dd/mm/yyyy dates, 0,5 ha."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable
from typing import Any


def fold(text: str) -> str:
    """Lower-case ASCII form for matching names and words: "Trạng thái" -> "trang thai".

    >>> fold("ĐANG Hoạt động")
    'dang hoat dong'
    >>> fold("")
    ''
    """
    text = text.replace("đ", "d").replace("Đ", "D")
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
    )
    return re.sub(r"[\s_\-]+", " ", stripped).strip().lower()


# The longest text one value may hold (a name, a note), in a request (AGRIMAP_MAX_TEXT_CHARS)
# and in an imported file's cell.
MAX_TEXT_CHARS = 2_000


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


# Parsers that return some values unchanged, with a test of a whole column of cells for that:
# an import takes a million such cells at once (C-speed string tests over the joined column)
# and parses one by one only a column that fails it.
UNCHANGED: dict[Callable[[Any], Any], Callable[[list[Any]], bool]] = {}


def all_plain_text(cells: list[Any], max_chars: int = MAX_TEXT_CHARS) -> bool:
    """Every cell is printable ASCII text (NFC as it is), not blank, without surrounding
    spaces, and at most ``max_chars`` long: what ``parse_text`` returns unchanged."""
    try:
        joined = "\n".join(cells)
    except TypeError:  # a cell that is not text
        return False
    if not joined.replace("\n", "").isascii() or not joined.replace("\n", " ").isprintable():
        return False
    if joined.startswith((" ", "\n")) or joined.endswith((" ", "\n")):
        return False
    if " \n" in joined or "\n " in joined or "\n\n" in joined:
        return False
    return max(map(len, cells), default=0) <= max_chars


def all_matching(cells: list[Any], pattern: str) -> bool:
    """Every cell is text that ``pattern`` (which takes no line break) matches whole."""
    try:
        joined = "\n".join(cells)
    except TypeError:
        return False
    return bool(cells) and re.fullmatch(f"(?:{pattern}\n)*{pattern}", joined) is not None


def parse_text(value: Any) -> str | None:
    if is_blank(value):
        return None
    return unicodedata.normalize("NFC", str(value).strip())


UNCHANGED[parse_text] = all_plain_text


def parse_number(value: Any) -> float | None:
    """A decimal number; accepts a comma as decimal separator ("0,5").

    >>> parse_number("0,1001")
    0.1001
    >>> parse_number("") is None
    True
    """
    if is_blank(value):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            raise ValueError(f"'{value}' is too large a number") from None
        if not math.isfinite(number):
            raise ValueError(f"'{value}' is not a finite number")
        return number
    text = str(value).strip().replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"'{value}' is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"'{value}' is not a finite number")
    return number


INT64_MAX = 2**63 - 1


def id_number(text: str) -> int | None:
    """A non-negative 64-bit integer written in ASCII digits, else None: "²" or "١٢٣" pass
    ``str.isdigit`` but are no id, and 20 digits fit no PostgreSQL bigint.

    >>> id_number("12"), id_number("²"), id_number("99999999999999999999"), id_number("")
    (12, None, None, None)
    """
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if value <= INT64_MAX else None


def parse_integer(value: Any) -> int | None:
    number = parse_number(value)
    if number is None:
        return None
    if number != int(number):
        raise ValueError(f"'{value}' is not a whole number")
    return int(number)


_TRUE = {"co", "x", "yes", "y", "true", "1", "dung", "da lap dat", "da dang ky"}
_FALSE = {"khong", "no", "n", "false", "0", "chua", "chua lap dat"}


def parse_bool(value: Any) -> bool | None:
    """Yes/no in Vietnamese or English: "có", "không", "x", "1", "yes".

    >>> parse_bool("Có"), parse_bool("không"), parse_bool(None)
    (True, False, None)
    """
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    word = fold(str(value))
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"'{value}' is not yes/no (có/không)")


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y%m%d")


def parse_date(value: Any) -> dt.date | None:
    """A date written as 2024-03-15, 15/03/2024 (Vietnamese order), or a bare year.

    >>> parse_date("15/03/2024")
    datetime.date(2024, 3, 15)
    >>> parse_date("2023")
    datetime.date(2023, 1, 1)
    """
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return value.to_pydatetime().date()
    text = str(value).strip().split("T")[0].split(" ")[0]
    if re.fullmatch(r"(19|20)\d\d", text):
        return dt.date(int(text), 1, 1)
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"'{value}' is not a date (use dd/mm/yyyy or yyyy-mm-dd)")


def parse_choice(value: Any, choices: dict[str, str]) -> str | None:
    """Map a word to a stored value through folded synonyms, e.g. "Tạm dừng" -> "suspended"."""
    if is_blank(value):
        return None
    key = fold(str(value))
    if key in choices:
        return choices[key]
    allowed = ", ".join(sorted(set(choices)))
    raise ValueError(f"'{value}' is not one of: {allowed}")


def normalise_phone(value: Any) -> str | None:
    """A Vietnamese phone number as digits, leading 0 kept: "0912 345 678" -> "0912345678".

    >>> normalise_phone("+84 912 345 678")
    '0912345678'
    """
    if is_blank(value):
        return None
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = "0" + str(int(value))  # spreadsheets drop the leading zero
    digits = re.sub(r"[\s.\-()]", "", text)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not re.fullmatch(r"0\d{9,10}", digits):
        raise ValueError(f"'{value}' is not a Vietnamese phone number (10 digits starting with 0)")
    return digits


UNCHANGED[normalise_phone] = lambda cells: all_matching(cells, r"0\d{9,10}")


# --- writing numbers for people ---------------------------------------------------------------

# How many decimals a value of a kind is shown with, the same on every page (issue 14: one
# page said "1.4765", another "1,4765 ha").
DECIMALS = {"area_ha": 4, "m2": 1, "percent": 1}


def format_number(
    value: float | int | None, decimals: int | None = None, *, lang: str = "vi",
    grouping: bool = True,
) -> str:  # fmt: skip
    """A number as a person reads it: Vietnamese ``1.234,5`` (dot for thousands, comma for
    decimals), English ``1,234.5``. ``decimals`` None keeps an integer whole and gives other
    numbers up to 6 significant decimals, trailing zeros dropped; None gives "".

    >>> format_number(1.4765, 4), format_number(1.4765, 4, lang="en"), format_number(2626)
    ('1,4765', '1.4765', '2.626')
    >>> format_number(2472922.149, 2, grouping=False), format_number(0.5), format_number(None)
    ('2472922,15', '0,5', '')
    >>> format_number(-1234.5, 1), format_number(float("nan"))
    ('-1.234,5', '')
    """
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if decimals is None:
        if isinstance(value, int) or float(value).is_integer():
            text = f"{int(value):,}" if grouping else str(int(value))
        else:
            text = f"{value:,.6f}" if grouping else f"{value:.6f}"
            text = text.rstrip("0").rstrip(".")
    else:
        text = f"{value:,.{decimals}f}" if grouping else f"{value:.{decimals}f}"
    if lang == "en":
        return text
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")
