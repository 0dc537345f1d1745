"""Writes and protected reads: household and growing-area edits, personal data, statistics,
and the public QR lookup. Each write runs in ``acting`` so the database checks the scope."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from layers import households

from ..auth import Principal, acting, require
from ..bodies import HouseholdChange, HouseholdFeature
from ..deps import ConnDep
from ..limits import StrictJsonRoute

router = APIRouter(tags=["Ghi dữ liệu / records"], route_class=StrictJsonRoute)
Writers = require("admin", "officer")
Readers = require("admin", "officer", "planner")


@router.patch("/collections/households/items/{fid}", summary="Change a household")
async def patch_household(
    fid: int, conn: ConnDep, body: HouseholdChange, who: Principal = Writers
) -> dict:
    async with acting(conn, who):
        changed = await households.update(conn, fid, body.data())
    return {"id": fid, "changed": sorted(changed)}


@router.post("/collections/households/items", status_code=201, summary="Add a household")
async def create_household(
    conn: ConnDep, body: HouseholdFeature, who: Principal = Writers
) -> JSONResponse:
    async with acting(conn, who):
        hid = await households.create(conn, body.data())
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


@router.get("/stats/villages", summary="Households, fibre and 4G per village (no personal data)")
async def village_stats(conn: ConnDep, who: Principal = Readers) -> dict:
    return {"villages": await households.village_stats(conn)}
