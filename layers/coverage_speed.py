"""Speed tests (đo tốc độ) against operators' claims: import them, grade them into tiers, and
find per village where an operator's coverage says served but its tests fall below the tier
(claim not met), or the reverse (service found outside the claim), with the evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from importlib.resources import files
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from geo.coverage_points import SpeedTest
from geo.coverage_rules import TECHNOLOGIES
from geo.errors import InvalidInput

from .coverage_indicators import Selection, selection_params
from .ingest.write import record_batch

INSERT = """
INSERT INTO coverage_speed_test (operator, technology, measured_at, down_mbps, up_mbps,
                                 latency_ms, source, import_batch_id, geom)
SELECT %s, %s, t.at, t.down, t.up, t.latency, %s, %s, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326)
FROM unnest(%s::timestamp[], %s::float8[], %s::float8[], %s::float8[], %s::float8[], %s::float8[])
     AS t(at, down, up, latency, lon, lat)
"""
# The tests counted (06:00-22:00, one year) in the scope's villages, claimed or not, meeting the
# tier or not; then per village (disagreements) or per test (the map's points).
SPEED_TESTS_SQL = (files("layers") / "coverage_speed_tests.sql").read_text()
DISAGREEMENTS_SQL = SPEED_TESTS_SQL + (files("layers") / "coverage_disagreements.sql").read_text()
POINTS_SQL = (
    SPEED_TESTS_SQL
    + """
SELECT round(ST_X(t.geom)::numeric, 6)::float8 AS lon, round(ST_Y(t.geom)::numeric, 6)::float8 AS lat,
       t.village_code, t.measured_at, t.down_mbps, t.up_mbps, t.latency_ms, t.claimed, t.meets
FROM tests t ORDER BY t.measured_at, t.id LIMIT %(cap)s
"""
)
POINTS_CAP = 20_000
LOWEST_TIER = """
SELECT code FROM coverage_tier WHERE technology = %s
ORDER BY coalesce(min_down_mbps, 0), coalesce(min_up_mbps, 0), code LIMIT 1
"""
MIN_TESTS = 3


def import_speed_tests(
    conn: psycopg.Connection,
    *,
    operator: str,
    technology: str,
    tests: Sequence[SpeedTest],
    source: str | None = None,
    user: str = "cli",
) -> int:
    """Store ``tests`` of ``operator``'s ``technology`` in one batch; returns how many."""
    if not operator or not operator.strip():
        raise InvalidInput("Thiếu tên nhà mạng.", "The operator is missing.")
    if technology not in TECHNOLOGIES:
        raise InvalidInput(
            f"Không có công nghệ '{technology}'.", f"Unknown technology '{technology}'.",
            hint_vi="Chọn 2G, 3G, 4G, 5G hoặc fibre.", hint_en="Choose 2G, 3G, 4G, 5G or fibre.",
        )  # fmt: skip
    if not tests:
        raise InvalidInput("Không có lần đo nào.", "No speed test given.")
    with conn.transaction():
        batch = record_batch(
            conn, layer="coverage", source=source or f"speed tests {operator} {technology}",
            crs="EPSG:4326", encoding="-", counts=(len(tests), len(tests), 0, 0), user=user,
        )  # fmt: skip
        conn.execute(INSERT, (
            operator, technology, source, batch,
            [t.measured_at for t in tests], [t.down_mbps for t in tests],
            [t.up_mbps for t in tests], [t.latency_ms for t in tests],
            [t.lon for t in tests], [t.lat for t in tests],
        ))  # fmt: skip
    return len(tests)


async def _reference(conn: AsyncConnection, selection: Selection) -> tuple[str, dict[str, Any]]:
    """The tier tests are held to (the selection's, else the technology's lowest) and the bound
    parameters of coverage_speed_tests.sql. Speed tests are an operator's: one is needed."""
    if not selection.operator:
        raise InvalidInput(
            "Cần chọn một nhà mạng để so với kết quả đo tốc độ.",
            "An operator is needed to compare with speed tests.",
            hint_vi="Ví dụ: operator=Viettel.",
            hint_en="For example: operator=Viettel.",
        )
    technology, tier = selection.technology, selection.tier
    if tier is None:
        row = await (await conn.execute(LOWEST_TIER, (technology,))).fetchone()
        if row is None:
            raise InvalidInput(
                f"Chưa có cấp dịch vụ nào cho {technology} để so sánh.",
                f"No service tier for {technology} to compare against.",
                hint_vi="Thêm một dòng vào bảng coverage_tier.",
                hint_en="Add a row to the coverage_tier table.",
            )
        tier = row[0]
    params = await selection_params(conn, replace(selection, tier=tier))
    return tier, {**params, "technology": technology}


async def speed_test_points(conn: AsyncConnection, *, selection: Selection) -> dict[str, Any]:
    """The selection's operator's speed tests counted on its date (06:00-22:00, the year
    before) in the scope's villages, as GeoJSON points: speeds, time, ``claimed`` (inside the operator's
    claim) and ``meets`` (reaches the tier). A scope over ``POINTS_CAP`` tests is refused."""
    tier, params = await _reference(conn, selection)
    operator, technology = selection.operator, selection.technology
    cur = await conn.cursor(row_factory=dict_row).execute(
        POINTS_SQL, {**params, "cap": POINTS_CAP + 1}
    )
    rows = await cur.fetchall()
    if len(rows) > POINTS_CAP:
        raise InvalidInput(
            f"Phạm vi có hơn {POINTS_CAP:,} lần đo; chọn một xã.".replace(",", "."),
            f"The scope holds over {POINTS_CAP:,} speed tests; choose one commune.",
            hint_vi="Ví dụ: level=commune&code=02923.",
            hint_en="For example: level=commune&code=02923.",
        )
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [r.pop("lon"), r.pop("lat")]},
            "properties": {
                **r,
                "measured_at": r["measured_at"].isoformat(timespec="minutes"),
                "operator": operator,
            },
        }  # fmt: skip
        for r in rows
    ]
    return {
        "type": "FeatureCollection",
        "as_of": params["as_of"].isoformat(),
        "operator": operator,
        "technology": technology,
        "tier": {"code": tier, "min_down_mbps": params["down"], "min_up_mbps": params["up"]},
        "features": features,
    }


async def disagreements(
    conn: AsyncConnection, *, selection: Selection, min_tests: int = MIN_TESTS
) -> dict[str, Any]:
    """Per village: ``claim_not_met`` when at least ``min_tests`` of the operator's tests inside
    its claimed coverage have a median below the tier (download, or upload when the tier sets
    one), ``unclaimed_service`` when at least ``min_tests`` outside it have a median at or above.
    The tier is the selection's, else the technology's lowest in coverage_tier."""
    tier, params = await _reference(conn, selection)
    operator, technology = selection.operator, selection.technology
    cur = await conn.cursor(row_factory=dict_row).execute(DISAGREEMENTS_SQL, params)
    rows = await cur.fetchall()
    found = []
    for r in rows:
        median_down, median_up = r["median_down_mbps"], r["median_up_mbps"]
        below = median_down < params["down"] or (
            params["up"] > 0 and (median_up is None or median_up < params["up"])
        )
        if r["tests"] < min_tests:
            continue
        kind = None
        if r["claimed"] and below:
            kind = "claim_not_met"
        elif not r["claimed"] and not below:
            kind = "unclaimed_service"
        if kind:
            found.append({
                "code": r["code"], "name": r["name"], "commune_code": r["commune_code"],
                "kind": kind, "tests": r["tests"], "tests_meeting_tier": r["tests_meeting"],
                "median_down_mbps": round(median_down, 2),
                "median_up_mbps": None if median_up is None else round(median_up, 2),
            })  # fmt: skip
    return {
        "as_of": params["as_of"].isoformat(),
        "operator": operator,
        "technology": technology,
        "tier": {"code": tier, "min_down_mbps": params["down"], "min_up_mbps": params["up"]},
        "min_tests": min_tests,
        "villages": found,
        "tested": [
            {k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()} for r in rows
        ],
    }
