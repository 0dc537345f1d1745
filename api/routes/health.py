"""Health checks for load balancers: /healthz (the process answers) and /readyz (the database
answers within a bounded time and its schema is at the migration this code serves)."""

from __future__ import annotations

import asyncio

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from layers import health
from layers.migrate import head_revision

from ..state import app_state

router = APIRouter(tags=["Sức khỏe / health"])
READY_TIMEOUT_S = 2.0
RETRY_AFTER_S = 5
HEAD = head_revision()


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict:
    return {"status": "ok"}


def _not_ready(vi: str, en: str) -> JSONResponse:
    return JSONResponse(
        {"status": "unavailable", "description": vi, "description_en": en},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


@router.get("/readyz", summary="The database answers and its schema is current")
async def readyz(request: Request) -> JSONResponse:
    pool = app_state(request.app).pool
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            async with pool.connection(timeout=READY_TIMEOUT_S) as conn:  # type: ignore[union-attr]
                revision = await health.schema_revision(conn)
    except (psycopg.Error, PoolTimeout, TimeoutError, OSError) as exc:
        return _not_ready(
            f"Cơ sở dữ liệu không trả lời ({type(exc).__name__}).",
            f"The database does not answer ({type(exc).__name__}).",
        )
    if revision != HEAD:
        return _not_ready(
            f"Lược đồ cơ sở dữ liệu ở phiên bản {revision}, cần {HEAD}: chạy agrimap migrate.",
            f"The database schema is at {revision}, {HEAD} is needed: run agrimap migrate.",
        )
    body = {"status": "ok", "schema": revision}
    reads = app_state(request.app).reads
    if reads is not None and reads.replica is not None:  # where reads go, and why
        body["replica"] = reads.status()
    return JSONResponse(body)
