"""Map pages: the overview map of the demo commune's layers, the officers' registration page
and the planners' coverage page."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from geo.crs import VIETNAM_BOUNDS_WGS84
from geo.errors import NotFound, PermissionDenied
from layers import admin, coverage_map
from layers.serving import features
from layers.serving.catalog import BY_ID
from maps.coverage import render_coverage
from maps.overview import LayerView, render_overview

from ..auth import PageUserDep, PrincipalDep, ensure_role
from ..chrome import HeaderDep
from ..deps import ConnDep
from ..lang import LANG_COOKIE, request_lang, safe_next

router = APIRouter()
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


@router.get("/lang/{lang}", summary="Choose the pages' language (remembered in a cookie)")
async def choose_language(lang: str, next: str | None = None) -> Response:
    if lang not in ("vi", "en"):
        raise NotFound(
            f"Không có ngôn ngữ '{lang}'.", f"No language '{lang}'.",
            hint_vi="Chọn vi hoặc en.", hint_en="Choose vi or en.",
        )  # fmt: skip
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, lang, max_age=LANG_COOKIE_MAX_AGE, samesite="lax")
    return response


# (collection, how it is drawn, colour); popups show the columns each layer's schema marks.
OVERVIEW_LAYERS: tuple[tuple[str, str, str], ...] = (
    ("villages", "polygon", "#6c757d"),
    ("soil_zones", "polygon", "#a0522d"),
    ("coverage", "polygon", "#1f77b4"),
    ("growing_areas", "polygon", "#2ca02c"),
    ("households", "point", "#d62728"),
)
HIDDEN_BY_DEFAULT = {"soil_zones", "coverage"}


# The page a feature's popup links to, for the readers who may open it.
PAGES = {"growing_areas": ("/maps/growing-areas/{id}", ("admin", "officer", "planner"))}


@router.get("/maps/overview", response_class=HTMLResponse, summary="Overview map page")
async def overview(
    request: Request, conn: ConnDep, header: HeaderDep, who: PrincipalDep
) -> HTMLResponse:
    bounds = await features.extent(conn, BY_ID["communes"]) or await features.extent(
        conn, BY_ID["villages"]
    )
    lang = request_lang(request)
    views = [
        LayerView(
            id=cid,
            title_vi=BY_ID[cid].title_vi,
            title_en=BY_ID[cid].title_en,
            items_url=f"/collections/{cid}/items?f=json&limit=10000",
            kind=kind,
            color=color,
            popup_fields=tuple(
                (c.name, c.title_en if lang == "en" else c.title_vi)
                for c in BY_ID[cid].popup_columns
            ),
            show=cid not in HIDDEN_BY_DEFAULT,
            page_url=PAGES[cid][0] if cid in PAGES and who.role in PAGES[cid][1] else None,
        )
        for cid, kind, color in OVERVIEW_LAYERS
    ]
    title = (
        "Bản đồ số nông nghiệp – tổng quan"
        if lang == "vi"
        else "Digital agriculture map – overview"
    )
    return HTMLResponse(
        render_overview(
            views,
            bounds=bounds or VIETNAM_BOUNDS_WGS84,
            title=title,
            lang=lang,
            header_html=header,
        )  # fmt: skip
    )


# --- officer pages ----------------------------------------------------------------------


@router.get("/maps/register", response_class=HTMLResponse, summary="Growing-area registration page")
async def register_page(
    request: Request, conn: ConnDep, who: PageUserDep, header: HeaderDep,
    commune: str | None = None,
) -> Response:  # fmt: skip
    ensure_role(who, ("admin", "officer"))
    code = commune or (who.communes[0] if who.communes else None)
    if code is None:
        code = await admin.first_commune_code(conn)
    if who.role == "officer" and code not in who.communes:
        raise PermissionDenied(
            f"Tài khoản {who.username} không được đăng ký vùng trồng ở xã {code}.",
            f"Account {who.username} may not register growing areas in commune {code}.",
        )
    found = await admin.commune_bounds(conn, code) if code else None
    if found is None:
        raise NotFound(
            f"Chưa có ranh giới xã {code} trên bản đồ.", f"Commune {code} has no boundary yet."
        )
    name, bounds = found
    from maps.register import render_register

    return HTMLResponse(
        render_register(
            commune_code=code,
            commune_name=name,
            bounds=bounds,
            csrf_token=who.csrf or "",
            existing_url=f"/collections/growing_areas/items?f=json&limit=10000&commune_code={code}",
            lang=request_lang(request),
            commune_url=f"/collections/communes/items/{code}?f=json",
            header_html=header,
        )
    )


# --- planner pages ----------------------------------------------------------------------


@router.get("/maps/coverage", response_class=HTMLResponse, summary="Planner's coverage page")
async def coverage_page(
    request: Request,
    conn: ConnDep,
    who: PageUserDep,
    header: HeaderDep,
    commune: str | None = Query(None, max_length=10),
    province: str | None = Query(None, max_length=4),
    technology: Literal["2G", "3G", "4G", "5G", "fibre"] = Query("4G"),
) -> Response:
    ensure_role(who, ("admin", "officer", "planner"))
    choices = await coverage_map.options(conn)
    if province is not None and commune is None:  # the province's view: communes, res-8 cells
        area = await coverage_map.province(conn, province)
        place = {"level": "province", "code": area["code"], "name": area["name"],
                 "province_code": area["code"], "province_name": area["name"],
                 "bounds": area["bounds"]}  # fmt: skip
    else:
        code = commune or (who.communes[0] if who.communes else None)
        if code is None:
            code = await admin.first_commune_code(conn)
        if code is None:
            raise NotFound("Chưa có xã nào trong cơ sở dữ liệu.", "No commune is stored yet.")
        unit = await coverage_map.commune(conn, code)
        place = {"level": "commune", "code": unit["code"], "name": unit["name"],
                 "province_code": unit["province_code"], "province_name": unit["province_name"],
                 "bounds": unit["bounds"]}  # fmt: skip
    return HTMLResponse(
        render_coverage(
            **{**place, "bounds": place["bounds"] or VIETNAM_BOUNDS_WGS84},
            operators=choices["operators"],
            tiers=choices["tiers"],
            as_of=dt.date.today(),
            technology=technology,
            lang=request_lang(request),
            header_html=header,
        )
    )
