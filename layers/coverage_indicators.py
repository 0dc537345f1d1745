"""Coverage indicators for planners (chỉ số phủ sóng, tiêu chí 8): households served and
unserved per village, commune and province, villages covered, fibre, dead zones (thôn lõm
sóng), and criterion-8 verdicts; and which coverage serves one coordinate."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from geo.coverage_rules import VillageRule, percent, technologies_at_least, verdict
from geo.errors import InvalidInput, NotFound
from geo.hexagons import cell_polygon, hexagon_counts

from .offload import in_worker

SERVED = (files("layers") / "coverage_served.sql").read_text()
# Per village: households, served by the selection, by mobile broadband, passed by fibre, and
# fibre subscriptions, from the per-village summary (migration 0013).
VILLAGES_SQL = (files("layers") / "coverage_villages.sql").read_text()
# The same per household (an aggregate of household_served per request), as before 0013: the
# benchmark's and the tests' reference.
VILLAGES_PER_HOUSEHOLD_SQL = (
    SERVED
    + """
SELECT v.code, v.name, v.commune_code, v.commune_name, v.province_code, v.province_name,
       count(h.id)::int AS households,
       (count(h.id) FILTER (WHERE f.selected))::int AS served,
       (count(h.id) FILTER (WHERE f.broadband))::int AS broadband,
       (count(h.id) FILTER (WHERE f.fibre))::int AS fibre_passed,
       (count(h.id) FILTER (WHERE h.has_fibre))::int AS fibre_subscriptions
FROM in_scope v
LEFT JOIN households h ON h.village_code = v.code
LEFT JOIN flags f ON f.household_id = h.id
GROUP BY v.code, v.name, v.commune_code, v.commune_name, v.province_code, v.province_name
ORDER BY v.province_code, v.commune_code, v.code
"""
)
# Per household: its position and whether the selection serves it (for the hexagons).
POINTS_SQL = (
    SERVED
    + """
SELECT ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat, coalesce(f.selected, false) AS served
FROM households h LEFT JOIN flags f ON f.household_id = h.id
"""
)

TIER = """
SELECT code, technology, label_vi, label_en, min_down_mbps, min_up_mbps, mean_down_mbps,
       max_latency_ms
FROM coverage_tier WHERE code = %s
"""
TARGETS = "SELECT indicator, label_vi, label_en, comparison, target, source FROM criterion8_target"
OPERATORS = "SELECT DISTINCT operator FROM coverage_version WHERE operator = %s"

AT_POINT = """
WITH current_version AS (
    SELECT DISTINCT ON (operator, technology) id, operator, technology, valid_from, source
    FROM coverage_version
    WHERE valid_from <= %(as_of)s
    ORDER BY operator, technology, valid_from DESC, id DESC
)
SELECT DISTINCT v.operator, v.technology, c.tier, t.label_vi AS tier_label_vi,
       t.label_en AS tier_label_en, v.id AS version_id, v.valid_from, v.source
FROM coverage c
JOIN current_version v ON v.id = c.version_id
LEFT JOIN coverage_tier t ON t.code = c.tier
WHERE ST_Covers(c.geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
ORDER BY v.technology, v.operator, c.tier NULLS FIRST
"""
VILLAGE_AT = """
SELECT v.code, v.name, v.commune_code FROM village v
WHERE ST_Covers(v.geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
ORDER BY v.code LIMIT 1
"""

LEVELS = ("village", "commune", "province")


@dataclass(frozen=True)
class Selection:
    """Which households and coverage an answer is about (the planner's switches): a scope
    (``level`` village, commune or province and its ``code``; everything when None), an
    ``operator`` (all when None), a ``technology`` (or newer), a service ``tier`` (any when
    None), and the coverage current ``as_of`` a date (today when None)."""

    level: str | None = None
    code: str | None = None
    operator: str | None = None
    technology: str = "4G"
    tier: str | None = None
    as_of: dt.date | None = None


EVERYTHING = Selection()


async def _tier(conn: AsyncConnection, code: str) -> dict[str, Any]:
    cur = await conn.cursor(row_factory=dict_row).execute(TIER, (code,))
    row = await cur.fetchone()
    if row is None:
        raise InvalidInput(
            f"Không có cấp dịch vụ '{code}'.",
            f"Unknown service tier '{code}'.",
            hint_vi="Xem bảng coverage_tier (ví dụ qcvn81-z1, qcvn81-z2, fcc-4g, fcc-5g-35).",
            hint_en="See the coverage_tier table (e.g. qcvn81-z1, qcvn81-z2, fcc-4g, fcc-5g-35).",
        )
    return row


def _scope(level: str | None, code: str | None) -> dict[str, str | None]:
    scope: dict[str, str | None] = dict.fromkeys(LEVELS)
    if level is None:
        return scope
    if level not in LEVELS or not code:
        raise InvalidInput(
            "Phạm vi không hợp lệ: cần cấp (village, commune, province) và mã.",
            "Invalid scope: a level (village, commune, province) and a code are needed.",
            hint_vi="Ví dụ: level=commune&code=02923.",
            hint_en="For example: level=commune&code=02923.",
        )
    scope[level] = code
    return scope


def _village(row: dict[str, Any], rule: VillageRule) -> dict[str, Any]:
    n = row["households"]
    return {
        "code": row["code"],
        "name": row["name"],
        "commune_code": row["commune_code"],
        "households": n,
        "served": row["served"],
        "unserved": n - row["served"],
        "served_pct": percent(row["served"], n),
        "status": rule.status(households=n, served=row["served"]),
        "mobile_broadband_served": row["broadband"],
        "mobile_broadband_pct": percent(row["broadband"], n),
        "mobile_broadband_status": rule.status(households=n, served=row["broadband"]),
        "dead_zone": rule.dead_zone(households=n, served=row["broadband"]),
        "fibre_passed": row["fibre_passed"],
        "fibre_passed_pct": percent(row["fibre_passed"], n),
        "fibre_status": rule.status(households=n, served=row["fibre_passed"]),
        "fibre_subscriptions": row["fibre_subscriptions"],
        "fibre_subscription_pct": percent(row["fibre_subscriptions"], n),
    }


def _reached(status: str | None) -> bool:
    return status in ("covered", "partly")


def _summary(
    code: str, name: str, villages: list[dict[str, Any]], targets: list[dict[str, Any]]
) -> dict[str, Any]:
    """A commune's, province's or the whole scope's totals over its villages with households."""
    counted = [v for v in villages if v["households"] > 0]
    households = sum(v["households"] for v in counted)
    served = sum(v["served"] for v in counted)
    subs = sum(v["fibre_subscriptions"] for v in counted)
    by_status = {
        s: sum(v["status"] == s for v in counted) for s in ("covered", "partly", "not_covered")
    }
    broadband = sum(_reached(v["mobile_broadband_status"]) for v in counted)
    fibre = sum(_reached(v["fibre_status"]) for v in counted)
    # Dead zones (thôn lõm sóng): no 4G at all, or most households without it although
    # coverage touches the village (the rule's dead_zone_share).
    dead = [v for v in counted if v["dead_zone"]]
    values = {
        "villages_mobile_broadband_pct": percent(broadband, len(counted)),
        "villages_fibre_pct": percent(fibre, len(counted)),
        "households_fibre_pct": percent(subs, households),
        "villages_without_4g": len(dead),
    }
    return {
        "code": code,
        "name": name,
        "households": households,
        "served": served,
        "unserved": households - served,
        "served_pct": percent(served, households),
        "villages": len(counted),
        "villages_covered": by_status["covered"],
        "villages_partly_covered": by_status["partly"],
        "villages_not_covered": by_status["not_covered"],
        "villages_covered_pct": percent(by_status["covered"], len(counted)),
        "villages_served_pct": percent(by_status["covered"] + by_status["partly"], len(counted)),
        "villages_without_households": [v["code"] for v in villages if v["households"] == 0],
        "villages_with_mobile_broadband": broadband,
        "villages_with_fibre": fibre,
        "fibre_subscriptions": subs,
        "villages_without_4g_list": [
            {"code": v["code"], "name": v["name"], "households": v["households"],
             "unserved": v["households"] - v["mobile_broadband_served"],
             "mobile_broadband_pct": v["mobile_broadband_pct"],
             "reason": "no_4g" if v["mobile_broadband_served"] == 0 else "most_households_without_4g"}
            for v in dead
        ],
        "villages_partly_without_4g_list": [
            {"code": v["code"], "name": v["name"], "mobile_broadband_pct": v["mobile_broadband_pct"]}
            for v in counted
            if v["mobile_broadband_status"] == "partly"
        ],
        "criterion8": [
            {**t, "value": values[t["indicator"]],
             "met": verdict(values[t["indicator"]], t["target"], t["comparison"])}
            for t in targets
            if t["indicator"] in values
        ],
    }  # fmt: skip


async def selection_params(conn: AsyncConnection, selection: Selection) -> dict[str, Any]:
    """The bound parameters of coverage_served.sql for ``selection``, each input checked."""
    level, code, operator = selection.level, selection.code, selection.operator
    technology, tier, as_of = selection.technology, selection.tier, selection.as_of
    if any(v is not None and "\x00" in v for v in (code, operator, tier)):
        raise InvalidInput(
            "Tham số không hợp lệ: có ký tự NUL.",
            "A parameter holds a NUL character.",
            hint_vi="Bỏ ký tự %00 khỏi địa chỉ.",
            hint_en="Remove %00 from the address.",
        )
    tier = tier.strip().lower() if tier else None
    scope = _scope(level, code)
    technologies = list(technologies_at_least(technology))
    wanted = await _tier(conn, tier) if tier else None
    if operator is not None:
        cur = await conn.execute(OPERATORS, (operator,))
        if await cur.fetchone() is None:
            raise NotFound(
                f"Chưa có vùng phủ sóng nào của nhà mạng '{operator}'.",
                f"No coverage of operator '{operator}' is stored.",
                hint_vi="Kiểm tra tên nhà mạng (ví dụ Viettel, VNPT, MobiFone).",
                hint_en="Check the operator's name (e.g. Viettel, VNPT, MobiFone).",
            )
    as_of = as_of or dt.date.today()
    params = {
        "as_of": as_of, "technologies": technologies, "operator": operator,
        "tiered": wanted is not None,
        "down": (wanted or {}).get("min_down_mbps") or 0.0,
        "up": (wanted or {}).get("min_up_mbps") or 0.0,
        "mean": (wanted or {}).get("mean_down_mbps") or 0.0,
        "latency": (wanted or {}).get("max_latency_ms"),
        **scope,
    }  # fmt: skip
    return params


async def indicators(
    conn: AsyncConnection,
    *,
    selection: Selection = EVERYTHING,
    rule: VillageRule = VillageRule(),
) -> dict[str, Any]:
    """Indicators per village, commune and province in the ``selection``'s scope, for its
    operator, technology or newer, tier and date.

    Villages with no households are listed apart and counted in no percentage. The
    criterion-8 block does not follow the selection: mobile broadband is 4G/5G of any
    operator at any tier, fibre is any operator's, as a province reports them.
    """
    params = await selection_params(conn, selection)
    as_of, level, code = params["as_of"], selection.level, selection.code
    cur = await conn.cursor(row_factory=dict_row).execute(VILLAGES_SQL, params)
    rows = await cur.fetchall()
    if not rows and level is not None:
        raise NotFound(
            f"Không có thôn nào trong phạm vi {level} {code}.",
            f"No village in {level} {code}.",
            hint_vi="Kiểm tra mã (mã thôn, mã xã 5 chữ số, mã tỉnh 2 chữ số).",
            hint_en="Check the code (village code, 5-digit commune, 2-digit province).",
        )
    cur = await conn.cursor(row_factory=dict_row).execute(TARGETS)
    targets = sorted(await cur.fetchall(), key=lambda t: t["indicator"])
    villages = [{**_village(r, rule), "_row": r} for r in rows]
    # Grouped once: a province has thousands of villages in hundreds of communes.
    by_commune: dict[tuple[str, str], list[dict[str, Any]]] = {}
    by_province: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for v in villages:
        r = v["_row"]
        by_commune.setdefault((r["commune_code"], r["commune_name"]), []).append(v)
        by_province.setdefault((r["province_code"], r["province_name"]), []).append(v)
    communes = [_summary(c, n, vs, targets) for (c, n), vs in by_commune.items()]
    provinces = [_summary(p, n, vs, targets) for (p, n), vs in by_province.items()]
    for v in villages:
        del v["_row"]
    return {
        "as_of": as_of.isoformat(),
        "selection": {"operator": selection.operator, "technology": selection.technology,
                      "technologies": params["technologies"], "tier": selection.tier},
        "rule": {"covered_share": rule.covered_share, "partly_share": rule.partly_share,
                 "dead_zone_share": rule.dead_zone_share},
        "villages": [v for v in villages if v["households"] > 0],
        "villages_without_households": [
            {"code": v["code"], "name": v["name"], "commune_code": v["commune_code"]}
            for v in villages if v["households"] == 0
        ],
        "communes": communes,
        "provinces": provinces,
    }  # fmt: skip


async def served_at(
    conn: AsyncConnection, *, lon: float, lat: float, as_of: dt.date | None = None
) -> dict[str, Any]:
    """Is this coordinate served, by whom, at which tier: every current coverage covering it
    (a point on a boundary is covered). Reads coverage only, never households."""
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(
            "Tọa độ không hợp lệ: cần kinh độ −180…180 và vĩ độ −90…90 (WGS84).",
            "Invalid coordinate: longitude −180…180 and latitude −90…90 (WGS84) are needed.",
            hint_vi="Ví dụ: lon=104.07&lat=22.37.",
            hint_en="For example: lon=104.07&lat=22.37.",
        )
    as_of = as_of or dt.date.today()
    params = {"lon": lon, "lat": lat, "as_of": as_of}
    cur = await conn.cursor(row_factory=dict_row).execute(AT_POINT, params)
    served = await cur.fetchall()
    for s in served:
        s["valid_from"] = s["valid_from"].isoformat()
    cur = await conn.cursor(row_factory=dict_row).execute(VILLAGE_AT, params)
    village = await cur.fetchone()
    return {
        "lon": lon,
        "lat": lat,
        "as_of": as_of.isoformat(),
        "village": village,
        "served": bool(served),
        "technologies": sorted({s["technology"] for s in served}),
        "coverage": served,
    }


async def hexagons(
    conn: AsyncConnection,
    *,
    selection: Selection = EVERYTHING,
    resolution: int | None = None,
    min_households: int = 5,
) -> dict[str, Any]:
    """H3 hexagons (resolution 9 for a village or commune, 8 for a province or all) with
    households, served and % served for the selection, as a GeoJSON FeatureCollection. A cell
    with fewer than ``min_households`` is marked ``too_few`` (no share), not 0 % or 100 %."""
    params = await selection_params(conn, selection)
    if resolution is None:
        resolution = 8 if selection.level in (None, "province") else 9
    cur = await conn.execute(POINTS_SQL, params)
    points = await cur.fetchall()
    # Cell assignment is CPU work: off the event loop.
    cells = await in_worker(
        hexagon_counts, points, resolution=resolution, min_households=min_households
    )
    return {
        "type": "FeatureCollection",
        "as_of": params["as_of"].isoformat(),
        "selection": {"operator": selection.operator, "technology": selection.technology,
                      "technologies": params["technologies"], "tier": selection.tier},
        "resolution": resolution,
        "min_households": min_households,
        "features": [
            {"type": "Feature", "id": c["cell"], "geometry": cell_polygon(c["cell"]),
             "properties": c}
            for c in cells
        ],
    }  # fmt: skip
