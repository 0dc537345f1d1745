"""The public QR page's pieces: a tiny inline SVG map (no scripts, no tiles) and the links that
open the phone's map app for directions. Pure functions; the route renders ``qr.html``."""

from __future__ import annotations

import html
import math
from urllib.parse import quote

from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

WIDTH, HEIGHT, MARGIN = 320, 220, 12


def _projector(bounds: tuple[float, float, float, float]):
    """lon/lat → SVG pixels, equirectangular scaled by cos(latitude): fine for one village."""
    minx, miny, maxx, maxy = bounds
    k = math.cos(math.radians((miny + maxy) / 2))
    span_x = max((maxx - minx) * k, 1e-6)
    span_y = max(maxy - miny, 1e-6)
    scale = min((WIDTH - 2 * MARGIN) / span_x, (HEIGHT - 2 * MARGIN) / span_y)
    off_x = (WIDTH - span_x * scale) / 2
    off_y = (HEIGHT - span_y * scale) / 2

    def project(lon: float, lat: float) -> tuple[float, float]:
        return off_x + (lon - minx) * k * scale, HEIGHT - off_y - (lat - miny) * scale

    return project


def _path(geom: BaseGeometry, project) -> str:
    polys = geom.geoms if isinstance(geom, MultiPolygon) else [geom]
    parts = []
    for poly in polys:
        if not isinstance(poly, Polygon):
            continue
        for ring in (poly.exterior, *poly.interiors):
            pts = [project(x, y) for x, y, *_ in ring.coords]
            parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + " Z")
    return " ".join(parts)


def household_map_svg(village: BaseGeometry | None, home: Point, *, title: str) -> str:
    """An SVG of the village boundary with the household marked; a few hundred bytes."""
    area = village if village is not None and not village.is_empty else home.buffer(0.002)
    minx, miny, maxx, maxy = area.union(home.buffer(0.0005)).bounds
    project = _projector((minx, miny, maxx, maxy))
    hx, hy = project(home.x, home.y)
    esc = html.escape(title, quote=True)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{esc}" class="qr-map">'
        f"<title>{esc}</title>"
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#eef3ea"/>'
        f'<path d="{_path(area, project)}" fill="#dfe9d8" stroke="#5d7a55" stroke-width="1.5" '
        'fill-rule="evenodd"/>'
        f'<circle cx="{hx:.1f}" cy="{hy:.1f}" r="9" fill="#c62828" fill-opacity="0.25"/>'
        f'<circle cx="{hx:.1f}" cy="{hy:.1f}" r="5" fill="#c62828" stroke="#fff" stroke-width="2"/>'
        "</svg>"
    )


def directions_links(lat: float, lon: float, label: str) -> dict[str, str]:
    """A geo: URI (Android map apps) and a Google Maps link (iPhone and the rest)."""
    return {
        "geo": f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}({quote(label)})",
        "google": f"https://www.google.com/maps/dir/?api=1&destination={lat:.6f},{lon:.6f}",
    }
