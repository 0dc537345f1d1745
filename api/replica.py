"""Where a read goes: a streaming replica when it can answer it, else the primary.

A read goes to the replica (``AGRIMAP_READ_DATABASE_URL``) when
- the replica answered its last check (every ``replica_check_s``) and is a standby,
- it is no further behind than ``replica_max_lag_s``: the primary was at a position the replica
  has not replayed at most that long ago (the check samples both positions), and
- it has replayed past ``required`` (the change listener's ``required_lsn``: every layer change
  heard so far). Its replay position is read *before* the read's own statement, so the
  statement's snapshot includes at least that much.
Otherwise the read runs on the primary. A tile made on the replica is therefore never older
than the changes heard when it was made, and may be cached under the usual rule
(``tileserve.cached``); a tile the replica cannot make yet is made on the primary instead of
being served stale.

A replica connection that fails (the replica was stopped or dropped) marks the replica down
until a check sees it again; the read that failed is run again on the primary (``run`` for
tiles, ``ReplicaRetry`` for routes), so a reader sees no error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from layers.serving import changes

log = logging.getLogger(__name__)
T = TypeVar("T")
PRIMARY, REPLICA = "primary", "replica"
ACQUIRE_TIMEOUT_S = 1.0
CHECK_TIMEOUT_S = 2.0
READ_SOURCE = "agrimap_read"  # the request-scope key naming where a route's read ran


class Reads:
    def __init__(
        self,
        primary: AsyncConnectionPool,
        replica: AsyncConnectionPool | None = None,
        *,
        max_lag_s: float = 5.0,
        check_s: float = 0.5,
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.max_lag_s = max_lag_s
        self.check_s = check_s
        self.up = False  # the replica answered its last check as a standby
        self.replayed = -1  # its replay position at the last look (bytes from 0/0)
        self.lag_s: float | None = None
        self.reads = {PRIMARY: 0, REPLICA: 0}
        self._samples: deque[tuple[float, int]] = deque()  # (monotonic time, primary position)
        self._task: asyncio.Task | None = None

    # --- watching the replica ------------------------------------------------------------

    async def start(self) -> None:
        if self.replica is None:
            return
        await self.check()
        self._task = asyncio.create_task(self._watch(), name="replica-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.check_s)
            await self.check()

    async def check(self) -> None:
        """Look at both positions once: is the replica up, and how far behind is it."""
        assert self.replica is not None
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                async with self.primary.connection(timeout=CHECK_TIMEOUT_S) as conn:
                    primary = await changes.primary_position(conn)
                now = time.monotonic()
                async with self.replica.connection(timeout=CHECK_TIMEOUT_S) as conn:
                    replayed = await changes.replay_position(conn)
        except (psycopg.Error, PoolTimeout, TimeoutError, OSError) as exc:
            self.lost(f"{type(exc).__name__}: {exc}")
            return
        if replayed is None:
            self.lost("it is not a standby (pg_is_in_recovery() is false)")
            return
        self._samples.append((now, primary))
        while len(self._samples) > 1 and self._samples[1][0] < now - 2 * self.max_lag_s:
            self._samples.popleft()
        # Behind by at least the age of the oldest sample it has not replayed yet.
        behind = [t for t, lsn in self._samples if lsn > replayed]
        self.lag_s = now - behind[0] if behind else 0.0
        if not self.up:
            await self.replica.check()  # drop connections broken while it was away
            log.warning("read replica is up (%.1f s behind)", self.lag_s)
        self.up = True
        self.replayed = replayed

    def lost(self, why: str = "a connection failed") -> None:
        if self.up:
            log.warning("read replica is down (%s): reads go to the primary", why)
        self.up = False
        self.lag_s = None

    @property
    def usable(self) -> bool:
        return (
            self.replica is not None
            and self.up
            and self.lag_s is not None
            and self.lag_s <= self.max_lag_s
        )

    def status(self) -> dict:
        if self.replica is None:
            return {"configured": False}
        return {"configured": True, "up": self.up, "usable": self.usable, "lag_s": self.lag_s,
                "reads": dict(self.reads)}  # fmt: skip

    # --- routing one read ----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def connection(
        self, required: int | None = None
    ) -> AsyncIterator[tuple[AsyncConnection, str]]:
        """A connection for a read that must include the changes up to ``required`` (None:
        any replica position within the lag bound will do), and where it is."""
        async with contextlib.AsyncExitStack() as stack:
            conn = await self._replica_connection(stack, required)
            source = REPLICA
            if conn is None:
                conn = await stack.enter_async_context(self.primary.connection())
                source = PRIMARY
            self.reads[source] += 1
            yield conn, source

    async def _replica_connection(
        self, stack: contextlib.AsyncExitStack, required: int | None
    ) -> AsyncConnection | None:
        if not self.usable:
            return None
        assert self.replica is not None
        try:
            async with contextlib.AsyncExitStack() as mine:
                conn = await mine.enter_async_context(
                    self.replica.connection(timeout=ACQUIRE_TIMEOUT_S)
                )
                if required is not None and self.replayed < required:
                    replayed = await changes.replay_position(conn)
                    if replayed is None:
                        self.lost("it is not a standby")
                        return None
                    self.replayed = max(self.replayed, replayed)
                    if replayed < required:
                        return None  # not there yet: this read runs on the primary
                stack.push_async_exit(mine.pop_all())
                return conn
        except (psycopg.OperationalError, PoolTimeout, OSError) as exc:
            self.lost(f"{type(exc).__name__}: {exc}")
            return None

    async def run(
        self, required: int | None, read: Callable[[AsyncConnection], Awaitable[T]]
    ) -> tuple[T, str]:
        """``read`` on the connection ``connection`` gives; run again on the primary if the
        replica's connection fails under it."""
        source = PRIMARY
        try:
            async with self.connection(required) as (conn, source):
                return await read(conn), source
        except psycopg.OperationalError as exc:
            if source != REPLICA:
                raise
            self.lost(f"{type(exc).__name__}: {exc}")
        async with self.primary.connection() as conn:
            self.reads[PRIMARY] += 1
            return await read(conn), PRIMARY


class ReplicaRetry:
    """ASGI middleware: a GET or HEAD whose read failed on the replica before any of its
    answer was sent is answered again, with the replica marked down (so on the primary). It
    also says where the read ran: ``X-AgriMap-Read: replica | primary``."""

    def __init__(self, app, state) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope, receive, send) -> None:
        reads: Reads | None = getattr(self.state, "reads", None)
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or reads is None
            or reads.replica is None
        ):
            return await self.app(scope, receive, send)
        started = False

        async def tell(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                source = scope.get("state", {}).get(READ_SOURCE)
                if source:
                    message = {**message, "headers": [*message.get("headers", []),
                                                      (b"x-agrimap-read", source.encode())]}  # fmt: skip
            await send(message)

        try:
            return await self.app(scope, receive, tell)
        except psycopg.OperationalError as exc:
            if started or scope.get("state", {}).get(READ_SOURCE) != REPLICA:
                raise
            reads.lost(f"{type(exc).__name__}: {exc}")
            scope["state"][READ_SOURCE] = None
        await self.app(scope, receive, tell)
