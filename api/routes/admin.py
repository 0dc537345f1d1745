"""Administration: accounts and the audit trail (admins only)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from geo.errors import Conflict, NotFound
from layers import accounts

from ..auth import Principal, require
from ..deps import ConnDep

router = APIRouter(tags=["Quản trị / administration"])
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


async def _get(conn: ConnDep, username: str) -> accounts.Account:
    row = await (
        await conn.execute(
            accounts.ACCOUNT_SQL + " WHERE a.username = %s GROUP BY a.id", (username,)
        )
    ).fetchone()
    if row is None:
        raise NotFound(f"Không có tài khoản {username}.", f"No account {username}.")
    return accounts.Account(*row[:6], communes=tuple(row[6]))


@router.get("/admin/users", summary="List accounts")
async def list_users(conn: ConnDep, admin: Principal = AdminDep) -> dict:
    rows = await (
        await conn.execute(accounts.ACCOUNT_SQL + " GROUP BY a.id ORDER BY a.username")
    ).fetchall()
    return {"users": [_account_json(accounts.Account(*r[:6], communes=tuple(r[6]))) for r in rows]}


@router.post("/admin/users", status_code=201, summary="Create an account")
async def create_user(body: NewUser, conn: ConnDep, admin: Principal = AdminDep) -> dict:
    name = accounts.check_username(body.username)
    accounts.check_role(body.role, body.communes)
    pw_hash = accounts.hash_password(body.password)
    async with conn.transaction():
        row = await (
            await conn.execute(
                "INSERT INTO app_user (username, display_name, role, personal_data, password_hash) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (username) DO NOTHING RETURNING id",
                (name, body.display_name or name, body.role, body.personal_data, pw_hash),
            )
        ).fetchone()
        if row is None:
            raise Conflict(f"Tên đăng nhập {name} đã có.", f"Username {name} already exists.")
        for code in sorted(set(body.communes)):
            await conn.execute(
                "INSERT INTO user_commune (user_id, commune_code) VALUES (%s, %s)", (row[0], code)
            )
        await conn.execute(
            accounts.INSERT_AUDIT,
            (admin.username, admin.id, "user_create", "app_user", name,
             Jsonb({"role": body.role, "communes": sorted(set(body.communes)),
                    "personal_data": body.personal_data})),
        )  # fmt: skip
    return _account_json(await _get(conn, name))


@router.patch(
    "/admin/users/{username}", summary="Disable, enable or reset the password of an account"
)
async def change_user(
    username: str, body: UserChange, conn: ConnDep, admin: Principal = AdminDep
) -> dict:
    acct = await _get(conn, username)
    changes: dict = {}
    async with conn.transaction():
        if body.disabled is not None:
            await conn.execute(
                "UPDATE app_user SET disabled = %s, updated_at = now() WHERE id = %s",
                (body.disabled, acct.id),
            )
            changes["disabled"] = body.disabled
        if body.password is not None:
            await conn.execute(
                "UPDATE app_user SET password_hash = %s, failed_logins = 0, locked_until = NULL, "
                "updated_at = now() WHERE id = %s",
                (accounts.hash_password(body.password), acct.id),
            )
            changes["password"] = "changed"
        if body.disabled or body.password is not None:
            await conn.execute("DELETE FROM web_session WHERE user_id = %s", (acct.id,))
        await conn.execute(
            accounts.INSERT_AUDIT,
            (admin.username, admin.id, "user_update", "app_user", acct.username, Jsonb(changes)),
        )
    return _account_json(await _get(conn, username))


AUDIT_COLUMNS = (
    "id", "at", "actor", "action", "object_type", "object_id", "commune_code", "before", "after",
    "detail",
)  # fmt: skip


async def _audit_rows(
    conn: ConnDep,
    actor: str | None,
    action: str | None,
    object_type: str | None,
    object_id: str | None,
    since: datetime | None,
    after_id: int,
    limit: int,
) -> list[dict]:
    rows = await (
        await conn.execute(
            "SELECT id, at, actor, action, object_type, object_id, commune_code, before, after, "
            "detail FROM audit_log "
            "WHERE (%(actor)s::text IS NULL OR actor = %(actor)s) "
            "AND (%(action)s::text IS NULL OR action = %(action)s) "
            "AND (%(otype)s::text IS NULL OR object_type = %(otype)s) "
            "AND (%(oid)s::text IS NULL OR object_id = %(oid)s) "
            "AND (%(since)s::timestamptz IS NULL OR at >= %(since)s) "
            "AND id > %(after)s ORDER BY id LIMIT %(limit)s",
            {"actor": actor, "action": action, "otype": object_type, "oid": object_id,
             "since": since, "after": after_id, "limit": limit},
        )
    ).fetchall()  # fmt: skip
    return [dict(zip(AUDIT_COLUMNS, r, strict=True)) for r in rows]


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
    rows = await _audit_rows(conn, actor, action, object_type, object_id, since, after_id, limit)
    if f == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(AUDIT_COLUMNS)
        for r in rows:
            writer.writerow(
                [json.dumps(r[c], ensure_ascii=False) if isinstance(r[c], dict | list) else r[c]
                 for c in AUDIT_COLUMNS]
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
