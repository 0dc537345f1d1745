"""Hear every layer change on LISTEN agrimap_layers: one connection per server process.

The triggers of migration 0006 send '<table>:<version>:<xmin>,<ymin>,<xmax>,<ymax>' (or
'<table>:<version>:*') at commit. ``LayerWatch`` reads them as soon as they reach the
socket (an event-loop reader) and again at the start of every tile request (``poll``), and
passes each to ``on_change``. While the connection is down the watch is not ``live`` and
callers must not serve cached tiles; it reconnects by itself and calls ``on_reset`` first,
since changes made while it was away were not heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import psycopg

log = logging.getLogger(__name__)
CHANNEL = "agrimap_layers"
APPLICATION_NAME = "agrimap-layer-watch"

Box = tuple[float, float, float, float]


def parse_change(payload: str) -> tuple[str, Box | None] | None:
    """('household', (w, s, e, n)) from 'household:12:w,s,e,n'; box None for '*'."""
    parts = payload.split(":")
    if len(parts) == 2:  # 0005's format: version only
        return parts[0], None
    if len(parts) != 3 or not parts[0]:
        return None
    if parts[2] == "*":
        return parts[0], None
    try:
        w, s, e, n = (float(v) for v in parts[2].split(","))
    except ValueError:
        return parts[0], None
    return parts[0], (w, s, e, n)


class LayerWatch:
    def __init__(
        self,
        url: str,
        on_change: Callable[[str, Box | None], None],
        on_reset: Callable[[], None],
        retry_seconds: float = 1.0,
    ) -> None:
        self.url = url
        self.on_change = on_change
        self.on_reset = on_reset
        self.retry_seconds = retry_seconds
        self.live = False
        self.generation = 0  # grows with every change heard and every reconnect
        self._conn: psycopg.AsyncConnection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self, timeout: float = 10) -> None:
        """Start listening; waits (up to ``timeout``) until the first connection is live."""
        self._task = asyncio.create_task(self._run(), name="layer-watch")
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.live and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            conn, fd = None, None
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, application_name=APPLICATION_NAME
                )
                await conn.execute(f"LISTEN {CHANNEL}")
                self._conn, fd = conn, conn.pgconn.socket
                self._lost.clear()
                loop.add_reader(fd, self.poll)
                self.generation += 1
                self.on_reset()
                self.live = True
                await self._lost.wait()
                log.warning("layer watch: connection lost; tiles are not cached until it is back")
            except (psycopg.Error, OSError) as exc:
                log.warning("layer watch: cannot listen (%s); retrying", exc)
            finally:
                self.live = False
                if fd is not None:
                    loop.remove_reader(fd)
                if conn is not None:
                    self._conn = None
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(self.retry_seconds)

    def poll(self) -> None:
        """Hand every notification already on the socket to ``on_change``; never blocks."""
        conn = self._conn
        if conn is None or not self.live:
            return
        pg = conn.pgconn
        try:
            pg.consume_input()
        except psycopg.Error:
            self.live = False
            self._lost.set()
            return
        while (note := pg.notifies()) is not None:
            change = parse_change(note.extra.decode())
            self.generation += 1
            if change is None:  # unknown format: drop everything rather than guess
                self.on_reset()
            else:
                self.on_change(*change)
