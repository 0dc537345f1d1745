"""Seeded request lists: household tiles at z10–16 over the populated area, and pages of 100
features by bbox and by position, written the way each server spells them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import psycopg

from geo import qrtoken

ZOOM_WEIGHTS = {10: 0.03, 11: 0.05, 12: 0.10, 13: 0.20, 14: 0.25, 15: 0.22, 16: 0.15}
HOT_WEIGHTS = {13: 0.3, 14: 0.4, 15: 0.3}  # the tiles a busy map keeps asking for
PAGE = 100

# The tiles that hold at least one household, per zoom, with how many they hold.
POPULATED_TILES_SQL = """
SELECT z, x, y, count(*)::int AS n
FROM (SELECT z, floor((ST_X(geom) + 180) / 360 * 2 ^ z)::int AS x,
             floor((1 - asinh(tan(radians(ST_Y(geom)))) / pi()) / 2 * 2 ^ z)::int AS y
      FROM household, generate_series(%(zmin)s::int, %(zmax)s::int) z) t
GROUP BY z, x, y
"""


@dataclass(frozen=True, order=True)
class TileRef:
    z: int
    x: int
    y: int
    households: int  # households inside the tile (without its buffer)


@dataclass
class RequestLists:
    """Paths for every workload; ``ours`` and ``tipg`` are parallel lists (same request)."""

    tiles: list[TileRef]  # the uncached list: unique tiles, shuffled
    cached: list[TileRef]  # a small set requested over and over
    bboxes: list[tuple[float, float, float, float]]
    offsets: list[int]
    cursors: list[int | None]  # our keyset cursor equal to each offset (the id before it)
    zoom_counts: dict[int, int] = field(default_factory=dict)
    qr_tokens: list[str] = field(default_factory=list)  # households' QR codes, seeded


def populated_tiles(conn: psycopg.Connection, zmin: int = 10, zmax: int = 16) -> list[TileRef]:
    rows = conn.execute(POPULATED_TILES_SQL, {"zmin": zmin, "zmax": zmax}).fetchall()
    return sorted(TileRef(*r) for r in rows)


def sample_tiles(
    tiles: list[TileRef], total: int, rng: np.random.Generator, weights: dict[int, float]
) -> list[TileRef]:
    """Up to ``total`` distinct tiles, about ``weights[z]`` of them at each zoom (fewer where a
    zoom has fewer populated tiles), in a shuffled order so cheap and dear tiles interleave."""
    picked: list[TileRef] = []
    for z, w in weights.items():
        at_z = [t for t in tiles if t.z == z]
        want = min(len(at_z), max(1, round(w * total)))
        idx = rng.choice(len(at_z), size=want, replace=False) if at_z else []
        picked += [at_z[i] for i in idx]
    order = rng.permutation(len(picked))
    return [picked[i] for i in order]


def _bboxes(conn: psycopg.Connection, ids: np.ndarray, n: int, rng: np.random.Generator):
    """Boxes of 0.4–6 km around seeded households: a commune officer's map view."""
    chosen = sorted(int(i) for i in rng.choice(ids, size=min(n, len(ids)), replace=False))
    rows = conn.execute(
        "SELECT ST_X(geom), ST_Y(geom) FROM household WHERE id = ANY(%s) ORDER BY id", (chosen,)
    ).fetchall()
    halves = 0.002 + 0.028 * rng.random(len(rows)) ** 2
    boxes = [
        (round(x - h, 5), round(y - h * 0.93, 5), round(x + h, 5), round(y + h * 0.93, 5))
        for (x, y), h in zip(rows, halves.tolist(), strict=True)
    ]
    order = rng.permutation(len(boxes))
    return [boxes[i] for i in order]


def _offsets(ids: np.ndarray, n: int, rng: np.random.Generator):
    """Seeded page offsets over the whole table and our cursor for each (the id before it)."""
    offsets = [int(o) for o in rng.integers(0, max(1, len(ids) - PAGE), size=n)]
    cursors = [None if o == 0 else int(ids[o - 1]) for o in offsets]
    return offsets, cursors


def scannable_tokens(conn: psycopg.Connection, ids: list[int]) -> list[str]:
    """The QR codes of ``ids``, each one a real scan would accept. synthetic.sql writes a cheap
    md5 stand-in without the check symbol, which our page refuses as mistyped (400): those of
    the sampled households are given their check symbol (13 data symbols + 1, as
    geo.qrtoken.new_token makes them) before they are asked for."""
    rows = conn.execute(
        "SELECT id, qr_token FROM household WHERE id = ANY(%s) AND qr_token IS NOT NULL", (ids,)
    ).fetchall()
    fixed = [(i, t[:13] + qrtoken.check_character(t[:13]))
             for i, t in rows if qrtoken.normalise(t) != t]  # fmt: skip
    if fixed:
        with conn.transaction():
            conn.execute("SELECT set_config('agrimap.system', 'on', true), "
                         "set_config('agrimap.bulk', 'on', true)")  # fmt: skip
            with conn.cursor() as cur:
                cur.executemany("UPDATE household SET qr_token = %s WHERE id = %s",
                                [(t, i) for i, t in fixed])  # fmt: skip
    valid = dict(fixed)
    return [valid.get(i, t) for i, t in rows]


def build(
    url: str, *, seed: int = 6, tiles: int = 6000, cached: int = 64, pages: int = 300,
    qr: int = 2000,
):  # fmt: skip
    rng = np.random.default_rng(seed)
    with psycopg.connect(url) as conn:
        every = populated_tiles(conn)
        uncached = sample_tiles(every, tiles, rng, ZOOM_WEIGHTS)
        hot = sample_tiles(every, cached, rng, HOT_WEIGHTS)
        ids = np.array([r[0] for r in conn.execute("SELECT id FROM household ORDER BY id")])
        bboxes = _bboxes(conn, ids, pages, rng)
        offsets, cursors = _offsets(ids, pages, rng)
        scanned = sorted(int(i) for i in rng.choice(ids, size=min(qr, len(ids)), replace=False))
        tokens = scannable_tokens(conn, scanned)
    zooms = {z: sum(1 for t in uncached if t.z == z) for z in ZOOM_WEIGHTS}
    order = rng.permutation(len(tokens))
    return RequestLists(uncached, hot, bboxes, offsets, cursors, zooms,
                        [tokens[i] for i in order])  # fmt: skip


# How each server spells the same request.
def ours_tile(t: TileRef, *, all_layers: bool = False) -> str:
    if all_layers:
        return f"/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
    return f"/collections/households/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"


def tipg_tile(t: TileRef) -> str:
    return f"/collections/public.household/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"


def _bbox(b: tuple) -> str:
    return ",".join(f"{v:.5f}" for v in b)


def ours_bbox_page(b: tuple) -> str:
    return f"/collections/households/items?limit={PAGE}&bbox={_bbox(b)}&f=json"


def tipg_bbox_page(b: tuple) -> str:
    return f"/collections/public.household/items?limit={PAGE}&bbox={_bbox(b)}"


def ours_position_page(cursor: int | None) -> str:
    tail = "" if cursor is None else f"&cursor={cursor}"
    return f"/collections/households/items?limit={PAGE}{tail}&f=json"


def tipg_position_page(offset: int) -> str:
    return f"/collections/public.household/items?limit={PAGE}&offset={offset}"


def ours_qr(token: str) -> str:
    """The household's own page, as its QR code opens it (HTML with the map)."""
    return f"/q/{token}"


def tipg_qr(token: str) -> str:
    """The same household found by its QR code through tipg's property filter (GeoJSON)."""
    return f"/collections/public.household/items?qr_token={token}&limit=1"
