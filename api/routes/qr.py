"""Household QR codes: the public page a scan opens, the typed-code form, and officers' tools
(images, the printable village sheet, re-issue and revoke)."""

from __future__ import annotations

import shapely
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from shapely.geometry import Point

from geo import qrtoken
from geo.errors import NotFound, PermissionDenied
from layers import household_qr
from maps.qr_page import directions_links, household_map_svg

from ..auth import Principal, acting, require
from ..deps import ConnDep, ReadConnDep, SettingsDep
from ..errors import request_lang
from ..html import render
from ..ratelimit import limit

router = APIRouter(tags=["Mã QR hộ gia đình / household QR codes"])
Writers = require("admin", "officer")
PUBLIC_KEYS = ("label", "village", "commune", "has_fibre", "lon", "lat")

MESSAGES = {
    "none": {
        "vi": ("Không tìm thấy mã này", "Mã QR hoặc mã đã nhập không mở được hộ nào. Kiểm tra lại từng ký tự, hoặc hỏi cán bộ xã."),
        "en": ("Code not found", "This QR code or typed code opens no household. Check each character, or ask the commune officer."),
    },
    "replaced": {
        "vi": ("Mã này đã được thay", "Hộ gia đình này đã được cấp mã QR mới. Hãy quét mã mới trên biển của hộ, hoặc hỏi cán bộ xã."),
        "en": ("This code was replaced", "This household has a new QR code. Scan the new sign, or ask the commune officer."),
    },
    "form": {
        "vi": ("Tra cứu mã hộ gia đình", "Không quét được mã QR? Nhập mã in bên dưới mã."),
        "en": ("Look up a household code", "Cannot scan the QR code? Type the code printed under it."),
    },
}  # fmt: skip


def _message(kind: str, lang: str, status: int, typed: str | None = None) -> HTMLResponse:
    title, message = MESSAGES[kind][lang]
    html = render("qr_message.html", lang=lang, title=title, message=message, typed=typed)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


@router.get("/q", response_class=HTMLResponse, summary="Type a household code")
async def qr_form(request: Request, settings: SettingsDep, code: str | None = None) -> Response:
    lang = request_lang(request)
    if code is None:
        return _message("form", lang, 200)
    limit(request, "qr", settings.qr_rate)
    token = qrtoken.normalise(code)
    if token is None:  # the same page as an unknown code: nothing to learn from typos
        return _message("none", lang, 404, typed=code)
    return RedirectResponse(f"/q/{token}", status_code=303)


@router.get("/q/{token}", response_class=HTMLResponse, summary="A household's own entry (QR code)")
async def qr_entry(
    request: Request, token: str, conn: ReadConnDep, settings: SettingsDep
) -> Response:
    limit(request, "qr", settings.qr_rate)
    lang = request_lang(request)
    found = await household_qr.lookup(conn, code=token[:64])
    wants_json = "application/json" in request.headers.get("accept", "")
    if found.kind != "active":
        status = 410 if found.kind == "replaced" else 404
        if wants_json:
            title, message = MESSAGES[found.kind][lang]
            return JSONResponse({"code": found.kind, "description": message}, status_code=status)
        return _message(found.kind, lang, status)
    e = found.entry
    if wants_json:
        body = {k: e[k] for k in PUBLIC_KEYS}
        body.update({k: e[k] for k in ("head_name", "phone") if e[k]})  # consented only
        return JSONResponse(body, headers={"Cache-Control": "private, no-store"})
    village = shapely.from_wkb(e["village_wkb"]) if e["village_wkb"] else None
    svg = household_map_svg(village, Point(e["lon"], e["lat"]), title=e["label"])
    html = render(
        "qr.html", lang=lang, e=e, map_svg=svg,
        links=directions_links(e["lat"], e["lon"], e["label"]),
    )  # fmt: skip
    return HTMLResponse(html, headers={"Cache-Control": "private, no-store"})


# --- officers ----------------------------------------------------------------------------


def _in_scope(who: Principal, commune: str | None) -> None:
    if who.role != "admin" and commune not in who.communes:
        raise PermissionDenied(
            f"Tài khoản {who.username} không quản lý xã {commune or 'chưa xác định'}.",
            f"Account {who.username} does not manage commune {commune or 'unknown'}.",
        )


def _public_url(request: Request, settings, token: str) -> str:
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return f"{base}/q/{token}"


@router.get("/collections/households/items/{hid}/qr.{fmt}", summary="QR image (PNG or SVG)")
async def qr_image(
    hid: int, fmt: str, request: Request, conn: ConnDep, settings: SettingsDep,
    who: Principal = Writers,
) -> Response:  # fmt: skip
    from maps.qr import qr_png, qr_svg

    printed = await household_qr.printed_code(conn, household_id=hid)
    _in_scope(who, printed.commune_code)
    if printed.token is None:
        raise NotFound("Hộ này chưa có mã QR: hãy cấp mã mới.", "No QR code: issue one first.")
    url = _public_url(request, settings, printed.token)
    label, village = printed.label, printed.village
    if fmt == "png":  # the typeable code is printed under the label and village
        return Response(qr_png(url, label=label, sublabel=village), media_type="image/png")
    if fmt == "svg":
        return Response(qr_svg(url, label=label, sublabel=village), media_type="image/svg+xml")
    raise NotFound(f"Không có định dạng {fmt}.", f"No format {fmt}.", hint_en="Use png or svg.")


@router.post("/collections/households/items/{hid}/qr/{action}", summary="Re-issue or revoke")
async def qr_action(
    hid: int, action: str, request: Request, conn: ConnDep, settings: SettingsDep,
    who: Principal = Writers,
) -> dict:  # fmt: skip
    async with acting(conn, who):
        if action == "reissue":
            token = await household_qr.reissue(conn, hid, by=who.username)
            return {"id": hid, "url": _public_url(request, settings, token),
                    "code": qrtoken.display(token)}  # fmt: skip
        if action == "revoke":
            await household_qr.revoke(conn, hid, by=who.username)
            return {"id": hid, "revoked": True}
    raise NotFound(f"Không có thao tác {action}.", f"No action {action}.")


@router.get("/villages/{code}/qr-sheet", summary="Printable QR sheet of a village (HTML or PDF)")
async def village_sheet(
    code: str, request: Request, conn: ConnDep, settings: SettingsDep,
    who: Principal = Writers, f: str = "html",
) -> Response:  # fmt: skip
    from maps.village_sheet import SheetEntry, village_sheet_html, village_sheet_pdf

    village = await household_qr.village_codes(conn, village_code=code)
    _in_scope(who, village.commune_code)
    entries = [
        SheetEntry(_public_url(request, settings, t), label, qrtoken.display(t))
        for t, label in village.codes
    ]
    if f == "pdf":
        pdf = village_sheet_pdf(village.name, village.commune_name or "", entries)
        return Response(
            pdf, media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="qr-{code}.pdf"'},
        )  # fmt: skip
    return HTMLResponse(village_sheet_html(village.name, village.commune_name or "", entries))
