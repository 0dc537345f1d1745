"""The officer's workspace pages for growing areas: the list (search, map, paging, downloads),
an area's page (map, details, edit, redraw, status actions, history, exports) and the code
lookup page."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from shapely.geometry import mapping

from geo.errors import InvalidInput
from geo.exports import FORMATS
from geo.tables import TABLE_FORMATS, TableColumn, table_csv, table_xlsx
from geo.values import parse_date
from layers import admin, registry, registry_search, soil
from layers.growing_areas import LAYER, export_areas
from layers.offload import in_worker
from layers.registry_checks import vietnam_today
from layers.registry_search import AreaFilter
from maps.formats import STATUS_NAMES
from maps.register import render_register
from maps.timeline import timeline
from maps.workspace_text import STRINGS

from ..auth import PageUserDep, Principal, acting, ensure_role, require
from ..chrome import HeaderDep
from ..deps import ConnDep, SettingsDep, SoilConfigDep
from ..html import render
from ..lang import request_lang
from ..limits import StrictJsonRoute

router = APIRouter(tags=["Trang cán bộ / officer pages"], route_class=StrictJsonRoute)
Writers = require("admin", "officer")
LIST = "/maps/growing-areas"
PAGE_SIZE = 50
DOWNLOAD_CAP = 50_000  # a province's areas; more is an export job, not a page's download


@dataclass
class ListQuery:
    """The list's filters as the page's form sends them (blank fields mean any)."""

    code: Annotated[str, Query(max_length=80)] = ""
    owner: Annotated[str, Query(max_length=200)] = ""
    crop: Annotated[str, Query(max_length=100)] = ""
    village: Annotated[str, Query(max_length=40)] = ""
    status: Annotated[str, Query(max_length=20)] = ""
    year: Annotated[str, Query(max_length=10)] = ""
    commune: Annotated[str, Query(max_length=10)] = ""

    def filter_for(self, who: Principal) -> AreaFilter:
        year = None
        if self.year.strip():
            if not self.year.strip().isascii() or not self.year.strip().isdigit():
                raise InvalidInput(
                    f"Năm '{self.year}' không hợp lệ.", f"Year '{self.year}' is not valid.",
                    hint_vi="Nhập năm cấp mã có 4 chữ số, ví dụ 2025.",
                    hint_en="Type the four-digit year of issue, e.g. 2025.",
                )  # fmt: skip
            year = int(self.year.strip())
        return AreaFilter(
            code=self.code or None,
            owner=self.owner or None,
            crop=self.crop or None,
            village=self.village or None,
            status=self.status or None,
            year=year,
            commune=self.commune or None,
            communes=None if who.role in ("admin", "planner") else who.communes,
        )

    def params(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


ListQueryDep = Annotated[ListQuery, Depends()]


def _may_edit(who: Principal, commune: str | None) -> bool:
    return who.role == "admin" or (who.role == "officer" and commune in who.communes)


def _personal(who: Principal) -> bool:
    # Owners who are persons: searched and shown only to who may read personal data anywhere
    # they look (an admin, a planner allowed to); an officer's list stays public fields.
    return who.role == "admin" or (who.role == "planner" and who.personal_data)


@router.get(LIST, response_class=HTMLResponse, summary="Growing-area list page")
async def area_list(
    request: Request,
    conn: ConnDep,
    who: PageUserDep,
    header: HeaderDep,
    q: ListQueryDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    lang = request_lang(request)
    where = q.filter_for(who)
    found = await registry_search.search(
        conn, where=where, personal=_personal(who), limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )  # fmt: skip
    pages = max(1, math.ceil(found.total / PAGE_SIZE))
    params = q.params()

    def page_url(n: int) -> str:
        return f"{LIST}?{urlencode({**params, 'page': n})}"

    downloads = [
        (f, f"{LIST}/download?{urlencode({**params, 'f': f})}")
        for f in (*TABLE_FORMATS, "geojson", "gpkg", "shp", "kml")
    ]
    features = [
        {"type": "Feature", "id": r["id"], "geometry": r["geometry"],
         "properties": {"id": r["id"], "code": r["code"], "status": r["status"]}}
        for r in found.rows
    ]  # fmt: skip
    html = render(
        "growing_areas.html",
        lang=lang,
        t=STRINGS[lang],
        header_html=header,
        q=q,
        found=found,
        page=page,
        pages=pages,
        previous_url=page_url(page - 1) if page > 1 else None,
        next_url=page_url(page + 1) if page < pages else None,
        downloads=downloads,
        features=features,
        villages=await registry_search.villages_of(conn, where.communes),
        crops=await registry_search.crops_of(conn, where.communes),
        statuses=STATUS_NAMES[lang],
        may_register=who.role in ("admin", "officer"),
        show_commune=where.communes is None or len(where.communes) > 1,
    )
    return HTMLResponse(html)


def _table_columns(lang: str, personal: bool) -> list[TableColumn]:
    def title(name: str) -> str:
        c = LAYER.column(name)
        return c.title_en if lang == "en" else c.title_vi

    columns = [
        TableColumn("code", title("code")),
        TableColumn("crop", title("crop")),
        TableColumn("area_ha", title("area_ha"), "0.0000"),
        TableColumn("cooperative", title("cooperative")),
    ]
    if personal:
        columns.append(TableColumn("owner_name", title("owner_name")))
    words = STRINGS[lang]
    columns += [
        TableColumn("member_households", title("member_households"), "0"),
        TableColumn("status_name", title("status")),
        TableColumn("issued_on", title("issued_on")),
        TableColumn("village_name", words["villageName"]),
        TableColumn("commune_name", words["communeName"]),
        TableColumn("commune_code", title("commune_code")),
    ]
    return columns


@router.get(LIST + "/download", summary="The filtered growing-area list as a file")
async def area_list_download(
    request: Request,
    conn: ConnDep,
    who: PageUserDep,
    q: ListQueryDep,
    f: Annotated[str, Query(max_length=10)] = "csv",
) -> Response:
    lang = request_lang(request)
    where = q.filter_for(who)
    stem = "danh_sach_vung_trong" + (f"_{where.commune}" if where.commune else "")
    if f in TABLE_FORMATS:
        found = await registry_search.search(
            conn, where=where, personal=_personal(who), limit=DOWNLOAD_CAP, offset=0,
            page_cap=DOWNLOAD_CAP,
        )  # fmt: skip
        rows = [{**r, "status_name": STATUS_NAMES[lang].get(r["status"])} for r in found.rows]
        columns = _table_columns(lang, _personal(who))
        suffix, media_type = TABLE_FORMATS[f]
        content = (
            table_csv(columns, rows)
            if f == "csv"
            else table_xlsx(columns, rows, sheet=STRINGS[lang]["listTitle"])
        )
        filename = stem + suffix
    elif f in FORMATS:
        ids = await registry_search.matching_ids(
            conn, where=where, personal=_personal(who), limit=DOWNLOAD_CAP
        )
        feats = await registry.export_features(conn, ids=ids) if ids else []
        if not feats:
            raise InvalidInput(
                "Không có vùng trồng nào khớp bộ lọc để tải.",
                "No growing area matches the filters to download.",
                hint_vi="Bỏ bớt bộ lọc rồi tải lại.",
                hint_en="Clear some filters and download again.",
            )
        out = export_areas(feats, f, title=stem)
        content, media_type, filename = out.content, out.media_type, out.filename
    else:
        choices = ", ".join((*TABLE_FORMATS, *FORMATS))
        raise InvalidInput(
            f"Không có định dạng tải '{f}'.", f"No download format '{f}'.",
            hint_vi=f"Chọn: {choices}.", hint_en=f"Choose: {choices}.",
        )  # fmt: skip
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- one growing area -----------------------------------------------------------------------


def _labels(lang: str) -> dict[str, str]:
    return {c.name: (c.title_en if lang == "en" else c.title_vi) for c in LAYER.columns}


@router.get(LIST + "/{fid}", response_class=HTMLResponse, summary="A growing area's page")
async def area_page(
    fid: int,
    request: Request,
    conn: ConnDep,
    who: PageUserDep,
    header: HeaderDep,
    config: SoilConfigDep,
    saved: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    lang = request_lang(request)
    props, geom = await registry.get_record(conn, fid)
    names = await registry.area_place_names(conn, fid)
    versions = await registry.history(conn, fid)
    # The soil summary the sheet and the soil page give for this area, when a map covers it.
    soil_rows, soil_notes, soil_unavailable = [], [], []
    rasters = await soil.current_rasters(conn)
    if rasters:
        areas = await soil.growing_area_geoms(conn, area_id=fid)
        (report,) = await in_worker(soil.field_reports, areas, rasters, config=config, lang=lang)
        soil_rows = [p for p in report["properties"] if p.get("mean") is not None]
        soil_notes = report["note"] if soil_rows else []
        soil_unavailable = [p for p in report["properties"] if p.get("unavailable")]
    lon_min, lat_min, lon_max, lat_max = geom.bounds
    feature = {
        "type": "Feature", "id": fid,
        "geometry": mapping(geom),
        "properties": {"id": fid, "code": props["code"], "status": props["status"]},
    }  # fmt: skip
    pad_lon, pad_lat = max((lon_max - lon_min), 0.003), max((lat_max - lat_min), 0.003)
    around = (lon_min - pad_lon, lat_min - pad_lat, lon_max + pad_lon, lat_max + pad_lat)
    html = render(
        "growing_area.html",
        lang=lang,
        t=STRINGS[lang],
        header_html=header,
        a=props,
        names=names,
        labels=_labels(lang),
        feature=feature,
        neighbours_url="/collections/growing_areas/items?f=json&limit=500&bbox="
        + ",".join(f"{v:.6f}" for v in around),
        entries=timeline(versions, labels=_labels(lang), lang=lang),
        may_edit=_may_edit(who, props["commune_code"]),
        csrf=who.csrf or "",
        saved=saved,
        today=vietnam_today().isoformat(),
        statuses=STATUS_NAMES[lang],
        soil_rows=soil_rows,
        soil_notes=soil_notes,
        soil_unavailable=soil_unavailable,
    )
    return HTMLResponse(html)


EDITED = ("crop", "owner", "member_households", "issued_on", "note")


@router.post(LIST + "/{fid}", response_class=HTMLResponse, summary="Save a growing area's details")
async def area_save(
    fid: int, request: Request, conn: ConnDep, who: Principal = Writers,
    version: int = Form(...),
) -> Response:  # fmt: skip
    # Only the fields the officer changed are sent: an owner who is a person is not shown in
    # the form, and saving other fields must not clear them.
    form = await request.form()
    changes = {}
    for name in EDITED:
        value, was = str(form.get(name, "")).strip(), str(form.get(f"{name}_was", "")).strip()
        if len(value) > 2000:
            raise InvalidInput(f"Trường {name} quá dài.", f"Field {name} is too long.")
        if value != was:
            changes[name] = value or None
    async with acting(conn, who):
        await registry.patch(conn, fid, changes, version)
    return RedirectResponse(f"{LIST}/{fid}?saved=record", status_code=303)


@router.post(
    LIST + "/{fid}/status", response_class=HTMLResponse, summary="Suspend, reinstate or revoke"
)
async def area_status(
    fid: int,
    conn: ConnDep,
    who: Principal = Writers,
    version: int = Form(...),
    action: str = Form(..., max_length=20),
    reason: str = Form("", max_length=500),
    on: str = Form("", max_length=12),
) -> Response:
    day = None
    if on.strip():
        try:  # dd/mm/yyyy as the form shows it, or ISO
            day = parse_date(on.strip())
        except ValueError:
            raise InvalidInput(
                f"Ngày '{on}' không hợp lệ.", f"Date '{on}' is not valid.",
                hint_vi="Viết ngày dạng dd/mm/yyyy, ví dụ 30/11/2026.",
                hint_en="Write the date as dd/mm/yyyy, e.g. 30/11/2026.",
            ) from None  # fmt: skip
    async with acting(conn, who):
        await registry.change_status(conn, fid, action, reason=reason, on=day, version=version)
    return RedirectResponse(f"{LIST}/{fid}?saved=status", status_code=303)


@router.get(LIST + "/{fid}/boundary", response_class=HTMLResponse, summary="Redraw a boundary")
async def area_redraw(
    fid: int, request: Request, conn: ConnDep, who: PageUserDep, header: HeaderDep
) -> HTMLResponse:
    ensure_role(who, ("admin", "officer"))
    props, geom = await registry.get_record(conn, fid)
    commune = props["commune_code"]
    found = await admin.commune_bounds(conn, commune) if commune else None
    name, bounds = found if found else (commune or "", geom.bounds)
    return HTMLResponse(
        render_register(
            commune_code=commune or "",
            commune_name=name,
            bounds=bounds,
            csrf_token=who.csrf or "",
            existing_url=f"/collections/growing_areas/items?f=json&limit=10000&commune_code={commune}",
            lang=request_lang(request),
            commune_url=f"/collections/communes/items/{commune}?f=json" if found else None,
            header_html=header,
            edit={
                "id": fid,
                "version": props["version"],
                "code": props["code"],
                "geometry": mapping(geom),
                "pageUrl": f"{LIST}/{fid}",
            },
        )  # fmt: skip
    )


# --- code lookup ----------------------------------------------------------------------------


@router.get("/maps/code-check", response_class=HTMLResponse, summary="Code lookup page")
async def code_lookup_page(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    header: HeaderDep,
    code: Annotated[str, Query(max_length=80)] = "",
) -> HTMLResponse:
    lang = request_lang(request)
    result = problem = None
    if code.strip():
        try:
            result = await registry.look_up_code(conn, code, layouts=settings.code_layouts())
        except InvalidInput as exc:
            problem = exc.message(lang)
    html = render(
        "code_check.html", lang=lang, t=STRINGS[lang], header_html=header, code=code,
        result=result, problem=problem,
    )  # fmt: skip
    return HTMLResponse(html, status_code=400 if problem else 200)
