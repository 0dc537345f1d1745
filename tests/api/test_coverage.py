"""The coverage routes (issue 13) on the live demo server: indicators for planners, the point
query for everyone, and no input that gives a 500."""

from __future__ import annotations

import uuid

import httpx
import pytest

from agrimap.clicommon import run_async
from layers import accounts


@pytest.fixture(scope="module")
def planner(demo_url: str) -> dict[str, str]:
    name = f"cov-{uuid.uuid4().hex[:6]}"
    run_async(demo_url, accounts.add_user, username=name, role="planner",
              password="mật-khẩu-thử-0123", by="tests")  # fmt: skip
    _, token = run_async(demo_url, accounts.create_token, username=name, name="t", by="tests")
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def test_indicators_for_planners(live_server: str, planner: dict) -> None:
    url = f"{live_server}/coverage/indicators"
    r = httpx.get(url, params={"level": "commune", "code": "02923"}, headers=planner)
    assert r.status_code == 200, r.text
    c = r.json()["communes"][0]
    verdicts = {t["indicator"]: t["value"] for t in c["criterion8"]}
    assert verdicts["villages_mobile_broadband_pct"] == 100.0
    assert verdicts["villages_fibre_pct"] == 85.7
    assert 81.0 < verdicts["households_fibre_pct"] < 81.6  # other tests add households here
    r = httpx.get(url, params={"level": "commune", "code": "02923", "operator": "MobiFone"},
                  headers=planner)  # fmt: skip
    assert r.json()["communes"][0]["villages_covered"] < 14
    assert httpx.get(url).status_code == 401


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"technology": "6G"}, 400),
        ({"tier": "zone-9"}, 400),
        ({"level": "commune"}, 400),
        ({"level": "district", "code": "1"}, 400),
        ({"level": "commune", "code": "99999"}, 404),
        ({"operator": "Nobody"}, 404),
        ({"covered_share": "0.5", "partly_share": "0.8"}, 400),
        ({"covered_share": "2"}, 400),
        ({"as_of": "2024-13-40"}, 400),
        ({"code": "x" * 500}, 400),
        ({"level": "commune", "code": "02923\x00"}, 400),
        ({"operator": "Viet\x00tel"}, 400),
    ],
)
def test_indicator_inputs_never_500(live_server: str, planner: dict, params, status) -> None:
    r = httpx.get(f"{live_server}/coverage/indicators", params=params, headers=planner)
    assert r.status_code == status, r.text
    assert "không" in r.text.lower() or "chưa" in r.text.lower()  # the Vietnamese reason


def test_point_query_is_public(live_server: str) -> None:
    r = httpx.get(f"{live_server}/coverage/at", params={"lon": 104.07, "lat": 22.37})
    assert r.status_code == 200
    body = r.json()
    assert body["served"] is True and body["village"]["commune_code"] == "02923"
    assert {c["operator"] for c in body["coverage"]} == {"Viettel", "VNPT", "MobiFone"}
    far = httpx.get(f"{live_server}/coverage/at", params={"lon": 0, "lat": 0}).json()
    assert (far["served"], far["coverage"], far["village"]) == (False, [], None)
    for bad in (
        {"lon": 200, "lat": 0},
        {"lon": "nan", "lat": 0},
        {"lat": 1},
        {"lon": "x", "lat": 1},
    ):
        assert httpx.get(f"{live_server}/coverage/at", params=bad).status_code == 400


def test_hexagons_as_geojson(live_server: str, planner: dict) -> None:
    url = f"{live_server}/coverage/hexagons"
    r = httpx.get(url, params={"level": "commune", "code": "02923"}, headers=planner)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    assert r.json()["features"][0]["geometry"]["type"] == "Polygon"
    assert httpx.get(url, params={"resolution": 20}, headers=planner).status_code == 400
    assert httpx.get(url).status_code == 401


def test_village_stats_from_the_summary(live_server: str, planner: dict) -> None:
    rows = httpx.get(f"{live_server}/stats/villages", headers=planner).json()["villages"]
    by_code = {r["code"]: r for r in rows}
    assert len(rows) == 14
    phu_hai = by_code["02923-02"]
    assert (phu_hai["with_4g"], phu_hai["counted"]) == (23, True)
    assert phu_hai["with_4g_pct"] == round(100 * 23 / phu_hai["households"], 1)
    assert sum(r["households"] for r in rows) >= 2626
    assert sum(r["with_fibre"] for r in rows) >= 2135


def test_speed_tests_for_planners(live_server: str, planner: dict) -> None:
    """The map's speed-test points: GeoJSON for planners, a bilingual 4xx for bad input, the
    province page as well as the commune's."""
    url = f"{live_server}/coverage/speed-tests"
    q = {"operator": "Viettel", "level": "province", "code": "15"}
    r = httpx.get(url, params=q, headers=planner)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["tier"]["code"] == "qcvn81-z2"  # 4G's lowest tier when none is named
    assert all(f["geometry"]["type"] == "Point" for f in body["features"])
    assert httpx.get(url, params=q).status_code == 401
    for bad, status in (
        ({**q, "operator": "Nobody"}, 404),
        ({**q, "technology": "2G"}, 400),  # no tier for 2G to hold the tests to
        ({**q, "tier": "zone-9"}, 400),
        ({"operator": "Viettel", "level": "province"}, 400),  # a level without a code
    ):
        r = httpx.get(url, params=bad, headers=planner)
        assert r.status_code == status, (bad, r.text)
        assert "không" in r.text.lower() or "chưa" in r.text.lower()
    page = httpx.get(f"{live_server}/maps/coverage", params={"province": "15"}, headers=planner)
    assert page.status_code == 200 and 'id="coverage-communes"' in page.text
    assert httpx.get(f"{live_server}/maps/coverage", params={"province": "99"},
                     headers=planner).status_code == 404  # fmt: skip
