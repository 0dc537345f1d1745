"""Coverage indicators (issue 13) on a small commune whose every answer is known by hand.

Commune 99001, villages along one row at latitude 21.005 (boxes 0.01° wide):
  V1 99001-01: 4 households at lon 105.002/.004/.006/.008
  V2 99001-02: 10 households at lon 105.0105 + 0.001 i (i = 0..9); i = 0..5 subscribe to fibre
  V3 99001-03: no household
  V4 99001-04: 3 households at lon 105.032/.035/.038
Coverage file (valid 2024-06-30): Viettel 4G [105.000, 105.005] (tier qcvn81-z2) and
[105.010, 105.019] (tier qcvn81-z1); VNPT 4G [105.0155, 105.030] × [21.005, 21.010] (no tier;
V2's i = 5..9 lie exactly on its lower edge); VNPT fibre over V2.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import psycopg
import pytest

from agrimap.cli import load_demo
from agrimap.clicommon import run_async
from agrimap.settings import Settings
from geo.coverage_rules import VillageRule
from geo.errors import InvalidInput, NotFound
from layers.coverage_indicators import (
    VILLAGES_PER_HOUSEHOLD_SQL,
    VILLAGES_SQL,
    Selection,
    hexagons,
    indicators,
    selection_params,
    served_at,
)
from layers.coverage_towers import import_towers
from layers.ingest import import_file
from tests.conftest import _fresh_database

LAT = 21.005
V1 = [105.002, 105.004, 105.006, 105.008]
V2 = [round(105.0105 + 0.001 * i, 4) for i in range(10)]
V4 = [105.032, 105.035, 105.038]


def _box(x0: float, x1: float, y0: float = 21.0, y1: float = 21.01) -> dict:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _feature(operator: str, tech: str, geom: dict, day: str, tier: str | None = None) -> dict:
    props = {"nha_mang": operator, "cong_nghe": tech, "ngay_do": day, "nguon": "thử"}
    if tier:
        props["tier"] = tier
    return {"type": "Feature", "properties": props, "geometry": geom}


def _write(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


FIRST = [
    _feature("Viettel", "4G", _box(105.000, 105.005), "2024-06-30", "qcvn81-z2"),
    _feature("Viettel", "4G", _box(105.010, 105.019), "2024-06-30", "qcvn81-z1"),
    _feature("VNPT", "4G", _box(105.0155, 105.030, 21.005, 21.010), "2024-06-30"),
    _feature("VNPT", "fibre", _box(105.010, 105.020), "2024-06-30"),
]


@pytest.fixture
def commune(conn: psycopg.Connection, db_url: str, tmp_path: Path) -> str:
    conn.execute("SELECT set_config('agrimap.system', 'on', true)")
    conn.execute(
        "INSERT INTO province (code, name) VALUES ('99', 'Tỉnh thử');"
        "INSERT INTO commune (code, name, province_code) VALUES ('99001', 'Xã thử', '99')"
    )
    for i in range(4):
        x0 = 105.0 + 0.01 * i
        conn.execute(
            "INSERT INTO village (code, name, commune_code, geom) VALUES "
            "(%s, %s, '99001', ST_Multi(ST_MakeEnvelope(%s, 21.0, %s, 21.01, 4326)))",
            (f"99001-0{i + 1}", f"Thôn {i + 1}", x0, x0 + 0.01),
        )
    rows = [("99001-01", x, False) for x in V1]
    rows += [("99001-02", x, i <= 5) for i, x in enumerate(V2)]
    rows += [("99001-04", x, False) for x in V4]
    for n, (village, x, fibre) in enumerate(rows):
        conn.execute(
            "INSERT INTO household (code, label, village_code, province_code, has_fibre, geom) "
            "VALUES (%s, %s, %s, commune_province(household_commune(%s)), %s, "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (f"T-{n}", f"Hộ {n}", village, village, fibre, x, LAT),
        )
    conn.commit()
    import_file(conn, _write(tmp_path / "phu_song.geojson", FIRST), layer="coverage",
                data_dir=tmp_path)  # fmt: skip
    return db_url


SELECTION_FIELDS = ("level", "code", "operator", "technology", "tier", "as_of")


def _split(**kw) -> tuple[dict, dict]:
    """A function's keywords: the selection's fields, and the rest."""
    return ({k: v for k, v in kw.items() if k in SELECTION_FIELDS},
            {k: v for k, v in kw.items() if k not in SELECTION_FIELDS})  # fmt: skip


def _ind(url: str, **kw) -> dict:
    chosen, rest = _split(**kw)
    selection = Selection("commune", "99001", **{"as_of": dt.date(2024, 12, 31), **chosen})
    return run_async(url, indicators, selection=selection, **rest)


def _counts(result: dict) -> dict[str, tuple[int, int, str]]:
    return {v["code"][-2:]: (v["served"], v["households"], v["status"]) for v in result["villages"]}


def test_any_operator_4g_every_indicator(commune: str) -> None:
    r = _ind(commune)
    assert _counts(r) == {
        "01": (2, 4, "partly"),  # half covered
        "02": (10, 10, "covered"),  # overlapping operators, five households on VNPT's edge
        "04": (0, 3, "not_covered"),
    }
    v2 = next(v for v in r["villages"] if v["code"] == "99001-02")
    assert (v2["unserved"], v2["served_pct"], v2["fibre_passed"], v2["fibre_subscriptions"]) == (
        0, 100.0, 10, 6,
    )  # fmt: skip
    assert r["villages_without_households"] == [
        {"code": "99001-03", "name": "Thôn 3", "commune_code": "99001"}
    ]
    c = r["communes"][0]
    assert (c["households"], c["served"], c["unserved"], c["served_pct"]) == (17, 12, 5, 70.6)
    assert (c["villages"], c["villages_covered"], c["villages_partly_covered"],
            c["villages_not_covered"]) == (3, 1, 1, 1)  # fmt: skip
    assert (c["villages_covered_pct"], c["villages_served_pct"]) == (33.3, 66.7)
    assert c["villages_without_households"] == ["99001-03"]
    # Dead zones: V4 has no 4G; V1 has half its households under 4G, not fewer: not listed.
    assert c["villages_without_4g_list"] == [
        {"code": "99001-04", "name": "Thôn 4", "households": 3, "unserved": 3,
         "mobile_broadband_pct": 0.0, "reason": "no_4g"}
    ]  # fmt: skip
    assert c["villages_partly_without_4g_list"] == [
        {"code": "99001-01", "name": "Thôn 1", "mobile_broadband_pct": 50.0}
    ]
    assert (c["villages_with_fibre"], c["fibre_subscriptions"]) == (1, 6)
    verdicts = {t["indicator"]: (t["value"], t["met"]) for t in c["criterion8"]}
    assert verdicts == {
        "households_fibre_pct": (35.3, None),  # no shipped target: reported, not judged
        "villages_fibre_pct": (33.3, False),
        "villages_mobile_broadband_pct": (66.7, False),
        "villages_without_4g": (1, False),
    }
    assert r["provinces"][0]["code"] == "99" and r["provinces"][0]["households"] == 17


def test_per_operator_boundary_and_threshold(commune: str) -> None:
    # Viettel: i = 9 (105.0195) lies outside [105.010, 105.019]: 9 of 10 is exactly 90 %.
    assert _counts(_ind(commune, operator="Viettel")) == {
        "01": (2, 4, "partly"), "02": (9, 10, "covered"), "04": (0, 3, "not_covered"),
    }  # fmt: skip
    # VNPT: only the five households on its polygon's edge (ST_Covers counts the boundary).
    assert _counts(_ind(commune, operator="VNPT")) == {
        "01": (0, 4, "not_covered"), "02": (5, 10, "partly"), "04": (0, 3, "not_covered"),
    }  # fmt: skip
    strict = _ind(commune, operator="Viettel", rule=VillageRule(covered_share=0.95))
    assert _counts(strict)["02"] == (9, 10, "partly")
    with pytest.raises(NotFound):
        _ind(commune, operator="Gmobile")


def test_tiers_and_technologies(commune: str) -> None:
    # zone 1 (5 down) serves a zone-1 and a zone-2 request; zone 2 (2.5) only zone 2;
    # an untiered polygon (VNPT) serves no tiered request.
    assert _counts(_ind(commune, tier="qcvn81-z1"))["01"][0] == 0
    assert _counts(_ind(commune, tier="qcvn81-z1"))["02"][0] == 9
    assert _counts(_ind(commune, tier="qcvn81-z2"))["01"][0] == 2
    assert _counts(_ind(commune, tier="fcc-4g"))["02"][0] == 9
    # 3G or newer includes 4G; 5G finds nothing; fibre is its own technology.
    assert _counts(_ind(commune, technology="3G"))["02"][0] == 10
    assert _counts(_ind(commune, technology="5G"))["02"][0] == 0
    assert _counts(_ind(commune, technology="fibre")) == {
        "01": (0, 4, "not_covered"), "02": (10, 10, "covered"), "04": (0, 3, "not_covered"),
    }  # fmt: skip
    with pytest.raises(InvalidInput):
        _ind(commune, tier="zone-9")
    with pytest.raises(InvalidInput):
        _ind(commune, technology="6G")


def test_versions_are_kept_and_chosen_by_date(commune: str, tmp_path: Path) -> None:
    # A new Viettel 4G import, valid 2025-03-01: all of V1, none of V2.
    new = [_feature("Viettel", "4G", _box(105.000, 105.010), "2025-03-01")]
    with psycopg.connect(commune) as conn:
        import_file(conn, _write(tmp_path / "v2.geojson", new), layer="coverage", data_dir=tmp_path)
        versions = conn.execute(
            "SELECT valid_from FROM coverage_version WHERE operator = 'Viettel' "
            "AND technology = '4G' ORDER BY valid_from"
        ).fetchall()
    assert versions == [(dt.date(2024, 6, 30),), (dt.date(2025, 3, 1),)]
    assert _counts(_ind(commune, operator="Viettel"))["02"] == (9, 10, "covered")
    later = run_async(commune, indicators,
                      selection=Selection("commune", "99001", "Viettel", as_of=dt.date(2025, 6, 1)))  # fmt: skip
    assert _counts(later) == {
        "01": (4, 4, "covered"), "02": (0, 10, "not_covered"), "04": (0, 3, "not_covered"),
    }  # fmt: skip
    before = run_async(
        commune, indicators, selection=Selection("commune", "99001", as_of=dt.date(2024, 1, 1))
    )
    assert _counts(before)["02"] == (0, 10, "not_covered")


def test_tower_radius(commune: str) -> None:
    # A MobiFone 4G tower at lon 105.072: V4's households are 3.53, 3.85 and 4.16 km away;
    # the default 4G radius is 4 km.
    with psycopg.connect(commune) as conn:
        version = import_towers(conn, operator="MobiFone", technology="4G",
                                towers=[(105.072, LAT)], valid_from=dt.date(2025, 1, 1))  # fmt: skip
        kind, radius = conn.execute(
            "SELECT v.kind, t.radius_m FROM coverage_version v JOIN coverage_tower t "
            "ON t.version_id = v.id WHERE v.id = %s",
            (version,),
        ).fetchone()
    assert (kind, radius) == ("towers", 4000.0)
    after = run_async(commune, indicators, selection=Selection(
        "village", "99001-04", "MobiFone", as_of=dt.date(2025, 1, 1)))  # fmt: skip
    assert _counts(after) == {"04": (2, 3, "partly")}
    assert _counts(_ind(commune))["04"] == (0, 3, "not_covered")  # as of 2024: no tower yet
    with psycopg.connect(commune) as conn, pytest.raises(InvalidInput):
        import_towers(conn, operator="MobiFone", technology="fibre", towers=[(105.0, 21.0)])
    with psycopg.connect(commune) as conn, pytest.raises(InvalidInput):
        import_towers(conn, operator="MobiFone", technology="4G", towers=[(105.0, 21.0)],
                      tier="zone-9")  # fmt: skip
    with psycopg.connect(commune) as conn:
        n = conn.execute("SELECT count(*) FROM coverage_version WHERE operator = 'MobiFone'")
        assert n.fetchone()[0] == 1  # the refused imports left nothing behind


def test_households_added_and_moved_follow(commune: str) -> None:
    with psycopg.connect(commune) as conn:
        conn.execute("SELECT set_config('agrimap.system', 'on', true)")
        conn.execute(
            "INSERT INTO household (code, label, village_code, province_code, geom) VALUES "
            "('T-new', 'mới', '99001-01', commune_province('99001'), "
            "ST_SetSRID(ST_MakePoint(105.001, 21.005), 4326))"
        )
        conn.execute(
            "UPDATE household SET geom = ST_SetSRID(ST_MakePoint(105.003, 21.005), 4326) "
            "WHERE code = 'T-14'"  # V4's first household, moved under Viettel's polygon
        )
        conn.commit()
    counts = _counts(_ind(commune))
    assert counts["01"] == (3, 5, "partly") and counts["04"] == (1, 3, "partly")
    with psycopg.connect(commune) as conn:
        conn.execute("SELECT set_config('agrimap.system', 'on', true)")
        conn.execute("UPDATE household SET label = 'đổi nhãn' WHERE code = 'T-14'")
        conn.execute("DELETE FROM household WHERE code = 'T-new'")
        conn.commit()
    counts = _counts(_ind(commune))
    assert counts["01"] == (2, 4, "partly") and counts["04"] == (1, 3, "partly")


def test_failed_import_leaves_the_database_as_it_was(commune: str, tmp_path: Path) -> None:
    bad = [_feature("Viettel", "4G", _box(105.0, 105.02), "2025-01-01", "zone-9")]
    with psycopg.connect(commune) as conn:
        before = conn.execute(
            "SELECT (SELECT count(*) FROM coverage_version), (SELECT count(*) FROM coverage),"
            " (SELECT count(*) FROM household_served)"
        ).fetchone()
        with pytest.raises(InvalidInput):
            import_file(conn, _write(tmp_path / "bad.geojson", bad), layer="coverage",
                        data_dir=tmp_path)  # fmt: skip
        after = conn.execute(
            "SELECT (SELECT count(*) FROM coverage_version), (SELECT count(*) FROM coverage),"
            " (SELECT count(*) FROM household_served)"
        ).fetchone()
    assert after == before


def test_point_query(commune: str) -> None:
    # V2's i = 9 household: on VNPT's edge, outside Viettel's polygon.
    at = run_async(commune, served_at, lon=105.0195, lat=LAT, as_of=dt.date(2024, 12, 31))
    assert at["served"] and at["village"]["code"] == "99001-02"
    assert [(c["operator"], c["technology"], c["tier"]) for c in at["coverage"]] == [
        ("VNPT", "4G", None), ("VNPT", "fibre", None),
    ]  # fmt: skip
    at = run_async(commune, served_at, lon=105.012, lat=LAT, as_of=dt.date(2024, 12, 31))
    assert ("Viettel", "4G", "qcvn81-z1", "LTE vùng 1 (QCVN 81:2019)") in [
        (c["operator"], c["technology"], c["tier"], c["tier_label_vi"]) for c in at["coverage"]
    ]
    nowhere = run_async(commune, served_at, lon=105.035, lat=LAT, as_of=dt.date(2024, 12, 31))
    assert (nowhere["served"], nowhere["coverage"]) == (False, [])
    with pytest.raises(InvalidInput):
        run_async(commune, served_at, lon=float("nan"), lat=LAT)


@pytest.fixture(scope="module")
def gia_phu(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A demo commune of its own: other tests add households to the shared one."""
    url = _fresh_database("agrimap_coverage_demo")
    settings = Settings(database_url=url, data_dir=tmp_path_factory.mktemp("data"))
    assert load_demo(url, settings) is True
    return url


def test_gia_phu_seed_figures(gia_phu: str) -> None:
    """The demo commune is built to the seeds' Gia Phú figures (data/generate_demo.py)."""
    r = run_async(gia_phu, indicators, selection=Selection("commune", "02923"))
    c = r["communes"][0]
    assert (c["villages"], c["households"], c["fibre_subscriptions"]) == (14, 2626, 2135)
    assert c["villages_with_fibre"] == 12
    verdicts = {t["indicator"]: (t["value"], t["met"]) for t in c["criterion8"]}
    assert verdicts["villages_mobile_broadband_pct"] == (100.0, True)
    assert verdicts["villages_fibre_pct"] == (85.7, False)
    assert verdicts["households_fibre_pct"] == (81.3, None)
    # The village the issue found by hand: 23 of 157 households inside 4G. It counts as a
    # village with mobile broadband (the seed's 100 %), and is a dead zone all the same.
    assert verdicts["villages_without_4g"] == (1, False)
    assert c["villages_partly_without_4g_list"] == [
        {"code": "02923-02", "name": "Phú Hải 1", "mobile_broadband_pct": 14.6}
    ]
    assert c["villages_without_4g_list"] == [
        {"code": "02923-02", "name": "Phú Hải 1", "households": 157, "unserved": 134,
         "mobile_broadband_pct": 14.6, "reason": "most_households_without_4g"}
    ]  # fmt: skip
    assert (c["villages_covered"], c["villages_partly_covered"]) == (13, 1)


FRESH_JOIN = """
SELECT h.id, c.id FROM household h JOIN coverage c ON ST_Covers(c.geom, h.geom) ORDER BY 1, 2
"""
KEPT = "SELECT household_id, coverage_id FROM household_served ORDER BY 1, 2"


def test_served_table_equals_a_fresh_spatial_join(gia_phu: str) -> None:
    with psycopg.connect(gia_phu) as conn:
        kept = conn.execute(KEPT).fetchall()
        assert kept and kept == conn.execute(FRESH_JOIN).fetchall()
        conn.execute("SELECT set_config('agrimap.system', 'on', true)")
        # Move twenty households 300 m east, re-shape one coverage polygon, drop another, and
        # delete three households.
        conn.execute(
            "UPDATE household SET geom = ST_Translate(geom, 0.003, 0) "
            "WHERE id IN (SELECT id FROM household ORDER BY id LIMIT 20)"
        )
        conn.execute(
            "UPDATE coverage SET geom = ST_Multi(ST_Buffer(geom, -0.002)) "
            "WHERE id = (SELECT min(id) FROM coverage)"
        )
        conn.execute("DELETE FROM coverage WHERE id = (SELECT max(id) FROM coverage)")
        conn.execute(
            "DELETE FROM household WHERE id IN (SELECT household_id FROM household_served LIMIT 3)"
        )
        assert conn.execute(KEPT).fetchall() == conn.execute(FRESH_JOIN).fetchall()
        conn.rollback()


def test_households_on_a_cut_or_a_boundary_are_served_once(gia_phu: str) -> None:
    """A polygon of 401 vertices is matched in pieces (coverage_piece, migration 0019): a
    household on a cut between two pieces is in both, yet served once; one on the polygon's
    own boundary is served (ST_Covers). Added, then moved there, then the polygon dropped."""
    with psycopg.connect(gia_phu) as conn:
        conn.execute("SELECT set_config('agrimap.system', 'on', true)")
        version = conn.execute(
            "INSERT INTO coverage_version (operator, technology, valid_from) "
            "VALUES ('Gmobile', '5G', '2025-01-01') RETURNING id"
        ).fetchone()[0]
        big = conn.execute(
            "INSERT INTO coverage (operator, technology, version_id, geom) "
            "SELECT 'Gmobile', '5G', %s, ST_Multi(ST_Buffer(ST_Centroid(geom), 0.01, 100)) "
            "FROM village WHERE code = '02923-03' RETURNING id",
            (version,),
        ).fetchone()[0]
        pieces, cut, edge = conn.execute(
            "SELECT (SELECT count(*) FROM coverage_piece WHERE coverage_id = %(id)s), "
            " (SELECT ST_StartPoint(ST_GeometryN(ST_Intersection(a.geom, b.geom), 1)) "
            "  FROM coverage_piece a JOIN coverage_piece b ON a.ctid < b.ctid "
            "  AND ST_Touches(a.geom, b.geom) "
            "  AND ST_Dimension(ST_Intersection(a.geom, b.geom)) = 1 "
            "  WHERE a.coverage_id = %(id)s AND b.coverage_id = %(id)s LIMIT 1), "
            " (SELECT ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 7) "
            "  FROM coverage WHERE id = %(id)s)",
            {"id": big},
        ).fetchone()
        assert pieces > 1 and cut is not None
        assert (
            conn.execute(
                "SELECT count(*) FROM coverage_piece WHERE coverage_id = %s AND ST_Covers(geom, %s)",
                (big, cut),
            ).fetchone()[0]
            >= 2
        )  # the point lies on the cut: both pieces cover it
        conn.execute(
            "INSERT INTO household (code, label, village_code, province_code, geom) "
            "VALUES ('CUT', 'trên đường cắt', '02923-03', commune_province('02923'), %s), "
            "('EDGE', 'ngoài', '02923-03', commune_province('02923'), "
            " ST_SetSRID(ST_MakePoint(104.5, 22.9), 4326))",
            (cut,),
        )
        conn.execute("UPDATE household SET geom = %s WHERE code = 'EDGE'", (edge,))
        served = conn.execute(
            "SELECT h.code, count(*) FROM household h JOIN household_served s "
            "ON s.household_id = h.id AND s.coverage_id = %s "
            "WHERE h.code IN ('CUT', 'EDGE') GROUP BY h.code ORDER BY 1",
            (big,),
        ).fetchall()
        assert served == [("CUT", 1), ("EDGE", 1)]
        assert conn.execute(KEPT).fetchall() == conn.execute(FRESH_JOIN).fetchall()
        conn.execute("DELETE FROM coverage WHERE id = %s", (big,))
        assert conn.execute(
            "SELECT count(*) FROM household_coverage WHERE %s = ANY (coverage_ids)", (big,)
        ).fetchone() == (0,)
        assert conn.execute(
            "SELECT count(*) FROM coverage_piece WHERE coverage_id = %s", (big,)
        ).fetchone() == (0,)
        assert conn.execute(KEPT).fetchall() == conn.execute(FRESH_JOIN).fetchall()
        conn.rollback()


def test_hexagons(commune: str, gia_phu: str) -> None:
    def cells(url: str, **kw) -> list[dict]:
        chosen, rest = _split(**kw)
        selection = Selection(**{"as_of": dt.date(2024, 12, 31), **chosen})
        fc = run_async(url, hexagons, selection=selection, **rest)
        assert fc["type"] == "FeatureCollection"
        return [f["properties"] for f in fc["features"]]

    # Resolution 6 (about 36 km²): the whole test commune in one cell, 12 of 17 served.
    one = cells(commune, level="commune", code="99001", resolution=6)
    assert [(c["households"], c["served"], c["served_pct"], c["too_few"]) for c in one] == [
        (17, 12, 70.6, False)
    ]
    few = cells(commune, level="commune", code="99001", resolution=6, min_households=18)
    assert [(c["households"], c["served"], c["served_pct"], c["too_few"]) for c in few] == [
        (17, None, None, True)
    ]
    fine = cells(commune, level="village", code="99001-02", operator="VNPT")
    assert sum(c["households"] for c in fine) == 10
    demo = run_async(gia_phu, hexagons, selection=Selection("commune", "02923"))
    assert demo["resolution"] == 9
    props = [f["properties"] for f in demo["features"]]
    assert sum(c["households"] for c in props) == 2626
    assert any(c["too_few"] for c in props) and any(c["served_pct"] == 100.0 for c in props)
    ring = demo["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and 104.0 < ring[0][0] < 104.2  # lon first
    with pytest.raises(InvalidInput):
        run_async(commune, hexagons, resolution=16)


def _summary_and_reference(url: str, **selection) -> tuple[list, list]:
    async def both(conn):
        params = await selection_params(conn, Selection(**selection))
        a = await (await conn.execute(VILLAGES_SQL, params)).fetchall()
        b = await (await conn.execute(VILLAGES_PER_HOUSEHOLD_SQL, params)).fetchall()
        return a, b

    return run_async(url, both)


SELECTIONS = (
    {},
    {"operator": "MobiFone"},
    {"technology": "fibre"},
    {"tier": "qcvn81-z1"},
    {"technology": "2G", "as_of": dt.date(2000, 1, 1)},
)


@pytest.mark.parametrize("selection", SELECTIONS)
def test_village_summary_equals_the_per_household_count(gia_phu: str, selection: dict) -> None:
    scope = {"level": None, "code": None, "operator": None, "technology": "4G", "tier": None,
             "as_of": None, **selection}  # fmt: skip
    summary, reference = _summary_and_reference(gia_phu, **scope)
    assert len(summary) == 14 and summary == reference


def test_village_summary_follows_every_change(gia_phu: str, tmp_path: Path) -> None:
    """Households added, moved between villages, re-assigned, fibre changed, deleted; coverage
    re-shaped, dropped, added by towers and truncated: the summary stays the fresh count."""
    scope = {"level": None, "code": None, "operator": None, "technology": "4G", "tier": None,
             "as_of": None}  # fmt: skip
    with psycopg.connect(gia_phu) as conn:
        conn.execute("SELECT set_config('agrimap.system', 'on', false)")
        conn.execute(
            "INSERT INTO household (code, label, village_code, province_code, has_fibre, geom) "
            "SELECT 'S-' || i, 'mới', '02923-03', commune_province('02923'), i % 2 = 0, "
            "ST_SetSRID(ST_MakePoint(104.06 + i * 0.0003, 22.37), 4326) FROM generate_series(1, 30) i"
        )
        conn.execute(
            "UPDATE household SET geom = ST_Translate(geom, 0.004, -0.002) "
            "WHERE id IN (SELECT id FROM household WHERE village_code = '02923-02' LIMIT 40)"
        )
        conn.execute(
            "UPDATE household SET village_code = '02923-05' "
            "WHERE id IN (SELECT id FROM household WHERE village_code = '02923-04' LIMIT 7)"
        )
        conn.execute(
            "UPDATE household SET has_fibre = NOT has_fibre "
            "WHERE id IN (SELECT id FROM household WHERE village_code = '02923-06' LIMIT 9)"
        )
        conn.execute("DELETE FROM household WHERE id IN (SELECT id FROM household LIMIT 5)")
        conn.execute(
            "UPDATE coverage SET geom = ST_Multi(ST_Buffer(geom, -0.003)) "
            "WHERE id = (SELECT min(id) FROM coverage)"
        )
        conn.execute("DELETE FROM coverage WHERE id = (SELECT max(id) FROM coverage)")
        conn.commit()
        import_towers(conn, operator="Gmobile", technology="4G", towers=[(104.06, 22.38)],
                      valid_from=dt.date(2025, 1, 1))  # fmt: skip
    for selection in ({}, {"operator": "Gmobile"}, {"technology": "fibre"}):
        summary, reference = _summary_and_reference(gia_phu, **{**scope, **selection})
        assert summary == reference
    gm = _summary_and_reference(gia_phu, **{**scope, "operator": "Gmobile"})[0]
    assert sum(r[7] for r in gm) > 0  # the tower serves someone
    with psycopg.connect(gia_phu) as conn:
        conn.execute("SELECT set_config('agrimap.system', 'on', true)")
        conn.execute("TRUNCATE coverage CASCADE")
        n = conn.execute(
            "SELECT sum(households), count(*) FILTER (WHERE coverage_ids <> '{}') "
            "FROM village_coverage_summary"
        ).fetchone()
        assert n == (conn.execute("SELECT count(*) FROM household").fetchone()[0], 0)
        conn.rollback()


SETS_KEPT = (
    "SELECT household_id, village_code, has_fibre, coverage_ids FROM household_coverage ORDER BY 1"
)
SETS_FRESH = """
SELECT h.id, h.village_code, h.has_fibre,
       coalesce((SELECT array_agg(s.coverage_id ORDER BY s.coverage_id)
                 FROM household_served s WHERE s.household_id = h.id), '{}')
FROM household h ORDER BY 1
"""
SUMMARY = "SELECT village_code, coverage_ids, households, fibre_subscriptions FROM village_coverage_summary ORDER BY 1, 2"


def _sets_and_summary_are_fresh(conn: psycopg.Connection) -> None:
    """Each household's set is its household_served rows, and the summary kept by deltas is
    the one summed again from scratch (village_coverage_refresh_all, rolled back)."""
    assert conn.execute(SETS_KEPT).fetchall() == conn.execute(SETS_FRESH).fetchall()
    assert conn.execute(KEPT).fetchall() == conn.execute(FRESH_JOIN).fetchall()
    kept = conn.execute(SUMMARY).fetchall()
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT village_coverage_refresh_all()")
        assert kept == conn.execute(SUMMARY).fetchall()
    assert conn.execute(
        "SELECT count(*) FROM village_coverage_summary WHERE households = 0"
    ).fetchone() == (0,)


@pytest.fixture
def own_gia_phu(tmp_path: Path) -> str:
    """A demo commune this test may change and commit."""
    url = _fresh_database("agrimap_coverage_sets")
    assert load_demo(url, Settings(database_url=url, data_dir=tmp_path)) is True
    return url


def test_household_sets_and_deltas_follow_the_edits_the_delta_path_adds(own_gia_phu: str) -> None:
    """The cases the per-household sets (migration 0017) handle apart: a polygon whose id is
    below the stored ones (its set is sorted again, not appended), two overlapping polygons in
    one statement, two polygons re-shaped in one statement, a tier-only edit (nothing matched
    again), a household leaving every village, moved and fibre changed at once, a bulk delete;
    after each the sets, the summary and the indicators' per-household reference agree."""
    scope = {"level": None, "code": None, "operator": None, "technology": "4G", "tier": None,
             "as_of": None}  # fmt: skip
    with psycopg.connect(own_gia_phu) as conn:
        conn.execute("SELECT set_config('agrimap.system', 'on', false)")
        _sets_and_summary_are_fresh(conn)
        low = conn.execute("SELECT min(id) FROM coverage").fetchone()[0]
        row = conn.execute(
            "DELETE FROM coverage WHERE id = %s RETURNING operator, technology, version_id, geom",
            (low,),
        ).fetchone()
        _sets_and_summary_are_fresh(conn)
        conn.execute(
            "INSERT INTO coverage (id, operator, technology, version_id, geom) "
            "VALUES (%s, %s, %s, %s, %s)",
            (low, *row),
        )
        _sets_and_summary_are_fresh(conn)
        version = conn.execute(
            "INSERT INTO coverage_version (operator, technology, valid_from) "
            "VALUES ('Gmobile', '4G', '2025-01-01') RETURNING id"
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO coverage (operator, technology, version_id, geom) "
            "SELECT 'Gmobile', '4G', %s, ST_Multi(ST_Buffer(ST_Centroid(geom), r)) "
            "FROM village, (VALUES (0.004), (0.008)) AS radii(r) WHERE code = '02923-02'",
            (version,),
        )
        served = conn.execute(
            "SELECT count(*) FROM household_coverage WHERE cardinality(coverage_ids) >= 2 "
            "AND coverage_ids[cardinality(coverage_ids)] - coverage_ids[cardinality(coverage_ids) - 1] = 1 "
            "AND coverage_ids[cardinality(coverage_ids)] = (SELECT max(id) FROM coverage)"
        ).fetchone()[0]
        assert served > 0  # households inside both new circles hold both
        _sets_and_summary_are_fresh(conn)
        before = conn.execute(SUMMARY).fetchall()
        conn.execute("UPDATE coverage SET tier = 'fcc-4g' WHERE version_id = %s", (version,))
        assert conn.execute(SUMMARY).fetchall() == before
        conn.execute(
            "UPDATE coverage SET geom = ST_Multi(ST_Buffer(geom, 0.002)) WHERE version_id = %s",
            (version,),
        )
        _sets_and_summary_are_fresh(conn)
        conn.execute(
            "UPDATE household SET village_code = NULL "
            "WHERE id IN (SELECT id FROM household WHERE village_code = '02923-07' LIMIT 4)"
        )
        conn.execute(
            "UPDATE household SET geom = ST_Translate(geom, -0.006, 0.001), has_fibre = NOT has_fibre "
            "WHERE id IN (SELECT id FROM household WHERE village_code = '02923-02' LIMIT 25)"
        )
        _sets_and_summary_are_fresh(conn)
        conn.execute("DELETE FROM household WHERE village_code IN ('02923-01', '02923-02')")
        _sets_and_summary_are_fresh(conn)
        conn.commit()
    for selection in ({}, {"operator": "Gmobile"}, {"tier": "fcc-4g"}, {"technology": "fibre"}):
        summary, reference = _summary_and_reference(own_gia_phu, **{**scope, **selection})
        assert summary == reference
