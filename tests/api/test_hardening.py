"""Issue 17, first cases: NUL bytes and values PostgreSQL cannot take get a bilingual 400, never a
500; /healthz and /readyz answer for load balancers, /readyz with 503 and Retry-After when the
database is behind this code's schema."""

from __future__ import annotations

import uuid

import httpx
import psycopg
import pytest

from agrimap.clicommon import run_async
from layers import accounts
from layers.migrate import head_revision
from tests.conftest import _fresh_database, serve

# Each of these answered 500 before (found by probing the live server).
NUL_REQUESTS = [
    "/collections/households/items?code=%00",
    "/collections/growing_areas/items?code=a%00b",
    "/collections/growing_areas/items?crop=%00",
    "/collections/villages/items/%00",
    "/q/%00abc",
]


@pytest.mark.parametrize("path", NUL_REQUESTS)
def test_nul_in_a_path_or_parameter_is_a_bilingual_400(live_server: str, path: str) -> None:
    r = httpx.get(live_server + path)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "InvalidInput" and "NUL" in body["description"]
    assert "NUL" in body["description_en"]


def test_nul_in_a_page_address_is_a_vietnamese_400_page(live_server: str) -> None:
    r = httpx.get(live_server + "/maps/register?commune=%00", follow_redirects=False)
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert "Dữ liệu chưa hợp lệ" in r.text and "NUL" in r.text


def test_nul_inside_a_json_body_is_a_400_not_a_500(live_server: str, demo_url: str) -> None:
    name = f"hard-{uuid.uuid4().hex[:6]}"
    run_async(demo_url, accounts.add_user, username=name, role="admin",
              password="mật-khẩu-cứng-0123", by="tests")  # fmt: skip
    _, token = run_async(demo_url, accounts.create_token, username=name, name="t", by="tests")
    with psycopg.connect(demo_url) as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM village "
            "ORDER BY code LIMIT 1) s"
        ).fetchone()
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
               "properties": {"label": "Hộ a\u0000b"}}  # fmt: skip
    r = httpx.post(
        f"{live_server}/collections/households/items",
        json=feature,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "InvalidInput" and "NUL" in r.json()["description_en"]
    with psycopg.connect(demo_url) as conn:  # nothing was stored
        assert conn.execute(
            "SELECT count(*) FROM household WHERE label LIKE 'Hộ a%%'"
        ).fetchone() == (0,)


def test_healthz_and_readyz_on_a_current_database(live_server: str) -> None:
    assert httpx.get(f"{live_server}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{live_server}/readyz")
    body = ready.json()
    assert ready.status_code == 200 and body["status"] == "ok"
    assert body["schema"] == head_revision()
    assert body.get("replica", {"configured": False}) == {"configured": False}  # none set


def test_readyz_is_503_with_retry_after_while_the_schema_is_behind() -> None:
    url = _fresh_database("agrimap_readyz_test")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0006'")
    with serve(url) as base:
        r = httpx.get(f"{base}/readyz")
        assert httpx.get(f"{base}/healthz").status_code == 200
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert "0006" in r.json()["description"] and "agrimap migrate" in r.json()["description"]
