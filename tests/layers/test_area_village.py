"""The village an area lies in is one rule everywhere: the village of its commune holding most
of it. The growing-area list (and its village filter) used to take the village under a point
inside the area, the page and exports the largest part; in the demo one area of 120 got two
different villages."""

from __future__ import annotations

import psycopg

from agrimap.clicommon import run_async
from layers import registry_search
from layers.registry import export_features

LARGEST_PART = """
SELECT g.code, (SELECT v.code FROM village v
                WHERE v.commune_code = g.commune_code AND ST_Intersects(v.geom, g.geom)
                ORDER BY ST_Area(ST_Intersection(v.geom, g.geom)) DESC, v.code LIMIT 1)
FROM growing_area g ORDER BY g.code
"""


async def _listed(conn, **where) -> dict[str, str | None]:
    page = await registry_search.search(
        conn, where=registry_search.AreaFilter(**where), personal=False, limit=1000,
        page_cap=1000,
    )  # fmt: skip
    return {r["code"]: r["village_code"] for r in page.rows}


async def _exported(conn) -> dict[str, str | None]:
    return {f.properties["code"]: f.properties["village_code"] for f in await export_features(conn)}


def test_the_list_names_the_village_holding_most_of_each_area(demo_url: str) -> None:
    with psycopg.connect(demo_url) as conn:
        expected = dict(conn.execute(LARGEST_PART).fetchall())
        straddling = conn.execute(
            "SELECT count(*) FROM growing_area g WHERE (SELECT count(*) FROM village v "
            "WHERE ST_Area(ST_Intersection(v.geom, g.geom)) > 0) > 1"
        ).fetchone()[0]
    assert straddling > 0  # the demo holds areas across village boundaries
    listed = run_async(demo_url, _listed)
    assert listed == expected
    assert run_async(demo_url, _exported) == expected
    # Filtering by a village finds exactly the areas named after it.
    for village in {v for v in expected.values() if v}:
        found = run_async(demo_url, _listed, village=village)
        assert set(found) == {c for c, v in expected.items() if v == village}, village
