"""Coverage gaps for planners (issue 13): criterion-8 indicators per village, commune and
province, H3 hexagons, the coverage drawn on the planner's map, households as served dots,
and whether one coordinate is served, by whom and at which tier. Every /coverage/ route
refuses a query parameter it does not know (a typo must not answer for everything)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from geo.coverage_rules import VillageRule
from geo.errors import InvalidInput
from layers import coverage_gaps as coverage_gaps_layer
from layers import coverage_indicators, coverage_map, coverage_speed
from layers.coverage_indicators import Selection
from layers.offload import in_worker
from maps import coverage_report as coverage_report_files

from ..auth import Principal, require
from ..deps import ConnDep, KnownQueryOnly, ReadConnDep

router = APIRouter(tags=["Phủ sóng / coverage"], dependencies=[KnownQueryOnly])
Planners = require("admin", "officer", "planner")

AS_OF = Query(None, description="Ngày tham chiếu / as of (YYYY-MM-DD); mặc định hôm nay")


def _selection_dependency(*, operator_required: bool) -> Callable[..., Selection]:
    """The one dependency that reads a coverage selection (level, code, operator, technology,
    tier, as_of) from the query and returns it as a ``Selection``; the claims-vs-tests routes
    need an operator, the others take any. Each parameter stays documented in the OpenAPI."""

    def selection(
        level: Literal["village", "commune", "province"] | None = Query(None),
        code: str | None = Query(None, max_length=40),
        operator: str | None = Query(... if operator_required else None, max_length=60),
        technology: Literal["2G", "3G", "4G", "5G", "fibre"] = Query("4G"),
        tier: str | None = Query(None, max_length=40),
        as_of: dt.date | None = AS_OF,
    ) -> Selection:
        return Selection(level, code, operator, technology, tier, as_of)

    if operator_required:  # documented as a plain required string, as before
        selection.__annotations__ = {**selection.__annotations__, "operator": str}
    return selection


SelectionDep = Annotated[Selection, Depends(_selection_dependency(operator_required=False))]
# The same with the operator required (where an operator's claims are weighed).
OperatorSelectionDep = Annotated[Selection, Depends(_selection_dependency(operator_required=True))]


def _rule(
    covered_share: float = Query(0.9, gt=0, le=1),
    partly_share: float = Query(0.01, gt=0, le=1),
    dead_zone_share: float = Query(0.5, gt=0, le=1),
) -> VillageRule:
    return VillageRule(covered_share, partly_share, dead_zone_share)


RuleDep = Annotated[VillageRule, Depends(_rule)]


@router.get(
    "/coverage/indicators",
    summary="Chỉ số phủ sóng và tiêu chí 8 theo thôn, xã, tỉnh / coverage indicators",
)
async def coverage_indicators_json(
    conn: ReadConnDep, selection: SelectionDep, rule: RuleDep, who: Principal = Planners
) -> dict:
    return await coverage_indicators.indicators(conn, selection=selection, rule=rule)


# Public, like the coverage layer's features and tiles: the answer comes from coverage only
# (operators' published claims), never from households, and the coordinate is not stored.
@router.get(
    "/coverage/at",
    summary="Tọa độ này có sóng không, của nhà mạng nào, cấp nào / is this coordinate served",
)
async def coverage_at(
    conn: ReadConnDep,
    lon: float = Query(..., ge=-180, le=180),
    lat: float = Query(..., ge=-90, le=90),
    as_of: dt.date | None = AS_OF,
) -> dict:
    return await coverage_indicators.served_at(conn, lon=lon, lat=lat, as_of=as_of)


@router.get(
    "/coverage/hexagons",
    summary="Ô lục giác H3: số hộ, số hộ có sóng, tỷ lệ / H3 hexagons of households served",
)
async def coverage_hexagons(
    conn: ReadConnDep,
    selection: SelectionDep,
    who: Principal = Planners,
    resolution: int | None = Query(None, ge=5, le=11),
    min_households: int = Query(5, ge=1, le=1000),
) -> JSONResponse:
    collection = await coverage_indicators.hexagons(
        conn, selection=selection, resolution=resolution, min_households=min_households
    )
    return JSONResponse(collection, media_type="application/geo+json")


# Public: the operators' coverage claims, as the coverage collection already serves them.
@router.get(
    "/coverage/polygons",
    summary="Vùng phủ sóng hiện hành theo nhà mạng, công nghệ, cấp / current coverage polygons",
)
async def coverage_polygons(conn: ConnDep, selection: SelectionDep) -> JSONResponse:
    collection = await coverage_map.polygons(conn, selection=selection)
    return JSONResponse(collection, media_type="application/geo+json")


@router.get(
    "/coverage/households",
    summary="Các hộ (điểm) có sóng hay không, không kèm dữ liệu cá nhân / households as dots",
)
async def coverage_households(
    conn: ConnDep, selection: SelectionDep, who: Principal = Planners
) -> JSONResponse:
    collection = await coverage_map.household_dots(conn, selection=selection)
    return JSONResponse(collection, media_type="application/geo+json")


@router.get("/coverage/options", summary="Nhà mạng, cấp dịch vụ, các phiên bản / switch choices")
async def coverage_options(conn: ConnDep) -> dict:
    return await coverage_map.options(conn)


REPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@router.get(
    "/coverage/report.{kind}",
    summary="Báo cáo chỉ số phủ sóng (CSV, XLSX, PDF một trang cho một xã) / coverage report",
)
async def coverage_report(
    kind: Literal["csv", "xlsx", "pdf"],
    conn: ConnDep,
    selection: SelectionDep,
    rule: RuleDep,
    who: Principal = Planners,
) -> Response:
    if kind == "pdf" and selection.level != "commune":
        raise InvalidInput(
            "Bản in tóm tắt (PDF) là cho một xã: cần level=commune&code=<mã xã>.",
            "The printable summary (PDF) is for one commune: level=commune&code=<code> is needed.",
            hint_vi="Với cả tỉnh, tải CSV hoặc XLSX.",
            hint_en="For a province, download CSV or XLSX.",
        )
    result = await coverage_indicators.indicators(conn, selection=selection, rule=rule)
    name = f"phu-song-{selection.level or 'tat-ca'}-{selection.code or 'all'}-{result['as_of']}"
    if kind == "csv":
        body = coverage_report_files.indicators_csv(result)
    elif kind == "xlsx":
        body = await in_worker(coverage_report_files.indicators_xlsx, result)
    else:
        outlines = await coverage_map.village_outlines(conn, commune_code=selection.code or "")
        unit = await coverage_map.commune(conn, selection.code or "")
        body = await in_worker(
            coverage_report_files.commune_pdf, result, outlines,
            commune_name=unit["name"], province_name=unit["province_name"],
        )  # fmt: skip
    return Response(
        body,
        media_type=REPORT_TYPES[kind],
        headers={"Content-Disposition": f'attachment; filename="{name}.{kind}"'},
    )


@router.get(
    "/coverage/gaps",
    summary="Vùng lõm sóng có người ở (ô H3, mảnh nhỏ bỏ qua) / inhabited coverage gaps",
)
async def coverage_gaps(
    conn: ConnDep,
    selection: SelectionDep,
    who: Principal = Planners,
    min_area_km2: float = Query(1.0, ge=0, le=10_000),
) -> JSONResponse:
    collection = await coverage_gaps_layer.gaps(
        conn, selection=selection, min_area_km2=min_area_km2
    )
    return JSONResponse(collection, media_type="application/geo+json")


@router.get(
    "/coverage/compare",
    summary="Thôn lõm sóng ở hai ngày: thôn mới, thôn đã hết / dead zones at two dates",
)
async def coverage_compare(
    conn: ConnDep,
    rule: RuleDep,
    who: Principal = Planners,
    before: dt.date = Query(..., alias="from", description="Ngày đầu / first date (YYYY-MM-DD)"),
    after: dt.date = Query(..., alias="to", description="Ngày sau / second date (YYYY-MM-DD)"),
    level: Literal["village", "commune", "province"] | None = Query(None),
    code: str | None = Query(None, max_length=40),
) -> dict:
    return await coverage_gaps_layer.compare_dates(
        conn, before=before, after=after, level=level, code=code, rule=rule
    )


@router.get(
    "/coverage/disagreements",
    summary="Thôn nơi vùng phủ công bố và kết quả đo tốc độ không khớp / claims vs speed tests",
)
async def coverage_disagreements(
    conn: ConnDep,
    selection: OperatorSelectionDep,
    who: Principal = Planners,
    min_tests: int = Query(3, ge=1, le=1000),
) -> dict:
    return await coverage_speed.disagreements(conn, selection=selection, min_tests=min_tests)


@router.get(
    "/coverage/speed-tests",
    summary="Các lần đo tốc độ được tính, trong hay ngoài vùng công bố / speed tests counted",
)
async def coverage_speed_tests(
    conn: ConnDep, selection: OperatorSelectionDep, who: Principal = Planners
) -> JSONResponse:
    collection = await coverage_speed.speed_test_points(conn, selection=selection)
    return JSONResponse(collection, media_type="application/geo+json")
