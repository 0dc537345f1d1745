"""OGC API - Features helpers: parameter parsing, links and format negotiation (no routes)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request

from geo.errors import InvalidInput
from geo.values import id_number
from layers.serving.catalog import Collection
from layers.serving.features import FeatureQuery

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

ITEMS_PARAMS = {"f", "limit", "bbox", "cursor", "lang"}
COMMON_PARAMS = {"f", "lang"}


def base_url(request: Request, public_url: str | None) -> str:
    """Where links point: AGRIMAP_PUBLIC_URL, else the request's own address, whose Host the
    AllowedHosts middleware has checked against AGRIMAP_ALLOWED_HOSTS."""
    return (public_url or str(request.base_url)).rstrip("/")


def site_url(request: Request) -> str:
    """``base_url`` with the server's own settings."""
    return base_url(request, request.app.state.agrimap.settings.public_url)


def wants_html(request: Request) -> bool:
    f = request.query_params.get("f")
    if f is not None:
        if f not in ("json", "geojson", "html"):
            raise InvalidInput(
                f"Định dạng f={f} không được hỗ trợ.",
                f"Unsupported format f={f}.",
                hint_vi="Dùng f=json hoặc f=html.",
                hint_en="Use f=json or f=html.",
            )
        return f == "html"
    accept = request.headers.get("accept", "")
    return HTML in accept and "json" not in accept.split(HTML)[0]


def refuse_unknown(request: Request, allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        names = ", ".join(unknown)
        raise InvalidInput(
            f"Tham số không được hỗ trợ: {names}.",
            f"Unknown query parameter(s): {names}.",
            hint_vi=f"Các tham số hợp lệ: {', '.join(sorted(allowed))}.",
            hint_en=f"Allowed parameters: {', '.join(sorted(allowed))}.",
        )


@dataclass(frozen=True)
class Limits:
    default: int
    maximum: int


def parse_limit(raw: str | None, limits: Limits) -> int:
    if raw is None:
        return limits.default
    # ASCII digits only: "²" passes str.isdigit but int() refuses it.
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise InvalidInput(
            f"limit={raw} không hợp lệ.",
            f"limit={raw} is not a positive integer.",
            hint_vi=f"Dùng số nguyên từ 1 đến {limits.maximum}.",
            hint_en=f"Use an integer from 1 to {limits.maximum}.",
        )
    # The standard lets a server cap limit instead of refusing it.
    return min(int(raw), limits.maximum)


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        values = []
    if len(values) == 6:  # 3D bbox: drop the heights
        values = [values[0], values[1], values[3], values[4]]
    ok = (
        len(values) == 4
        and -180 <= values[0] <= 180
        and -180 <= values[2] <= 180
        and -90 <= values[1] <= values[3] <= 90
    )
    if not ok:
        raise InvalidInput(
            f"bbox={raw} không hợp lệ.",
            f"bbox={raw} is not valid.",
            hint_vi="Dùng bbox=kinh_độ_min,vĩ_độ_min,kinh_độ_max,vĩ_độ_max theo WGS84, ví dụ bbox=104.0,22.3,104.1,22.4.",
            hint_en="Use bbox=minlon,minlat,maxlon,maxlat in WGS84, e.g. bbox=104.0,22.3,104.1,22.4.",
        )
    return (values[0], values[1], values[2], values[3])


def parse_items_query(request: Request, coll: Collection, limits: Limits) -> FeatureQuery:
    allowed = ITEMS_PARAMS | {p.name for p in coll.properties}
    refuse_unknown(request, allowed)
    params = request.query_params
    equals = {p.name: params[p.name] for p in coll.properties if p.name in params}
    for name, value in equals.items():
        if coll.property(name).type == "boolean":  # type: ignore[union-attr]
            if value.lower() not in ("true", "false"):
                raise InvalidInput(
                    f"{name}={value}: cần true hoặc false.",
                    f"{name}={value}: expected true or false.",
                )
            equals[name] = value.lower()
    cursor = params.get("cursor")
    if cursor is not None and coll.id_column == "id" and id_number(cursor) is None:
        raise InvalidInput(
            "Tham số cursor không hợp lệ.",
            "Invalid cursor.",
            hint_vi="Dùng nguyên đường dẫn 'next' mà máy chủ trả về.",
            hint_en="Follow the 'next' link the server returned.",
        )
    return FeatureQuery(
        limit=parse_limit(params.get("limit"), limits),
        bbox=parse_bbox(params.get("bbox")),
        after=cursor,
        equals=equals,
    )


def link(href: str, rel: str, type_: str, title: str) -> dict:
    return {"href": href, "rel": rel, "type": type_, "title": title}


def with_params(url: str, request: Request, **changes: str | None) -> str:
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return f"{url}?{urlencode(params)}" if params else url


def collection_doc(coll: Collection, base: str, lang: str, extent: tuple | None) -> dict:
    title = coll.title_vi if lang == "vi" else coll.title_en
    url = f"{base}/collections/{coll.id}"
    doc = {
        "id": coll.id,
        "title": title,
        "description": coll.description_vi if lang == "vi" else coll.description_en,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            link(url, "self", JSON, title),
            link(f"{url}?f=html", "alternate", HTML, title),
            link(f"{url}/items", "items", GEOJSON, title),
            link(f"{url}/items?f=html", "items", HTML, title),
            link(
                f"{url}/queryables",
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "application/schema+json",
                "Queryables",
            ),
        ],
    }
    if extent is not None:
        doc["extent"] = {"spatial": {"bbox": [list(extent)], "crs": CRS84}}
    return doc
