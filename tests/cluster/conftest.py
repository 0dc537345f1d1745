"""The local topology of issue 18 for tests: a real streaming replica of the test cluster
(pg_basebackup -R), started once per session, and helpers shared by its tests."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import morecantile
import psycopg
import pytest

from agrimap import localpg
from tests.conftest import _free_port

TMS = morecantile.tms.get("WebMercatorQuad")


@dataclass(frozen=True)
class Replica:
    cluster: localpg.LocalPostgres
    url: str  # the demo database on the replica


@pytest.fixture(scope="session")
def replica(demo_url: str) -> Iterator[Replica]:
    """A streaming replica of the test cluster holding the demo database."""
    if os.environ.get("AGRIMAP_TEST_DATABASE_URL"):
        pytest.fail(
            "The replica tests make a streaming replica of the project's local test cluster "
            "with pg_basebackup; unset AGRIMAP_TEST_DATABASE_URL to run them."
        )
    primary = localpg.default_cluster()
    data_dir = Path(f"{primary.data_dir}-replica-test")
    shutil.rmtree(data_dir, ignore_errors=True)
    standby = localpg.LocalPostgres(data_dir=data_dir, port=_free_port())
    localpg.start_replica(primary, standby, keep_wal=None)  # a short-lived replica
    url = standby.url(demo_url.rsplit("/", 1)[1])
    wait_for_replay(demo_url, url)
    try:
        yield Replica(standby, url)
    finally:
        localpg.stop(standby)
        shutil.rmtree(data_dir, ignore_errors=True)


def wait_for_replay(primary_url: str, replica_url: str, timeout: float = 20) -> None:
    """Until the replica has replayed everything the primary had written when called."""
    with psycopg.connect(primary_url, autocommit=True) as p:
        target = p.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(replica_url, autocommit=True, connect_timeout=2) as r:
                done = r.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)
                ).fetchone()[0]
            if done:
                return
        except psycopg.OperationalError:
            pass
        time.sleep(0.1)
    raise AssertionError("the replica did not catch up with the primary")


def first_household(url: str) -> tuple[int, str, float, float]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT id, label, ST_X(geom), ST_Y(geom) FROM household ORDER BY id LIMIT 1"
        ).fetchone()


def set_label(url: str, hid: int, label: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('agrimap.system', 'on', true)")
        conn.execute("UPDATE household SET label = %s WHERE id = %s", (label, hid))


def tile_url(base: str, lon: float, lat: float, z: int = 16) -> str:
    t = TMS.tile(lon, lat, z)
    return f"{base}/collections/households/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"


def replica_status(base: str) -> dict:
    return httpx.get(f"{base}/readyz").json()["replica"]


def wait_until(check, timeout: float = 10, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
