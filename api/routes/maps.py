"""Map pages: the overview map of the demo commune's layers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from layers import features
from layers.catalog import BY_ID
from maps.overview import LayerView, render_overview

from ..deps import ConnDep
from ..errors import request_lang

router = APIRouter()

# Vietnam's mainland, for an empty database.
VIETNAM_VIEW = (102.1, 8.5, 109.5, 23.4)

OVERVIEW_LAYERS: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("villages", "polygon", "#6c757d", (("name", "Thôn"), ("code", "Mã thôn"))),
    (
        "soil_zones",
        "polygon",
        "#a0522d",
        (("property", "Chỉ tiêu"), ("grade", "Cấp"), ("value", "Giá trị")),
    ),
    ("coverage", "polygon", "#1f77b4", (("operator", "Nhà mạng"), ("technology", "Công nghệ"))),
    (
        "growing_areas",
        "polygon",
        "#2ca02c",
        (
            ("code", "Mã số vùng trồng"),
            ("crop", "Cây trồng"),
            ("area_ha", "Diện tích (ha)"),
            ("status", "Trạng thái"),
        ),
    ),
    (
        "households",
        "point",
        "#d62728",
        (("label", "Hộ"), ("village_code", "Mã thôn"), ("has_fibre", "Cáp quang")),
    ),
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
            popup_fields=fields,
            show=cid not in HIDDEN_BY_DEFAULT,
        )
        for cid, kind, color, fields in OVERVIEW_LAYERS
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
