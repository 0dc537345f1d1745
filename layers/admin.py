"""Administrative units (đơn vị hành chính): provinces, communes and villages (thôn)."""

from __future__ import annotations

from typing import Any

from geo.values import parse_text

from .schema import Field, LayerSpec, Reference


def _code(digits: int):
    def parse(value: Any) -> str | None:
        text = parse_text(value)
        if text is None:
            return None
        if text.endswith(".0"):  # numeric DBF columns
            text = text[:-2]
        if not text.isdigit() or len(text) > digits:
            raise ValueError(f"'{value}' is not a {digits}-digit statistics-office code")
        return text.zfill(digits)

    return parse


def _village_code(value: Any) -> str | None:
    text = parse_text(value)
    if text is not None and len(text) > 40:
        raise ValueError(f"'{value}' is too long for a village code")
    return text


PROVINCES = LayerSpec(
    name="provinces",
    table="province",
    kind="polygon",
    title_vi="Tỉnh",
    fields=(
        Field("code", "text", ("ma_tinh", "matinh", "province_code"), _code(2), True, "mã tỉnh"),
        Field("name", "text", ("ten_tinh", "tentinh", "ten"), parse_text, True, "tên tỉnh"),
        Field("old_code", "text", ("ma_tinh_cu", "matinhcu"), _code(2), False, "mã tỉnh cũ"),
    ),
    sql_file="provinces.sql",
    unique=("code",),
    geometry_required=False,
)

COMMUNES = LayerSpec(
    name="communes",
    table="commune",
    kind="polygon",
    title_vi="Xã",
    fields=(
        Field("code", "text", ("ma_xa", "maxa", "commune_code"), _code(5), True, "mã xã"),
        Field("name", "text", ("ten_xa", "tenxa", "ten"), parse_text, True, "tên xã"),
        Field("province_code", "text", ("ma_tinh", "matinh"), _code(2), True, "mã tỉnh"),
        Field("province_name", "text", ("ten_tinh", "tentinh"), parse_text, False, "tên tỉnh"),
        Field("old_code", "text", ("ma_xa_cu", "maxacu"), _code(5), False, "mã xã cũ"),
        Field(
            "old_province_code", "text", ("ma_tinh_cu", "matinhcu"), _code(2), False, "mã tỉnh cũ"
        ),
        Field(
            "old_district_code",
            "text",
            ("ma_huyen_cu", "ma_huyen", "mahuyen"),
            _code(3),
            False,
            "mã huyện cũ",
        ),
        Field("old_name", "text", ("ten_xa_cu",), parse_text, False, "tên xã cũ"),
    ),
    sql_file="communes.sql",
    unique=("code",),
)

VILLAGES = LayerSpec(
    name="villages",
    table="village",
    kind="polygon",
    title_vi="Thôn",
    fields=(
        Field(
            "code", "text", ("ma_thon", "mathon", "village_code"), _village_code, True, "mã thôn"
        ),
        Field("name", "text", ("ten_thon", "tenthon", "ten"), parse_text, True, "tên thôn"),
        Field("commune_code", "text", ("ma_xa", "maxa"), _code(5), True, "mã xã"),
    ),
    sql_file="villages.sql",
    unique=("code",),
    references=(Reference("commune_code", "commune", "code", "mã xã"),),
)
