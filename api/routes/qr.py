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
from layers.offload import in_worker
from maps.qr_page import directions_links, household_map_svg

from .. import ogc
from ..auth import Principal, acting, require
from ..deps import ConnDep, ReadConnDep, SettingsDep
from ..errors import request_lang
from ..html import render
from ..limits import StrictJsonRoute
from ..ratelimit import limit

router = APIRouter(tags=["Mã QR hộ gia đình / household QR codes"], route_class=StrictJsonRoute)
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
        "vi": ("Tra cứu mã hộ gia đình", "Không quét được mã QR? Nhập mã in to ngay dưới mã QR (14 ký tự, ví dụ K7QX-93MA-R2TD-5Y)."),
        "en": ("Look up a household code", "Cannot scan the QR code? Type the large code printed right under it (14 characters, e.g. K7QX-93MA-R2TD-5Y)."),
    },
}  # fmt: skip
# A code that cannot be one, by reason (geo.qrtoken.mistype); said without any look-up.
MISTYPED = {
    "length": {
        "vi": "Mã tra cứu có đúng 14 ký tự (ví dụ K7QX-93MA-R2TD-5Y), không kể dấu gạch và khoảng trắng. Mã hộ (như GP-01-0001) không dùng để tra cứu: hãy nhập mã in to ngay dưới mã QR.",
        "en": "A lookup code has exactly 14 characters (e.g. K7QX-93MA-R2TD-5Y), not counting dashes and spaces. A household number (such as GP-01-0001) is not a lookup code: type the large code printed right under the QR code.",
    },
    "symbols": {
        "vi": "Mã chỉ gồm chữ số 0–9 và chữ cái in hoa (không có chữ U). Kiểm tra lại từng ký tự.",
        "en": "The code has only digits 0–9 and capital letters (no U). Check each character.",
    },
    "check": {
        "vi": "Ký tự cuối là ký tự kiểm tra, và nó không khớp với các ký tự trước: có lẽ một ký tự bị gõ nhầm hoặc hai ký tự bị đổi chỗ. Kiểm tra lại từng ký tự.",
        "en": "The last character is a check character, and it does not match the others: probably one character was mistyped or two were swapped. Check each character.",
    },
}  # fmt: skip
MISTYPED_TITLE = {"vi": "Mã nhập chưa đúng", "en": "The code is mistyped"}


def _text(kind: str, lang: str, mistype: str | None = None) -> tuple[str, str]:
    if kind == "mistyped":
        return MISTYPED_TITLE[lang], MISTYPED[mistype or "length"][lang]
    return MESSAGES[kind][lang]


def _message(
    kind: str, lang: str, status: int, typed: str | None = None, mistype: str | None = None
) -> HTMLResponse:
    title, message = _text(kind, lang, mistype)
    html = render("qr_message.html", lang=lang, title=title, message=message, typed=typed)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


STATUS = {"replaced": 410, "none": 404, "mistyped": 400}


@router.get("/q", response_class=HTMLResponse, summary="Type a household code")
async def qr_form(request: Request, settings: SettingsDep, code: str | None = None) -> Response:
    lang = request_lang(request)
    if code is None:
        return _message("form", lang, 200)
    limit(request, "qr", settings.qr_rate)
    token = qrtoken.normalise(code)
    if token is None:  # a typing mistake, told as such: the check character is public
        why = qrtoken.mistype(code)
        if why == "empty":
            return _message("form", lang, 200)
        return _message("mistyped", lang, 400, typed=code[:64], mistype=why)
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
        status = STATUS[found.kind]
        if wants_json:
            _, message = _text(found.kind, lang, found.mistype)
            return JSONResponse({"code": found.kind, "description": message}, status_code=status)
        return _message(found.kind, lang, status, mistype=found.mistype)
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
    base = ogc.base_url(request, settings.public_url)
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
        png = await in_worker(qr_png, url, label=label, sublabel=village)
        return Response(png, media_type="image/png")
    if fmt == "svg":
        svg = await in_worker(qr_svg, url, label=label, sublabel=village)
        return Response(svg, media_type="image/svg+xml")
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
        pdf = await in_worker(village_sheet_pdf, village.name, village.commune_name or "", entries)
        return Response(
            pdf, media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="qr-{code}.pdf"'},
        )  # fmt: skip
    html = await in_worker(village_sheet_html, village.name, village.commune_name or "", entries)
    return HTMLResponse(html)
