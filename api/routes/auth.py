"""Sign-in for people (a session cookie) and API tokens for programs."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from geo.errors import PermissionDenied
from layers import accounts
from maps import login_text

from ..auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    PrincipalDep,
    check_csrf,
    ensure_role,
)
from ..chrome import cached_header
from ..deps import ConnDep, SettingsDep
from ..html import render
from ..lang import request_lang, safe_next
from ..limits import StrictJsonRoute
from ..ratelimit import client_key, limit

router = APIRouter(tags=["Tài khoản / accounts"], route_class=StrictJsonRoute)
ANY_ROLE = ("admin", "officer", "planner")


def _login_page(
    request: Request, *, csrf: str, next_: str, error: str = "", username: str = "",
    status: int = 200,
) -> HTMLResponse:  # fmt: skip
    lang = request_lang(request)
    html = render(
        "login.html", lang=lang, t=login_text.strings(lang), csrf=csrf, next=next_,
        error=error, username=username, header_html=cached_header(request),
    )  # fmt: skip
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
        _login_page(request, csrf=csrf, next_=safe_next(next)), csrf, settings.secure_cookies
    )


def _refusal(result: accounts.SignIn, lang: str) -> str:
    # The same words for a real and an unknown username: nothing tells which exist.
    t = login_text.strings(lang)
    return t["wrong"] + (t["wait"].format(minutes=result.minutes) if result.minutes else "")


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
    target = safe_next(next)
    if not cookie_csrf or not secrets.compare_digest(cookie_csrf, csrf_token):
        page = _login_page(
            request, csrf=fresh, next_=target,
            error=login_text.strings(request_lang(request))["expired"], username=username,
            status=400,
        )  # fmt: skip
        return _with_csrf_cookie(page, fresh, settings.secure_cookies)
    name = username.strip().lower()
    result = await accounts.sign_in(
        conn, username=name, password=password,
        client=client_key(request), secret_key=settings.secret_key,
        session_hours=settings.session_hours,
        backoff=accounts.Backoff(settings.login_backoff_after, settings.login_backoff_max_minutes),
    )  # fmt: skip
    if result.refused:
        page = _login_page(
            request, csrf=fresh, next_=target, error=_refusal(result, request_lang(request)),
            username=name, status=429 if result.minutes else 401,
        )  # fmt: skip
        if result.minutes:
            page.headers["Retry-After"] = str(result.minutes * 60)
        return _with_csrf_cookie(page, fresh, settings.secure_cookies)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        result.session,
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
        await accounts.sign_out(
            conn, secret_key=settings.secret_key, session=request.cookies.get(SESSION_COOKIE, ""),
            user_id=principal.id, username=principal.username,
        )  # fmt: skip
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
    return {"user": owner, "tokens": await accounts.list_tokens(conn, username=owner)}


@router.post("/auth/tokens", status_code=201, summary="Create an API token (shown once)")
async def create_token(
    request: Request,
    body: TokenRequest,
    conn: ConnDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> JSONResponse:
    ensure_role(principal, ANY_ROLE)
    await check_csrf(request, principal)
    owner = _token_owner(principal, body.user)
    tid, token = await accounts.create_token(
        conn, username=owner, name=body.name, by=principal.username, by_id=principal.id,
        days=settings.token_days, max_active=settings.max_tokens_per_account,
    )  # fmt: skip
    return JSONResponse(
        {"id": tid, "user": owner, "name": body.name, "token": token,
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
    await accounts.revoke_token(
        conn, token_id=token_id, owner=owner, by=principal.username, by_id=principal.id
    )
    return Response(status_code=204)
