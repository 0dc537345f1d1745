"""Growing-area registry routes, in the style of OGC API – Features Part 4 (create, replace,
update, delete) plus checks, status actions, history, boundary upload, exports and map sheet."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from fastapi import APIRouter, File, Header, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from shapely.geometry import mapping

from agrimap.settings import Settings
from geo.boundary import boundary_from_upload, upload_name
from geo.errors import Conflict, InvalidInput, NotFound
from geo.exports import FORMATS
from layers import registry, registry_checks, soil
from layers.growing_areas import export_areas
from layers.offload import in_worker

from ..auth import Principal, PrincipalDep, acting, require
from ..bodies import GrowingAreaChange, GrowingAreaFeature
from ..deps import ConnDep, SettingsDep, SoilConfigDep
from ..limits import StrictJsonRoute

router = APIRouter(tags=["Vùng trồng / growing areas"], route_class=StrictJsonRoute)
Writers = require("admin", "officer")
ITEMS = "/collections/growing_areas/items"


def _feature_response(props: dict[str, Any], geom, *, status: int = 200) -> Response:
    body = {"type": "Feature", "id": props["id"], "geometry": mapping(geom), "properties": props}
    response = Response(
        orjson.dumps(body, default=str), status_code=status, media_type="application/geo+json"
    )
    response.headers["ETag"] = f'"v{props["version"]}"'
    return response


def _props(feature: dict[str, Any]) -> dict[str, Any]:
    props = feature.get("properties") if isinstance(feature, dict) else None
    if props is None and isinstance(feature, dict) and feature.get("type") == "Feature":
        return {}
    if not isinstance(props, dict):
        raise InvalidInput(
            "Cần gửi một GeoJSON Feature có 'properties'.",
            "Send a GeoJSON Feature with 'properties'.",
        )
    return props


async def _boundary(settings: Settings, obj: Any):
    """The boundary a client sent, read and checked in a worker thread (big ones take time)."""
    return await in_worker(registry_checks.boundary_from_geojson, obj, settings.geometry_limits())


@router.post("/collections/growing_areas/check", summary="Check a boundary before submitting")
async def check_boundary(
    conn: ConnDep, settings: SettingsDep, body: GrowingAreaFeature, who: Principal = Writers,
    exclude: int | None = None,
) -> dict:  # fmt: skip
    geom = await _boundary(settings, body.data())
    return await registry_checks.check(conn, geom, exclude_id=exclude)


@router.post(ITEMS, status_code=201, summary="Register a growing area (a new code is issued)")
async def create(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    body: GrowingAreaFeature,
    who: Principal = Writers,
) -> Response:
    feature = body.data()
    geom = await _boundary(settings, feature)
    async with acting(conn, who):
        gid = await registry.create(
            conn, geom, _props(feature), user=who.username, layouts=settings.code_layouts()
        )
        props, stored = await registry.get_record(conn, gid, personal=True)
    response = _feature_response(props, stored, status=201)
    response.headers["Location"] = f"{ITEMS}/{gid}"
    return response


@router.put(ITEMS + "/{fid}", summary="Replace a growing area (If-Match required)")
async def replace(
    fid: int,
    conn: ConnDep,
    settings: SettingsDep,
    body: GrowingAreaFeature,
    who: Principal = Writers,
    if_match: str | None = Header(None),
) -> Response:
    feature = body.data()
    props = _props(feature)
    version = registry_checks.expected_version(if_match, props)
    geom = await _boundary(settings, feature)
    async with acting(conn, who):
        await registry.replace(conn, fid, geom, props, version)
        record, stored = await registry.get_record(conn, fid, personal=True)
    return _feature_response(record, stored)


@router.patch(ITEMS + "/{fid}", summary="Change some fields of a growing area (If-Match required)")
async def patch(
    fid: int,
    conn: ConnDep,
    settings: SettingsDep,
    body: GrowingAreaChange,
    who: Principal = Writers,
    if_match: str | None = Header(None),
) -> Response:
    changes = body.data()
    # A partial Feature ({"properties": …, "geometry": …}) or the properties alone.
    is_feature = "properties" in changes or "geometry" in changes
    props = dict(changes.get("properties") or {}) if is_feature else dict(changes)
    version = registry_checks.expected_version(if_match, props)
    geom = (
        await _boundary(settings, changes["geometry"])
        if is_feature and changes.get("geometry")
        else None
    )
    async with acting(conn, who):
        await registry.patch(conn, fid, props, version, geom)
        record, stored = await registry.get_record(conn, fid, personal=True)
    return _feature_response(record, stored)


@router.delete(ITEMS + "/{fid}", status_code=204, summary="Delete a growing area (If-Match)")
async def delete(
    fid: int, conn: ConnDep, who: Principal = Writers, if_match: str | None = Header(None)
) -> Response:
    version = registry_checks.expected_version(if_match, {})
    async with acting(conn, who):
        await registry.delete(conn, fid, version)
    return Response(status_code=204)


class StatusChange(BaseModel):
    reason: str | None = None
    date: dt.date | None = None
    version: int | None = None


@router.post(ITEMS + "/{fid}/{action}", summary="Suspend, reinstate or revoke a code")
async def status_action(
    fid: int,
    action: str,
    conn: ConnDep,
    body: StatusChange,
    who: Principal = Writers,
    if_match: str | None = Header(None),
) -> Response:
    version = registry_checks.expected_version(if_match, {"version": body.version})
    async with acting(conn, who):
        await registry.change_status(
            conn, fid, action, reason=body.reason, on=body.date, version=version
        )
        record, stored = await registry.get_record(conn, fid, personal=True)
    return _feature_response(record, stored)


@router.get(ITEMS + "/{fid}/history", summary="Every version of a growing area")
async def history(fid: int, conn: ConnDep, who: PrincipalDep) -> dict:
    versions = await registry.history(conn, fid, public_only=not who.signed_in)
    return {"id": fid, "versions": versions}


@router.get("/growing-areas/code-check", summary="Check a growing-area code and read its parts")
async def code_check(
    conn: ConnDep, settings: SettingsDep, code: str = Query(..., max_length=80)
) -> dict:
    """Any spelling a person types (spaces, case; old or today's layout): its parts with the
    units' names when it was issued and today, and the registered area if the code is ours.
    An invalid code is a 400 naming the part that is wrong."""
    return await registry.look_up_code(conn, code, layouts=settings.code_layouts())


@router.post("/growing-areas/boundary", summary="Read a boundary from an uploaded file")
async def upload_boundary(
    settings: SettingsDep,
    file: UploadFile = File(..., description="KML/KMZ, GeoJSON, zipped shapefile, GPX or CSV"),
    crs: str | None = None,
    who: Principal = Writers,
) -> dict:
    name = upload_name(file.filename)
    # The body limit (AGRIMAP_MAX_UPLOAD_BYTES) was enforced as it streamed in.
    data = await file.read()
    geom, note_vi = await in_worker(
        boundary_from_upload, data, name, crs,
        archive_limits=settings.archive_limits(), geometry_limits=settings.geometry_limits(),
    )  # fmt: skip
    return {"geometry": mapping(geom), "note_vi": note_vi}


# --- dossiers: exports and the printable map sheet ---------------------------------------

EXPORT_FORMATS = tuple(FORMATS)


def _check_format(f: str) -> None:
    if f not in EXPORT_FORMATS:
        raise InvalidInput(
            f"Không có định dạng xuất '{f}'.",
            f"No export format '{f}'.",
            hint_vi="Chọn: " + ", ".join(EXPORT_FORMATS) + ".",
            hint_en="Choose: " + ", ".join(EXPORT_FORMATS) + ".",
        )


CRS_HELP = (
    "Hệ tọa độ / CRS: wgs84 (mặc định / default), vn2000 (múi TM-3 của tỉnh / the province's "
    "TM-3 zone), EPSG:9208, VN2000:104.75 — VN-2000 chỉ cho gpkg, shp / for gpkg, shp only"
)


async def _export(conn, f: str, title: str, crs: str | None = None, **filters) -> Response:
    _check_format(f)
    feats = await registry.export_features(conn, **filters)
    if not feats:
        raise NotFound(
            "Không có vùng trồng nào khớp bộ lọc.", "No growing area matches the filter."
        )
    out = await in_worker(export_areas, feats, f, title=title, crs=crs)
    return Response(
        out.content,
        media_type=out.media_type,
        headers={"Content-Disposition": f'attachment; filename="{out.filename}"'},
    )


@router.get("/collections/growing_areas/export", summary="Export growing areas for a dossier")
async def export_many(
    conn: ConnDep,
    f: str = "geojson",
    commune_code: str | None = None,
    status: str | None = None,
    crop: str | None = None,
    crs: str | None = Query(None, max_length=80, description=CRS_HELP),
) -> Response:
    title = f"vung_trong_{commune_code or 'tat_ca'}"
    if f == "eudr" and status is None:
        status = "active"  # suspended or revoked codes do not go into a due-diligence file
    return await _export(conn, f, title, crs, commune=commune_code, status=status, crop=crop)


@router.get(ITEMS + "/{fid}/export", summary="Export one growing area for a dossier")
async def export_one(
    fid: int,
    conn: ConnDep,
    f: str = "geojson",
    crs: str | None = Query(None, max_length=80, description=CRS_HELP),
) -> Response:
    props, _ = await registry.get_record(conn, fid)
    if f == "eudr" and props["status"] != "active":
        raise Conflict(
            f"Mã {props['code']} đang ở trạng thái {props['status']}: không xuất hồ sơ EUDR.",
            f"Code {props['code']} is {props['status']}: no EUDR file is issued for it.",
        )
    return await _export(conn, f, props["code"], crs, gid=fid)


@router.get(ITEMS + "/{fid}/sheet", response_class=HTMLResponse, summary="Printable map sheet")
async def sheet(fid: int, conn: ConnDep, config: SoilConfigDep) -> HTMLResponse:
    from maps.sheet import render_sheet

    props, geom = await registry.get_record(conn, fid)
    commune_name, province_name = await registry.commune_and_province_names(
        conn, props["commune_code"]
    )
    # The same soil summary as the soil page shows for this area, when there is a soil map.
    rasters = await soil.current_rasters(conn)
    report = None
    if rasters:
        areas = await soil.growing_area_geoms(conn, area_id=fid)
        (report,) = await in_worker(soil.field_reports, areas, rasters, config=config)
    return HTMLResponse(
        await in_worker(
            render_sheet, {**props, "commune_name": commune_name}, geom,
            province_name=province_name, soil=report,
        )
    )  # fmt: skip
