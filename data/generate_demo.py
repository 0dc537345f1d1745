"""Deterministic generator of the demo commune (synthetic, modelled on Gia Phú, Lào Cai)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import sys
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyogrio
import rasterio
import rasterio.shutil
import shapely
import shapely.affinity
from pyogrio.raw import write as ogr_write
from pyproj import Geod, Transformer
from rasterio.io import MemoryFile
from rasterio.transform import from_origin
from shapely.geometry import LineString, MultiPoint, MultiPolygon, Point, Polygon
from shapely.geometry.polygon import orient

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "data" / "shapefiles"
CRS = "EPSG:9208"  # VN-2000 / TM-3 104°45′, Lào Cai's provincial zone

# Statistics-office codes, looked up in the PyPI package vietnam-provinces:
# 2025.10.1 (after the 1 July 2025 reform) and 0.6.0 (before it).
PROVINCE_CODE = "15"  # new Lào Cai (Lào Cai + Yên Bái), which took Yên Bái's code
OLD_PROVINCE_CODE = "10"  # Lào Cai before 1 July 2025
OLD_DISTRICT_CODE = "086"  # Bảo Thắng district, abolished 1 July 2025
COMMUNE_CODE = "02923"  # Xã Gia Phú kept its code
OLD_COMMUNE_CODE = "02923"
COMMUNE_NAME = "Gia Phú"
PROVINCE_NAME = "Lào Cai"

CENTRE = (104.07, 22.37)  # WGS84 lon, lat
COMMUNE_KM2 = 42.24
HOUSEHOLDS = 2626
FIBRE_SHARE = 0.813  # households with a fibre subscription (seed figure)
GRID_M = 50.0
NODATA = -9999.0
# DBF "last update" header bytes (years since 1900, month, day): fixed so reruns are byte-equal.
DBF_DATE = bytes([122, 8, 2])
GPKG_DATE = "2024-01-01T00:00:00.000Z"

# Invented names; every capital letter exists precomposed in TCVN3 (thon.shp is TCVN3).
VILLAGE_NAMES = (
    "Cóc Sa", "Phú Hải 1", "Phú Hải 2", "Phú Thịnh", "Đồng Tâm", "Làng Cũ", "Bến Phà",
    "Tân Lợi", "Bản Khởi", "Cốc Lầy", "Làng Bông", "Ải Dưới", "Nậm Củn", "Khe Mụ",
)  # fmt: skip

# A field GPS unit's export: VN-2000 TM-3 metres, but no datum named.
GPS_PRJ = (
    'PROJCS["Transverse_Mercator",GEOGCS["GCS_unknown",DATUM["D_unknown",'
    'SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",104.75],PARAMETER["Scale_Factor",0.9999],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)

# crop: (count, median ha, log-sd, aspect range, wanted distance to houses in m)
CROPS: dict[str, tuple[int, float, float, tuple[float, float], tuple[float, float]]] = {
    "Lúa": (40, 0.55, 0.6, (1.5, 3.5), (60.0, 700.0)),
    "Chè": (22, 1.6, 0.5, (1.0, 2.0), (350.0, 1e9)),
    "Quế": (22, 2.0, 0.5, (1.0, 2.2), (450.0, 1e9)),
    "Chuối": (14, 0.9, 0.5, (1.0, 2.0), (80.0, 1500.0)),
    "Dứa": (10, 1.0, 0.5, (1.0, 2.2), (80.0, 1500.0)),
    "Ngô": (12, 0.7, 0.5, (1.2, 2.5), (60.0, 1200.0)),
}
COOPERATIVES = {
    "Lúa": ("HTX Nông nghiệp Gia Phú", 0.5),
    "Chè": ("HTX Chè Gia Phú", 0.6),
    "Quế": ("HTX Quế Gia Phú", 0.6),
    "Chuối": ("HTX Dịch vụ nông nghiệp Gia Phú", 0.5),
    "Dứa": ("Tổ hợp tác dứa Phú Hải", 0.4),
    "Ngô": ("HTX Nông nghiệp Gia Phú", 0.3),
}

SURVEY = "Điều tra nông hóa 2023"
# property: (median, spread, decimals, grades as (lower bound, grade) from the top). pH(KCl)
# is normal (spread = sd); the others are positive and log-normal (spread = sd of the log).
# OM and pH(KCl) grades follow DOMAIN.md (layers/soil_grades.json); N, P2O5, K2O use the usual
# Vietnamese three-class scales (total N %, available P2O5 and K2O in mg/100 g).
SOIL: dict[str, tuple[float, float, int, tuple[tuple[float, str], ...]]] = {
    "ph_kcl": (4.8, 0.45, 2, ((6.5, "trung tính"), (5.5, "ít chua"), (4.5, "chua"), (-1e9, "rất chua"))),
    "om": (2.8, 0.35, 2, ((6.0, "rất giàu"), (4.3, "giàu"), (2.2, "trung bình"), (1.0, "nghèo"), (-1e9, "rất nghèo"))),
    "n": (0.14, 0.15, 3, ((0.2, "giàu"), (0.1, "trung bình"), (-1e9, "nghèo"))),
    "p2o5": (9.0, 0.4, 1, ((15.0, "giàu"), (10.0, "trung bình"), (-1e9, "nghèo"))),
    "k2o": (12.0, 0.4, 1, ((20.0, "giàu"), (10.0, "trung bình"), (-1e9, "nghèo"))),
}  # fmt: skip

FAMILY = (
    ("Nguyễn", 20), ("Trần", 6), ("Lê", 6), ("Phạm", 5), ("Hoàng", 6), ("Vũ", 4), ("Đỗ", 3),
    ("Bùi", 3), ("Đặng", 4), ("Ngô", 2), ("Lương", 2), ("Hà", 4), ("Lò", 3), ("Lý", 4),
    ("Triệu", 3), ("Bàn", 3), ("Giàng", 2), ("Vàng", 2), ("La", 2), ("Nông", 3), ("Phan", 3),
)  # fmt: skip
MALE_MIDDLE = ("Văn", "Văn", "Văn", "Đức", "Quang", "Minh", "Xuân", "Hữu", "Ngọc", "Thanh")
MALE_GIVEN = (
    "Hùng", "Dũng", "Tuấn", "Hải", "Long", "Nam", "Sơn", "Thắng", "Cường", "Hòa", "Bình",
    "Phúc", "Quý", "Trung", "Tiến", "Thành", "Lâm", "Hưng", "Toàn", "Khánh", "Chiến", "Định",
    "Lực", "Mạnh", "Sinh", "Tài", "Vượng", "Chính", "Dương", "Hiếu", "Ước", "Chung",
)  # fmt: skip
FEMALE_MIDDLE = ("Thị", "Thị", "Thị", "Thị Thu", "Thị Thanh", "Thị Minh")
FEMALE_GIVEN = (
    "Lan", "Hoa", "Hương", "Mai", "Hạnh", "Thủy", "Nga", "Hiền", "Liên", "Huệ", "Phượng",
    "Yến", "Thu", "Tâm", "Dung", "Nhung", "Hằng", "Loan",
)  # fmt: skip
# Mobile prefixes of Viettel, VNPT (VinaPhone) and MobiFone.
PHONE_PREFIXES = (
    "096", "097", "098", "086", "032", "033", "034", "035", "036", "037", "038", "039",
    "091", "094", "088", "081", "082", "083", "084", "085", "090", "093", "089",
)  # fmt: skip


@dataclass
class Village:
    code: str
    name: str
    centre: Point
    polygon: Polygon
    has_fibre: bool = True


@dataclass
class Household:
    code: str
    head: str
    phone: str
    village: Village
    point: Point
    fibre: bool = False


# --- CRS helpers ---------------------------------------------------------------------------


@lru_cache
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _reproject(geom, src: str, dst: str):
    t = _transformer(src, dst)
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def _geodesic_m2(geom) -> float:
    # VN-2000 uses the WGS84 ellipsoid, so the area needs no datum shift.
    geographic = _reproject(geom, CRS, "EPSG:4756")
    return abs(Geod(ellps="WGS84").geometry_area_perimeter(geographic)[0])


def _scale_to_area(geom, target_m2: float, origin: Point | None = None):
    origin = origin or geom.centroid
    for _ in range(2):
        factor = math.sqrt(target_m2 / _geodesic_m2(geom))
        geom = shapely.affinity.scale(geom, factor, factor, origin=origin)
    return geom


# --- commune and villages ------------------------------------------------------------------


def _commune(rng: np.random.Generator) -> Polygon:
    """An irregular star-shaped outline: a few random harmonics of the radius."""
    cx, cy = _reproject(Point(CENTRE), "EPSG:4326", CRS).coords[0]
    theta = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    log_r = np.zeros_like(theta)
    for k in range(1, 6):
        log_r += rng.normal(0, 0.14 / k) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    log_r += rng.normal(0, 0.025, theta.size)
    r = 3600.0 * np.exp(log_r)
    ring = np.column_stack([cx + r * np.cos(theta), cy + r * np.sin(theta)])
    return _scale_to_area(Polygon(ring), COMMUNE_KM2 * 1e6, origin=Point(cx, cy))


def _spread_points(rng: np.random.Generator, area: Polygon, n: int, min_dist: float) -> list[Point]:
    """Rejection sampling with a minimum spacing, relaxed if it cannot fit ``n`` points."""
    minx, miny, maxx, maxy = area.bounds
    points: list[Point] = []
    tries = 0
    while len(points) < n:
        tries += 1
        if tries % 5000 == 0:
            min_dist *= 0.9
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if area.contains(p) and all(p.distance(q) >= min_dist for q in points):
            points.append(p)
    return points


def _voronoi_cells(seeds: Sequence[Point], clip: Polygon) -> list:
    """Voronoi cells of ``seeds`` clipped to ``clip``, in the order of ``seeds``."""
    cells = shapely.voronoi_polygons(MultiPoint(list(seeds)), extend_to=clip).geoms
    by_seed = []
    for seed in seeds:
        cell = next(c for c in cells if c.contains(seed))
        by_seed.append(cell.intersection(clip))
    return by_seed


def _single_parts(cells: list, seeds: Sequence[Point]) -> list[Polygon]:
    """Give a cell's detached fragments to the neighbour sharing most border with them."""
    cores = []
    strays = []
    for cell, seed in zip(cells, seeds, strict=True):
        parts = list(getattr(cell, "geoms", [cell]))
        core = next(p for p in parts if p.contains(seed))
        cores.append(core)
        strays += [p for p in parts if p is not core and p.area > 0]
    for stray in strays:
        shared = [stray.buffer(0.5).intersection(c).area for c in cores]
        i = int(np.argmax(shared))
        cores[i] = shapely.union(cores[i], stray)
    return [shapely.make_valid(c) if not c.is_valid else c for c in cores]


def _villages(rng: np.random.Generator, commune: Polygon) -> list[Village]:
    seeds = _spread_points(rng, commune.buffer(-350), len(VILLAGE_NAMES), 1300.0)
    seeds.sort(key=lambda p: (-round(p.y, 3), p.x))  # numbered north to south
    polygons = _single_parts(_voronoi_cells(seeds, commune), seeds)
    return [
        Village(f"{COMMUNE_CODE}-{i + 1:02d}", name, seed, shapely.normalize(poly))
        for i, (name, seed, poly) in enumerate(zip(VILLAGE_NAMES, seeds, polygons, strict=True))
    ]


def _dead_zone(commune: Polygon, villages: list[Village]) -> tuple[Polygon, Point, Village]:
    """The remote corner no 4G reaches: round the boundary point farthest from the centre."""
    centre = commune.centroid
    corner = max((Point(c) for c in commune.exterior.coords), key=centre.distance)
    line = LineString([corner, centre])
    hamlet = line.interpolate(650.0)
    village = next(v for v in villages if v.polygon.contains(hamlet))
    zone = village.polygon.intersection(hamlet.buffer(950.0, quad_segs=6))
    if zone.geom_type != "Polygon":
        zone = max(zone.geoms, key=lambda g: g.area)
    return shapely.normalize(zone.simplify(5.0)), hamlet, village


# --- households ----------------------------------------------------------------------------


def _household_counts(rng: np.random.Generator, n_villages: int) -> list[int]:
    floor = 90
    weights = rng.gamma(6.0, size=n_villages)
    share = weights / weights.sum() * (HOUSEHOLDS - floor * n_villages)
    counts = np.floor(share).astype(int)
    for i in np.argsort(-(share - counts))[: HOUSEHOLDS - floor * n_villages - counts.sum()]:
        counts[i] += 1
    return [int(c) + floor for c in counts]


def _village_road(rng: np.random.Generator, centre: Point) -> LineString:
    """A bent road through the village centre, along which houses line up."""
    angle = rng.uniform(0, np.pi)
    half = rng.uniform(400, 800)
    ends = []
    for sign in (1, -1):
        a = angle + rng.normal(0, 0.35) + (0 if sign == 1 else np.pi)
        ends.append((centre.x + half * np.cos(a), centre.y + half * np.sin(a)))
    return LineString([ends[0], centre.coords[0], ends[1]])


def _cluster(
    rng: np.random.Generator,
    centre: Point,
    area: Polygon,
    n: int,
    taken: dict[tuple[int, int], list[Point]],
    road_share: float = 0.7,
    spread: float = 110.0,
) -> list[Point]:
    """``n`` houses along a village road and round its centre, at least 8 m apart."""
    road = _village_road(rng, centre)
    inside = area.buffer(-10.0)
    shapely.prepare(inside)
    points: list[Point] = []
    while len(points) < n:
        if rng.random() < road_share:
            base = road.interpolate(rng.uniform(0, road.length))
            p = Point(base.x + rng.normal(0, 22), base.y + rng.normal(0, 22))
        else:
            p = Point(centre.x + rng.normal(0, spread), centre.y + rng.normal(0, spread))
        if not inside.contains(p):
            continue
        key = (int(p.x // 8), int(p.y // 8))
        near = [
            q
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for q in taken.get((key[0] + dx, key[1] + dy), [])
        ]
        if any(p.distance(q) < 8.0 for q in near):
            continue
        taken.setdefault(key, []).append(p)
        points.append(p)
    return points


def _weighted_choice(rng: np.random.Generator, pairs: Sequence[tuple[str, int]]) -> str:
    weights = np.array([w for _, w in pairs], dtype=float)
    return pairs[int(rng.choice(len(pairs), p=weights / weights.sum()))][0]


def _person_name(rng: np.random.Generator) -> str:
    family = _weighted_choice(rng, FAMILY)
    if rng.random() < 0.8:  # most registered household heads are men
        middle, given = rng.choice(MALE_MIDDLE), rng.choice(MALE_GIVEN)
    else:
        middle, given = rng.choice(FEMALE_MIDDLE), rng.choice(FEMALE_GIVEN)
    return f"{family} {middle} {given}"


def _phone(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        number = str(rng.choice(PHONE_PREFIXES)) + "".join(str(d) for d in rng.integers(0, 10, 7))
        if number not in used:
            used.add(number)
            return number


def _households(
    rng: np.random.Generator,
    villages: list[Village],
    dead_zone: Polygon,
    hamlet: Point,
    dead_village: Village,
) -> list[Household]:
    counts = _household_counts(rng, len(villages))
    taken: dict[tuple[int, int], list[Point]] = {}
    phones: set[str] = set()
    households: list[Household] = []
    for village, n in zip(villages, counts, strict=True):
        if village is dead_village:
            # A remote hamlet (xóm) inside the dead zone, the rest round the village centre.
            n_hamlet = round(n * 0.35)
            points = _cluster(rng, hamlet, dead_zone, n_hamlet, taken, 0.6, 90.0)
            points += _cluster(rng, village.centre, village.polygon, n - n_hamlet, taken)
        else:
            points = _cluster(rng, village.centre, village.polygon, n, taken)
        for j, p in enumerate(points):
            code = f"GP-{village.code[-2:]}-{j + 1:04d}"
            head = _person_name(rng)
            households.append(Household(code, head, _phone(rng, phones), village, p))
    with_fibre_village = [i for i, h in enumerate(households) if h.village.has_fibre]
    chosen = rng.choice(with_fibre_village, round(HOUSEHOLDS * FIBRE_SHARE), replace=False)
    for i in sorted(int(c) for c in chosen):
        households[i].fibre = True
    return households


def _built_up(households: list[Household], village: Village) -> Polygon | MultiPolygon:
    """Where a village's houses stand: their 45 m buffers, closed and simplified."""
    points = [h.point for h in households if h.village is village]
    blob = shapely.union_all(shapely.buffer(points, 45.0, quad_segs=2))
    blob = blob.buffer(40.0, quad_segs=2).buffer(-40.0, quad_segs=2).simplify(15.0)
    return shapely.normalize(blob.intersection(village.polygon))


# --- growing areas -------------------------------------------------------------------------


def _field_shape(rng: np.random.Generator, centre: Point, area_m2: float, aspect: float) -> Polygon:
    """A jittered rectangle, or a pentagon with one side pushed out: what fields look like."""
    width = math.sqrt(area_m2 / aspect)
    length = width * aspect
    corners = np.array(
        [(-length / 2, -width / 2), (length / 2, -width / 2), (length / 2, width / 2),
         (-length / 2, width / 2)]
    )  # fmt: skip
    corners += rng.normal(0, 0.06 * width, corners.shape)
    ring = [tuple(c) for c in corners]
    if rng.random() < 0.35:
        side = int(rng.integers(0, 4))
        mid = (corners[side] + corners[(side + 1) % 4]) / 2
        mid = mid + mid / np.linalg.norm(mid) * rng.uniform(0.12, 0.3) * width
        ring.insert(side + 1, tuple(mid))
    poly = Polygon(ring)
    poly = shapely.affinity.rotate(poly, rng.uniform(0, 180), origin=(0, 0))
    return shapely.affinity.translate(poly, centre.x, centre.y)


def _area_targets(rng: np.random.Generator) -> list[tuple[str, float, float]]:
    """(crop, ha, aspect) for every area, largest first so they pack easily."""
    targets = []
    for crop, (count, median, sd, aspect, _) in CROPS.items():
        ha = np.clip(median * np.exp(rng.normal(0, sd, count)), 0.1001, 3.9)
        for h in ha:
            targets.append((crop, float(h), float(rng.uniform(*aspect))))
    for i, crop in enumerate(("Quế", "Quế", "Chè", "Quế", "Chè")):  # a few over 4 ha
        j = next(k for k, t in enumerate(targets) if t[0] == crop and t[1] < 4.0 and k >= i)
        targets[j] = (crop, float(rng.uniform(4.05, 4.95)), targets[j][2])
    for crop in ("Lúa", "Lúa"):  # the smallest registered plots are about 0.1 ha
        j = next(k for k, t in enumerate(targets) if t[0] == crop and t[1] > 0.12)
        targets[j] = (crop, float(rng.uniform(0.1001, 0.1099)), targets[j][2])
    return sorted(targets, key=lambda t: -t[1])


def _growing_areas(
    rng: np.random.Generator, commune: Polygon, households: list[Household]
) -> list[tuple[str, Polygon]]:
    inner = commune.buffer(-15.0)
    settled = shapely.union_all(shapely.buffer([h.point for h in households], 50.0, quad_segs=2))
    shapely.prepare(inner)
    shapely.prepare(settled)
    houses = shapely.STRtree([h.point for h in households])
    planar_ratio = commune.area / _geodesic_m2(commune)
    minx, miny, maxx, maxy = commune.bounds
    placed: list[tuple[str, Polygon]] = []
    guards: list[Polygon] = []
    for crop, ha, aspect in _area_targets(rng):
        near, far = CROPS[crop][4]
        for _ in range(20000):
            centre = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            _, dist = houses.query_nearest(centre, return_distance=True)
            if not near <= float(dist[0]) <= far:
                continue
            poly = _field_shape(rng, centre, ha * 1e4 * planar_ratio, aspect)
            if not inner.contains(poly) or settled.intersects(poly):
                continue
            if any(poly.intersects(g) for g in guards):
                continue
            poly = _scale_to_area(poly, ha * 1e4)
            placed.append((crop, shapely.normalize(poly)))
            guards.append(poly.buffer(8.0, quad_segs=1))
            break
        else:
            raise RuntimeError(f"no room for a {ha:.2f} ha {crop} area")
    return placed


def _growing_area_rows(
    rng: np.random.Generator, areas: list[tuple[str, Polygon]], households: list[Household]
) -> list[dict]:
    start, end = dt.date(2021, 1, 4), dt.date(2025, 6, 30)  # codes issued before the reform
    rows = []
    for crop, poly in areas:
        coop, coop_share = COOPERATIVES[crop]
        ha = _geodesic_m2(poly) / 1e4
        if rng.random() < coop_share:
            owner, members = coop, max(2, round(ha * rng.uniform(4, 9)))
        else:
            nearest = min(households, key=lambda h: h.point.distance(poly))
            owner, members = nearest.head, 1
        issued = start + dt.timedelta(days=int(rng.integers(0, (end - start).days + 1)))
        rows.append(
            {"crop": crop, "geom": poly, "ha": round(ha, 4), "owner": owner,
             "members": members, "status": "hoạt động", "issued": issued}
        )  # fmt: skip
    picks = rng.choice(len(rows), 6, replace=False)
    for i in picks[:5]:
        rows[int(i)]["status"] = "tạm dừng"
    rows[int(picks[5])]["status"] = "thu hồi"
    # Serials restart each year so the two-digit serial never runs out.
    rows.sort(key=lambda r: (r["issued"], r["ha"]))
    serial: dict[int, int] = {}
    for r in rows:
        year = r["issued"].year
        serial[year] = serial.get(year, 0) + 1
        r["code"] = (
            f"VN-{OLD_PROVINCE_CODE}-{OLD_DISTRICT_CODE}-{OLD_COMMUNE_CODE}"
            f"-{serial[year]:02d}-{year % 100:02d}"
        )
    return rows


# --- soil ----------------------------------------------------------------------------------


def _grid(commune: Polygon) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float]]:
    """Cell-centre coordinates of the 50 m raster, and which cells lie in the commune."""
    minx, miny, maxx, maxy = commune.bounds
    x0 = math.floor(minx / GRID_M) * GRID_M - GRID_M
    y1 = math.ceil(maxy / GRID_M) * GRID_M + GRID_M
    nx = int(math.ceil((maxx - x0) / GRID_M)) + 1
    ny = int(math.ceil((y1 - miny) / GRID_M)) + 1
    xs = x0 + (np.arange(nx) + 0.5) * GRID_M
    ys = y1 - (np.arange(ny) + 0.5) * GRID_M
    gx, gy = np.meshgrid(xs, ys)
    inside = shapely.contains_xy(commune, gx, gy)
    return gx, gy, inside, (x0, y1)


def _smooth_field(
    rng: np.random.Generator, gx: np.ndarray, gy: np.ndarray, inside: np.ndarray
) -> np.ndarray:
    """A spatially correlated field: a sum of Gaussian bumps, standardised inside the commune."""
    x0, x1 = gx.min() - 1000, gx.max() + 1000
    y0, y1 = gy.min() - 1000, gy.max() + 1000
    field = np.zeros_like(gx)
    for _ in range(30):
        bx, by = rng.uniform(x0, x1), rng.uniform(y0, y1)
        sigma = rng.uniform(400, 1200)
        field += rng.normal() * np.exp(-((gx - bx) ** 2 + (gy - by) ** 2) / (2 * sigma**2))
    values = field[inside]
    return (field - values.mean()) / values.std()


def _soil_grids(rng: np.random.Generator, commune: Polygon) -> dict[str, np.ndarray]:
    gx, gy, inside, _ = _grid(commune)
    grids: dict[str, np.ndarray] = {}
    for prop, (median, spread, _, _) in SOIL.items():
        z = _smooth_field(rng, gx, gy, inside)
        if prop == "ph_kcl":
            values = median + spread * z
        elif prop == "n":  # total nitrogen is about a twentieth of organic matter
            values = grids["om"] / SOIL["om"][0] * median * np.exp(spread * z)
        else:
            values = median * np.exp(spread * z)
        grids[prop] = np.where(inside, values, NODATA)
    return grids


def _grade(prop: str, value: float) -> str:
    return next(g for low, g in SOIL[prop][3] if value >= low)


def _soil_zones(
    rng: np.random.Generator, commune: Polygon, grids: dict[str, np.ndarray]
) -> list[dict]:
    """Sample-point Voronoi cells graded per property, merged by grade into zones."""
    gx, gy, inside, _ = _grid(commune)
    samples = _spread_points(rng, commune.buffer(-100), 72, 500.0)
    cells = [c for c in _voronoi_cells(samples, commune) if not c.is_empty]
    masks = [shapely.contains_xy(c, gx, gy) & inside for c in cells]
    zones = []
    for prop, (_, _, decimals, grades) in SOIL.items():
        cell_values = [
            _mean_in(grids[prop], m, gx, gy, c) for m, c in zip(masks, cells, strict=True)
        ]
        for _, grade in grades:
            members = [
                c for c, v in zip(cells, cell_values, strict=True) if _grade(prop, v) == grade
            ]
            if not members:
                continue
            merged = shapely.union_all(members)
            parts = sorted(getattr(merged, "geoms", [merged]), key=lambda g: -g.area)
            for part in parts:
                if part.geom_type != "Polygon" or part.area < 1.0:
                    continue
                mask = shapely.contains_xy(part, gx, gy) & inside
                value = _mean_in(grids[prop], mask, gx, gy, part)
                zones.append(
                    {"CHI_TIEU": prop, "GIA_TRI": round(float(value), decimals), "CAP": grade,
                     "DOT_DIEU_TRA": SURVEY, "geometry": shapely.normalize(part)}
                )  # fmt: skip
    return zones


def _mean_in(grid: np.ndarray, mask: np.ndarray, gx: np.ndarray, gy: np.ndarray, geom) -> float:
    """Mean of the raster cells centred in ``geom``; a sliver holds none, so take the nearest."""
    if mask.any():
        return float(grid[mask].mean())
    p = geom.representative_point()
    d = np.where(grid != NODATA, (gx - p.x) ** 2 + (gy - p.y) ** 2, np.inf)
    return float(grid.flat[int(np.argmin(d))])


# --- coverage ------------------------------------------------------------------------------


def _coverage(
    rng: np.random.Generator,
    commune: Polygon,
    villages: list[Village],
    households: list[Household],
    dead_zone: Polygon,
) -> list[dict]:
    """4G by operator (none in the dead zone) and fibre round villages' houses."""
    minx, miny, maxx, maxy = commune.bounds
    centre = commune.centroid

    def holes(n: int, radius: tuple[float, float]):
        pts = _spread_points(rng, commune.buffer(-500), n, 1500.0)
        return shapely.union_all([p.buffer(rng.uniform(*radius), quad_segs=4) for p in pts])

    def mobile(geom):
        geom = geom.simplify(15.0).intersection(commune)
        return geom.difference(dead_zone.buffer(30.0, quad_segs=2))

    viettel_4g = mobile(commune)
    vnpt_4g = mobile(commune.difference(holes(3, (450.0, 750.0))))
    towers = [centre, Point(centre.x + rng.uniform(-800, 800), miny + 0.3 * (maxy - miny))]
    mobifone_4g = mobile(shapely.union_all([t.buffer(2000.0, quad_segs=6) for t in towers]))

    built = {v.code: _built_up(households, v) for v in villages}
    fibre_villages = [v for v in villages if v.has_fibre]
    viettel_fibre_idx = sorted(rng.choice(len(fibre_villages), 6, replace=False).tolist())
    # Each network stays inside its village, so counting villages with fibre gives 12 of 14.
    vnpt_fibre = shapely.union_all(
        [built[v.code].buffer(40.0, 2).intersection(v.polygon) for v in fibre_villages]
    )
    viettel_fibre = shapely.union_all(
        [
            built[v.code].buffer(20.0, 2).intersection(v.polygon)
            for v in (fibre_villages[i] for i in viettel_fibre_idx)
        ]
    )
    operator, survey = "Số liệu nhà mạng", "Khảo sát thực địa 2024"
    rows = [
        ("Viettel", "4G", operator, dt.date(2024, 6, 30), viettel_4g),
        ("VNPT", "4G", survey, dt.date(2024, 5, 14), vnpt_4g),
        ("MobiFone", "4G", operator, dt.date(2024, 3, 31), mobifone_4g),
        ("VNPT", "fibre", survey, dt.date(2024, 5, 16), vnpt_fibre.intersection(commune)),
        ("Viettel", "fibre", operator, dt.date(2024, 6, 30), viettel_fibre.intersection(commune)),
    ]
    return [
        {"nha_mang": op, "cong_nghe": tech, "nguon": src, "ngay_do": day.isoformat(),
         "geometry": shapely.normalize(shapely.make_valid(g))}
        for op, tech, src, day, g in rows
    ]  # fmt: skip


# --- writers -------------------------------------------------------------------------------


def encode_tcvn3(text: str) -> bytes:
    """TCVN3 bytes of ``text``; geo.textenc.encode_legacy when it exists, else its table."""
    try:
        from geo import textenc
    except ImportError:
        sys.path.insert(0, str(ROOT))
        from geo import textenc
    encode_legacy: Callable | None = getattr(textenc, "encode_legacy", None)
    if encode_legacy is not None:
        out = encode_legacy(text, "tcvn3")
        return out if isinstance(out, bytes) else out.encode("latin-1")
    # glibc's TCVN5712-1 table holds every precomposed letter, capitals included.
    inverse = {ch: byte for byte, ch in textenc.TCVN3_TABLE.items()}
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        if ord(ch) < 0x80:
            out.append(ord(ch))
        elif ch in inverse:
            out.append(inverse[ch])
        else:
            raise ValueError(f"{ch!r} in {text!r} has no TCVN3 byte")
    return bytes(out)


def _decode_tcvn3(raw: bytes) -> str:
    from geo.textenc import TCVN3_TABLE

    return unicodedata.normalize("NFC", "".join(TCVN3_TABLE.get(b, chr(b)) for b in raw))


def _write_shapefile(
    path: Path,
    geoms: Sequence,
    fields: dict[str, Sequence],
    crs: str | None,
    encoding: str | None = None,
) -> Path:
    for old in path.parent.glob(path.stem + ".*"):
        old.unlink()
    data = []
    for values in fields.values():
        first = values[0]
        if isinstance(first, dt.date):
            data.append(np.array([v.isoformat() for v in values], dtype="datetime64[D]"))
        elif isinstance(first, int):
            data.append(np.array(values, dtype="int32"))
        elif isinstance(first, float):
            data.append(np.array(values, dtype="float64"))
        else:
            data.append(np.array(values, dtype=object))
    ogr_write(
        str(path), geometry=shapely.to_wkb(np.array(geoms, dtype=object)), field_data=data,
        fields=list(fields), crs=crs, encoding=encoding, geometry_type="Polygon",
        driver="ESRI Shapefile",
    )  # fmt: skip
    with path.with_suffix(".dbf").open("r+b") as dbf:
        dbf.seek(1)
        dbf.write(DBF_DATE)
    return path


def _write_commune(out: Path, commune: Polygon) -> Path:
    fields = {
        "MA_TINH": [PROVINCE_CODE], "MA_TINH_CU": [OLD_PROVINCE_CODE],
        "MA_XA": [COMMUNE_CODE], "MA_XA_CU": [OLD_COMMUNE_CODE], "MA_HUYEN": [OLD_DISTRICT_CODE],
        "TEN_XA": [COMMUNE_NAME], "TEN_TINH": [PROVINCE_NAME],
    }  # fmt: skip
    return _write_shapefile(out / "ranh_gioi_xa.shp", [commune], fields, CRS)


def _write_villages(out: Path, villages: list[Village]) -> Path:
    names = []
    for v in villages:
        raw = encode_tcvn3(v.name)
        if _decode_tcvn3(raw) != v.name:
            raise ValueError(f"{v.name!r} does not round-trip through TCVN3")
        names.append(raw.decode("latin-1"))  # written byte for byte
    fields = {
        "MA_THON": [v.code for v in villages],
        "TEN_THON": names,
        "MA_XA": [COMMUNE_CODE] * len(villages),
    }
    path = _write_shapefile(
        out / "thon.shp", [v.polygon for v in villages], fields, CRS, encoding="latin1"
    )
    path.with_suffix(".cpg").unlink(missing_ok=True)  # a legacy file declares nothing
    return path


def _write_growing_areas(out: Path, rows: list[dict]) -> Path:
    fields = {
        "MA_VUNG": [r["code"] for r in rows],
        "CAY_TRONG": [r["crop"] for r in rows],
        "DIEN_TICH": [float(r["ha"]) for r in rows],
        "CHU_SO_HUU": [r["owner"] for r in rows],
        "SO_HO": [int(r["members"]) for r in rows],
        "TRANG_THAI": [r["status"] for r in rows],
        "NGAY_CAP": [r["issued"] for r in rows],
    }
    with warnings.catch_warnings():  # no CRS on purpose: the GPS unit's .prj is written below
        warnings.simplefilter("ignore", UserWarning)
        path = _write_shapefile(out / "vung_trong.shp", [r["geom"] for r in rows], fields, None)
    path.with_suffix(".prj").write_text(GPS_PRJ, encoding="ascii")
    return path


def _write_soil_zones(out: Path, zones: list[dict]) -> Path:
    path = out / "nong_hoa.gpkg"
    path.unlink(missing_ok=True)
    keys = ("CHI_TIEU", "GIA_TRI", "CAP", "DOT_DIEU_TRA")
    data = [np.array([z[k] for z in zones], dtype=object) for k in keys]
    data[1] = data[1].astype("float64")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    try:
        ogr_write(
            str(path), geometry=shapely.to_wkb(np.array([z["geometry"] for z in zones])),
            field_data=data, fields=list(keys), crs=CRS, layer="vung_nong_hoa",
            geometry_type="Polygon", driver="GPKG",
        )  # fmt: skip
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
    return path


# Lab columns of the sample table: (column header with unit, property in SOIL, lab sd).
SAMPLE_COLUMNS = (
    ("pH_KCl", "ph_kcl", 0.05), ("OM (%)", "om", 0.05), ("N (%)", "n", 0.003),
    ("P2O5_dt (mg/100g)", "p2o5", 0.4), ("K2O_dt (mg/100g)", "k2o", 0.5),
)  # fmt: skip


def _write_soil_samples(
    out: Path, rng: np.random.Generator, commune: Polygon, grids: dict[str, np.ndarray]
) -> Path:
    """The survey's sample points (mẫu đất): VN-2000 TM-3 metres with X the northing and Y the
    easting, as Vietnamese survey tables write them; lab values = the grid cell + lab noise."""
    path = out / "mau_dat.csv"
    _, _, _, (x0, y1) = _grid(commune)
    points = _spread_points(rng, commune.buffer(-60), 150, 350.0)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["so_hieu_mau", "X", "Y", "tang_dat", *(c for c, _, _ in SAMPLE_COLUMNS)])
        for i, p in enumerate(points, start=1):
            col, row = int((p.x - x0) // GRID_M), int((y1 - p.y) // GRID_M)
            values = []
            for _, prop, sd in SAMPLE_COLUMNS:
                v = float(grids[prop][row, col]) + rng.normal(0, sd)
                values.append(f"{max(v, 0.001):.{SOIL[prop][2]}f}")
            writer.writerow([f"M{i:03d}", f"{p.y:.1f}", f"{p.x:.1f}", "0-20", *values])
    return path


def _write_om_raster(out: Path, commune: Polygon, om: np.ndarray) -> Path:
    path = out / "nong_hoa_om.tif"
    _, _, _, (x0, y1) = _grid(commune)
    profile = {
        "driver": "GTiff", "height": om.shape[0], "width": om.shape[1], "count": 1,
        "dtype": "float32", "crs": CRS, "transform": from_origin(x0, y1, GRID_M, GRID_M),
        "nodata": NODATA,
    }  # fmt: skip
    with MemoryFile() as mem:
        with mem.open(**profile) as src:
            src.write(om.astype("float32"), 1)
            src.update_tags(property="om", unit="%", depth_cm="0-20")
            src.update_tags(1, property="om", unit="%")
        with mem.open() as src:
            rasterio.shutil.copy(
                src, path, driver="COG", compress="DEFLATE", predictor="3", blocksize=128,
                overview_resampling="average",
            )  # fmt: skip
    return path


def _write_households(out: Path, households: list[Household]) -> Path:
    path = out / "ho_gia_dinh.csv"
    columns = ["ma_ho", "ten_chu_ho", "dien_thoai", "ma_thon", "cap_quang", "x", "y"]
    # utf-8-sig and CRLF: what Excel writes for "CSV UTF-8".
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(columns)
        for h in households:
            writer.writerow(
                [h.code, h.head, h.phone, h.village.code, "có" if h.fibre else "không",
                 f"{h.point.x:.2f}", f"{h.point.y:.2f}"]
            )  # fmt: skip
    return path


def _wgs84(geom):
    """RFC 7946 geometry: WGS84 lon/lat on a 1e-6° grid, exterior rings counter-clockwise."""
    geom = shapely.set_precision(_reproject(geom, CRS, "EPSG:4326"), 1e-6)
    polys = [orient(p, 1.0) for p in getattr(geom, "geoms", [geom]) if p.geom_type == "Polygon"]
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _geojson_geometry(geom) -> dict:
    def ring(r) -> list[list[float]]:
        return [[round(x, 6), round(y, 6)] for x, y in r.coords]

    def poly(p: Polygon) -> list:
        return [ring(p.exterior)] + [ring(i) for i in p.interiors]

    if geom.geom_type == "Polygon":
        return {"type": "Polygon", "coordinates": poly(geom)}
    return {"type": "MultiPolygon", "coordinates": [poly(p) for p in geom.geoms]}


def _write_coverage(out: Path, coverage: list[dict]) -> tuple[Path, Path]:
    features = []
    for c in coverage:
        props = {k: v for k, v in c.items() if k != "geometry"}
        features.append(
            {"type": "Feature", "properties": props,
             "geometry": _geojson_geometry(_wgs84(c["geometry"]))}
        )  # fmt: skip
    geojson = out / "phu_song.geojson"
    geojson.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    viettel = next(c for c in coverage if c["nha_mang"] == "Viettel" and c["cong_nghe"] == "4G")
    kml = out / "phu_song_viettel.kml"
    kml.unlink(missing_ok=True)
    keys = ("Name", "Description", "nha_mang", "cong_nghe", "nguon", "ngay_do")
    values = (
        "Viettel", "Vùng phủ sóng 4G Viettel, xã Gia Phú", viettel["nha_mang"],
        viettel["cong_nghe"], viettel["nguon"], viettel["ngay_do"],
    )  # fmt: skip
    ogr_write(
        str(kml), geometry=shapely.to_wkb(np.array([_wgs84(viettel["geometry"])])),
        field_data=[np.array([v], dtype=object) for v in values], fields=list(keys),
        crs="EPSG:4326", layer="phu_song_viettel_4g", geometry_type="Unknown", driver="KML",
    )  # fmt: skip
    return geojson, kml


# --- entry points --------------------------------------------------------------------------


def generate(out_dir: Path, seed: int = 2022) -> dict[str, Path]:
    """Write the demo commune's eight files into ``out_dir``; same seed, same data."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    commune = _commune(rng)
    villages = _villages(rng, commune)
    dead_zone, hamlet, dead_village = _dead_zone(commune, villages)
    # The two villages without fibre: the dead-zone one and the next most remote.
    centre = commune.centroid
    remote = sorted(villages, key=lambda v: -v.centre.distance(centre))
    dead_village.has_fibre = False
    next(v for v in remote if v is not dead_village).has_fibre = False
    households = _households(rng, villages, dead_zone, hamlet, dead_village)
    areas = _growing_area_rows(rng, _growing_areas(rng, commune, households), households)
    grids = _soil_grids(rng, commune)
    zones = _soil_zones(rng, commune, grids)
    coverage = _coverage(rng, commune, villages, households, dead_zone)
    geojson, kml = _write_coverage(out_dir, coverage)
    return {
        "ranh_gioi_xa": _write_commune(out_dir, commune),
        "thon": _write_villages(out_dir, villages),
        "vung_trong": _write_growing_areas(out_dir, areas),
        "nong_hoa": _write_soil_zones(out_dir, zones),
        "nong_hoa_om": _write_om_raster(out_dir, commune, grids["om"]),
        # A separate generator, so that adding the samples changed none of the other files.
        "mau_dat": _write_soil_samples(out_dir, np.random.default_rng(seed + 16), commune, grids),
        "ho_gia_dinh": _write_households(out_dir, households),
        "phu_song": geojson,
        "phu_song_viettel": kml,
    }


def summarise(paths: dict[str, Path]) -> list[str]:
    """One line per file: features and WGS84 bounds, read back with GDAL."""
    import geopandas as gpd
    import pandas as pd

    lines = []
    for key, path in paths.items():
        if path.suffix == ".tif":
            with rasterio.open(path) as src:
                box = shapely.box(*src.bounds)
                n = f"{src.width}x{src.height} cells"
            bounds = _reproject(box, CRS, "EPSG:4326").bounds
        elif path.suffix == ".csv":
            df = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
            if "X" in df:  # a survey table: X is the northing
                df = df.rename(columns={"X": "y", "Y": "x"})
            pts = gpd.points_from_xy(df.x.astype(float), df.y.astype(float), crs=CRS)
            bounds, n = gpd.GeoSeries(pts).to_crs(4326).total_bounds, f"{len(df)} rows"
        else:
            kw = {"crs": CRS} if key == "vung_trong" else {}
            gdf = gpd.read_file(path, engine="pyogrio")
            if kw:
                gdf = gdf.set_crs(kw["crs"], allow_override=True)
            bounds, n = gdf.to_crs(4326).total_bounds, f"{len(gdf)} features"
        lo = ", ".join(f"{b:.4f}" for b in bounds)
        lines.append(f"{path.name}: {n}; WGS84 bounds {lo}")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args(argv)
    paths = generate(args.out, args.seed)
    for line in summarise(paths):
        print(line)


if __name__ == "__main__":
    main()
