"""Officers' household pages: view with personal data (audited), add, move, edit, QR tools."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from geo.errors import Conflict, InvalidInput, NotFound
from layers import household_qr, households

from ..auth import PageUserDep, Principal, acting, check_csrf, ensure_role
from ..chrome import HeaderDep
from ..deps import ConnDep
from ..errors import request_lang
from ..html import render

router = APIRouter(tags=["Trang cán bộ / officer pages"])
EMPTY = {"id": None, "label": "", "lon": None, "lat": None, "has_fibre": False}


async def _context(conn, who: Principal, record: dict) -> dict:
    """Map centre and the village outline around the household (or the officer's commune)."""
    found = await households.unit_outline(
        conn,
        village=record.get("village_code"),
        commune=who.communes[0] if who.communes else "",
    )
    if found is None:
        return {"village_geojson": None, "center": [16.0, 106.0]}
    return {"village_geojson": found[0], "center": [found[1], found[2]]}


def _page(h: dict, who: Principal, ctx: dict, header: str, *, saved: int = 0, error: str = "", status: int = 200) -> HTMLResponse:  # fmt: skip
    html = render(
        "household_edit.html", lang="vi", h=h, who=who, saved=saved, error=error,
        header_html=header, **ctx,
    )  # fmt: skip
    return HTMLResponse(html, status_code=status)


def _changes(form) -> dict:
    props = {k: form.get(k, "") for k in ("label", "head_name", "phone")}
    for flag in ("has_fibre", "show_head_name", "show_phone"):
        props[flag] = form.get(flag) == "1"
    change: dict = {"properties": props}
    if form.get("lon") and form.get("lat"):
        try:
            point = [float(form["lon"]), float(form["lat"])]
        except ValueError:
            point = None
        change["geometry"] = {"type": "Point", "coordinates": point}
    return change


@router.get("/maps/households", response_class=HTMLResponse, summary="Households of a village")
async def household_list(
    request: Request,
    conn: ConnDep,
    who: PageUserDep,
    header: HeaderDep,
    village: str | None = Query(None, max_length=40),
    q: str | None = Query(None, max_length=80),
    page: int = Query(1, ge=1, le=10_000),
) -> Response:
    """Without ``village``: the villages of the officer's communes (an admin's: all). With it:
    that village's households, searched by ``q``, with the head's name (read audited)."""
    from maps.household_list import PER_PAGE, render_household_list, render_village_choice

    ensure_role(who, ("admin", "officer"))
    lang = request_lang(request)
    if not village:
        communes = None if who.role == "admin" else list(who.communes)
        choice = await households.villages(conn, communes=communes)
        return HTMLResponse(render_village_choice(choice, lang=lang, header_html=header))
    unit = await households.village(conn, village)
    async with acting(conn, who):
        rows, total = await households.village_households(
            conn, village=village, search=q, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
        )
    html = render_household_list(
        unit, rows, total=total, search=q or "", page=page, lang=lang, header_html=header
    )
    return HTMLResponse(html, headers={"Cache-Control": "private, no-store"})


@router.get("/maps/households/new", response_class=HTMLResponse, summary="Add-a-household page")
async def new_page(conn: ConnDep, who: PageUserDep, header: HeaderDep) -> Response:
    ensure_role(who, ("admin", "officer"))
    return _page(EMPTY, who, await _context(conn, who, {}), header)


@router.post("/maps/households/new", response_class=HTMLResponse, summary="Add a household")
async def new_save(
    request: Request, conn: ConnDep, who: PageUserDep, header: HeaderDep
) -> Response:
    form = await request.form()
    change = _changes(form)
    ensure_role(who, ("admin", "officer"))
    await check_csrf(request, who)
    try:
        if "geometry" not in change:
            raise InvalidInput(
                "Chưa có vị trí: bấm lên bản đồ để đặt nhà.", "No location: click the map."
            )
        async with acting(conn, who):
            hid = await households.create(
                conn, {"geometry": change["geometry"], "properties": change["properties"]}
            )
    except (InvalidInput, Conflict) as exc:
        # A mistake in the form is shown in the form, with what the officer typed kept;
        # everything else is an error page from the shared handler.
        h = {**EMPTY, **change["properties"]}
        ctx = await _context(conn, who, {})
        return _page(h, who, ctx, header, error=exc.message("vi"), status=400)
    return RedirectResponse(f"/maps/households/{hid}?saved=1", status_code=303)


@router.get("/maps/households/{fid}", response_class=HTMLResponse, summary="Household edit page")
async def household_page(
    fid: int, conn: ConnDep, who: PageUserDep, header: HeaderDep, saved: int = 0
) -> Response:
    async with acting(conn, who):
        record = await households.read_personal(conn, fid)
    return _page(record, who, await _context(conn, who, record), header, saved=saved)


@router.post("/maps/households/{fid}", response_class=HTMLResponse, summary="Save a household")
async def household_save(request: Request, fid: int, conn: ConnDep, who: PageUserDep) -> Response:
    form = await request.form()
    ensure_role(who, ("admin", "officer"))
    await check_csrf(request, who)
    async with acting(conn, who):
        current = await households.read_personal(conn, fid)
        change = _changes(form)
        moved = change.get("geometry", {}).get("coordinates")
        if moved and moved == [current["lon"], current["lat"]]:
            change.pop("geometry")  # not moved: keep the stored point exactly
        await households.update(conn, fid, change)
    return RedirectResponse(f"/maps/households/{fid}?saved=1", status_code=303)


@router.post("/maps/households/{fid}/qr/{action}", response_class=HTMLResponse, summary="QR tools")
async def household_qr_action(
    request: Request, fid: int, action: str, conn: ConnDep, who: PageUserDep
) -> Response:
    ensure_role(who, ("admin", "officer"))
    await check_csrf(request, who)
    async with acting(conn, who):
        if action == "reissue":
            await household_qr.reissue(conn, fid, by=who.username)
        elif action == "revoke":
            await household_qr.revoke(conn, fid, by=who.username)
        else:
            raise NotFound(f"Không có thao tác {action}.", f"No action {action}.")
    return RedirectResponse(f"/maps/households/{fid}?saved=1", status_code=303)
