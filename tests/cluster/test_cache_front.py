"""Varnish in front of two server processes (api/varnish.vcl): tiles are stored and
revalidated with our ETags on every request, so a write is seen through the cache on the next
request; personal and write requests pass through."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agrimap import topology
from geo import qrtoken
from tests.conftest import ROOT, _free_port

from .conftest import first_household, set_label, tile_url


@pytest.fixture(scope="module")
def front(demo_url: str) -> Iterator[str]:
    port = _free_port()
    folder = Path(ROOT / ".cache" / f"varnish-test-{port}")
    ports = [_free_port(), _free_port()]
    servers = topology.start_servers(ports, {"DATABASE_URL": demo_url}, folder)  # together
    try:
        varnish = topology.start_varnish(port, ports, folder / "varnish", cache_mb=32)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            varnish.stop()
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_tiles_are_revalidated_and_a_write_is_seen_on_the_next_request(front, demo_url) -> None:
    hid, label, lon, lat = first_household(demo_url)
    url = tile_url(front, lon, lat)
    try:
        first = httpx.get(url)
        assert first.status_code == 200 and label.encode() in first.content
        etag = first.headers["etag"]
        seen = set()
        for _ in range(4):  # stored, but asked again each time: the backend says 304
            again = httpx.get(url)
            assert again.status_code == 200 and again.content == first.content
            assert again.headers["x-front-fetch"] == "304" and again.headers["etag"] == etag
            seen.add(again.headers["x-backend"])
        assert seen == {"s0", "s1"}  # both server processes answer
        assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 304

        set_label(demo_url, hid, label + " (qua bộ đệm)")
        after = httpx.get(url)  # the next request, through the cache
        assert after.headers["x-front-fetch"] == "200" and after.headers["etag"] != etag
        assert (label + " (qua bộ đệm)").encode() in after.content
        assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 200
    finally:
        set_label(demo_url, hid, label)


def test_pages_and_personal_requests_are_not_stored(front, demo_url) -> None:
    hid, label, _, _ = first_household(demo_url)
    item = f"{front}/collections/households/items/{hid}"
    assert httpx.get(item).json()["properties"]["label"] == label
    try:
        set_label(demo_url, hid, label + " (trang)")
        assert httpx.get(item).json()["properties"]["label"] == label + " (trang)"
    finally:
        set_label(demo_url, hid, label)
    # A request with a token passes to a server as it is (and is refused there: no such token).
    r = httpx.get(f"{front}/auth/tokens", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and "x-front-fetch" in r.headers
    page = httpx.get(f"{front}/q/{qrtoken.new_token()}")  # a QR page is private, no-store
    assert page.status_code == 404 and "Không tìm thấy" in page.text
