"""Coverage from tower points (trạm phát sóng): each tower's radius for its technology,
buffered on the geography, becomes one dated coverage version, whole or not at all."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import psycopg
from psycopg import errors as pg_errors

from geo.coverage_rules import MOBILE
from geo.errors import InvalidInput

from .ingest.write import record_batch

RADIUS = "SELECT radius_m FROM coverage_tower_radius WHERE technology = %s"
VERSION = """
INSERT INTO coverage_version (operator, technology, valid_from, kind, source, import_batch_id)
VALUES (%s, %s, %s, 'towers', %s, %s) RETURNING id
"""
TOWERS = """
INSERT INTO coverage_tower (version_id, radius_m, geom)
SELECT %s, %s, ST_SetSRID(ST_MakePoint(lon, lat), 4326)
FROM unnest(%s::float8[], %s::float8[]) AS t(lon, lat)
"""
# quad_segs=16: the 64-gon reaches within 0.12 % of the radius (5 m at 4 km).
COVERAGE = """
INSERT INTO coverage (operator, technology, source, observed_on, tier, version_id, import_batch_id, geom)
SELECT %(operator)s, %(technology)s, %(source)s, %(valid_from)s, %(tier)s, %(version)s, %(batch)s,
       ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(
           ST_Buffer(t.geom::geography, t.radius_m, 'quad_segs=16')::geometry)), 3))
FROM coverage_tower t WHERE t.version_id = %(version)s
"""


def _refuse(vi: str, en: str, hint_vi: str = "", hint_en: str = "") -> InvalidInput:
    return InvalidInput(vi, en, hint_vi=hint_vi, hint_en=hint_en)


def import_towers(
    conn: psycopg.Connection,
    *,
    operator: str,
    technology: str,
    towers: Sequence[tuple[float, float]],
    valid_from: dt.date | None = None,
    radius_m: float | None = None,
    tier: str | None = None,
    source: str | None = None,
    user: str = "cli",
) -> int:
    """Store ``towers`` (WGS84 lon, lat) of ``operator``'s ``technology`` as a new coverage
    version (radius from coverage_tower_radius unless given); returns the version id."""
    if not operator or not operator.strip():
        raise _refuse("Thiếu tên nhà mạng.", "The operator is missing.")
    if technology not in MOBILE:
        raise _refuse(
            f"Trạm phát sóng chỉ cho mạng di động, không cho '{technology}'.",
            f"Towers are for mobile technologies only, not '{technology}'.",
            "Chọn 2G, 3G, 4G hoặc 5G.", "Choose 2G, 3G, 4G or 5G.",
        )  # fmt: skip
    if not towers:
        raise _refuse("Không có trạm nào.", "No tower given.")
    bad = [
        i + 1
        for i, (lon, lat) in enumerate(towers)
        if not (
            math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90
        )
    ]
    if bad:
        listed = ", ".join(map(str, bad[:10]))
        raise _refuse(
            f"Tọa độ trạm không hợp lệ (dòng {listed}).", f"Invalid tower coordinates (rows {listed}).",
            "Dùng kinh độ, vĩ độ WGS84.", "Use WGS84 longitude, latitude.",
        )  # fmt: skip
    if radius_m is not None and not (math.isfinite(radius_m) and 0 < radius_m <= 100_000):
        raise _refuse(
            "Bán kính phải lớn hơn 0 và không quá 100 km.",
            "The radius must be over 0 and at most 100 km.",
        )
    with conn.transaction():
        if radius_m is None:
            row = conn.execute(RADIUS, (technology,)).fetchone()
            if row is None:
                raise _refuse(
                    f"Chưa có bán kính cho {technology} trong bảng coverage_tower_radius.",
                    f"No radius for {technology} in coverage_tower_radius.",
                )
            radius_m = float(row[0])
        batch = record_batch(
            conn, layer="coverage", source=source or f"towers {operator} {technology}",
            crs="EPSG:4326", encoding="-", counts=(len(towers), len(towers), 0, 0), user=user,
        )  # fmt: skip
        valid_from = valid_from or dt.date.today()
        version = conn.execute(
            VERSION, (operator, technology, valid_from, source, batch)
        ).fetchone()[0]
        lons = [float(t[0]) for t in towers]
        lats = [float(t[1]) for t in towers]
        conn.execute(TOWERS, (version, radius_m, lons, lats))
        try:
            with conn.transaction():
                conn.execute(
                    COVERAGE,
                    {"operator": operator, "technology": technology, "source": source,
                     "valid_from": valid_from, "tier": tier, "version": version, "batch": batch},
                )  # fmt: skip
        except pg_errors.ForeignKeyViolation as exc:
            raise _refuse(
                f"Không có cấp dịch vụ '{tier}'.", f"Unknown service tier '{tier}'.",
                "Xem bảng coverage_tier.", "See the coverage_tier table.",
            ) from exc  # fmt: skip
    return version


RADII = "SELECT technology, radius_m, source FROM coverage_tower_radius ORDER BY technology"
SET_RADIUS = """
INSERT INTO coverage_tower_radius (technology, radius_m, source) VALUES (%s, %s, %s)
ON CONFLICT (technology) DO UPDATE SET radius_m = EXCLUDED.radius_m, source = EXCLUDED.source
"""


def tower_radii(conn: psycopg.Connection) -> list[tuple[str, float, str]]:
    """The radius of a tower's coverage per technology (coverage_tower_radius)."""
    return [(t, float(r), s) for t, r, s in conn.execute(RADII).fetchall()]


def set_tower_radius(
    conn: psycopg.Connection, *, technology: str, radius_m: float, source: str
) -> None:
    """Change the radius used by later tower imports of ``technology`` (imports already made
    keep theirs: each tower stores its radius)."""
    if technology not in MOBILE:
        raise _refuse(
            f"Bán kính trạm chỉ cho mạng di động, không cho '{technology}'.",
            f"Tower radii are for mobile technologies only, not '{technology}'.",
            "Chọn 2G, 3G, 4G hoặc 5G.", "Choose 2G, 3G, 4G or 5G.",
        )  # fmt: skip
    if not (math.isfinite(radius_m) and 0 < radius_m <= 100_000):
        raise _refuse(
            "Bán kính phải lớn hơn 0 và không quá 100 km.",
            "The radius must be over 0 and at most 100 km.",
        )
    with conn.transaction():
        conn.execute(SET_RADIUS, (technology, radius_m, source))
