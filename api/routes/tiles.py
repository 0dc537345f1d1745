"""OGC API – Tiles: vector tiles (MVT) per collection and one tile with every public layer."""

from __future__ import annotations

import morecantile
from fastapi import APIRouter, Request
from fastapi.responses import Response

from geo.errors import NotFound
from layers.serving import tiles
from layers.serving.catalog import Collection

from .. import tileserve
from ..tileserve import MVT, TMS_ID, VECTOR
from .features import _collection

router = APIRouter(tags=["Tiles"])


def _tms() -> morecantile.TileMatrixSet:
    return morecantile.tms.get(TMS_ID)


@router.get("/tileMatrixSets", summary="Tile matrix sets")
async def tile_matrix_sets(request: Request) -> dict:
    return {"tileMatrixSets": [{"id": TMS_ID, "title": "Google Maps Compatible for the World",
            "links": [{"href": f"{request.base_url}tileMatrixSets/{TMS_ID}", "rel": "self",
                       "type": "application/json"}]}]}  # fmt: skip


@router.get("/tileMatrixSets/{tms_id}", summary="A tile matrix set's definition")
async def tile_matrix_set(tms_id: str) -> Response:
    _check_tms(tms_id)
    return Response(_tms().model_dump_json(exclude_none=True), media_type="application/json")


def _check_tms(tms_id: str) -> None:
    if tms_id != TMS_ID:
        raise NotFound(
            f"Không có lưới ô '{tms_id}'.", f"No tile matrix set '{tms_id}'.",
            hint_vi=f"Dùng {TMS_ID}.", hint_en=f"Use {TMS_ID}.",
        )  # fmt: skip


def _cluster_fields(coll: Collection) -> dict[str, str]:
    """Point layers are clustered below z13 and in dense z13–14 tiles, layers of small polygons
    aggregated below their ``aggregate_below_zoom`` (layers/tiles.py)."""
    if coll.geometry_type == "Point":
        return {"count": "number", "with_fibre": "number"}
    if coll.aggregate_below_zoom is not None:
        return {"count": "number"}
    return {}


def _tilejson(request: Request, name: str, layers: tuple[Collection, ...], path: str) -> dict:
    base = str(request.base_url).rstrip("/")
    return {
        "tilejson": "3.0.0",
        "name": name,
        "tiles": [f"{base}{path}/{{z}}/{{x}}/{{y}}"],
        "minzoom": tiles.MIN_ZOOM,
        "maxzoom": tiles.MAX_ZOOM,
        "bounds": [102.1, 8.5, 109.5, 23.4],
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
    coll = _collection(collection_id)
    href = f"{request.base_url}collections/{coll.id}/tiles/{TMS_ID}"
    return {"tilesets": [{"title": coll.title_vi, "dataType": "vector",
                          "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
                          "links": [{"href": href, "rel": "self", "type": "application/json"},
                                    {"href": href + "/{tileMatrix}/{tileCol}/{tileRow}",
                                     "rel": "item", "type": MVT, "templated": True}]}]}  # fmt: skip


@router.get("/collections/{collection_id}/tiles/{tms_id}", summary="TileJSON of a collection")
async def collection_tilejson(collection_id: str, tms_id: str, request: Request) -> dict:
    coll = _collection(collection_id)
    _check_tms(tms_id)
    return _tilejson(request, coll.id, (coll,), f"/collections/{coll.id}/tiles/{TMS_ID}")


@router.get("/tiles/{tms_id}", summary="TileJSON of the all-layers tiles")
async def all_tilejson(tms_id: str, request: Request) -> dict:
    _check_tms(tms_id)
    return _tilejson(request, "agrimap", VECTOR, f"/tiles/{TMS_ID}")


async def _tile(
    request: Request, layers: tuple[Collection, ...], z: int, x: int, y: int
) -> Response:
    """The same answer as the fast path (``tileserve``) gives: this route sees only what it
    passes on (HEAD, query strings, invalid tiles)."""
    if not tiles.valid_tile(z, x, y):
        raise NotFound(
            f"Không có ô {z}/{x}/{y} trong lưới {TMS_ID}.", f"No tile {z}/{x}/{y} in {TMS_ID}.",
            hint_vi="Mức thu phóng 0–22; x, y từ 0 đến 2^z − 1.",
            hint_en="Zoom 0–22; x and y from 0 to 2^z − 1.",
        )  # fmt: skip
    tile, hit = await tileserve.get_tile(request.app.state, layers, z, x, y)
    inm, enc = request.headers.get("if-none-match", ""), request.headers.get("accept-encoding", "")
    a = tileserve.answer(tile, hit, inm, enc)
    return Response(a.body, status_code=a.status, headers=a.headers)


@router.get("/collections/{collection_id}/tiles/{tms_id}/{z}/{x}/{y}", summary="A vector tile")
async def collection_tile(
    collection_id: str, tms_id: str, z: int, x: int, y: int, request: Request
) -> Response:
    coll = _collection(collection_id)
    _check_tms(tms_id)
    return await _tile(request, (coll,), z, x, y)


@router.get("/tiles/{tms_id}/{z}/{x}/{y}", summary="One vector tile with every public layer")
async def all_layers_tile(tms_id: str, z: int, x: int, y: int, request: Request) -> Response:
    _check_tms(tms_id)
    return await _tile(request, VECTOR, z, x, y)
