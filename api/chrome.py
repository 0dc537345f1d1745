"""The shared page header for a request: looks up the reader and their communes' names and
has ``maps.chrome`` draw it. Pages take it as ``header: HeaderDep``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request

from layers import admin
from maps.chrome import Reader, render_header

from .auth import ANONYMOUS, Principal, PrincipalDep, current_principal
from .deps import ConnDep
from .lang import request_lang
from .state import app_state


def page_path(request: Request) -> str:
    """The page's path and query without ``lang=`` (the switch sets the language itself)."""
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "lang"])
    return request.url.path + (f"?{query}" if query else "")


def header_for(
    request: Request, principal: Principal, commune_names: dict[str, str] | None = None
) -> str:
    names = commune_names or {}
    reader = Reader(
        role=principal.role if principal.signed_in else "public",
        username=principal.username,
        display_name=principal.display_name,
        communes=tuple(names.get(c, c) for c in principal.communes),
    )
    return render_header(
        reader, lang=request_lang(request), path=page_path(request), csrf=principal.csrf or ""
    )


async def page_header(request: Request, conn: ConnDep, principal: PrincipalDep) -> str:
    names = await admin.commune_names(conn, principal.communes) if principal.communes else {}
    return header_for(request, principal, names)


async def header_html(request: Request) -> str:
    """The header, for routes that answer JSON too and draw it only when asked for HTML. The
    reader's session is looked up on the primary (a route's reads may go to a replica)."""
    async with app_state(request.app).connection() as conn:
        return await page_header(request, conn, await current_principal(request, conn))


def cached_header(request: Request) -> str:
    """The header for an error page: the reader if a dependency already found them."""
    principal = getattr(request.state, "principal", None) or ANONYMOUS
    return header_for(request, principal)


HeaderDep = Annotated[str, Depends(page_header)]
