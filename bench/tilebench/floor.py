"""The database floor: the same household tiles made by calling SQL directly in a loop, on one
psycopg connection and on as many connections as a server's pool, with no HTTP around it.

Two queries: a lean ST_AsMVT(ST_AsMVTGeom(...)) over every household in the tile (what the
issue calls the floor), and our own tile SQL (layers/tiles.py: clustering below z13), so
that our server's overhead can be read against the SQL it really runs."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import psycopg
from psycopg import sql

from layers.serving import tiles as tile_sql
from layers.serving.catalog import COLLECTIONS

from .urls import TileRef

HOUSEHOLDS = next(c for c in COLLECTIONS if c.id == "households")

LEAN_SQL = """
SELECT ST_AsMVT(q, 'households', 4096, 'geom') FROM (
    SELECT ST_AsMVTGeom(ST_Transform(h.geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s),
                        4096, 64, true) AS geom,
           h.id, h.code, h.label, h.village_code, h.has_fibre
    FROM household h
    WHERE h.geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 0.015625), 4326)
) q
"""


@dataclass
class FloorResult:
    query: str
    connections: int
    tiles: int
    seconds: float
    tiles_per_s: float
    ms_per_tile: float  # wall time per tile per connection (latency on an idle database)
    mean_bytes: float

    def as_dict(self) -> dict:
        return asdict(self)


def _lean(conn: psycopg.Connection, t: TileRef) -> bytes:
    row = conn.execute(LEAN_SQL, {"z": t.z, "x": t.x, "y": t.y}, prepare=True).fetchone()
    return row[0] or b""


def _ours(conn: psycopg.Connection, t: TileRef) -> bytes:
    query = tile_sql.tile_sql([HOUSEHOLDS], t.z)
    row = conn.execute(query, {"z": t.z, "x": t.x, "y": t.y}, prepare=True).fetchone()
    return row[0] or b""


QUERIES: dict[str, Callable[[psycopg.Connection, TileRef], bytes]] = {
    "lean ST_AsMVT": _lean,
    "our tile SQL": _ours,
}


def _worker(url: str, make, tiles: list[TileRef], turn, stop_at: float, out: list) -> None:
    done, size = 0, 0
    with psycopg.connect(url, autocommit=True) as conn:
        while time.perf_counter() < stop_at:
            size += len(make(conn, tiles[turn() % len(tiles)]))
            done += 1
    out.append((done, size))


def _shared_counter():
    """Next position in the list, shared by every connection: like wrk's connections, they
    walk the list together from its start, so a short run covers the same tiles as a server's
    (per-tile cost is heavy-tailed: at 1M households a z10 tile holds 160,000 points)."""
    lock, counter = threading.Lock(), itertools.count()

    def turn() -> int:
        with lock:
            return next(counter)

    return turn


def measure(url: str, query: str, tiles: list[TileRef], *, duration: float,
            connections: int = 1) -> FloorResult:  # fmt: skip
    """Tiles per second for ``duration`` seconds, the connections taking ``tiles`` in turn from
    the start of the list (a short warm-up on the first tiles prepares the statements)."""
    make = QUERIES[query]
    with psycopg.connect(url, autocommit=True) as conn:
        for t in tiles[:20]:
            make(conn, t)
    out: list[tuple[int, int]] = []
    t0 = time.perf_counter()
    stop_at = t0 + duration
    turn = _shared_counter()
    workers = [
        threading.Thread(target=_worker, args=(url, make, tiles, turn, stop_at, out))
        for _ in range(connections)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    seconds = time.perf_counter() - t0
    done = sum(d for d, _ in out)
    size = sum(s for _, s in out)
    return FloorResult(
        query=query,
        connections=connections,
        tiles=done,
        seconds=seconds,
        tiles_per_s=done / seconds if seconds else 0.0,
        ms_per_tile=1000 * seconds * connections / done if done else 0.0,
        mean_bytes=size / done if done else 0.0,
    )


def explain(url: str, t: TileRef) -> str:
    """The plan of the lean query for one tile (kept in the JSON results for reference)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            sql.SQL("EXPLAIN (ANALYZE, BUFFERS) ") + sql.SQL(LEAN_SQL),  # type: ignore[arg-type]
            {"z": t.z, "x": t.x, "y": t.y},
        ).fetchall()
    return "\n".join(r[0] for r in rows)
