"""Per-client rate limits on public endpoints (login, QR lookups), answered with 429."""

from __future__ import annotations

import math
import time

from fastapi import Request
from limits import parse, storage, strategies

from geo.errors import RateLimited


class RateLimiter:
    """A moving-window limiter over a `limits` storage (memory here; redis:// when scaled out)."""

    def __init__(self, storage_uri: str = "memory://") -> None:
        self._strategy = strategies.MovingWindowRateLimiter(
            storage.storage_from_string(storage_uri)
        )

    def hit(self, rule: str, bucket: str, client: str) -> None:
        item = parse(rule)
        if self._strategy.hit(item, bucket, client):
            return
        reset = self._strategy.get_window_stats(item, bucket, client).reset_time
        retry = max(1, math.ceil(reset - time.time()))
        raise RateLimited(
            f"Quá nhiều yêu cầu ({rule}). Vui lòng thử lại sau {retry} giây.",
            f"Too many requests ({rule}). Try again in {retry} seconds.",
            retry_after=retry,
        )


def client_key(request: Request) -> str:
    # Behind a reverse proxy, run uvicorn with --proxy-headers so this is the real client.
    return request.client.host if request.client else "unknown"


def limit(request: Request, bucket: str, rule: str) -> None:
    # app.state.agrimap is api.state.AppState, which imports this module for its type.
    request.app.state.agrimap.limiter.hit(rule, bucket, client_key(request))
