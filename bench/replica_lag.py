"""A streaming replica's lag under a write load (issue 18), on the tile benchmark's database.

Usage: .venv/bin/python bench/replica_lag.py [--households 10000000] [--provinces 34]
       [--seconds 60] [--batch 2000]

1. a streaming replica of the local bench cluster (AGRIMAP_PGDATA/AGRIMAP_PGPORT's) in
   <data dir>-replica on the next port, made once with pg_basebackup and reused after;
2. a write load on the primary for --seconds: transactions that each move --batch households
   a few metres (UPDATE through the parent: every row trigger, the audit, the household cells,
   coverage sets and extents, like an officer's bulk correction), one after another, committed;
3. every 0.25 s the lag as the primary sees it (pg_stat_replication: bytes not yet replayed,
   replay_lag) and, after the load, how long the replica takes to catch up;
4. the changes are undone (the same moves back) so the database stays the benchmark's, and
   the replica is stopped (the next run starts it again; it catches up from the primary's WAL).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import psycopg
from tilebench import data

from agrimap import localpg

LAG_SQL = (
    "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint, "
    "extract(epoch FROM replay_lag)::float8 FROM pg_stat_replication LIMIT 1"
)
MOVE_SQL = (
    "UPDATE household SET geom = ST_Translate(geom, %s, 0) "
    "WHERE id IN (SELECT id FROM household WHERE province_code = %s AND id > %s "
    "ORDER BY id LIMIT %s) RETURNING id"
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--households", type=int, default=10_000_000)
    p.add_argument("--provinces", type=int, default=34)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--batch", type=int, default=2000)
    return p.parse_args(argv)


def write_load(url: str, seconds: float, batch: int, dx: float, moved: list[tuple[str, int, int]]):
    """Move households ``dx`` degrees east, ``batch`` per transaction, for ``seconds``; the
    (province, first id after, count) of each batch go to ``moved``."""
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('agrimap.system', 'on', false), "
                     "set_config('agrimap.user', 'bench', false)")  # fmt: skip
        provinces = [r[0] for r in conn.execute("SELECT code FROM province ORDER BY code")]
        conn.commit()
        end, i, after = time.monotonic() + seconds, 0, {p: 0 for p in provinces}
        while time.monotonic() < end:
            prov = provinces[i % len(provinces)]
            ids = [r[0] for r in conn.execute(MOVE_SQL, (dx, prov, after[prov], batch))]
            conn.commit()
            if ids:
                moved.append((prov, after[prov], len(ids)))
                after[prov] = max(ids)
            i += 1


def undo(url: str, moved: list[tuple[str, int, int]], dx: float) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('agrimap.system', 'on', false), "
                     "set_config('agrimap.user', 'bench', false)")  # fmt: skip
        for prov, after, n in moved:
            conn.execute(MOVE_SQL, (-dx, prov, after, n)).fetchall()
        conn.commit()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    db = data.prepare(args.households, provinces=args.provinces)
    primary = localpg.default_cluster()
    replica = localpg.LocalPostgres(
        Path(str(primary.data_dir) + "-replica"), primary.port + 1, primary.user
    )
    t0 = time.perf_counter()
    localpg.start_replica(primary, replica)
    print(f"replica on port {replica.port} ready in {time.perf_counter() - t0:.1f} s")
    samples: list[tuple[float, int, float | None]] = []
    moved: list[tuple[str, int, int]] = []
    dx = 0.00003  # ~3 m east
    loader = threading.Thread(target=write_load, args=(db.url, args.seconds, args.batch, dx, moved))
    with psycopg.connect(primary.url("postgres"), autocommit=True) as mon:
        start = time.monotonic()
        loader.start()
        while loader.is_alive():
            row = mon.execute(LAG_SQL).fetchone()
            if row:
                samples.append((time.monotonic() - start, int(row[0] or 0), row[1]))
            time.sleep(0.25)
        loader.join()
        load_end = time.monotonic()
        while True:  # until the replica has replayed everything written
            row = mon.execute(LAG_SQL).fetchone()
            if row is None or int(row[0] or 0) == 0 or time.monotonic() - load_end > 120:
                break
            time.sleep(0.05)
        catch_up = time.monotonic() - load_end
    rows = sum(n for _, _, n in moved)
    undo(db.url, moved, dx)
    localpg.stop(replica)  # it would replay beside the other benchmarks' runs
    lags = [b for _, b, _ in samples]
    secs = [s for _, _, s in samples if s is not None]
    result = {
        "database": db.name, "seconds": args.seconds, "batch": args.batch,
        "rows_written": rows, "rows_per_s": rows / args.seconds, "transactions": len(moved),
        "lag_bytes_p50": statistics.median(lags) if lags else None,
        "lag_bytes_max": max(lags) if lags else None,
        "replay_lag_s_p50": statistics.median(secs) if secs else None,
        "replay_lag_s_max": max(secs) if secs else None,
        "catch_up_s": catch_up, "samples": len(samples),
    }  # fmt: skip
    for k, v in result.items():
        print(f"{k:18s} {v:,.3f}" if isinstance(v, float) else f"{k:18s} {v}")
    out = Path(__file__).parent / "results" / f"replica-lag-{datetime.now():%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result | {"trace": samples}, indent=1))
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
