"""Soil fertility queries (nông hóa thổ nhưỡng): the current rasters and their class tables,
values at a point, statistics and advice per growing area or for a whole commune, zones, and
the soil page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from geo.crs import VIETNAM_BOUNDS_WGS84
from geo.errors import InvalidInput, NotFound
from layers import soil
from layers.offload import in_worker
from layers.serving import features
from layers.serving.catalog import BY_ID
from maps.soil import render_soil_page

from ..chrome import HeaderDep
from ..deps import ConnDep, SoilConfigDep
from ..errors import request_lang

router = APIRouter(tags=["Soil"])


def _check_point(lon: float, lat: float) -> None:
    west, south, east, north = VIETNAM_BOUNDS_WGS84
    if not (west <= lon <= east and south <= lat <= north):
        raise InvalidInput(
            f"Điểm ({lon}, {lat}) không nằm trong Việt Nam.",
            f"The point ({lon}, {lat}) is not in Vietnam.",
            hint_vi="Truyền lon (kinh độ) và lat (vĩ độ) theo WGS84, ví dụ lon=104.07&lat=22.37.",
            hint_en="Pass WGS84 lon and lat, e.g. lon=104.07&lat=22.37.",
        )


async def _rasters(conn) -> list[soil.SoilRaster]:
    rasters = await soil.current_rasters(conn)
    if not rasters:
        raise NotFound(
            "Chưa có bản đồ nông hóa nào.",
            "No soil map yet.",
            hint_vi="Nhập ảnh GeoTIFF (--layer soil_rasters) hoặc bảng mẫu đất (--layer soil_samples).",
            hint_en="Import a GeoTIFF (--layer soil_rasters) or a sample table (--layer soil_samples).",
        )
    return rasters


@router.get(
    "/soil/rasters", summary="The current soil raster of each property, with its class table"
)
async def soil_rasters(conn: ConnDep, config: SoilConfigDep) -> dict:
    return {"rasters": [r.public(config) for r in await soil.current_rasters(conn)]}


@router.get("/soil/classes", summary="Every soil class table, with its source")
async def soil_classes(config: SoilConfigDep) -> dict:
    return {
        "tables": [
            {"property": t.property, "unit": t.unit, "label_vi": t.label_vi,
             "label_en": t.label_en, "source": t.source, "source_vi": t.source_vi,
             "classes": t.legend()}
            for t in config.tables
        ]
    }  # fmt: skip


@router.get("/soil/point", summary="Soil values and grades at a point (WGS84)")
async def soil_point(lon: float, lat: float, conn: ConnDep, config: SoilConfigDep) -> dict:
    _check_point(lon, lat)
    rasters = await _rasters(conn)
    values = await in_worker(soil.point_values, rasters, lon=lon, lat=lat, config=config)
    return {"lon": lon, "lat": lat, "properties": values}


@router.get("/soil/rasters/{rid}/zones", summary="Graded zones of a soil raster (GeoJSON)")
async def soil_zones(rid: int, conn: ConnDep) -> dict:
    return await soil.raster_zones(conn, rid)


@router.get(
    "/soil/growing-areas/{area_id}", summary="Soil statistics and advice for a growing area"
)
async def soil_growing_area(
    area_id: int, request: Request, conn: ConnDep, config: SoilConfigDep
) -> dict:
    areas = await soil.growing_area_geoms(conn, area_id=area_id)
    rasters = await _rasters(conn)
    reports = await in_worker(
        soil.field_reports, areas, rasters, config=config, lang=request_lang(request)
    )
    return reports[0]


@router.get(
    "/soil/communes/{commune_code}/growing-areas",
    summary="Soil statistics and advice for every growing area of a commune, in one request",
)
async def soil_commune_areas(
    commune_code: str, request: Request, conn: ConnDep, config: SoilConfigDep
) -> dict:
    areas = await soil.growing_area_geoms(conn, commune_code=commune_code)
    rasters = await _rasters(conn)
    reports = await in_worker(
        soil.field_reports, areas, rasters, config=config, lang=request_lang(request)
    )
    return {"commune_code": commune_code, "count": len(reports), "growing_areas": reports}


@router.get("/maps/soil", response_class=HTMLResponse, summary="Soil fertility map page")
async def soil_page(
    request: Request, conn: ConnDep, config: SoilConfigDep, header: HeaderDep
) -> HTMLResponse:
    bounds = await features.extent(conn, BY_ID["communes"]) or VIETNAM_BOUNDS_WGS84
    rasters = [r.public(config) for r in await soil.current_rasters(conn)]
    return HTMLResponse(
        render_soil_page(rasters, bounds=bounds, lang=request_lang(request), header_html=header)
    )
