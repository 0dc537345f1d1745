"""Hear every layer change on LISTEN agrimap_layers: one connection per server process.

The triggers of migration 0006 send '<table>:<version>:<xmin>,<ymin>,<xmax>,<ymax>' (or
'<table>:<version>:*') at commit. ``LayerWatch`` reads them as soon as they reach the
socket (an event-loop reader) and again at the start of every tile request (``poll``), and
passes each to ``on_change``. While the connection is down the watch is not ``live`` and
callers must not serve cached tiles; it reconnects by itself and calls ``on_reset`` first,
since changes made while it was away were not heard.

With a read replica, ``required_lsn`` is the primary's WAL position that a replica must have
replayed for a read to include every change heard so far: each fence (``fresh``) reads the
primary's position in the same statement as the versions, and a change heard before the fence
committed before that position (docs/scaling.md, "the replication-position rule").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import psycopg

from layers.serving import changes

log = logging.getLogger(__name__)
APPLICATION_NAME = "agrimap-layer-watch"

Box = tuple[float, float, float, float]


def parse_change(payload: str) -> tuple[str, int, Box | None] | None:
    """('household', 12, (w, s, e, n)) from 'household:12:w,s,e,n'; box None for '*'."""
    parts = payload.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not (parts[1].isascii() and parts[1].isdigit()):
        return None
    table, version = parts[0], int(parts[1])
    if len(parts) == 2 or parts[2] == "*":  # 0005's format had no extent
        return table, version, None
    try:
        w, s, e, n = (float(v) for v in parts[2].split(","))
    except ValueError:
        return table, version, None
    return table, version, (w, s, e, n)


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
        self.generation = 0  # grows with every change applied and every reconnect
        self._conn: psycopg.AsyncConnection | None = None  # LISTENs
        self._reader: psycopg.AsyncConnection | None = None  # reads versions for ``fresh``
        self._seen: dict[str, int] = {}  # the newest version applied, per layer
        self.required_lsn = 0  # a replica read includes every change heard once past this
        self._unresolved = False  # a change was heard after the last fence began
        self._waiting: asyncio.Future | None = None
        self._reading: asyncio.Task | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self, timeout: float = 10) -> None:
        """Start listening; waits (up to ``timeout``) until the first connection is live."""
        self._task = asyncio.create_task(self._run(), name="layer-watch")
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.live and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        for task in (self._task, self._reading):
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _connect(self) -> psycopg.AsyncConnection:
        return await psycopg.AsyncConnection.connect(
            self.url, autocommit=True, application_name=APPLICATION_NAME
        )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            fd = None
            try:
                self._conn = await self._connect()
                await changes.listen(self._conn)
                self._reader = await self._connect()
                self.required_lsn, self._seen = await changes.fence(self._reader)
                fd = self._conn.pgconn.socket
                self._lost.clear()
                loop.add_reader(fd, self.poll)
                self.generation += 1
                self.on_reset()  # changes made while nobody listened were not heard
                self.live = True
                await self._lost.wait()
                log.warning("layer watch: connection lost; tiles are not cached until it is back")
            except (psycopg.Error, OSError) as exc:
                log.warning("layer watch: cannot listen (%s); retrying", exc)
            finally:
                self.live = False
                if fd is not None:
                    loop.remove_reader(fd)
                for conn in (self._conn, self._reader):
                    if conn is not None:
                        with contextlib.suppress(Exception):
                            await conn.close()
                self._conn = self._reader = None
            await asyncio.sleep(self.retry_seconds)

    def _lose(self) -> None:
        self.live = False
        self._lost.set()

    def poll(self) -> None:
        """Apply every notification already on the socket; never blocks."""
        conn = self._conn
        if conn is None or not self.live:
            return
        pg = conn.pgconn
        try:
            pg.consume_input()
        except psycopg.Error:
            self._lose()
            return
        while (note := pg.notifies()) is not None:
            change = parse_change(note.extra.decode())
            self.generation += 1
            self._unresolved = True
            if change is None:  # unknown format: drop everything rather than guess
                self.on_reset()
                continue
            table, version, box = change
            self._seen[table] = max(self._seen.get(table, 0), version)
            self.on_change(table, box)

    async def fresh(self) -> bool:
        """Whether the cache may be used: True once every change committed before this call
        has been applied. Notifications are normally here first; to be sure, the layer
        versions are read by a query that starts after the call (one query serves every
        request that waits with it), and a layer whose version is newer than its last
        notification is dropped from the cache whole. False while the watch is down."""
        if not self.live:
            return False
        self.poll()
        waiting = self._waiting
        if waiting is None:
            waiting = self._waiting = asyncio.get_running_loop().create_future()
            if self._reading is None:
                self._reading = asyncio.create_task(self._read_versions())
        return await asyncio.shield(waiting)

    async def _read_versions(self) -> None:
        try:
            while (waiting := self._waiting) is not None:
                self._waiting = None
                ok = False
                try:
                    if self._reader is not None and self.live:
                        heard, self._unresolved = self._unresolved, False
                        try:
                            lsn, versions = await changes.fence(self._reader)
                        except BaseException:
                            self._unresolved = self._unresolved or heard
                            raise
                        self.poll()  # what arrived meanwhile: exact evictions first
                        for table, version in versions.items():
                            if version > self._seen.get(table, 0):
                                self._seen[table] = version
                                self.generation += 1
                                heard = True
                                self.on_change(table, None)
                        if heard:  # every change heard so far committed before ``lsn``
                            self.required_lsn = max(self.required_lsn, lsn)
                        ok = self.live
                except psycopg.Error:
                    self._lose()
                waiting.set_result(ok)
        finally:
            self._reading = None
