"""Health checks for load balancers: /healthz (the process answers) and /readyz (the database
answers within a bounded time and its schema is at the migration this code serves)."""

from __future__ import annotations

import asyncio
import time

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from layers import health
from layers.migrate import head_revision

from ..state import app_state

router = APIRouter(tags=["Sức khỏe / health"])
READY_TIMEOUT_S = 1.75  # under the 2 s a load balancer is promised an answer in
HEAD = head_revision()


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict:
    return {"status": "ok"}


def _not_ready(vi: str, en: str, retry_after: int) -> JSONResponse:
    return JSONResponse(
        {"status": "unavailable", "description": vi, "description_en": en},
        status_code=503,
        headers={"Retry-After": str(retry_after)},
    )


@router.get("/readyz", summary="The database answers and its schema is current")
async def readyz(request: Request) -> JSONResponse:
    state = app_state(request.app)
    retry = state.settings.db_retry_after
    wait = min(READY_TIMEOUT_S, state.connection_timeout())
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            async with state.pool.connection(timeout=wait) as conn:  # type: ignore[union-attr]
                revision = await health.schema_revision(conn)
    except (psycopg.Error, PoolTimeout, TimeoutError, OSError) as exc:
        state.database_failed_at = time.monotonic()
        return _not_ready(
            f"Cơ sở dữ liệu không trả lời ({type(exc).__name__}).",
            f"The database does not answer ({type(exc).__name__}).",
            retry,
        )
    state.database_failed_at = None
    if revision != HEAD:
        return _not_ready(
            f"Lược đồ cơ sở dữ liệu ở phiên bản {revision}, cần {HEAD}: chạy agrimap migrate.",
            f"The database schema is at {revision}, {HEAD} is needed: run agrimap migrate.",
            retry,
        )
    body = {"status": "ok", "schema": revision}
    reads = app_state(request.app).reads
    if reads is not None and reads.replica is not None:  # where reads go, and why
        body["replica"] = reads.status()
    return JSONResponse(body)
