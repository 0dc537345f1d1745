"""The server behind a real PgBouncer in transaction mode (AGRIMAP_PGBOUNCER=true): reads,
writes in transactions (who acts is set per transaction) and tile freshness (LISTEN on a
direct connection), with fewer server connections than the server's pool has clients."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from agrimap import localpg, topology
from agrimap.clicommon import run_async
from layers import accounts
from tests.conftest import ROOT, _free_port, serve

from .conftest import first_household, set_label, tile_url


@pytest.fixture(scope="module")
def bouncer(demo_url: str) -> Iterator[topology.Bouncer]:
    port = _free_port()
    db = demo_url.rsplit("/", 1)[1]
    b = topology.Bouncer(
        port=port, folder=ROOT / ".cache" / f"pgbouncer-test-{port}",
        target_port=localpg.default_cluster().port, pool_size=2, aliases={"one": (db, 1)},
    )  # fmt: skip
    child = topology.start_pgbouncer(b)
    try:
        yield b
    finally:
        child.stop()
        shutil.rmtree(b.folder, ignore_errors=True)


def test_prepared_statements_break_in_transaction_mode(bouncer) -> None:
    """Why the setting exists: two clients sharing one server connection both name their
    first prepared statement _pg3_0."""
    with (
        psycopg.connect(bouncer.url("one"), autocommit=True) as a,
        psycopg.connect(bouncer.url("one"), autocommit=True) as b,
    ):
        a.execute("SELECT 1", prepare=True)
        with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
            b.execute("SELECT 2", prepare=True)
    with psycopg.connect(bouncer.url("one"), autocommit=True, prepare_threshold=None) as a:
        for _ in range(10):  # what the server does behind PgBouncer: never prepares
            assert a.execute("SELECT 1").fetchone() == (1,)


def test_the_server_works_behind_pgbouncer(bouncer, demo_url) -> None:
    name = f"b{uuid.uuid4().hex[:6]}"
    run_async(demo_url, accounts.add_user, username=name, role="officer", password="x" * 12,
              communes=("02923",), personal_data=False, by="tests")  # fmt: skip
    _, token = run_async(demo_url, accounts.create_token, username=name, name="t", by="tests")
    auth = {"Authorization": f"Bearer {token}"}
    db = demo_url.rsplit("/", 1)[1]
    env = {"AGRIMAP_PGBOUNCER": "true", "AGRIMAP_LISTEN_DATABASE_URL": demo_url,
           "AGRIMAP_POOL_MAX": "8"}  # fmt: skip
    hid, label, lon, lat = first_household(demo_url)
    with serve(bouncer.url(db), **env) as base:
        urls = [tile_url(base, lon, lat, z) for z in (12, 13, 14, 15, 16)]
        urls += [f"{base}/collections/households/items?limit=3",
                 f"{base}/collections/households/items/{hid}", f"{base}/collections"]  # fmt: skip

        async def many() -> list[int]:
            async with httpx.AsyncClient(timeout=30) as client:
                rs = await asyncio.gather(*(client.get(u) for u in urls * 8))
            return [r.status_code for r in rs]

        # 64 concurrent reads on 8 client connections over 2 server connections, each
        # statement many times (psycopg would prepare it from the 5th time by default).
        assert set(asyncio.run(many())) == {200}
        tile = httpx.get(urls[-4])
        assert tile.headers["x-agrimap-cache"] == "hit"
        try:
            # A write in a transaction: the database's scope check and audit read who acts
            # (set_config(..., true): for this transaction only).
            r = httpx.patch(f"{base}/collections/households/items/{hid}", headers=auth,
                            json={"label": label + " (pgbouncer)"})  # fmt: skip
            assert r.status_code == 200, r.text
            after = httpx.get(urls[-4])  # the listener (direct) heard it: the tile is new
            assert after.headers["x-agrimap-cache"] == "miss"
            assert (label + " (pgbouncer)").encode() in after.content
            with psycopg.connect(demo_url) as conn:
                who = conn.execute(
                    "SELECT actor FROM audit_log WHERE object_type = 'household' "
                    "AND object_id = %s ORDER BY id DESC LIMIT 1", (str(hid),),
                ).fetchone()  # fmt: skip
            assert who == (name,)
        finally:
            set_label(demo_url, hid, label)
        with psycopg.connect(bouncer.url("pgbouncer"), autocommit=True) as admin:
            modes = {row[0]: row for row in admin.execute("SHOW POOLS").fetchall()}
        assert modes[db][-1] == "transaction"
