"""Reads from a real streaming replica (issue 18): a write on the primary is seen on the next
request, a lagging replica never gets a stale tile cached, and a replica that stops moves
reads to the primary without an error."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest

from agrimap import localpg
from tests.conftest import serve

from .conftest import (
    Replica,
    first_household,
    replica_status,
    set_label,
    tile_url,
    wait_for_replay,
    wait_until,
)


@pytest.fixture(scope="module")
def server(demo_url: str, replica: Replica) -> Iterator[str]:
    env = {"AGRIMAP_READ_DATABASE_URL": replica.url, "AGRIMAP_REPLICA_CHECK_S": "0.1",
           "AGRIMAP_REPLICA_MAX_LAG_S": "1"}  # fmt: skip
    with serve(demo_url, **env) as base:
        wait_until(lambda: replica_status(base)["usable"], what="the replica to be usable")
        yield base


@pytest.fixture
def household(demo_url: str, replica: Replica) -> Iterator[tuple[int, str, float, float]]:
    """The first household; its label is put back afterwards."""
    found = first_household(demo_url)
    yield found
    with psycopg.connect(replica.url, autocommit=True) as r:
        r.execute("SELECT pg_wal_replay_resume()")
    set_label(demo_url, found[0], found[1])
    wait_for_replay(demo_url, replica.url)


def _item(base: str, hid: int) -> httpx.Response:
    return httpx.get(f"{base}/collections/households/items/{hid}")


def test_reads_go_to_the_replica_and_a_write_is_seen_on_the_next_request(
    server, demo_url, household
) -> None:
    hid, label, lon, lat = household
    url = tile_url(server, lon, lat)
    before = replica_status(server)["reads"]["replica"]
    first = httpx.get(url)
    assert first.status_code == 200 and label.encode() in first.content
    assert replica_status(server)["reads"]["replica"] > before  # made on the replica
    assert httpx.get(url).headers["x-agrimap-cache"] == "hit"
    page = _item(server, hid)
    assert page.headers["x-agrimap-read"] == "replica"

    set_label(demo_url, hid, label + " (bản sao)")
    tile = httpx.get(url)  # no sleep: the very next request
    assert tile.headers["x-agrimap-cache"] == "miss"
    assert (label + " (bản sao)").encode() in tile.content
    assert _item(server, hid).json()["properties"]["label"] == label + " (bản sao)"


def test_a_lagging_replica_never_gets_a_stale_tile_cached(
    server, demo_url, replica, household
) -> None:
    hid, label, lon, lat = household
    url = tile_url(server, lon, lat)
    httpx.get(url)
    with psycopg.connect(replica.url, autocommit=True) as r:
        r.execute("SELECT pg_wal_replay_pause()")
        wait_until(lambda: r.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0]
                   == "paused", what="replay to pause")  # fmt: skip
        new = label + " (trễ)"
        set_label(demo_url, hid, new)
        # The replica really is behind: read directly, it still has the old label.
        stale = r.execute("SELECT label FROM household WHERE id = %s", (hid,)).fetchone()[0]
        assert stale == label

        before = replica_status(server)["reads"]
        made = httpx.get(url)
        assert made.headers["x-agrimap-cache"] == "miss" and new.encode() in made.content
        again = httpx.get(url)  # what was cached is the fresh tile, made on the primary
        assert again.headers["x-agrimap-cache"] == "hit" and again.content == made.content
        assert replica_status(server)["reads"]["primary"] > before["primary"]
        page = _item(server, hid)
        assert page.headers["x-agrimap-read"] == "primary"
        assert page.json()["properties"]["label"] == new

        # Writes go on while replay stays paused: past the lag bound (1 s) nothing is read
        # from the replica at all, whatever the read.
        def behind() -> bool:
            set_label(demo_url, hid, new)
            return not replica_status(server)["usable"]

        wait_until(behind, timeout=10, what="the replica to be past the lag bound")
        assert _item(server, hid).headers["x-agrimap-read"] == "primary"
        r.execute("SELECT pg_wal_replay_resume()")
    wait_until(lambda: replica_status(server)["usable"], what="the replica to catch up")
    assert _item(server, hid).headers["x-agrimap-read"] == "replica"


def test_killing_the_replica_moves_reads_to_the_primary_without_errors(
    server, demo_url, replica, household
) -> None:
    hid, label, lon, lat = household
    urls = [tile_url(server, lon, lat, z) for z in (14, 15, 16)]
    assert _item(server, hid).headers["x-agrimap-read"] == "replica"
    localpg._check(
        [str(localpg.bindir() / "pg_ctl"), "-D", str(replica.cluster.data_dir), "-m",
         "immediate", "-w", "stop"], localpg._run_as(), "pg_ctl stop",
    )  # fmt: skip
    set_label(demo_url, hid, label + " (chính)")  # the cached tiles are dropped: made again
    # At once, before the server's check has noticed: its pooled replica connections are
    # broken, and each read is answered again on the primary.
    for url in urls:
        r = httpx.get(url)
        assert r.status_code == 200, r.text
    page = _item(server, hid)
    assert page.status_code == 200 and page.headers["x-agrimap-read"] == "primary"
    assert page.json()["properties"]["label"] == label + " (chính)"
    assert httpx.get(f"{server}/collections/households/items?limit=5").status_code == 200
    assert not replica_status(server)["up"]

    localpg.start(replica.cluster, databases=())
    wait_until(lambda: replica_status(server)["usable"], what="the replica to come back")
    assert _item(server, hid).headers["x-agrimap-read"] == "replica"
