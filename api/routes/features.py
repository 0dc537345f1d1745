"""OGC API - Features routes: landing page, conformance, collections and items."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from psycopg import AsyncConnection

from layers.serving import feature_stream, features
from layers.serving.catalog import COLLECTIONS, Collection

from .. import ogc
from ..chrome import header_html
from ..deps import ReadConnDep, SettingsDep, find_collection
from ..errors import request_lang
from ..html import render

router = APIRouter()


def _json(doc: dict, media_type: str = ogc.JSON) -> Response:
    return Response(orjson.dumps(doc), media_type=media_type)


@router.get("/", summary="Landing page")
async def landing(request: Request, settings: SettingsDep) -> Response:
    ogc.refuse_unknown(request, ogc.COMMON_PARAMS)
    base = ogc.base_url(request, settings.public_url)
    lang = request_lang(request)
    doc = {
        "title": "AgriMap – Bản đồ số nông nghiệp"
        if lang == "vi"
        else "AgriMap – digital agriculture map",
        "description": "Vùng trồng, nông hóa thổ nhưỡng, hộ gia đình và vùng phủ sóng viễn thông."
        if lang == "vi"
        else "Growing areas, soil fertility, households and telecom coverage.",
        "links": [
            ogc.link(f"{base}/", "self", ogc.JSON, "Trang chủ"),
            ogc.link(f"{base}/?f=html", "alternate", ogc.HTML, "Trang chủ (HTML)"),
            ogc.link(f"{base}/api", "service-desc", ogc.OPENAPI, "OpenAPI 3.0"),
            ogc.link(f"{base}/api.html", "service-doc", ogc.HTML, "Tài liệu API"),
            ogc.link(f"{base}/conformance", "conformance", ogc.JSON, "Chuẩn tuân thủ"),
            ogc.link(f"{base}/collections", "data", ogc.JSON, "Các lớp dữ liệu"),
            ogc.link(f"{base}/maps/overview", "alternate", ogc.HTML, "Bản đồ tổng quan"),
        ],
    }
    if ogc.wants_html(request):
        return HTMLResponse(
            render(
                "landing.html",
                lang=lang,
                doc=doc,
                collections=COLLECTIONS,
                header_html=await header_html(request),
            )  # fmt: skip
        )
    return _json(doc)


@router.get("/conformance", summary="Conformance classes")
async def conformance(request: Request) -> Response:
    ogc.refuse_unknown(request, ogc.COMMON_PARAMS)
    doc = {"conformsTo": ogc.CONFORMANCE}
    if ogc.wants_html(request):
        return HTMLResponse(
            render(
                "conformance.html",
                lang=request_lang(request),
                doc=doc,
                header_html=await header_html(request),
            )  # fmt: skip
        )
    return _json(doc)


@router.get("/collections", summary="Feature collections")
async def collections(request: Request, conn: ReadConnDep, settings: SettingsDep) -> Response:
    ogc.refuse_unknown(request, ogc.COMMON_PARAMS)
    base = ogc.base_url(request, settings.public_url)
    lang = request_lang(request)
    docs = [ogc.collection_doc(c, base, lang, await features.extent(conn, c)) for c in COLLECTIONS]
    doc = {
        "links": [
            ogc.link(f"{base}/collections", "self", ogc.JSON, "Các lớp dữ liệu"),
            ogc.link(f"{base}/collections?f=html", "alternate", ogc.HTML, "Các lớp dữ liệu"),
        ],
        "collections": docs,
    }
    if ogc.wants_html(request):
        return HTMLResponse(
            render(
                "collections.html",
                lang=lang,
                doc=doc,
                header_html=await header_html(request),
            )  # fmt: skip
        )
    return _json(doc)


@router.get("/collections/{collection_id}", summary="One feature collection")
async def collection(
    collection_id: str, request: Request, conn: ReadConnDep, settings: SettingsDep
) -> Response:
    ogc.refuse_unknown(request, ogc.COMMON_PARAMS)
    coll = find_collection(collection_id)
    lang = request_lang(request)
    base = ogc.base_url(request, settings.public_url)
    doc = ogc.collection_doc(coll, base, lang, await features.extent(conn, coll))
    if ogc.wants_html(request):
        return HTMLResponse(
            render(
                "collection.html",
                lang=lang,
                doc=doc,
                coll=coll,
                header_html=await header_html(request),
            )  # fmt: skip
        )
    return _json(doc)


@router.get("/collections/{collection_id}/queryables", summary="Queryable properties")
async def queryables(collection_id: str, request: Request, settings: SettingsDep) -> Response:
    ogc.refuse_unknown(request, ogc.COMMON_PARAMS)
    coll = find_collection(collection_id)
    base = ogc.base_url(request, settings.public_url)
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{coll.id}/queryables",
        "type": "object",
        "title": coll.title_vi,
        "properties": {
            p.name: {
                "title": p.title_vi,
                "type": p.type,
                **({"format": p.format} if p.format else {}),
            }
            for p in coll.properties
        },
    }
    return _json(doc, "application/schema+json")


def _page_links(
    request: Request, base: str, coll: Collection, next_after: str | None, html: bool
) -> list[dict]:
    url = f"{base}/collections/{coll.id}/items"
    links = [
        ogc.link(ogc.with_params(url, request, f="json"), "self", ogc.GEOJSON, "Trang này"),
        ogc.link(
            ogc.with_params(url, request, f="html"), "alternate", ogc.HTML, "Trang này (HTML)"
        ),
        ogc.link(f"{base}/collections/{coll.id}", "collection", ogc.JSON, coll.title_vi),
    ]
    if next_after is not None:
        links.append(
            ogc.link(
                ogc.with_params(url, request, cursor=next_after, f="html" if html else "json"),
                "next",
                ogc.HTML if html else ogc.GEOJSON,
                "Trang sau",
            )
        )
    return links


def _counts(returned: int, matched: int | None, estimate: bool) -> dict:
    doc: dict = {"numberReturned": returned, "numberMatched": matched}
    if estimate:
        doc["numberMatchedIsEstimate"] = True
    return doc


@router.get("/collections/{collection_id}/items", summary="Features of a collection")
async def items(
    collection_id: str, request: Request, conn: ReadConnDep, settings: SettingsDep
) -> Response:
    coll = find_collection(collection_id)
    query = ogc.parse_items_query(
        request, coll, ogc.Limits(settings.default_limit, settings.max_limit)
    )
    html = ogc.wants_html(request)
    base = ogc.base_url(request, settings.public_url)
    if not html and query.limit > settings.stream_above:
        body = _streamed_items(request, conn, coll, query, base, settings.count_cap)
        return StreamingResponse(body, media_type=ogc.GEOJSON)
    page = await features.feature_page(conn, coll, query=query, count_cap=settings.count_cap)
    links = _page_links(request, base, coll, page.next_after, html)
    if html:
        parsed = orjson.loads("[" + page.features_json + "]")
        return HTMLResponse(
            render(
                "items.html",
                lang=request_lang(request),
                coll=coll,
                features=parsed,
                page=page,
                links=links,
                header_html=await header_html(request),
            )
        )
    head = {
        "type": "FeatureCollection",
        **_counts(page.number_returned, page.number_matched, page.matched_is_estimate),
        "links": links,
    }
    # The features are already one JSON text from PostGIS: splice it in rather than re-parse.
    body = orjson.dumps(head)[:-1] + b',"features":[' + page.features_json.encode() + b"]}"
    return Response(body, media_type=ogc.GEOJSON)


async def _streamed_items(
    request: Request,
    conn: AsyncConnection,
    coll: Collection,
    query: features.FeatureQuery,
    base: str,
    count_cap: int,
) -> AsyncIterator[bytes]:
    """A big page as it is read: the features first, then the counts and links (the next
    link and numberMatched are known only at the end). The request's connection stays open
    until the response is sent (FastAPI >= 0.118 closes yield dependencies after it)."""
    page = feature_stream.StreamedPage()
    yield b'{"type":"FeatureCollection","features":['
    async for chunk in feature_stream.stream_features(conn, coll, query=query, page=page):
        yield chunk.encode()
    more = page.next_after is not None
    matched, estimate = await features.count_matched(
        conn, coll, query, returned=page.number_returned, more=more, count_cap=count_cap
    )
    tail = {
        **_counts(page.number_returned, matched, estimate),
        "links": _page_links(request, base, coll, page.next_after, html=False),
    }
    yield b"]," + orjson.dumps(tail)[1:]


@router.get("/collections/{collection_id}/items/{fid}", summary="One feature")
async def item(
    collection_id: str, fid: str, request: Request, conn: ReadConnDep, settings: SettingsDep
) -> Response:
    ogc.refuse_unknown(request, ogc.COMMON_PARAMS)
    coll = find_collection(collection_id)
    text = await features.feature(conn, coll, fid=fid)
    base = ogc.base_url(request, settings.public_url)
    url = f"{base}/collections/{coll.id}/items/{fid}"
    doc = orjson.loads(text)
    doc["links"] = [
        ogc.link(url, "self", ogc.GEOJSON, "Đối tượng này"),
        ogc.link(f"{url}?f=html", "alternate", ogc.HTML, "Đối tượng này (HTML)"),
        ogc.link(f"{base}/collections/{coll.id}", "collection", ogc.JSON, coll.title_vi),
    ]
    if ogc.wants_html(request):
        return HTMLResponse(
            render(
                "item.html",
                lang=request_lang(request),
                coll=coll,
                feature=doc,
                header_html=await header_html(request),
            )  # fmt: skip
        )
    response = _json(doc, ogc.GEOJSON)
    version = (doc.get("properties") or {}).get("version")
    if version is not None:  # what a client sends back in If-Match when it edits
        response.headers["ETag"] = f'"v{version}"'
    return response
