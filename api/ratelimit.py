"""Per-client rate limits on public endpoints (login, QR lookups), answered with 429, and who
the client is: the address that connected, or, only when that address is one of
AGRIMAP_TRUSTED_PROXIES, the nearest untrusted address its X-Forwarded-For names."""

from __future__ import annotations

import ipaddress
import math
import time
from functools import lru_cache

from fastapi import Request
from limits import parse, storage, strategies

from geo.errors import RateLimited

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


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


@lru_cache(maxsize=16)
def trusted_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """AGRIMAP_TRUSTED_PROXIES as networks ("10.0.0.1", "10.0.0.0/24"); a bad entry is a
    ValueError at start-up, never a silently trusted client."""
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def real_client(peer: str | None, forwarded_for: list[str], trusted: tuple[Network, ...]) -> str:
    """The client's address: ``peer`` unless it is a trusted proxy; then the right-most hop
    of X-Forwarded-For that is not a trusted proxy (hops to its left are the client's word).

    >>> nets = trusted_networks(("10.0.0.0/8",))
    >>> real_client("203.0.113.9", ["1.2.3.4"], nets)  # not a proxy: its header is ignored
    '203.0.113.9'
    >>> real_client("10.0.0.2", ["1.2.3.4, 198.51.100.7"], nets)
    '198.51.100.7'
    >>> real_client("10.0.0.2", ["garbage"], nets)
    '10.0.0.2'
    """
    peer = peer or "unknown"
    peer_ip = _address(peer)
    if not trusted or peer_ip is None or not any(peer_ip in n for n in trusted):
        return peer
    hops = [h for value in forwarded_for for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        ip = _address(hop)
        if ip is None:
            return peer  # a hop that is not an address: believe only the proxy itself
        if not any(ip in n for n in trusted):
            return str(ip)
    return peer


def client_key(request: Request) -> str:
    """Who is asking, for rate limits, sign-in back-off and the audit trail. Run uvicorn with
    --no-proxy-headers (agrimap serve does): the trusted proxies are configured here."""
    settings = request.app.state.agrimap.settings
    return real_client(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        trusted_networks(tuple(settings.trusted_proxies)),
    )


def limit(request: Request, bucket: str, rule: str) -> None:
    # app.state.agrimap is api.state.AppState, which imports this module for its type.
    request.app.state.agrimap.limiter.hit(rule, bucket, client_key(request))
