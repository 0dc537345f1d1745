"""What one server process holds for its whole life, typed: ``app.state.agrimap``."""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from agrimap.settings import Settings

from .layerwatch import LayerWatch
from .ratelimit import RateLimiter
from .tilecache import TileCache


@dataclass
class AppState:
    settings: Settings
    limiter: RateLimiter
    tile_cache: TileCache
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


def app_state(app: FastAPI) -> AppState:
    return app.state.agrimap
