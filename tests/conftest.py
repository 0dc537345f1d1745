"""Test fixtures: a real PostGIS (the project's local cluster unless AGRIMAP_TEST_DATABASE_URL),
a database loaded with the demo commune, and a live server in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from agrimap import localpg
from agrimap.settings import Settings
from layers import migrate

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "data" / "shapefiles"
ARTIFACTS = ROOT / "tests" / "artifacts"
LAYER_TABLES = (
    "coverage", "household", "soil_zone", "soil_raster", "growing_area_history", "growing_area",
    "village", "commune_former_code", "commune", "province", "import_batch",
)  # fmt: skip


def _fresh_database(name: str) -> str:
    """Drop and re-create ``name`` and migrate it; returns its URL."""
    base = os.environ.get("AGRIMAP_TEST_DATABASE_URL")
    if base:
        admin_url = base.rsplit("/", 1)[0] + "/postgres"
        url = base.rsplit("/", 1)[0] + f"/{name}"
    else:
        cluster = localpg.start(databases=())
        admin_url, url = cluster.url("postgres"), cluster.url(name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def db_url() -> str:
    """An empty, migrated database for tests that write."""
    return _fresh_database("agrimap_test")


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    """A connection to the empty test database; every layer table is emptied first."""
    with psycopg.connect(db_url) as c:
        c.execute("TRUNCATE " + ", ".join(LAYER_TABLES) + " RESTART IDENTITY CASCADE")
        c.commit()
        yield c


def table_counts(c: psycopg.Connection) -> dict[str, int]:
    return {
        t: c.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0]
        for t in LAYER_TABLES
    }


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database holding the demo commune, loaded once through the real CLI code path."""
    from agrimap.cli import load_demo

    url = _fresh_database("agrimap_demo_test")
    settings = Settings(database_url=url, data_dir=tmp_path_factory.mktemp("data"))
    assert load_demo(url, settings) is True
    return url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(database_url: str, workers: int = 1, **env: str) -> Iterator[str]:
    """The real server (uvicorn) on a free loopback port; yields its base URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "api.asgi:create", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--workers", str(workers),
         "--no-proxy-headers"],
        env={**os.environ, "DATABASE_URL": database_url, **env}, cwd=ROOT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # two workers on a loaded 2-core machine took > 30 s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/conformance", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("the server did not start")
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def live_server(demo_url: str) -> Iterator[str]:
    """The server over the demo database, with rate limits high enough for the whole suite."""
    with serve(demo_url, AGRIMAP_LOGIN_RATE="10000/minute", AGRIMAP_QR_RATE="10000/minute") as base:
        yield base


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test fails the run: a database or browser test must never vanish quietly.

    Set AGRIMAP_ALLOW_SKIPS=1 to run a partial suite on a machine without Chromium or iconv.
    """
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and os.environ.get("AGRIMAP_ALLOW_SKIPS") != "1":
        reporter.write_line(
            f"{skipped} test(s) skipped: failing the run (AGRIMAP_ALLOW_SKIPS=1 allows it)",
            red=True,
        )
        session.exitstatus = 1
