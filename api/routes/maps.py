"""Map pages: the overview map of the demo commune's layers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from geo.errors import PermissionDenied
from layers.serving import features
from layers.serving.catalog import BY_ID
from maps.overview import LayerView, render_overview

from ..auth import Principal, current_principal, ensure_role, login_url
from ..deps import ConnDep
from ..errors import request_lang
from ..html import render

router = APIRouter()

# Vietnam's mainland, for an empty database.
VIETNAM_VIEW = (102.1, 8.5, 109.5, 23.4)

# (collection, how it is drawn, colour); popups show the columns each layer's schema marks.
OVERVIEW_LAYERS: tuple[tuple[str, str, str], ...] = (
    ("villages", "polygon", "#6c757d"),
    ("soil_zones", "polygon", "#a0522d"),
    ("coverage", "polygon", "#1f77b4"),
    ("growing_areas", "polygon", "#2ca02c"),
    ("households", "point", "#d62728"),
)
HIDDEN_BY_DEFAULT = {"soil_zones", "coverage"}


@router.get("/maps/overview", response_class=HTMLResponse, summary="Overview map page")
async def overview(request: Request, conn: ConnDep) -> HTMLResponse:
    bounds = await features.extent(conn, BY_ID["communes"]) or await features.extent(
        conn, BY_ID["villages"]
    )
    views = [
        LayerView(
            id=cid,
            title_vi=BY_ID[cid].title_vi,
            title_en=BY_ID[cid].title_en,
            items_url=f"/collections/{cid}/items?f=json&limit=10000",
            kind=kind,
            color=color,
            popup_fields=tuple((c.name, c.title_vi) for c in BY_ID[cid].popup_columns),
            show=cid not in HIDDEN_BY_DEFAULT,
        )
        for cid, kind, color in OVERVIEW_LAYERS
    ]
    lang = request_lang(request)
    title = (
        "Bản đồ số nông nghiệp – tổng quan"
        if lang == "vi"
        else "Digital agriculture map – overview"
    )
    return HTMLResponse(
        render_overview(views, bounds=bounds or VIETNAM_VIEW, title=title, lang=lang)
    )


# --- officer pages ----------------------------------------------------------------------


def _error_page(status: int, message: str) -> HTMLResponse:
    titles = {400: "Dữ liệu chưa hợp lệ", 403: "Không có quyền", 404: "Không tìm thấy"}
    return HTMLResponse(
        render("error.html", lang="vi", title=titles.get(status, "Lỗi"), message=message),
        status_code=status,
    )


async def _page_principal(request: Request, conn) -> Principal | RedirectResponse:
    who = await current_principal(request, conn)
    if not who.signed_in:
        return RedirectResponse(login_url(request), status_code=303)
    return who


@router.get("/maps/register", response_class=HTMLResponse, summary="Growing-area registration page")
async def register_page(request: Request, conn: ConnDep, commune: str | None = None) -> Response:
    who = await _page_principal(request, conn)
    if isinstance(who, Response):
        return who
    try:
        ensure_role(who, ("admin", "officer"))
    except PermissionDenied as exc:
        return _error_page(403, exc.message("vi"))
    code = commune or (who.communes[0] if who.communes else None)
    if code is None:
        row = await (
            await conn.execute("SELECT code FROM commune ORDER BY code LIMIT 1")
        ).fetchone()
        code = row[0] if row else None
    if who.role == "officer" and code not in who.communes:
        return _error_page(
            403, f"Tài khoản {who.username} không được đăng ký vùng trồng ở xã {code}."
        )
    row = await (
        await conn.execute(
            "SELECT name, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
            "FROM commune WHERE code = %s",
            (code,),
        )
    ).fetchone()
    if row is None:
        return _error_page(404, f"Chưa có ranh giới xã {code} trên bản đồ.")
    from maps.register import render_register

    return HTMLResponse(
        render_register(
            commune_code=code,
            commune_name=row[0],
            bounds=tuple(row[1:5]),
            csrf_token=who.csrf or "",
            existing_url=f"/collections/growing_areas/items?f=json&limit=10000&commune_code={code}",
            lang=request_lang(request),
            commune_url=f"/collections/communes/items/{code}?f=json",
        )
    )
