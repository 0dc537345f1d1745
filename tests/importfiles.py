"""Files for the web import tests, made the way a commune ships them: a zipped shapefile of
households whose head-of-household column has a name the importer does not know."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import psycopg
from shapely.geometry import Point

HEAD_COLUMN = "DAI_DIEN"  # not an alias of head_name: the officer maps it in the preview


def village_points(url: str, commune: str, n: int = 3) -> list[tuple[str, float, float]]:
    """A point well inside each of ``n`` stored villages of ``commune``: (code, lon, lat)."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT code, ST_X(p), ST_Y(p) FROM (SELECT code, "
            "ST_PointOnSurface(geom) AS p FROM village WHERE commune_code = %s ORDER BY code "
            "LIMIT %s) v",
            (commune, n),
        ).fetchall()


def points_in_villages(url: str, commune: str, per_village: int) -> list[tuple[str, float, float]]:
    """``per_village`` random points inside every stored village of ``commune`` (seeded)."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT code, ST_X(p.geom), ST_Y(p.geom) FROM village v, "
            "ST_Dump(ST_GeneratePoints(v.geom, %s, 15)) p WHERE v.commune_code = %s "
            "ORDER BY v.code, p.path",
            (per_village, commune),
        ).fetchall()


def households_zip(
    folder: Path, points: list[tuple[str, float, float]], *, tag: str, outside: bool = False
) -> Path:
    """A zipped shapefile (WGS84, UTF-8 .cpg) of one household per point, coded
    ``{tag}-1``…; with ``outside`` one more household far outside every village."""
    rows = [
        {"MA_HO": f"{tag}-{i + 1}", HEAD_COLUMN: f"Nguyễn Văn Thử {i + 1}", "CAP_QUANG": "có",
         "geometry": Point(lon, lat)}
        for i, (_, lon, lat) in enumerate(points)
    ]  # fmt: skip
    if outside:
        rows.append({"MA_HO": f"{tag}-X", HEAD_COLUMN: "Ở Ngoài", "CAP_QUANG": "không",
                     "geometry": Point(105.2, 21.9)})  # fmt: skip
    shp = folder / f"ho_{tag}.shp"
    gpd.GeoDataFrame(rows, crs="EPSG:4326").to_file(shp, encoding="utf-8")
    zipped = folder / f"ho_gia_dinh_{tag}.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for part in folder.glob(f"ho_{tag}.*"):
            zf.write(part, part.name)
    return zipped
