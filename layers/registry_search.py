"""Finding registered growing areas (tìm vùng trồng) for the officers' list: by any spelling of
a code, owner or cooperative, crop, village, status and year, a page at a time, in the reader's
communes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, sql

from geo import codes
from geo.errors import InvalidInput

from .growing_areas import LAYER

STATUSES = ("active", "suspended", "revoked")
MAX_PAGE = 200


@dataclass(frozen=True)
class AreaFilter:
    """What the officer searches for; None (or "") means any. ``communes`` None: every
    commune (an admin, a planner); otherwise the reader's own."""

    code: str | None = None
    owner: str | None = None
    crop: str | None = None
    village: str | None = None
    status: str | None = None
    year: int | None = None
    commune: str | None = None
    communes: tuple[str, ...] | None = None

    def checked(self) -> AreaFilter:
        if self.status and self.status not in STATUSES:
            raise InvalidInput(
                f"Không có trạng thái '{self.status}'.",
                f"No status '{self.status}'.",
                hint_vi="Chọn: đang hiệu lực (active), tạm dừng (suspended), thu hồi (revoked).",
                hint_en="Choose active, suspended or revoked.",
            )
        if self.year is not None and not 1990 <= self.year <= 2100:
            raise InvalidInput(
                f"Năm {self.year} không hợp lệ.",
                f"Year {self.year} is not valid.",
                hint_vi="Nhập năm cấp mã có 4 chữ số, ví dụ 2025.",
                hint_en="Type the four-digit year of issue, e.g. 2025.",
            )
        if self.communes is not None and self.commune and self.commune not in self.communes:
            raise InvalidInput(
                f"Xã {self.commune} không thuộc phạm vi tài khoản này.",
                f"Commune {self.commune} is outside this account's communes.",
            )
        return self


def _like(text: str | None) -> str | None:
    """A contains-pattern for ILIKE with the reader's own % and _ taken literally."""
    if text is None or not text.strip():
        return None
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _params(f: AreaFilter, *, personal: bool) -> dict[str, Any]:
    return {
        # "vn 15 02923 01" finds VN-15-02923-01-26: the code as people type it, stored spelling.
        "code": _like(codes.as_typed(f.code)) if f.code and f.code.strip() else None,
        "owner": _like(f.owner),
        "personal": personal,
        "crop": _like(f.crop),
        "village": f.village or None,
        "status": f.status or None,
        "year": f.year,
        "commune": f.commune or None,
        "communes": list(f.communes) if f.communes is not None else None,
    }


_WHERE = sql.SQL("""
WHERE (%(communes)s::text[] IS NULL OR a.commune_code = ANY(%(communes)s::text[]))
  AND (%(commune)s::text IS NULL OR a.commune_code = %(commune)s)
  AND (%(code)s::text IS NULL OR a.code ILIKE %(code)s)
  AND (%(owner)s::text IS NULL OR a.cooperative ILIKE %(owner)s
       OR (%(personal)s AND a.owner_name ILIKE %(owner)s))
  AND (%(crop)s::text IS NULL OR a.crop ILIKE %(crop)s)
  AND (%(village)s::text IS NULL OR (
        EXISTS (SELECT 1 FROM village fv
                WHERE fv.code = %(village)s AND ST_Intersects(fv.geom, a.geom))
        AND (SELECT code FROM growing_area_village(a.geom, a.commune_code)) = %(village)s))
  AND (%(status)s::text IS NULL OR a.status = %(status)s)
  AND (%(year)s::int IS NULL OR extract(year FROM a.issued_on)::int = %(year)s)
""")

COUNT_SQL = sql.SQL("SELECT count(*) FROM growing_area a {}").format(_WHERE)

# The village an area lies in: the one holding most of it, as on its page and in exports.
PAGE_SQL = sql.SQL("""
SELECT a.id, a.code, a.crop, a.area_ha, a.status, a.cooperative,
       CASE WHEN %(personal)s THEN a.owner_name END AS owner_name,
       a.member_households, a.issued_on, a.commune_code, c.name AS commune_name,
       v.code AS village_code, v.name AS village_name, a.version,
       ST_AsGeoJSON(a.geom, 6) AS geometry
FROM growing_area a
LEFT JOIN commune c ON c.code = a.commune_code
LEFT JOIN LATERAL growing_area_village(a.geom, a.commune_code) v ON true
{}
ORDER BY a.code LIMIT %(limit)s OFFSET %(offset)s""").format(_WHERE)

IDS_SQL = sql.SQL("SELECT a.id FROM growing_area a {} ORDER BY a.code LIMIT %(limit)s").format(
    _WHERE
)


@dataclass(frozen=True)
class AreaPage:
    total: int
    rows: list[dict[str, Any]]
    offset: int
    limit: int


async def search(
    conn: AsyncConnection,
    *,
    where: AreaFilter,
    personal: bool,
    limit: int = 50,
    offset: int = 0,
    page_cap: int = MAX_PAGE,
) -> AreaPage:
    """One page of the areas ``where`` finds, ordered by code, with each area's commune and
    village names and its boundary (GeoJSON, 6 decimals). ``personal``: the reader may see
    and search owners who are persons."""
    limit = max(1, min(limit, page_cap))
    offset = max(0, offset)
    params = _params(where.checked(), personal=personal)
    total = (await (await conn.execute(COUNT_SQL, params)).fetchone())[0]
    cur = await conn.execute(PAGE_SQL, {**params, "limit": limit, "offset": offset})
    names = [d.name for d in cur.description]
    rows = []
    for values in await cur.fetchall():
        row = dict(zip(names, values, strict=True))
        row["area_ha"] = float(row["area_ha"])
        row["geometry"] = json.loads(row["geometry"])
        rows.append(row)
    return AreaPage(total=total, rows=rows, offset=offset, limit=limit)


async def matching_ids(
    conn: AsyncConnection, *, where: AreaFilter, personal: bool, limit: int
) -> list[int]:
    """Every id ``where`` finds (up to ``limit``), for a download of the filtered list."""
    params = _params(where.checked(), personal=personal)
    rows = await (await conn.execute(IDS_SQL, {**params, "limit": limit})).fetchall()
    return [r[0] for r in rows]


async def villages_of(conn: AsyncConnection, communes: tuple[str, ...] | None) -> list[tuple]:
    """(code, name, commune name) of the villages the reader may filter by."""
    query = (
        "SELECT v.code, v.name, c.name FROM village v JOIN commune c ON c.code = v.commune_code "
        "WHERE (%(communes)s::text[] IS NULL OR v.commune_code = ANY(%(communes)s::text[])) "
        "ORDER BY c.name, v.name"
    )
    params = {"communes": list(communes) if communes is not None else None}
    return [tuple(r) for r in await (await conn.execute(query, params)).fetchall()]


async def crops_of(conn: AsyncConnection, communes: tuple[str, ...] | None) -> list[str]:
    """The crops registered in the reader's communes, for the filter's suggestions."""
    rows = await (
        await conn.execute(
            "SELECT DISTINCT crop FROM growing_area "
            "WHERE (%(communes)s::text[] IS NULL OR commune_code = ANY(%(communes)s::text[])) "
            "ORDER BY crop",
            {"communes": list(communes) if communes is not None else None},
        )
    ).fetchall()
    return [r[0] for r in rows]


# The list's columns, labelled by the layer's schema (one place for the words).
LIST_COLUMNS = (
    "code",
    "crop",
    "area_ha",
    "cooperative",
    "member_households",
    "status",
    "issued_on",
)
TITLES = {c: (LAYER.column(c).title_vi, LAYER.column(c).title_en) for c in LIST_COLUMNS}
