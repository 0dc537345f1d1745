"""Issue 17, links: from AGRIMAP_PUBLIC_URL when set; without it, only a Host of
AGRIMAP_ALLOWED_HOSTS (default localhost, 127.0.0.1, ::1) is served, so a forged Host never
reaches a page, a document or a printed QR code."""

from __future__ import annotations

import httpx

from tests.conftest import serve


def test_a_foreign_host_is_refused_without_a_public_url(live_server: str) -> None:
    for path in ("/", "/collections", "/tiles/WebMercatorQuad", "/maps/overview"):
        r = httpx.get(live_server + path, headers={"Host": "evil.example"})
        assert r.status_code == 400, (path, r.status_code)
        assert "AGRIMAP_ALLOWED_HOSTS" in r.text
    ok = httpx.get(live_server + "/")  # Host: 127.0.0.1:<port>
    assert ok.status_code == 200
    assert all(link["href"].startswith(live_server) for link in ok.json()["links"])
    assert httpx.get(live_server + "/", headers={"Host": "localhost"}).status_code == 200


def test_links_come_from_the_public_url_whatever_the_host(demo_url: str) -> None:
    public = "https://agrimap.example.vn"
    with serve(demo_url, AGRIMAP_PUBLIC_URL=public) as base:
        evil = {"Host": "evil.example"}
        landing = httpx.get(base + "/", headers=evil)
        tilejson = httpx.get(base + "/tiles/WebMercatorQuad", headers=evil)
        sets = httpx.get(base + "/tileMatrixSets", headers=evil)
        items = httpx.get(base + "/collections/villages/items?limit=1", headers=evil)
    assert landing.status_code == 200
    hrefs = [link["href"] for link in landing.json()["links"]]
    hrefs += tilejson.json()["tiles"] + [sets.json()["tileMatrixSets"][0]["links"][0]["href"]]
    hrefs += [link["href"] for link in items.json()["links"]]
    assert hrefs and all(h.startswith(public + "/") for h in hrefs), hrefs
    assert "evil.example" not in landing.text + tilejson.text + items.text
