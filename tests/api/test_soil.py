"""The soil routes over the demo commune: rasters with their class tables, a point, a growing
area's statistics and note, a whole commune in one request, and bilingual errors."""

from __future__ import annotations

import httpx
import psycopg


def test_current_rasters_carry_class_table_method_and_reliability(live_server) -> None:
    rasters = httpx.get(f"{live_server}/soil/rasters").json()["rasters"]
    by_prop = {r["property"]: r for r in rasters}
    assert set(by_prop) == {"om", "ph_kcl", "n", "p2o5_available", "k2o_available"}
    om = by_prop["om"]
    assert om["method"] == "ordinary_kriging" and om["unit"] == "%" and om["depth_cm"] == "0-20"
    assert om["reliability"]["rmse_text"].endswith(" %") and om["reliability"]["n"] == 150
    assert [c["grade"] for c in om["class_table"]["classes"]][-1] == "rất giàu"
    assert "DOMAIN.md" in om["class_table"]["source"]
    assert by_prop["ph_kcl"]["reliability"]["rmse_text"].startswith("pH ")
    legend = httpx.get(f"{live_server}/collections/soil_rasters/items/{om['id']}/legend").json()
    assert legend["classes"] == om["class_table"]["classes"]  # tiles, legend: one table


def test_point_query_gives_value_grade_and_unit(live_server) -> None:
    body = httpx.get(f"{live_server}/soil/point", params={"lon": 104.08, "lat": 22.365}).json()
    props = {p["property"]: p for p in body["properties"]}
    ph = props["ph_kcl"]
    assert ph["value"] is not None and ph["value_text"].startswith("pH ") and ph["grade"]
    assert props["k2o_available"]["value_text"].endswith(" mg/100 g")


def test_growing_area_statistics_and_note(live_server, demo_url) -> None:
    with psycopg.connect(demo_url) as conn:
        area_id = conn.execute("SELECT min(id) FROM growing_area").fetchone()[0]
    report = httpx.get(f"{live_server}/soil/growing-areas/{area_id}").json()
    assert report["id"] == area_id and len(report["properties"]) == 5
    for p in report["properties"]:
        assert p["min"] <= p["mean"] <= p["max"] and p["covered"] > 0.99
        assert abs(sum(g["share"] for g in p["grades"]) - 1) < 1e-9
        assert abs(sum(g["probability"] for g in p["probabilities"]) - 1) < 1e-6
        assert p["mean_text"] != str(p["mean"])  # formatted with its unit, never bare
    assert report["note"] and all(isinstance(n, str) for n in report["note"])
    english = httpx.get(f"{live_server}/soil/growing-areas/{area_id}?lang=en").json()
    assert english["note"] != report["note"]
    om = next(p for p in english["properties"] if p["property"] == "om")
    labels = {"very poor", "poor", "medium", "rich", "very rich"}
    assert om["grade_en"] in labels and {g["label_en"] for g in om["grades"]} == labels


def test_a_whole_commune_in_one_request(live_server, demo_url) -> None:
    with psycopg.connect(demo_url) as conn:
        count = conn.execute(
            "SELECT count(*) FROM growing_area WHERE commune_code = '02923' AND status <> 'revoked'"
        ).fetchone()[0]
        first = conn.execute("SELECT min(id) FROM growing_area").fetchone()[0]
    body = httpx.get(f"{live_server}/soil/communes/02923/growing-areas").json()
    assert body["count"] == count == len(body["growing_areas"]) > 100
    one = httpx.get(f"{live_server}/soil/growing-areas/{first}").json()
    same = next(a for a in body["growing_areas"] if a["id"] == first)
    assert same["properties"] == one["properties"]  # per area or per commune: the same figures


def test_errors_are_bilingual_and_never_500(live_server) -> None:
    r = httpx.get(f"{live_server}/soil/point", params={"lon": 2.35, "lat": 48.85})
    assert r.status_code == 400 and "không nằm trong Việt Nam" in r.json()["description"]
    r = httpx.get(f"{live_server}/soil/growing-areas/999999")
    assert r.status_code == 404 and "Không có vùng trồng" in r.json()["description"]
    r = httpx.get(f"{live_server}/soil/communes/99999/growing-areas")
    assert r.status_code == 404 and "chưa có vùng trồng" in r.json()["description"]
    assert httpx.get(f"{live_server}/soil/rasters/999999/zones").status_code == 404


def test_the_printable_sheet_carries_the_same_soil_summary(live_server, demo_url) -> None:
    with psycopg.connect(demo_url) as conn:
        area_id = conn.execute("SELECT min(id) FROM growing_area").fetchone()[0]
    report = httpx.get(f"{live_server}/soil/growing-areas/{area_id}").json()
    sheet = httpx.get(f"{live_server}/collections/growing_areas/items/{area_id}/sheet").text
    assert "<h2>Nông hóa thổ nhưỡng</h2>" in sheet
    for p in report["properties"]:
        assert p["label_vi"] in sheet and p["mean_text"] in sheet
    assert report["note"][0].split(":")[0] in sheet
