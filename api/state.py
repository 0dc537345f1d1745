"""What one server process holds for its whole life, typed: ``app.state.agrimap``."""

from __future__ import annotations

import select
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import psycopg
from fastapi import FastAPI
from psycopg import AsyncConnection
from psycopg.pq import ConnStatus
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from agrimap.settings import Settings
from geo.soil import SoilConfig

from .layerwatch import LayerWatch
from .ratelimit import RateLimiter
from .replica import Reads
from .tilecache import TileCache


async def check_if_disturbed(conn: AsyncConnection) -> None:
    """The pool's check as a connection is handed out, without a round trip for a healthy one.

    psycopg_pool's ``check_connection`` sends an empty query every time: a round trip per
    request (at 100,000 households a tenth of an uncached tile's time). An idle connection
    has nothing to read; one the server dropped (a restart, a terminated backend, PgBouncer
    gone) has its error message or end of file waiting on the socket, or is already marked
    bad. Only those get the round trip, which raises and makes the pool replace them."""
    pg = conn.pgconn
    if pg.status != ConnStatus.OK:
        raise psycopg.OperationalError("the connection is closed")
    readable, _, _ = select.select([pg.socket], [], [], 0)
    if readable:
        await AsyncConnectionPool.check_connection(conn)


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

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection. A wait of pool_timeout that ends without one is a 503 when
        the pool failed to connect meanwhile (the database is down); when the database is
        merely busy (every connection in use, none failing) the request waits on, up to
        AGRIMAP_POOL_BUSY_TIMEOUT, as a burst of writes should."""
        pool = self.pool
        assert pool is not None, "the pool is opened in the app's lifespan"
        errors = self._connect_errors()
        deadline = time.monotonic() + self.settings.pool_busy_timeout
        while True:
            try:
                conn = await pool.getconn(timeout=self.connection_timeout())
                break
            except PoolTimeout:
                known_down = self.database_failed_at is not None  # waited a quarter second
                if known_down or self._connect_errors() > errors or time.monotonic() >= deadline:
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
