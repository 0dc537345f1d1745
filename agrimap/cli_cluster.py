"""`agrimap cluster` (`./run.sh cluster`): the whole local topology of issue 18 on one machine.

    Varnish :PORT  ->  server :PORT+1, server :PORT+2  ->  primary (local PostGIS)
                                                   \\->  streaming replica (reads)

The primary is the project's local cluster (AGRIMAP_PGDATA, AGRIMAP_PGPORT); the replica is
made from it once with pg_basebackup -R in AGRIMAP_PGDATA-replica on the next port, then only
started. Ctrl-C stops, in order, the cache, the servers, the replica, and the primary if this
command started it. Safe to re-run.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import typer

from agrimap.settings import Settings
from layers import migrate

from . import localpg, topology
from .cli_accounts import ensure_demo_accounts
from .clicommon import console, load_settings, run_async


def run(port: int, load_demo: Callable[[str, Settings], bool]) -> None:
    """Primary, one streaming replica, two server processes and Varnish in front on ``port``;
    ``load_demo`` loads the demo commune into an empty primary."""
    settings = load_settings()
    if settings.database_url:
        console.print(
            "[red]`agrimap cluster` runs the project's local PostGIS and makes its replica with "
            "pg_basebackup; unset DATABASE_URL (it would use that database instead).[/]"
        )
        raise typer.Exit(2)
    primary = localpg.default_cluster()
    was_running = (primary.data_dir / "PG_VERSION").exists() and localpg.is_running(primary)
    children: list[topology.Child] = []
    replica: localpg.LocalPostgres | None = None

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started in background
    try:
        localpg.start(primary)
        url = primary.url()
        console.print(f"[bold]1/4[/] Cơ sở dữ liệu chính / primary: {url}")
        migrate.upgrade(url)
        if load_demo(url, settings):
            console.print("  Đã nạp xã mẫu / demo commune loaded")
        accounts = run_async(url, ensure_demo_accounts)

        replica = localpg.LocalPostgres(
            data_dir=Path(f"{primary.data_dir}-replica"), port=primary.port + 1
        )
        localpg.start_replica(primary, replica)
        console.print(f"[bold]2/4[/] Bản sao đọc / streaming replica: {replica.url()}")

        folder = localpg.PROJECT_ROOT / ".cache" / "cluster"
        env = {"DATABASE_URL": url, "AGRIMAP_READ_DATABASE_URL": replica.url(),
               "AGRIMAP_DATA_DIR": str(settings.data_dir)}  # fmt: skip
        servers = [port + 1, port + 2]
        children += topology.start_servers(servers, {**os.environ, **env}, folder)
        console.print(
            "[bold]3/4[/] Máy chủ / servers: " + ", ".join(f"http://127.0.0.1:{p}" for p in servers)
        )
        children.append(topology.start_varnish(port, servers, folder / "varnish"))
        base = f"http://127.0.0.1:{port}"
        console.print(f"[bold]4/4[/] Bộ đệm Varnish / cache in front: {base}")
        _wait_ready(base)
        console.print(f"  Bản đồ tổng quan / overview map: {base}/maps/overview")
        console.print(f"  OGC API Features:                {base}/?f=html")
        console.print(f"  Ô bản đồ / tiles:                {base}/tiles/WebMercatorQuad")
        console.print(f"  Trạng thái / readiness:          {base}/readyz")
        console.print(f"  Nhật ký / logs:                  {folder}")
        for username, role, password in accounts:
            console.print(f"  Tài khoản / account: {username} ({role}) · {password}")
        console.print("  Dừng bằng Ctrl+C / stop with Ctrl+C")
        while all(c.proc.poll() is None for c in children):
            time.sleep(0.5)
        gone = [c.name for c in children if c.proc.poll() is not None]
        console.print(f"[red]Đã dừng / stopped by itself: {', '.join(gone)} (see {folder})[/]")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        console.print("\nĐang dừng / stopping …")
    except (topology.TopologyError, localpg.LocalPostgresError) as exc:
        console.print(f"[red]Lỗi / error: {exc}[/]")
        raise typer.Exit(1) from exc
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
        for child in reversed(children):
            child.stop()
        if replica is not None:
            localpg.stop(replica)
        if not was_running:
            localpg.stop(primary)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    console.print("Đã dừng tất cả / everything stopped.")


def _wait_ready(base: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise topology.TopologyError(f"{base}/readyz did not answer 200 within {timeout:.0f} s")
