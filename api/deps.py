"""Shared request dependencies: a pooled connection, settings, the collection a path names, the
tile matrix set and tile coordinates (checked here once, for vector and raster tiles)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from psycopg import AsyncConnection

from agrimap.settings import Settings
from geo.errors import InvalidInput, NotFound
from geo.soil import SoilConfig
from layers.serving import tiles
from layers.serving.catalog import BY_ID, Collection

from .errors import DATABASE_DOWN
from .state import app_state

TMS_ID = "WebMercatorQuad"


async def _connection(request: Request) -> AsyncIterator[AsyncConnection]:
    state = app_state(request.app)
    try:
        async with state.connection() as conn:
            yield conn
    except DATABASE_DOWN:  # answered 503 + Retry-After by api.errors
        state.database_failed_at = time.monotonic()
        raise


async def _read_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """A connection for a public read: the replica when it has every change heard so far
    (``api.replica``), else the primary. Without a replica, the primary pool's."""
    state = app_state(request.app)
    reads = state.reads
    if reads is None or reads.replica is None:  # the primary, with its 503 while it is down
        async for conn in _connection(request):
            yield conn
        return
    watch = state.layer_watch
    required = watch.required_lsn if watch is not None and await watch.fresh() else None
    async with reads.connection(required) as (conn, source):
        request.state.agrimap_read = source  # replica.READ_SOURCE: ReplicaRetry reads it
        yield conn


def _settings(request: Request) -> Settings:
    return app_state(request.app).settings


def _soil_config(request: Request) -> SoilConfig:
    return app_state(request.app).soil


ConnDep = Annotated[AsyncConnection, Depends(_connection)]
ReadConnDep = Annotated[AsyncConnection, Depends(_read_connection)]
SettingsDep = Annotated[Settings, Depends(_settings)]
SoilConfigDep = Annotated[SoilConfig, Depends(_soil_config)]


def find_collection(collection_id: str) -> Collection:
    """The served collection a path names, or a 404 that lists where the collections are."""
    coll = BY_ID.get(collection_id)
    if coll is None:
        raise NotFound(
            f"Không có lớp dữ liệu '{collection_id}'.",
            f"No collection '{collection_id}'.",
            hint_vi="Xem các lớp tại /collections.",
            hint_en="See the collections at /collections.",
        )
    return coll


def check_tms(tms_id: str) -> str:
    if tms_id != TMS_ID:
        raise NotFound(
            f"Không có lưới ô '{tms_id}'.", f"No tile matrix set '{tms_id}'.",
            hint_vi=f"Dùng {TMS_ID}.", hint_en=f"Use {TMS_ID}.",
        )  # fmt: skip
    return tms_id


def check_tile(tms_id: str, z: int, x: int, y: int) -> tuple[int, int, int]:
    """A tile's coordinates in our one tile matrix set, or the 404 every tile route gives."""
    check_tms(tms_id)
    if not tiles.valid_tile(z, x, y):
        raise NotFound(
            f"Không có ô {z}/{x}/{y} trong lưới {TMS_ID}.", f"No tile {z}/{x}/{y} in {TMS_ID}.",
            hint_vi="Mức thu phóng 0–22; x, y từ 0 đến 2^z − 1.",
            hint_en="Zoom 0–22; x and y from 0 to 2^z − 1.",
        )  # fmt: skip
    return z, x, y


CollectionDep = Annotated[Collection, Depends(find_collection)]
TmsDep = Annotated[str, Depends(check_tms)]
TileDep = Annotated[tuple[int, int, int], Depends(check_tile)]


def _declared_query_params(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _declared_query_params(sub)
    return names


def refuse_unknown_query(request: Request) -> None:
    """A router dependency: a query parameter the route does not declare is a 400 naming it
    and the ones allowed, never silently ignored (a typo like ``operater=`` would otherwise
    answer for all operators). ``lang`` and ``f`` are always allowed."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _declared_query_params(route.dependant) | {"lang", "f"}
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        names = ", ".join(unknown)
        raise InvalidInput(
            f"Tham số không được hỗ trợ: {names}.",
            f"Unknown query parameter(s): {names}.",
            hint_vi=f"Các tham số hợp lệ: {', '.join(sorted(allowed))}.",
            hint_en=f"Allowed parameters: {', '.join(sorted(allowed))}.",
        )


KnownQueryOnly = Depends(refuse_unknown_query)
