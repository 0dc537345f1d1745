"""Households (hộ gia đình): import mapping; names and phones are personal data."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection, sql

from geo.errors import NotFound
from geo.values import normalise_phone, parse_bool, parse_text

from .spec import Field, LayerSpec, Reference, parse_changes


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


# --- records (server) -------------------------------------------------------------------

EDITABLE = frozenset({"label", "head_name", "phone", "has_fibre"})
PERSONAL_COLUMNS = ("id", "code", "label", "village_code", "commune_code", "head_name", "phone", "has_fibre")  # fmt: skip


async def update(conn: AsyncConnection, hid: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a household's attributes; the database checks the acting account's communes."""
    values = parse_changes(SPEC, changes, EDITABLE, frozenset({"label", "has_fibre"}))
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in values
    )
    cur = await conn.execute(
        sql.SQL("UPDATE household SET {} WHERE id = %(id)s RETURNING id").format(assignments),
        {**values, "id": hid},
    )
    if await cur.fetchone() is None:
        raise not_found(hid)
    return values


async def read_personal(conn: AsyncConnection, hid: int) -> dict[str, Any]:
    """A household with its personal data; the database checks the role and audits the read."""
    cur = await conn.execute("SELECT * FROM household_personal(%s)", (hid,))
    row = await cur.fetchone()
    if row is None:
        raise not_found(hid)
    return dict(zip(PERSONAL_COLUMNS, row, strict=True))


def not_found(hid: int) -> NotFound:
    return NotFound(f"Không có hộ gia đình số {hid}.", f"No household with id {hid}.")
