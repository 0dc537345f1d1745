"""CPU-bound work (geometry checks, password hashing, archives, PDF and exports) in worker
threads, at most ``configure(n)`` at once, so the server's event loop keeps answering."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar
from weakref import WeakKeyDictionary

import anyio.to_thread
from anyio import CapacityLimiter

P = ParamSpec("P")
T = TypeVar("T")

_tokens = 2
# One limiter per event loop: the CLI runs each command in a loop of its own.
_limiters: WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = WeakKeyDictionary()


def configure(threads: int) -> None:
    """How many pieces of CPU work may run at once (the server's AGRIMAP_WORKER_THREADS)."""
    global _tokens
    _tokens = max(1, threads)
    for limiter in _limiters.values():
        limiter.total_tokens = _tokens


def _limiter() -> CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(_tokens)
    return limiter


async def in_worker(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` in a worker thread; waits for a free one when all are busy."""
    call = functools.partial(fn, *args, **kwargs)
    return await anyio.to_thread.run_sync(call, limiter=_limiter())
