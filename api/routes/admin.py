"""Administration: accounts and the audit trail (admins only)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from layers import accounts

from ..auth import Principal, require
from ..deps import ConnDep
from ..limits import StrictJsonRoute

router = APIRouter(tags=["Quản trị / administration"], route_class=StrictJsonRoute)
AdminDep = require("admin")


class NewUser(BaseModel):
    username: str
    role: str
    password: str
    display_name: str | None = None
    communes: list[str] = Field(default_factory=list)
    personal_data: bool = False


class UserChange(BaseModel):
    disabled: bool | None = None
    password: str | None = None


def _account_json(a: accounts.Account) -> dict:
    return {
        "username": a.username, "display_name": a.display_name, "role": a.role,
        "communes": list(a.communes), "personal_data": a.personal_data, "disabled": a.disabled,
    }  # fmt: skip


@router.get("/admin/users", summary="List accounts")
async def list_users(conn: ConnDep, admin: Principal = AdminDep) -> dict:
    return {"users": [_account_json(a) for a in await accounts.list_users(conn)]}


@router.post("/admin/users", status_code=201, summary="Create an account")
async def create_user(body: NewUser, conn: ConnDep, admin: Principal = AdminDep) -> dict:
    account = await accounts.add_user(
        conn, username=body.username, role=body.role, password=body.password,
        display_name=body.display_name, communes=body.communes,
        personal_data=body.personal_data, by=admin.username, by_id=admin.id,
    )  # fmt: skip
    return _account_json(account)


@router.patch(
    "/admin/users/{username}", summary="Disable, enable or reset the password of an account"
)
async def change_user(
    username: str, body: UserChange, conn: ConnDep, admin: Principal = AdminDep
) -> dict:
    account = await accounts.update_user(
        conn, username=username, disabled=body.disabled, password=body.password,
        by=admin.username, by_id=admin.id,
    )  # fmt: skip
    return _account_json(account)


@router.get("/admin/audit", summary="The audit trail (JSON, or CSV with f=csv)")
async def audit_log(
    request: Request,
    conn: ConnDep,
    admin: Principal = AdminDep,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    after_id: int = Query(0, ge=0, description="Return entries after this id (paging)"),
    limit: int = Query(1000, ge=1, le=100_000),
    f: str = Query("json", pattern="^(json|csv)$"),
) -> Response:
    rows = await accounts.audit_entries(
        conn, actor=actor, action=action, object_type=object_type, object_id=object_id,
        since=since, after_id=after_id, limit=limit,
    )  # fmt: skip
    if f == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(accounts.AUDIT_COLUMNS)
        for r in rows:
            writer.writerow(
                [json.dumps(r[c], ensure_ascii=False) if isinstance(r[c], dict | list) else r[c]
                 for c in accounts.AUDIT_COLUMNS]
            )  # fmt: skip
        return Response(
            "\ufeff" + out.getvalue(),  # BOM: Excel opens the Vietnamese text as UTF-8
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="agrimap-audit.csv"'},
        )
    body = {"entries": rows, "next_after_id": rows[-1]["id"] if len(rows) == limit else None}
    return Response(
        json.dumps(body, default=str, ensure_ascii=False), media_type="application/json"
    )
