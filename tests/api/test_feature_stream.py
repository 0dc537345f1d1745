"""Big feature pages are streamed: same document as a page built whole, sent in chunks."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

import httpx
import orjson
import psycopg
import pytest

from tests.conftest import serve

HOUSEHOLDS = "/collections/households/items"


@pytest.fixture(scope="module")
def streaming_server(demo_url: str) -> Iterator[str]:
    """Our server streaming every JSON page of more than 5 features."""
    with serve(demo_url, AGRIMAP_STREAM_ABOVE="5") as base:
        yield base


def _bbox(demo_url: str) -> str:
    with psycopg.connect(demo_url) as conn:
        w, s, e, n = conn.execute(
            "SELECT ST_XMin(x), ST_YMin(x), (ST_XMin(x) + ST_XMax(x)) / 2, ST_YMax(x) "
            "FROM (SELECT ST_Extent(geom) x FROM household) q"
        ).fetchone()
    return f"{w},{s},{e},{n}"


def _pages(base: str, path: str, params: dict) -> list[dict]:
    """Every page of a query, following the next links."""
    pages = []
    url, query = f"{base}{path}", dict(params)
    while url:
        response = httpx.get(url, params=query, timeout=60)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        nxt = [lk["href"] for lk in pages[-1]["links"] if lk["rel"] == "next"]
        url, query = (nxt[0], None) if nxt else (None, None)
    return pages


def _comparable(page: dict, base: str) -> dict:
    links = [{**lk, "href": lk["href"].replace(base, "BASE")} for lk in page["links"]]
    return {**page, "links": sorted(links, key=lambda lk: lk["rel"])}


@pytest.mark.parametrize("kind", ["whole table", "bbox", "property"])
def test_streamed_pages_equal_pages_built_whole(
    live_server: str, streaming_server: str, demo_url: str, kind: str
) -> None:
    params: dict = {"limit": 70, "f": "json"}
    if kind == "bbox":
        params["bbox"] = _bbox(demo_url)
    elif kind == "property":
        params["has_fibre"] = "true"
    whole = _pages(live_server, HOUSEHOLDS, params)
    streamed = _pages(streaming_server, HOUSEHOLDS, params)
    assert len(whole) > 1  # several pages, so the next links and cursors are compared too
    assert [_comparable(p, streaming_server) for p in streamed] == [
        _comparable(p, live_server) for p in whole
    ]
    ids = [f["id"] for p in streamed for f in p["features"]]
    assert len(ids) == len(set(ids)) == streamed[0]["numberMatched"]


def test_a_streamed_page_is_sent_in_chunks(streaming_server: str) -> None:
    chunks = []
    with httpx.stream("GET", f"{streaming_server}{HOUSEHOLDS}", params={"limit": 1200}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/geo+json")
        assert "content-length" not in r.headers  # chunked: sent as it is read
        chunks = list(r.iter_raw())
    doc = orjson.loads(b"".join(chunks))
    assert doc["numberReturned"] == len(doc["features"]) == 1200
    assert len(chunks) >= 3  # the opening, the feature chunks (500 each), the counts and links


def test_a_streamed_page_says_when_its_count_is_an_estimate(demo_url: str) -> None:
    with serve(demo_url, AGRIMAP_STREAM_ABOVE="5", AGRIMAP_COUNT_CAP="300") as base:
        doc = httpx.get(f"{base}{HOUSEHOLDS}", params={"limit": 50}).json()
    assert doc["numberMatchedIsEstimate"] is True and doc["numberMatched"] > 300
    assert doc["numberReturned"] == 50 and any(lk["rel"] == "next" for lk in doc["links"])


def test_bad_parameters_are_refused_before_streaming(streaming_server: str) -> None:
    r = httpx.get(f"{streaming_server}{HOUSEHOLDS}", params={"limit": 50, "bbox": "1,2,3"})
    assert r.status_code == 400 and "bbox" in r.text


@pytest.mark.gdal
def test_gdal_reads_streamed_pages(streaming_server: str) -> None:
    exe = shutil.which("ogrinfo")
    assert exe, "ogrinfo is missing: ./run.sh test installs Debian's gdal-bin"
    url = f"{streaming_server}{HOUSEHOLDS}?limit=1200&f=json"
    proc = subprocess.run(
        [exe, "-ro", "-al", "-so", url], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert int(re.search(r"Feature Count: (\d+)", proc.stdout).group(1)) == 1200
