"""The server's memory, kept flat under a long mixed load.

glibc's malloc gives each thread that allocates its own arena (up to 8 per core) and keeps
what requests free inside them; a server whose worker threads parse uploads and build exports
then holds hundreds of MB it no longer uses, rising and falling with what came last (the soak
saw 299–445 MB per minute). Two arenas are enough for our few threads, and freed memory is
given back to the system every ``trim_seconds``. Elsewhere than glibc both are no-ops.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging

from layers.offload import in_worker

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt parameter (glibc malloc.h)


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


_LIBC = _libc()


def limit_arenas(arenas: int = 2) -> bool:
    """At most ``arenas`` malloc arenas from now on (threads started later share them)."""
    return bool(_LIBC is not None and _LIBC.mallopt(M_ARENA_MAX, arenas))


def trim() -> bool:
    """Give the memory malloc holds free back to the system; True when some was."""
    return bool(_LIBC is not None and _LIBC.malloc_trim(0))


async def trim_every(seconds: float) -> None:
    """Trim in a worker thread every ``seconds`` until cancelled (the server's lifespan)."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await in_worker(trim)
        except Exception:  # noqa: BLE001 - memory housekeeping must never end the server
            log.exception("malloc_trim failed")
