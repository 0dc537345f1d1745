"""Raster tiles (PNG) of the soil rasters, classed by grade, with their legend."""

from __future__ import annotations

import morecantile
from fastapi import APIRouter, Request
from fastapi.responses import Response

from layers import soil
from layers.offload import in_worker

from .. import tileserve
from ..deps import TMS_ID, ConnDep, SoilConfigDep, check_tile
from ..state import app_state
from ..tilecache import Tile, make_tile

router = APIRouter(tags=["Tiles"])
TMS = morecantile.tms.get(TMS_ID)


@router.get(
    "/collections/soil_rasters/items/{rid}/tiles/{tms_id}/{z}/{x}/{y}.png",
    summary="A PNG tile of a soil raster, coloured by grade",
)
async def raster_tile(
    rid: int,
    tms_id: str,
    z: int,
    x: int,
    y: int,
    request: Request,
    conn: ConnDep,
    config: SoilConfigDep,
) -> Response:
    z, x, y = check_tile(tms_id, z, x, y)
    path, prop, unit = await soil.raster_file(conn, rid)
    table = config.table(prop, unit)  # the same table as the legend: they cannot disagree

    async def make() -> Tile:
        png = await in_worker(soil.tile_png, rid, path, table, tms=TMS, z=z, x=x, y=y)
        return make_tile(png or b"", tables=("soil_raster",), zxy=(z, x, y))

    # The same cache and freshness as vector tiles: a change to soil_raster evicts the tile.
    tile, hit = await tileserve.cached(app_state(request.app), ("raster", rid, z, x, y), make)
    headers = {"ETag": tile.etag, "Cache-Control": "no-cache",
               "X-AgriMap-Cache": "hit" if hit else "miss"}  # fmt: skip
    if tile.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if not tile.raw:  # outside the raster: nothing to draw
        return Response(status_code=204, headers=headers)
    return Response(tile.raw, media_type="image/png", headers=headers)


@router.get("/collections/soil_rasters/items/{rid}/legend", summary="Legend of a soil raster")
async def raster_legend(rid: int, conn: ConnDep, config: SoilConfigDep) -> dict:
    _, prop, unit = await soil.raster_file(conn, rid)
    table = config.table(prop, unit)
    return {"property": prop, "unit": unit, "label_vi": table.label_vi,
            "label_en": table.label_en, "source": table.source, "classes": table.legend()}  # fmt: skip
