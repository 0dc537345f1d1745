"""Raster tiles (PNG) of the soil rasters, classed by grade, with their legend."""

from __future__ import annotations

import morecantile
from fastapi import APIRouter, Request
from fastapi.responses import Response
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from rio_tiler.utils import render
from starlette.concurrency import run_in_threadpool

from geo.soil import ClassTable
from geo.soil_colours import colourise
from layers import soil

from .. import tileserve
from ..deps import TMS_ID, ConnDep, SoilConfigDep, check_tile
from ..state import app_state
from ..tilecache import Tile, make_tile

router = APIRouter(tags=["Tiles"])
TMS = morecantile.tms.get(TMS_ID)


def _render_png(path: str, table: ClassTable, z: int, x: int, y: int) -> bytes | None:
    with Reader(path, tms=TMS) as src:
        try:
            img = src.tile(x, y, z, tilesize=256, resampling_method="nearest")
        except TileOutsideBounds:
            return None
    band = img.array[0]
    valid = ~band.mask if band.mask is not None and band.mask.shape else band == band
    rgba = colourise(band.filled(0).astype("float64"), valid, table)
    return render(rgba[:3], mask=rgba[3], img_format="PNG")


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
        png = await run_in_threadpool(_render_png, path, table, z, x, y)
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
