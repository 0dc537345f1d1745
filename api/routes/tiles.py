"""OGC API – Tiles: vector tiles (MVT) per collection and one tile with every public layer."""

from __future__ import annotations

import morecantile
from fastapi import APIRouter, Request
from fastapi.responses import Response

from geo.crs import VIETNAM_BOUNDS_WGS84
from layers.serving import tiles
from layers.serving.catalog import Collection

from .. import ogc, tileserve
from ..deps import check_tile, check_tms, find_collection
from ..state import app_state
from ..tileserve import MVT, TMS_ID, VECTOR

router = APIRouter(tags=["Tiles"])


def _tms() -> morecantile.TileMatrixSet:
    return morecantile.tms.get(TMS_ID)


@router.get("/tileMatrixSets", summary="Tile matrix sets")
async def tile_matrix_sets(request: Request) -> dict:
    return {"tileMatrixSets": [{"id": TMS_ID, "title": "Google Maps Compatible for the World",
            "links": [{"href": f"{ogc.site_url(request)}/tileMatrixSets/{TMS_ID}", "rel": "self",
                       "type": "application/json"}]}]}  # fmt: skip


@router.get("/tileMatrixSets/{tms_id}", summary="A tile matrix set's definition")
async def tile_matrix_set(tms_id: str) -> Response:
    check_tms(tms_id)
    return Response(_tms().model_dump_json(exclude_none=True), media_type="application/json")


def _cluster_fields(coll: Collection) -> dict[str, str]:
    """Point layers are clustered below z13 and in dense z13–14 tiles, layers of small polygons
    aggregated below their ``aggregate_below_zoom`` (layers/tiles.py)."""
    if coll.geometry_type == "Point":
        return {"count": "number", "with_fibre": "number"}
    if coll.aggregate_below_zoom is not None:
        return {"count": "number"}
    return {}


def _tilejson(request: Request, name: str, layers: tuple[Collection, ...], path: str) -> dict:
    base = ogc.site_url(request)
    return {
        "tilejson": "3.0.0",
        "name": name,
        "tiles": [f"{base}{path}/{{z}}/{{x}}/{{y}}"],
        "minzoom": tiles.MIN_ZOOM,
        "maxzoom": tiles.MAX_ZOOM,
        "bounds": list(VIETNAM_BOUNDS_WGS84),
        "vector_layers": [
            {
                "id": c.id,
                "description": c.title_vi,
                "fields": {p.name: p.type for p in c.properties} | _cluster_fields(c),
            }
            for c in layers
        ],  # fmt: skip
    }


@router.get("/collections/{collection_id}/tiles", summary="Tilesets of a collection")
async def collection_tilesets(collection_id: str, request: Request) -> dict:
    coll = find_collection(collection_id)
    href = f"{ogc.site_url(request)}/collections/{coll.id}/tiles/{TMS_ID}"
    return {"tilesets": [{"title": coll.title_vi, "dataType": "vector",
                          "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
                          "links": [{"href": href, "rel": "self", "type": "application/json"},
                                    {"href": href + "/{tileMatrix}/{tileCol}/{tileRow}",
                                     "rel": "item", "type": MVT, "templated": True}]}]}  # fmt: skip


@router.get("/collections/{collection_id}/tiles/{tms_id}", summary="TileJSON of a collection")
async def collection_tilejson(collection_id: str, tms_id: str, request: Request) -> dict:
    coll = find_collection(collection_id)
    check_tms(tms_id)
    return _tilejson(request, coll.id, (coll,), f"/collections/{coll.id}/tiles/{TMS_ID}")


@router.get("/tiles/{tms_id}", summary="TileJSON of the all-layers tiles")
async def all_tilejson(tms_id: str, request: Request) -> dict:
    check_tms(tms_id)
    return _tilejson(request, "agrimap", VECTOR, f"/tiles/{TMS_ID}")


async def _tile(
    request: Request, layers: tuple[Collection, ...], z: int, x: int, y: int
) -> Response:
    """The same answer as the fast path (``tileserve``) gives: this route sees only what it
    passes on (HEAD, query strings, invalid tiles)."""
    tile, hit = await tileserve.get_tile(app_state(request.app), layers, z, x, y)
    inm, enc = request.headers.get("if-none-match", ""), request.headers.get("accept-encoding", "")
    a = tileserve.answer(tile, hit, inm, enc)
    return Response(a.body, status_code=a.status, headers=a.headers)


@router.get("/collections/{collection_id}/tiles/{tms_id}/{z}/{x}/{y}", summary="A vector tile")
async def collection_tile(
    collection_id: str, tms_id: str, z: int, x: int, y: int, request: Request
) -> Response:
    coll = find_collection(collection_id)
    return await _tile(request, (coll,), *check_tile(tms_id, z, x, y))


@router.get("/tiles/{tms_id}/{z}/{x}/{y}", summary="One vector tile with every public layer")
async def all_layers_tile(tms_id: str, z: int, x: int, y: int, request: Request) -> Response:
    return await _tile(request, VECTOR, *check_tile(tms_id, z, x, y))
