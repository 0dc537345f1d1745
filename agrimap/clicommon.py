"""What every `agrimap` sub-command shares: settings, the database URL, how an error is printed,
how a `layers/` async function is run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
import typer
from rich.console import Console
from rich.markup import escape

from geo.errors import AgriMapError

from . import localpg
from .settings import Settings

T = TypeVar("T")
console = Console()
err = Console(stderr=True)


def load_settings() -> Settings:
    return Settings()


def database_url(settings: Settings) -> str:
    """DATABASE_URL when given, else the project's local PostGIS (started if needed)."""
    if settings.database_url:
        return settings.database_url
    try:
        cluster = localpg.start()
    except localpg.LocalPostgresError as exc:
        err.print(
            f"[red]Không khởi động được PostGIS cục bộ / cannot start local PostGIS:[/] {exc}"
        )
        raise typer.Exit(2) from exc
    return cluster.url()


def fail(exc: AgriMapError) -> typer.Exit:
    # escape: messages quote layouts like VN-[tỉnh]-[xã]-…, which rich would take for markup
    err.print(f"[bold red]Lỗi:[/] {escape(exc.message('vi'))}")
    err.print(f"[dim]Error: {escape(exc.message('en'))}[/]")
    for line in exc.details:
        err.print(f"  • {escape(line)}")
    return typer.Exit(1)


def run_async(dsn: str, fn: Callable[..., Awaitable[T]], **kw: Any) -> T:
    """``fn(conn, **kw)`` on a connection of its own, as the server runs it (autocommit: the
    layers functions open their transactions themselves). For the CLI and the tests."""

    async def main() -> T:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            return await fn(conn, **kw)

    return asyncio.run(main())
