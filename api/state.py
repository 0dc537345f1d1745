"""What one server process holds for its whole life, typed: ``app.state.agrimap``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from agrimap.settings import Settings
from geo.soil import SoilConfig

from .layerwatch import LayerWatch
from .ratelimit import RateLimiter
from .replica import Reads
from .tilecache import TileCache


@dataclass
class AppState:
    settings: Settings
    limiter: RateLimiter
    tile_cache: TileCache
    soil: SoilConfig  # class tables, conversions and advice, read once at start-up
    # Opened in the app's lifespan, closed there; None before start-up and after shutdown.
    pool: AsyncConnectionPool | None = None
    layer_watch: LayerWatch | None = None
    # When a request last found the database unreachable (monotonic seconds), cleared by
    # the next request that gets a connection.
    database_failed_at: float | None = None

    def connection_timeout(self) -> float:
        """Seconds to wait for a connection: the pool timeout, or a quarter of a second
        while the database is known to be down (the answer is a 503 anyway; the pool keeps
        reconnecting, and a connection it has is handed out at once)."""
        if self.database_failed_at is not None and time.monotonic() - self.database_failed_at < 60:
            return min(0.25, self.settings.pool_timeout)
        return self.settings.pool_timeout

    def _connect_errors(self) -> int:
        return self.pool.get_stats().get("connections_errors", 0)  # type: ignore[union-attr]

    # When the pool last opened a connection (monotonic seconds; its configure callback).
    connected_at: float = 0.0

    async def mark_connected(self, conn: AsyncConnection) -> None:
        """The pool's ``configure`` callback: a connection was just opened."""
        self.connected_at = time.monotonic()

    def _stalled_since(self, started: float) -> bool:
        """The pool is short of its size and has opened no connection since ``started``: a
        wait for one then is not the database being busy (every connection open and in use)
        but connects that hang or fail (the database frozen or unreachable)."""
        stats = self.pool.get_stats()  # type: ignore[union-attr]
        not_full = stats.get("pool_size", 0) < self.pool.max_size  # type: ignore[union-attr]
        return not_full and self.connected_at < started

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection. A wait of pool_timeout that ends without one is a 503 when
        the pool failed to connect meanwhile (the database is down) or, short of its size,
        opened no connection (the database is frozen or unreachable: connects hang); when the
        database is merely busy (every connection open and in use, none failing) the request
        waits on, up to AGRIMAP_POOL_BUSY_TIMEOUT, as a burst of writes should."""
        pool = self.pool
        assert pool is not None, "the pool is opened in the app's lifespan"
        errors = self._connect_errors()
        deadline = time.monotonic() + self.settings.pool_busy_timeout
        while True:
            started = time.monotonic()
            try:
                conn = await pool.getconn(timeout=self.connection_timeout())
                break
            except PoolTimeout:
                known_down = self.database_failed_at is not None  # waited a quarter second
                if (
                    known_down
                    or self._connect_errors() > errors
                    or self._stalled_since(started)
                    or time.monotonic() >= deadline
                ):
                    self.database_failed_at = time.monotonic()
                    raise
        self.database_failed_at = None
        try:
            yield conn
        finally:
            await pool.putconn(conn)

    reads: Reads | None = None  # where public reads go (a replica, else the primary)


def app_state(app: FastAPI) -> AppState:
    return app.state.agrimap
