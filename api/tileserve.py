"""Making and answering vector tiles, with a fast path that skips the framework.

``tile_response`` is the whole answer to a valid tile request: cache lookup, the tile SQL
on a miss, 304 for a matching ``If-None-Match``, gzip when accepted. The routes in
``routes/tiles.py`` call it; ``TileFastPath`` (the outermost ASGI app, in front of FastAPI)
calls it for the common case, a plain GET of a valid tile, without middleware, routing,
dependency injection or a Response object. Anything else (bad tile numbers, unknown
collections, query strings, HEAD) goes on to the routes, which give the bilingual errors.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache

from fastapi import Request

from layers.serving import tiles
from layers.serving.catalog import COLLECTIONS, Collection

from . import limits
from .deps import TMS_ID
from .errors import DATABASE_DOWN, unavailable_response
from .tilecache import Tile, make_tile

MVT = "application/vnd.mapbox-vector-tile"
VECTOR = tuple(c for c in COLLECTIONS if c.geometry_type)  # every public layer with geometry
_BY_ID = {c.id: c for c in VECTOR}
_BODY_HEADERS = (b"content-length", b"transfer-encoding")
_PATH = re.compile(
    rf"/(?:collections/([A-Za-z0-9_-]+)/)?tiles/{TMS_ID}/(\d{{1,2}})/(\d{{1,8}})/(\d{{1,8}})"
)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@lru_cache(maxsize=1024)
def _sql(ids: tuple[str, ...], z: int) -> str:
    return tiles.tile_sql([_BY_ID[i] for i in ids], z).as_string(None)


async def cached(state, key: tuple, make: Callable[[], Awaitable[Tile]]) -> tuple[Tile, bool]:
    """(tile, whether it came from the cache), for vector and raster tiles alike. A tile is
    served from the cache only while the change listener is live; a tile made while a change
    was heard is not cached, since it may predate that change. Changes evict the cached tiles
    of their table and extent (``TileCache.evict``)."""
    watch, cache = state.layer_watch, state.tile_cache
    # Without a cache (AGRIMAP_TILE_CACHE_MB=0) nothing can be stale: no version read, unless
    # a replica must be told which changes the tile must include (``watch.required_lsn``).
    use_cache = cache.max_bytes > 0
    replica = state.reads is not None and state.reads.replica is not None
    if (use_cache or replica) and await watch.fresh() and use_cache:
        hit = cache.get(key)
        if hit is not None:
            return hit, True
    generation = watch.generation
    tile = await make()
    watch.poll()
    if watch.live and watch.generation == generation:
        cache.put(key, tile)
    return tile, False


async def get_tile(
    state, layers: tuple[Collection, ...], z: int, x: int, y: int
) -> tuple[Tile, bool]:
    """A vector tile of ``layers`` (one MVT layer each), made by PostGIS on a miss."""
    ids = tuple(c.id for c in layers)

    async def make() -> Tile:
        async def read(conn):
            return await tiles.read_tile(conn, _sql(ids, z), z=z, x=x, y=y)

        reads, watch = state.reads, state.layer_watch
        if reads is None or reads.replica is None:
            async with state.connection() as conn:  # a 503 while the database is down
                parts = await read(conn)
        else:  # a replica makes it only once it has replayed every change heard
            required = watch.required_lsn if watch.live else None
            parts, _ = await reads.run(required, read)
        raw = b"".join(data for data, _ in parts)
        truncated = tuple(i for i, (_, n) in zip(ids, parts, strict=True) if n > tiles.MAX_FEATURES)
        return make_tile(raw, truncated, tables=tuple(c.table for c in layers), zxy=(z, x, y))

    return await cached(state, (ids, z, x, y), make)


def answer(tile: Tile, hit: bool, if_none_match: str, accept_encoding: str) -> Answer:
    headers = {"etag": tile.etag, "cache-control": "no-cache", "vary": "Accept-Encoding",
               "x-agrimap-cache": "hit" if hit else "miss"}  # fmt: skip
    if tile.truncated:
        headers["x-agrimap-truncated"] = ",".join(tile.truncated)
    if tile.etag in if_none_match:
        return Answer(304, headers, b"")
    headers["content-type"] = MVT
    if "gzip" in accept_encoding and tile.raw:
        headers["content-encoding"] = "gzip"
        return Answer(200, headers, tile.gz)
    return Answer(200, headers, tile.raw)


def match(path: str) -> tuple[tuple[Collection, ...], int, int, int] | None:
    """The layers and tile of a plain, valid tile path; None for anything else."""
    m = _PATH.fullmatch(path)
    if m is None:
        return None
    if m[1] is None:
        layers: tuple[Collection, ...] = VECTOR
    elif m[1] in _BY_ID:
        layers = (_BY_ID[m[1]],)
    else:
        return None
    z, x, y = int(m[2]), int(m[3]), int(m[4])
    return (layers, z, x, y) if tiles.valid_tile(z, x, y) else None


class TileFastPath:
    """The outermost ASGI app: answers plain GETs of valid vector tiles itself, before FastAPI
    and every middleware (a cached tile is mostly this path's own CPU); everything else goes to
    ``app`` (FastAPI with its whole stack). For the requests it answers it keeps what the
    stack would do to them: a Host not served, a body (declared or chunked) and a path holding
    NUL or a number beyond 64 bits all go on to the stack, which refuses them; a database
    outage is a 503 at once; a matching If-None-Match a 304."""

    def __init__(self, app, state, allowed_hosts: frozenset[str] | None) -> None:
        self.app = app
        self.state = state  # the FastAPI app's state: pool, tile_cache, layer_watch
        self.allowed_hosts = allowed_hosts  # None: any Host (limits.allowed_host_names)
        self._hosts_seen: set[bytes] = set()  # Host headers found allowed (a few at most)

    def _host_ok(self, host: bytes) -> bool:
        if host in self._hosts_seen:
            return True
        if not limits.host_allowed(self.allowed_hosts, host):
            return False
        if len(self._hosts_seen) < 64:  # forged names are never kept, allowed ones are few
            self._hosts_seen.add(host)
        return True

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["query_string"]:
            return await self.app(scope, receive, send)
        found = match(scope["path"])
        if found is None or getattr(self.state, "pool", None) is None:
            return await self.app(scope, receive, send)
        inm, enc, host = "", "", b""
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                inm = value.decode("latin-1")
            elif name == b"accept-encoding":
                enc = value.decode("latin-1")
            elif name == b"host":
                host = value
            elif name in _BODY_HEADERS:  # the body limit's business
                return await self.app(scope, receive, send)
        if not self._host_ok(host):  # AllowedHosts refuses it, in the stack
            return await self.app(scope, receive, send)
        try:
            tile, hit = await get_tile(self.state, *found)
        except DATABASE_DOWN:  # at once: the route would wait for the database again
            response = unavailable_response(Request(scope), self.state.settings.db_retry_after)
            return await response(scope, receive, send)
        except Exception:  # noqa: BLE001 - the route answers again, with the bilingual error
            return await self.app(scope, receive, send)
        a = answer(tile, hit, inm, enc)
        headers = [(k.encode(), v.encode()) for k, v in a.headers.items()]
        if a.status != 304:
            headers.append((b"content-length", str(len(a.body)).encode()))
        await send({"type": "http.response.start", "status": a.status, "headers": headers})
        await send({"type": "http.response.body", "body": a.body})
