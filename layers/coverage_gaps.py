"""Coverage gaps (vùng lõm sóng) as geometry, and dead zones over time: the H3 cells around
unserved households whose centre lies outside the selection's coverage, joined into fragments
(small ones dropped); and
which villages joined or left the dead-zone list between two dates."""

from __future__ import annotations

import datetime as dt
from importlib.resources import files
from typing import Any

from psycopg import AsyncConnection

from geo.coverage_rules import VillageRule
from geo.errors import InvalidInput
from geo.hexagons import cell_centre, cells_with_households, gap_candidates, gap_fragments

from .coverage_indicators import EVERYTHING, POINTS_SQL, Selection, indicators, selection_params
from .offload import in_worker

CENTRES_SQL = (files("layers") / "coverage_centres.sql").read_text()
GAP_RESOLUTION = 9  # the FCC 5G Fund's cells (about 0.1 km²)


async def gaps(
    conn: AsyncConnection,
    *,
    selection: Selection = EVERYTHING,
    min_area_km2: float = 1.0,
    resolution: int = GAP_RESOLUTION,
) -> dict[str, Any]:
    """The gaps of the scope as a GeoJSON FeatureCollection: each feature a fragment of
    neighbouring inhabited cells outside coverage, with its area, households and unserved
    households; fragments under ``min_area_km2`` dropped (and counted)."""
    params = await selection_params(conn, selection)
    points = await (await conn.execute(POINTS_SQL, params)).fetchall()
    cells = await in_worker(cells_with_households, points, resolution=resolution)
    order = sorted(gap_candidates(cells))
    centres = [cell_centre(c) for c in order]
    cur = await conn.execute(
        CENTRES_SQL,
        {**params, "lons": [c[0] for c in centres], "lats": [c[1] for c in centres]},
    )
    covered = {order[i - 1] for (i,) in await cur.fetchall()}
    uncovered = [c for c in order if c not in covered]
    fragments = await in_worker(
        gap_fragments, cells, uncovered=uncovered, min_area_km2=min_area_km2
    )
    kept_cells = sum(f["cells"] for f in fragments)
    return {
        "type": "FeatureCollection",
        "as_of": params["as_of"].isoformat(),
        "selection": {"operator": selection.operator, "technology": selection.technology,
                      "technologies": params["technologies"], "tier": selection.tier},
        "resolution": resolution,
        "min_area_km2": min_area_km2,
        "inhabited_cells": len(cells),
        "candidate_cells": len(order),
        "uncovered_cells": len(uncovered),
        "dropped_cells": len(uncovered) - kept_cells,
        "features": [
            {"type": "Feature", "id": i + 1, "geometry": f.pop("geometry"), "properties": f}
            for i, f in enumerate(fragments)
        ],
    }  # fmt: skip


async def compare_dates(
    conn: AsyncConnection,
    *,
    before: dt.date,
    after: dt.date,
    level: str | None = None,
    code: str | None = None,
    rule: VillageRule = VillageRule(),
) -> dict[str, Any]:
    """The dead-zone villages (thôn lõm sóng, 4G/5G of any operator) at two dates side by side:
    which joined the list and which left it, with each village's share at both dates."""
    if before >= after:
        raise InvalidInput(
            "Ngày đầu phải trước ngày sau.",
            "The first date must come before the second.",
            hint_vi="Ví dụ: from=2024-12-31&to=2025-12-31.",
            hint_en="For example: from=2024-12-31&to=2025-12-31.",
        )
    a = await indicators(conn, selection=Selection(level, code, as_of=before), rule=rule)
    b = await indicators(conn, selection=Selection(level, code, as_of=after), rule=rule)
    then = {v["code"]: v for v in a["villages"]}
    now = {v["code"]: v for v in b["villages"]}

    def entry(code_: str) -> dict[str, Any]:
        x, y = then.get(code_), now.get(code_)
        v = y or x
        return {"code": code_, "name": v["name"], "commune_code": v["commune_code"],
                "mobile_broadband_pct_before": x and x["mobile_broadband_pct"],
                "mobile_broadband_pct_after": y and y["mobile_broadband_pct"]}  # fmt: skip

    dead_then = {c for c, v in then.items() if v["dead_zone"]}
    dead_now = {c for c, v in now.items() if v["dead_zone"]}
    return {
        "before": before.isoformat(),
        "after": after.isoformat(),
        "dead_zones_before": len(dead_then),
        "dead_zones_after": len(dead_now),
        "added": [entry(c) for c in sorted(dead_now - dead_then)],
        "removed": [entry(c) for c in sorted(dead_then - dead_now)],
        "still": [entry(c) for c in sorted(dead_now & dead_then)],
        "communes": [
            {"code": x["code"], "name": x["name"],
             "before": {t["indicator"]: t["value"] for t in x["criterion8"]},
             "after": {t["indicator"]: t["value"] for t in y["criterion8"]}}
            for x, y in zip(a["communes"], b["communes"], strict=True)
        ],
    }  # fmt: skip
