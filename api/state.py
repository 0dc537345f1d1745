"""What one server process holds for its whole life, typed: ``app.state.agrimap``."""

from __future__ import annotations

import asyncio
import select
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from weakref import WeakKeyDictionary

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

# When each pooled connection was last given back (the pool's reset callback records it).
_returned_at: WeakKeyDictionary[AsyncConnection, float] = WeakKeyDictionary()
IDLE_CHECK_S = 1.0  # a connection idle longer than this gets a round trip before use


async def mark_returned(conn: AsyncConnection) -> None:
    """The pool's ``reset`` callback: remember when ``conn`` came back."""
    _returned_at[conn] = time.monotonic()


def check_if_disturbed(timeout_s: float) -> Callable[[AsyncConnection], Awaitable[None]]:
    """The pool's check as a connection is handed out, without a round trip for a healthy,
    busy one.

    psycopg_pool's ``check_connection`` sends an empty query every time: a round trip per
    request (at 100,000 households a tenth of an uncached tile's time). A connection the
    server dropped (a restart, a terminated backend, PgBouncer gone) has its error message or
    end of file waiting on the socket, or is already marked bad; one idle for more than
    IDLE_CHECK_S may belong to a server that froze meanwhile (a hung host: nothing arrives,
    nothing answers). Only those get the round trip, bounded by ``timeout_s``; a failure makes
    the pool replace them. (HikariCP skips its check the same way for a connection used
    within the last half second.)"""

    async def check(conn: AsyncConnection) -> None:
        pg = conn.pgconn
        if pg.status != ConnStatus.OK:
            raise psycopg.OperationalError("the connection is closed")
        readable, _, _ = select.select([pg.socket], [], [], 0)
        idle = time.monotonic() - _returned_at.get(conn, 0.0)
        if readable or idle > IDLE_CHECK_S:
            await asyncio.wait_for(AsyncConnectionPool.check_connection(conn), timeout_s)

    return check


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
