"""Households (hộ gia đình): import mapping; names and phones are personal data."""

from __future__ import annotations

from typing import Any

from geo.values import normalise_phone, parse_bool, parse_text

from .spec import Field, LayerSpec, Reference


def _code(value: Any) -> str | None:
    text = parse_text(value)
    if text is not None and len(text) > 40:
        raise ValueError(f"'{value}' is too long for a household code (40 characters)")
    return text


SPEC = LayerSpec(
    name="households",
    table="household",
    kind="point",
    title_vi="Hộ gia đình",
    fields=(
        Field("code", "text", ("ma_ho", "maho", "household_code", "ma"), _code, True, "mã hộ"),
        Field(
            "label",
            "text",
            ("nhan", "ten_hien_thi", "so_nha", "dia_chi_ngan"),
            parse_text,
            False,
            "nhãn",
        ),
        Field("village_code", "text", ("ma_thon", "mathon"), parse_text, False, "mã thôn"),
        Field(
            "head_name",
            "text",
            ("ten_chu_ho", "chu_ho", "ho_ten", "ten"),
            parse_text,
            False,
            "tên chủ hộ",
        ),
        Field(
            "phone",
            "text",
            ("dien_thoai", "so_dien_thoai", "sdt", "phone"),
            normalise_phone,
            False,
            "điện thoại",
        ),
        Field(
            "has_fibre",
            "boolean",
            ("cap_quang", "co_cap_quang", "internet_cap_quang", "ftth"),
            parse_bool,
            False,
            "cáp quang",
        ),
    ),
    sql_file="households.sql",
    unique=("code",),
    references=(Reference("village_code", "village", "code", "mã thôn"),),
)
