"""Administrative units (đơn vị hành chính): provinces, communes and villages (thôn)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from geo.values import parse_text

from .schema import Column, Layer, Reference


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


PROVINCES = Layer(
    id="provinces",
    table="province",
    id_column="code",
    geometry_type="MultiPolygon",
    title_vi="Tỉnh, thành phố",
    title_en="Provinces",
    description_vi="Tỉnh, thành phố trực thuộc trung ương, mã của Tổng cục Thống kê (sau 1/7/2025).",
    description_en="Provinces with their statistics-office codes (after 1 July 2025).",
    columns=(
        Column("code", "text", "Mã tỉnh", "Province code", _code(2),
               ("ma_tinh", "matinh", "province_code"), required=True, public=True),
        Column("name", "text", "Tên", "Name", parse_text, ("ten_tinh", "tentinh", "ten"),
               required=True, public=True, label="tên tỉnh"),
        Column("old_code", "text", "Mã tỉnh cũ", "Former province code", _code(2),
               ("ma_tinh_cu", "matinhcu"), stored=False),
    ),
    sql_file="provinces.sql",
    unique=("code",),
    geometry_required=False,
)  # fmt: skip

COMMUNES = Layer(
    id="communes",
    table="commune",
    id_column="code",
    geometry_type="MultiPolygon",
    title_vi="Xã, phường",
    title_en="Communes",
    description_vi="Xã, phường, đặc khu với mã của Tổng cục Thống kê.",
    description_en="Communes and wards with their statistics-office codes.",
    columns=(
        Column("code", "text", "Mã xã", "Commune code", _code(5),
               ("ma_xa", "maxa", "commune_code"), required=True, public=True),
        Column("name", "text", "Tên", "Name", parse_text, ("ten_xa", "tenxa", "ten"),
               required=True, public=True, label="tên xã"),
        Column("province_code", "text", "Mã tỉnh", "Province code", _code(2),
               ("ma_tinh", "matinh"), required=True, public=True),
        # Read on import into commune_former_code (codes issued before the 2025 reform), not stored
        # in the commune table.
        Column("province_name", "text", "Tên tỉnh", "Province name", parse_text,
               ("ten_tinh", "tentinh"), stored=False),
        Column("old_code", "text", "Mã xã cũ", "Former commune code", _code(5),
               ("ma_xa_cu", "maxacu"), stored=False),
        Column("old_province_code", "text", "Mã tỉnh cũ", "Former province code", _code(2),
               ("ma_tinh_cu", "matinhcu"), stored=False),
        Column("old_district_code", "text", "Mã huyện cũ", "Former district code", _code(3),
               ("ma_huyen_cu", "ma_huyen", "mahuyen"), stored=False),
        Column("old_name", "text", "Tên xã cũ", "Former commune name", parse_text,
               ("ten_xa_cu",), stored=False),
    ),
    sql_file="communes.sql",
    unique=("code",),
)  # fmt: skip

VILLAGES = Layer(
    id="villages",
    table="village",
    id_column="code",
    geometry_type="MultiPolygon",
    title_vi="Thôn, bản, tổ dân phố",
    title_en="Villages",
    description_vi="Thôn, bản, tổ dân phố trong xã.",
    description_en="Villages (thôn) within communes.",
    columns=(
        Column("code", "text", "Mã thôn", "Village code", _village_code,
               ("ma_thon", "mathon", "village_code"), required=True, public=True, popup=2),
        Column("name", "text", "Tên", "Name", parse_text, ("ten_thon", "tenthon", "ten"),
               required=True, public=True, popup=1, label="tên thôn"),
        Column("commune_code", "text", "Mã xã", "Commune code", _code(5), ("ma_xa", "maxa"),
               required=True, public=True),
    ),
    sql_file="villages.sql",
    unique=("code",),
    references=(Reference("commune_code", "commune", "code", "mã xã"),),
    placed_in="commune",
    scoped_code=True,
)  # fmt: skip


async def first_commune_code(conn: AsyncConnection) -> str | None:
    row = await (await conn.execute("SELECT code FROM commune ORDER BY code LIMIT 1")).fetchone()
    return row[0] if row else None


async def commune_bounds(
    conn: AsyncConnection, code: str
) -> tuple[str, tuple[float, float, float, float]] | None:
    """A commune's name and (lon_min, lat_min, lon_max, lat_max), or None if it is not stored."""
    row = await (
        await conn.execute(
            "SELECT name, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
            "FROM commune WHERE code = %s",
            (code,),
        )
    ).fetchone()
    return (row[0], tuple(row[1:5])) if row else None


async def commune_names(conn: AsyncConnection, codes: Sequence[str]) -> dict[str, str]:
    """The stored communes' names by code (codes not stored are left out)."""
    if not codes:
        return {}
    rows = await (
        await conn.execute(
            "SELECT code, name FROM commune WHERE code = ANY(%s) ORDER BY code", (list(codes),)
        )
    ).fetchall()
    return dict(rows)
