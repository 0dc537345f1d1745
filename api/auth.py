"""Who is asking: a session cookie (people) or a bearer token (programs), and what they may do.

Routes declare what they need with ``require(...)``; the database checks it again on every
write and personal-data read (see migration 0002), with the account set by ``acting``.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from psycopg import AsyncConnection

from geo.errors import NotSignedIn, PermissionDenied
from layers import accounts
from layers.accounts import Account
from maps.chrome import role_name

from .deps import ConnDep
from .state import app_state

SESSION_COOKIE = "agrimap_session"
CSRF_COOKIE = "agrimap_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """The account behind a request; ``role == 'public'`` for anonymous requests."""

    id: int | None
    username: str
    role: str
    display_name: str = ""
    personal_data: bool = False
    communes: tuple[str, ...] = field(default_factory=tuple)
    via: str | None = None  # "session" or "token"
    csrf: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.id is not None

    def may_read_personal(self, commune: str | None) -> bool:
        return (
            self.role == "admin"
            or (self.role == "planner" and self.personal_data)
            or (self.role == "officer" and commune in self.communes)
        )


ANONYMOUS = Principal(id=None, username="public", role="public")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _principal(account: Account, via: str, csrf: str | None = None) -> Principal:
    return Principal(
        account.id, account.username, account.role, account.display_name,
        account.personal_data, account.communes, via=via, csrf=csrf,
    )  # fmt: skip


async def principal_for(conn: AsyncConnection, request: Request) -> Principal:
    token = _bearer(request)
    if token is not None:
        account = await accounts.account_for_token(conn, token=token)
        if account is None:
            raise NotSignedIn(
                "Mã truy cập API không hợp lệ, đã bị thu hồi, hoặc tài khoản đã bị khóa.",
                "The API token is invalid or revoked, or its account is disabled.",
                hint_vi="Tạo mã mới bằng `agrimap token create` hoặc tại /auth/tokens.",
                hint_en="Create a new one with `agrimap token create` or at /auth/tokens.",
            )
        return _principal(account, "token")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = await accounts.account_for_session(
            conn, secret_key=app_state(request.app).settings.secret_key, session=cookie
        )
        if found is not None:
            return _principal(found[0], "session", csrf=found[1])
    return ANONYMOUS


async def current_principal(request: Request, conn: ConnDep) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is None:
        cached = await principal_for(conn, request)
        request.state.principal = cached
    return cached


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def ensure_role(principal: Principal, roles: tuple[str, ...]) -> None:
    if not principal.signed_in:
        raise NotSignedIn(
            "Cần đăng nhập để dùng chức năng này.",
            "Sign in to use this.",
            hint_vi="Đăng nhập tại /login, hoặc gửi mã truy cập API (Authorization: Bearer …).",
            hint_en="Sign in at /login, or send an API token (Authorization: Bearer …).",
        )
    if principal.role not in roles:
        needs_vi = ", ".join(role_name(r, "vi") for r in roles)
        raise PermissionDenied(
            f"Tài khoản {role_name(principal.role, 'vi')} không được dùng chức năng này "
            f"(cần tài khoản: {needs_vi}).",
            f"Role {principal.role} may not do this (needs: {', '.join(roles)}).",
        )


async def check_csrf(request: Request, principal: Principal) -> None:
    """A form or fetch that changes data with a session cookie must carry its CSRF token."""
    if request.method in SAFE_METHODS or principal.via != "session":
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get("csrf_token")
    if not sent or not principal.csrf or not secrets.compare_digest(str(sent), principal.csrf):
        raise PermissionDenied(
            "Thiếu hoặc sai mã chống giả mạo (CSRF). Hãy tải lại trang rồi thử lại.",
            "Missing or wrong CSRF token. Reload the page and try again.",
        )


def require(*roles: str):
    """A dependency: the request's principal, signed in with one of ``roles`` (CSRF-checked)."""

    async def dependency(request: Request, principal: PrincipalDep) -> Principal:
        ensure_role(principal, roles)
        await check_csrf(request, principal)
        return principal

    return Depends(dependency)


@asynccontextmanager
async def acting(conn: AsyncConnection, principal: Principal) -> AsyncIterator[AsyncConnection]:
    """A transaction in which the database knows who acts (for its scope checks and audit)."""
    async with conn.transaction():
        await accounts.set_acting(conn, user_id=principal.id, username=principal.username)
        yield conn


async def signed_in(principal: PrincipalDep) -> Principal:
    """The reader of a page, who must be signed in (else the error handler sends them to sign
    in and back)."""
    if not principal.signed_in:
        raise NotSignedIn("Cần đăng nhập để mở trang này.", "Sign in to open this page.")
    return principal


PageUserDep = Annotated[Principal, Depends(signed_in)]
