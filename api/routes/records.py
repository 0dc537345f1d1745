"""Writes and protected reads: household and growing-area edits, personal data, statistics,
and the public QR lookup. Each write runs in ``acting`` so the database checks the scope."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from layers import households

from ..auth import Principal, acting, require
from ..deps import ConnDep

router = APIRouter(tags=["Ghi dữ liệu / records"])
Writers = require("admin", "officer")
Readers = require("admin", "officer", "planner")

CHANGES = Body(
    ...,
    examples=[{"has_fibre": True, "phone": "0912345678"}],
    description="Only the fields to change (a JSON merge patch of the feature's properties)",
)


@router.patch("/collections/households/items/{fid}", summary="Change a household")
async def patch_household(
    fid: int, conn: ConnDep, changes: dict[str, Any] = CHANGES, who: Principal = Writers
) -> dict:
    async with acting(conn, who):
        changed = await households.update(conn, fid, changes)
    return {"id": fid, "changed": sorted(changed)}


@router.post("/collections/households/items", status_code=201, summary="Add a household")
async def create_household(
    conn: ConnDep,
    feature: dict[str, Any] = Body(
        ...,
        examples=[{"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.05, 22.38]},
                   "properties": {"label": "Hộ số 12", "has_fibre": False}}],
    ),
    who: Principal = Writers,
) -> JSONResponse:  # fmt: skip
    async with acting(conn, who):
        hid = await households.create(conn, feature)
        record = await households.read_personal(conn, hid)
    return JSONResponse(
        {k: v for k, v in record.items() if k != "qr_token"},
        status_code=201,
        headers={"Location": f"/collections/households/items/{hid}"},
    )


@router.get("/registry/households/{fid}", summary="A household with its personal data (audited)")
async def household_personal(fid: int, conn: ConnDep, who: Principal = Readers) -> dict:
    async with acting(conn, who):
        return await households.read_personal(conn, fid)


VILLAGE_STATS = """
SELECT v.code, v.name, v.commune_code,
       count(h.id) AS households,
       count(h.id) FILTER (WHERE h.has_fibre) AS with_fibre,
       count(h.id) FILTER (WHERE EXISTS (
           SELECT 1 FROM coverage c
           WHERE c.technology IN ('4G', '5G') AND ST_Intersects(c.geom, h.geom))) AS with_4g
FROM village v LEFT JOIN household h ON h.village_code = v.code
GROUP BY v.code ORDER BY v.code
"""


@router.get("/stats/villages", summary="Households, fibre and 4G per village (no personal data)")
async def village_stats(conn: ConnDep, who: Principal = Readers) -> dict:
    cur = await conn.execute(VILLAGE_STATS)
    keys = [d.name for d in cur.description]
    return {"villages": [dict(zip(keys, r, strict=True)) for r in await cur.fetchall()]}
