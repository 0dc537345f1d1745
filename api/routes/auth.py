"""Sign-in for people (a session cookie) and API tokens for programs."""

from __future__ import annotations

import secrets
from datetime import timedelta

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from geo.errors import NotFound, PermissionDenied
from layers import accounts

from ..auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    PrincipalDep,
    check_csrf,
    ensure_role,
)
from ..deps import ConnDep, SettingsDep
from ..html import render
from ..ratelimit import limit

router = APIRouter(tags=["Tài khoản / accounts"])
ANY_ROLE = ("admin", "officer", "planner")


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an open redirect to another host.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/maps/overview"


def _login_page(
    *, csrf: str, next_: str, error: str = "", username: str = "", status: int = 200
) -> HTMLResponse:
    html = render("login.html", lang="vi", csrf=csrf, next=next_, error=error, username=username)
    return HTMLResponse(html, status_code=status)


def _with_csrf_cookie(response: Response, csrf: str, secure: bool) -> Response:
    response.set_cookie(
        CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=secure, max_age=3600
    )
    return response


@router.get("/login", response_class=HTMLResponse, summary="Sign-in page")
async def login_page(request: Request, settings: SettingsDep, next: str | None = None) -> Response:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    return _with_csrf_cookie(
        _login_page(csrf=csrf, next_=_safe_next(next)), csrf, settings.secure_cookies
    )


@router.post("/login", summary="Sign in (form post)")
async def login(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/maps/overview"),
) -> Response:
    limit(request, "login", settings.login_rate)
    cookie_csrf = request.cookies.get(CSRF_COOKIE, "")
    fresh = secrets.token_urlsafe(24)
    target = _safe_next(next)
    if not cookie_csrf or not secrets.compare_digest(cookie_csrf, csrf_token):
        page = _login_page(
            csrf=fresh,
            next_=target,
            error="Phiên biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng đăng nhập lại.",
            username=username,
            status=400,
        )
        return _with_csrf_cookie(page, fresh, settings.secure_cookies)
    name = username.strip().lower()
    async with conn.transaction():
        row = await (
            await conn.execute(
                "SELECT id, password_hash, disabled, locked_until > now(), "
                "ceil(extract(epoch FROM locked_until - now()) / 60), failed_logins "
                "FROM app_user WHERE username = %s FOR UPDATE",
                (name,),
            )
        ).fetchone()
        ok = accounts.verify_password(row[1] if row else None, password)
        error = ""
        if row is None or row[2]:
            error = "Sai tên đăng nhập hoặc mật khẩu."
        elif row[3]:
            error = (
                f"Tài khoản tạm khóa do nhập sai mật khẩu nhiều lần. "
                f"Thử lại sau {int(row[4])} phút."
            )
        elif not ok:
            failed = row[5] + 1
            minutes = accounts.lock_minutes(failed)
            await conn.execute(
                "UPDATE app_user SET failed_logins = %s, locked_until = CASE WHEN %s > 0 "
                "THEN now() + make_interval(mins => %s) END WHERE id = %s",
                (failed, minutes, minutes, row[0]),
            )
            error = "Sai tên đăng nhập hoặc mật khẩu."
            if minutes:
                error += f" Tài khoản bị tạm khóa {minutes} phút."
        await conn.execute(
            "INSERT INTO audit_log (actor, actor_id, action, object_type, object_id, detail) "
            "VALUES (%s, %s, %s, 'app_user', %s, jsonb_build_object('client', %s::text))",
            (
                name or "-", row[0] if row else None, "login_failed" if error else "login",
                name or "-", request.client.host if request.client else None,
            ),
        )  # fmt: skip
        if error:
            page = _login_page(csrf=fresh, next_=target, error=error, username=name, status=401)
            return _with_csrf_cookie(page, fresh, settings.secure_cookies)
        session = accounts.new_secret()
        await conn.execute(
            "UPDATE app_user SET failed_logins = 0, locked_until = NULL WHERE id = %s", (row[0],)
        )
        await conn.execute(
            "INSERT INTO web_session (id_hash, user_id, csrf_token, expires_at) "
            "VALUES (%s, %s, %s, now() + %s)",
            (
                accounts.session_digest(settings.secret_key, session), row[0], secrets.token_urlsafe(24),
                timedelta(hours=settings.session_hours),
            ),
        )  # fmt: skip
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_hours * 3600,
    )
    response.delete_cookie(CSRF_COOKIE)
    return response


@router.post("/logout", summary="Sign out")
async def logout(
    request: Request, conn: ConnDep, settings: SettingsDep, principal: PrincipalDep
) -> Response:
    if principal.via == "session":
        await check_csrf(request, principal)
        await conn.execute(
            "DELETE FROM web_session WHERE id_hash = %s",
            (
                accounts.session_digest(
                    settings.secret_key, request.cookies.get(SESSION_COOKIE, "")
                ),
            ),
        )
        await conn.execute(
            "INSERT INTO audit_log (actor, actor_id, action, object_type, object_id) "
            "VALUES (%s, %s, 'logout', 'app_user', %s)",
            (principal.username, principal.id, principal.username),
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/auth/me", summary="The signed-in account")
async def me(principal: PrincipalDep) -> dict:
    ensure_role(principal, ANY_ROLE)
    return {
        "username": principal.username,
        "display_name": principal.display_name,
        "role": principal.role,
        "communes": list(principal.communes),
        "personal_data": principal.personal_data,
        "via": principal.via,
        "csrf_token": principal.csrf,
    }


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=80, description="What the token is for")
    user: str | None = Field(None, description="Admins only: create it for this account")


def _token_owner(principal, user: str | None) -> str:
    if user and user != principal.username and principal.role != "admin":
        raise PermissionDenied(
            "Chỉ quản trị viên được tạo hay xem mã truy cập của người khác.",
            "Only an admin may manage another account's tokens.",
        )
    return user or principal.username


@router.get("/auth/tokens", summary="List API tokens (never the secrets)")
async def list_tokens(conn: ConnDep, principal: PrincipalDep, user: str | None = None) -> dict:
    ensure_role(principal, ANY_ROLE)
    owner = _token_owner(principal, user)
    rows = await (
        await conn.execute(
            "SELECT t.id, t.name, t.prefix, t.created_at, t.created_by, t.last_used_at, "
            "t.revoked_at FROM api_token t JOIN app_user a ON a.id = t.user_id "
            "WHERE a.username = %s ORDER BY t.id",
            (owner,),
        )
    ).fetchall()
    keys = ("id", "name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    return {"user": owner, "tokens": [dict(zip(keys, r, strict=True)) for r in rows]}


@router.post("/auth/tokens", status_code=201, summary="Create an API token (shown once)")
async def create_token(
    request: Request, body: TokenRequest, conn: ConnDep, principal: PrincipalDep
) -> JSONResponse:
    ensure_role(principal, ANY_ROLE)
    await check_csrf(request, principal)
    owner = _token_owner(principal, body.user)
    token, params = accounts.token_insert_params(owner, body.name, principal.username)
    async with conn.transaction():
        row = await (await conn.execute(accounts.INSERT_TOKEN, params)).fetchone()
        if row is None:
            raise NotFound(f"Không có tài khoản {owner}.", f"No account {owner}.")
        await conn.execute(
            accounts.INSERT_AUDIT,
            (principal.username, principal.id, "token_create", "api_token", str(row[0]),
             Jsonb({"user": owner, "name": body.name})),
        )  # fmt: skip
    return JSONResponse(
        {"id": row[0], "user": owner, "name": body.name, "token": token,
         "note": "Mã chỉ hiện một lần: hãy lưu lại ngay. / Shown once: store it now."},
        status_code=201,
    )  # fmt: skip


@router.delete("/auth/tokens/{token_id}", status_code=204, summary="Revoke an API token")
async def revoke_token(
    request: Request, token_id: int, conn: ConnDep, principal: PrincipalDep
) -> Response:
    ensure_role(principal, ANY_ROLE)
    await check_csrf(request, principal)
    owner = None if principal.role == "admin" else principal.username
    async with conn.transaction():
        row = await (await conn.execute(accounts.REVOKE_TOKEN, (token_id, owner, owner))).fetchone()
        if row is None:
            raise accounts.no_token(token_id)
        await conn.execute(
            accounts.INSERT_AUDIT,
            (principal.username, principal.id, "token_revoke", "api_token", str(token_id),
             Jsonb({"user": row[1]})),
        )  # fmt: skip
    return Response(status_code=204)
