"""What one server process holds for its whole life, typed: ``app.state.agrimap``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from agrimap.settings import Settings

from .layerwatch import LayerWatch
from .ratelimit import RateLimiter
from .replica import Reads
from .tilecache import TileCache


@dataclass
class AppState:
    settings: Settings
    limiter: RateLimiter
    tile_cache: TileCache
    # Opened in the app's lifespan, closed there; None before start-up and after shutdown.
    pool: AsyncConnectionPool | None = None
    layer_watch: LayerWatch | None = None
    reads: Reads | None = None  # where public reads go (a replica, else the primary)


def app_state(app: FastAPI) -> AppState:
    return app.state.agrimap
