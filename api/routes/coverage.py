"""Coverage gaps for planners (issue 13): criterion-8 indicators per village, commune and
province, H3 hexagons, and whether one coordinate is served, by whom and at which tier."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from geo.coverage_rules import VillageRule
from layers import coverage_indicators

from ..auth import Principal, require
from ..deps import ReadConnDep

router = APIRouter(tags=["Phủ sóng / coverage"])
Planners = require("admin", "officer", "planner")

AS_OF = Query(None, description="Ngày tham chiếu / as of (YYYY-MM-DD); mặc định hôm nay")


@dataclass(frozen=True)
class Selection:
    """Which households and coverage an answer is about (the planner's switches)."""

    level: Literal["village", "commune", "province"] | None
    code: str | None
    operator: str | None
    technology: Literal["2G", "3G", "4G", "5G", "fibre"]
    tier: str | None
    as_of: dt.date | None


def _selection(
    level: Literal["village", "commune", "province"] | None = Query(None),
    code: str | None = Query(None, max_length=40),
    operator: str | None = Query(None, max_length=60),
    technology: Literal["2G", "3G", "4G", "5G", "fibre"] = Query("4G"),
    tier: str | None = Query(None, max_length=40),
    as_of: dt.date | None = AS_OF,
) -> Selection:
    return Selection(level, code, operator, technology, tier, as_of)


SelectionDep = Annotated[Selection, Depends(_selection)]


@router.get(
    "/coverage/indicators",
    summary="Chỉ số phủ sóng và tiêu chí 8 theo thôn, xã, tỉnh / coverage indicators",
)
async def coverage_indicators_json(
    conn: ReadConnDep,
    selection: SelectionDep,
    who: Principal = Planners,
    covered_share: float = Query(0.9, gt=0, le=1),
    partly_share: float = Query(0.01, gt=0, le=1),
) -> dict:
    return await coverage_indicators.indicators(
        conn, **asdict(selection), rule=VillageRule(covered_share, partly_share)
    )


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
        conn, **asdict(selection), resolution=resolution, min_households=min_households
    )
    return JSONResponse(collection, media_type="application/geo+json")
