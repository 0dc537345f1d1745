"""ASGI entry for uvicorn/gunicorn: `uvicorn --factory api.asgi:create` (reads AGRIMAP_* / DATABASE_URL)."""

from __future__ import annotations

from fastapi import FastAPI

from agrimap.settings import Settings

from .app import create_app


def create() -> FastAPI:
    return create_app(Settings())
