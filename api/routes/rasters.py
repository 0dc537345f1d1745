"""Raster tiles (PNG) of the soil rasters, classed by grade, with their legend."""

from __future__ import annotations

import morecantile
from fastapi import APIRouter, Request
from fastapi.responses import Response
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from rio_tiler.utils import render
from starlette.concurrency import run_in_threadpool

from geo.errors import NotFound
from geo.soil_colours import colourise, legend
from layers.serving import tiles
from layers.soil import grade_tables

from ..deps import ConnDep
from ..tilecache import make_tile
from .tiles import TMS_ID, _check_tms

router = APIRouter(tags=["Tiles"])
TMS = morecantile.tms.get(TMS_ID)


async def _raster(conn, rid: int) -> tuple[str, str, str]:
    row = await (
        await conn.execute("SELECT path, property, unit FROM soil_raster WHERE id = %s", (rid,))
    ).fetchone()
    if row is None:
        raise NotFound(f"Không có ảnh nông hóa số {rid}.", f"No soil raster {rid}.")
    return row


def _render_png(path: str, prop: str, z: int, x: int, y: int) -> bytes | None:
    with Reader(path, tms=TMS) as src:
        try:
            img = src.tile(x, y, z, tilesize=256, resampling_method="nearest")
        except TileOutsideBounds:
            return None
    band = img.array[0]
    valid = ~band.mask if band.mask is not None and band.mask.shape else band == band
    rgba = colourise(band.filled(0).astype("float64"), valid, grade_tables().get(prop, []))
    return render(rgba[:3], mask=rgba[3], img_format="PNG")


async def _version(conn) -> int:
    cur = await conn.execute(
        "SELECT version FROM layer_version WHERE layer = 'soil_raster'", prepare=True
    )
    row = await cur.fetchone()
    return row[0] if row else 0


@router.get(
    "/collections/soil_rasters/items/{rid}/tiles/{tms_id}/{z}/{x}/{y}.png",
    summary="A PNG tile of a soil raster, coloured by grade",
)
async def raster_tile(
    rid: int, tms_id: str, z: int, x: int, y: int, request: Request, conn: ConnDep
) -> Response:
    _check_tms(tms_id)
    if not tiles.valid_tile(z, x, y):
        raise NotFound(f"Không có ô {z}/{x}/{y}.", f"No tile {z}/{x}/{y}.")
    path, prop, _ = await _raster(conn, rid)
    # The raster file is read from disk: key and ETag by the layer's version, read here.
    version = await _version(conn)
    key = ("raster", rid, z, x, y, version)
    etag = f'"r{rid}-{version}-{z}-{x}-{y}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    cache = request.app.state.tile_cache
    tile = cache.get(key)
    if tile is None:
        png = await run_in_threadpool(_render_png, path, prop, z, x, y)
        tile = make_tile(png or b"", tables=("soil_raster",), zxy=(z, x, y), etag=etag)
        cache.put(key, tile)
    if not tile.raw:  # outside the raster: nothing to draw
        return Response(status_code=204, headers=headers)
    return Response(tile.raw, media_type="image/png", headers=headers)


@router.get("/collections/soil_rasters/items/{rid}/legend", summary="Legend of a soil raster")
async def raster_legend(rid: int, conn: ConnDep) -> dict:
    _, prop, unit = await _raster(conn, rid)
    return {"property": prop, "unit": unit, "classes": legend(grade_tables().get(prop, []))}
