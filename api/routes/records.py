"""Writes and protected reads: household and growing-area edits, personal data, statistics,
and the public QR lookup. Each write runs in ``acting`` so the database checks the scope."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse, JSONResponse

from geo.errors import NotFound
from layers import households

from ..auth import Principal, acting, require
from ..deps import ConnDep, SettingsDep
from ..errors import request_lang
from ..html import render
from ..ratelimit import limit

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


PUBLIC_QR = """
SELECT h.label, v.name, c.name, h.has_fibre, ST_X(h.geom), ST_Y(h.geom)
FROM household h LEFT JOIN village v ON v.code = h.village_code
LEFT JOIN commune c ON c.code = v.commune_code
WHERE h.qr_token = %s
"""


@router.get("/q/{token}", response_class=HTMLResponse, summary="A household's own entry (QR code)")
async def qr_entry(request: Request, token: str, conn: ConnDep, settings: SettingsDep):
    limit(request, "qr", settings.qr_rate)
    row = await (await conn.execute(PUBLIC_QR, (token,))).fetchone() if len(token) <= 64 else None
    if row is None:
        raise NotFound(
            "Không tìm thấy hộ gia đình của mã QR này.",
            "No household has this QR code.",
            hint_vi="Kiểm tra lại mã, hoặc liên hệ cán bộ xã để được cấp mã mới.",
            hint_en="Check the code, or ask the commune officer for a new one.",
        )
    entry = dict(zip(("label", "village", "commune", "has_fibre", "lon", "lat"), row, strict=True))
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(entry)
    return HTMLResponse(render("qr.html", lang=request_lang(request), entry=entry))
