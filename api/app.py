"""The FastAPI application: create_app(settings) wires the pool, routes, errors and static files."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.resources import files

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from psycopg_pool import AsyncConnectionPool
from starlette.types import Receive, Scope, Send

from agrimap.settings import Settings
from layers import offload, partitions
from layers import soil as soil_layer

from . import chrome, errors, limits, memory
from .html import render
from .layerwatch import LayerWatch
from .openapi import AnswerOptions, openapi_30
from .ratelimit import RateLimiter
from .replica import Reads, ReplicaRetry
from .routes import (
    admin,
    auth,
    coverage,
    features,
    growing_area_pages,
    growing_areas,
    health,
    household_pages,
    import_pages,
    maps,
    qr,
    rasters,
    records,
    soil,
    tiles,
)
from .state import AppState, check_if_disturbed, mark_returned
from .tilecache import TileCache
from .tileserve import TileFastPath

log = logging.getLogger(__name__)


async def _audit_months(pool: AsyncConnectionPool) -> None:
    """The audit log's month partitions a year ahead (migration 0015); a server that cannot make
    them (a read-only role, a database not migrated yet) still starts, and says so."""
    try:
        async with pool.connection() as conn:
            await partitions.add_audit_months_async(conn)
    except psycopg.Error as exc:
        log.warning("audit log months not made ahead: %s", exc)


def _freeze_startup_objects() -> None:
    """Keep what the server loaded at start (modules, schemas, routes: ~275,000 objects) out
    of the cyclic garbage collector's full collections. Each full collection walked them all,
    ~180 ms with the event loop stopped; a request that allocates many lists (a 10,000-vertex
    boundary) brought those on often enough to raise everyone's p99 3.7x in the soak. After
    the freeze a full collection walks only what was made since (a few ms)."""
    gc.collect()
    gc.freeze()
    memory.limit_arenas()


class AgriMapApp(FastAPI):
    """FastAPI with ``front`` (the tile fast path) outermost: a cached tile costs a few tens of
    microseconds of Python, and FastAPI's entry and the middleware stack (host check, body
    limit, NUL refusal, replica retry, OPTIONS) were a tenth of it. ``front`` hands every
    other request to ``stack``, FastAPI with all of them."""

    front: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is None or scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        scope["app"] = self
        await self.front(scope, receive, send)

    async def stack(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


def create_app(settings: Settings) -> FastAPI:
    if not settings.database_url:
        raise ValueError("settings.database_url is required (the CLI starts a local PostGIS)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Behind PgBouncer in transaction mode, consecutive transactions of one client
        # connection may run on different server connections: nothing may outlive a
        # transaction, so no prepared statements (LISTEN goes to settings.listen_url).
        kwargs = {
            "autocommit": True, "connect_timeout": max(1, round(settings.pool_timeout)),
            **({"prepare_threshold": None} if settings.pgbouncer else {}),
        }  # fmt: skip
        pool = AsyncConnectionPool(
            settings.database_url,
            min_size=settings.pool_min,
            max_size=settings.pool_max,
            open=False,
            kwargs=kwargs,
            # While the database is down a request waits at most pool_timeout for a
            # connection, then gets 503 + Retry-After; a connection is checked as it is
            # handed out, so the first requests after a restart do not meet dead ones
            # (a round trip, bounded by pool_timeout, only for one that has something to
            # read or has been idle over a second: check_if_disturbed).
            timeout=settings.pool_timeout,
            check=check_if_disturbed(settings.pool_timeout),
            reset=mark_returned,
            configure=state.mark_connected,  # connects that succeed: not a frozen database
            # Short reconnect attempts: the next request starts a fresh one, so the pool
            # is back within about a second of the database (psycopg's back-off doubles).
            reconnect_timeout=max(2.0, 2 * settings.pool_timeout),
        )
        await pool.open(wait=True, timeout=30)
        state.pool = pool
        await _audit_months(pool)
        replica = None
        if settings.read_database_url:
            replica = AsyncConnectionPool(
                settings.read_database_url,
                min_size=settings.pool_min,
                max_size=settings.pool_max,
                open=False,
                kwargs=kwargs,
            )
            await replica.open(wait=False)  # a replica that is down must not stop the server
        reads = Reads(
            pool, replica, max_lag_s=settings.replica_max_lag_s, check_s=settings.replica_check_s
        )
        await reads.start()
        state.reads = reads
        cache = state.tile_cache
        watch = LayerWatch(settings.listen_url, on_change=cache.evict, on_reset=cache.clear)
        state.layer_watch = watch
        await watch.start()
        _freeze_startup_objects()
        trimmer = asyncio.create_task(memory.trim_every(settings.memory_trim_seconds))
        try:
            yield
        finally:
            trimmer.cancel()
            await watch.stop()
            await reads.stop()
            if replica is not None:
                await replica.close()
            await pool.close()
            state.pool = state.layer_watch = state.reads = None

    app = AgriMapApp(
        title="AgriMap",
        version="0.1.0",
        description="Bản đồ số nông nghiệp – OGC API Features. Digital agriculture map.",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    state = AppState(
        settings=settings,
        limiter=RateLimiter(settings.rate_limit_storage),
        tile_cache=TileCache(settings.tile_cache_mb * 1024 * 1024),
        soil=soil_layer.load_config(settings.soil_classes_file),
    )
    app.state.agrimap = state
    errors.install(app)
    app.state.error_header = chrome.cached_header
    routers = (
        features.router, household_pages.router, maps.router, auth.router, records.router,
        growing_areas.router, growing_area_pages.router, import_pages.router, qr.router, tiles.router, rasters.router, admin.router,
        health.router, coverage.router, soil.router,
    )  # fmt: skip
    for router in routers:
        app.include_router(router)
    app.state.routers = routers  # the OpenAPI document reads which routes need sign-in
    app.add_middleware(ReplicaRetry, state=state)
    app.add_middleware(errors.RefuseNul)
    app.add_middleware(AnswerOptions, fastapi=app)
    offload.configure(settings.worker_threads)
    app.mount("/static", StaticFiles(directory=str(files("maps") / "static")), name="static")

    @app.get("/api", include_in_schema=False)
    async def openapi_doc() -> JSONResponse:
        return JSONResponse(
            openapi_30(app), media_type="application/vnd.oai.openapi+json;version=3.0"
        )

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_json() -> JSONResponse:
        return JSONResponse(openapi_30(app))

    @app.get("/api.html", include_in_schema=False)
    async def openapi_html(request: Request) -> HTMLResponse:
        # Our own page: Swagger UI would load its scripts from a CDN.
        return HTMLResponse(
            render("api.html", lang=errors.request_lang(request), doc=openapi_30(app))
        )

    limits.install(app, settings)
    app.front = TileFastPath(app.stack, state, limits.allowed_host_names(settings))
    return app
