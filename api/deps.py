"""Shared request dependencies: a database connection from the app's pool, settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from psycopg import AsyncConnection

from agrimap.settings import Settings


async def _connection(request: Request) -> AsyncIterator[AsyncConnection]:
    async with request.app.state.pool.connection() as conn:
        yield conn


def _settings(request: Request) -> Settings:
    return request.app.state.settings


ConnDep = Annotated[AsyncConnection, Depends(_connection)]
SettingsDep = Annotated[Settings, Depends(_settings)]
