"""OpenAPI 3.0 description (FastAPI writes 3.1; OGC API - Features Part 1 asks for 3.0) that
tells the truth: every status and media type a route answers (issue 17), our bilingual error
body instead of FastAPI's 422, and OPTIONS answered for every path it lists."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.routing import APIRoute

from geo.exports import FORMATS

from .auth import current_principal

JSON, GEOJSON, HTML = "application/json", "application/geo+json", "text/html"
MVT = "application/vnd.mapbox-vector-tile"
PNG, SVG, PDF = "image/png", "image/svg+xml", "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORTS = sorted({media for _, media in FORMATS.values()})
ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "type": "object",
    "description": "Lỗi, tiếng Việt trước / an error, Vietnamese first",
    "properties": {
        "code": {"type": "string", "example": "InvalidInput"},
        "description": {"type": "string", "description": "Tiếng Việt, kèm gợi ý sửa"},
        "description_en": {"type": "string", "description": "English, with a hint"},
        "details": {"type": "array", "items": {"type": "string"}},
    },
}
ANY_BODY = {"schema": {}}

# What a 200 (or the route's success status) is, where it is not plain JSON: (method, path)
# -> media types. Routes that answer HTML or JSON by ?f= or Accept list both.
SUCCESS_MEDIA: dict[tuple[str, str], list[str]] = {
    ("get", "/"): [JSON, HTML],
    ("get", "/conformance"): [JSON, HTML],
    ("get", "/collections"): [JSON, HTML],
    ("get", "/collections/{collection_id}"): [JSON, HTML],
    ("get", "/collections/{collection_id}/queryables"): ["application/schema+json"],
    ("get", "/collections/{collection_id}/items"): [GEOJSON, HTML],
    ("get", "/collections/{collection_id}/items/{fid}"): [GEOJSON, HTML],
    ("get", "/collections/{collection_id}/tiles/{tms_id}/{z}/{x}/{y}"): [MVT],
    ("get", "/tiles/{tms_id}/{z}/{x}/{y}"): [MVT],
    ("get", "/collections/soil_rasters/items/{rid}/tiles/{tms_id}/{z}/{x}/{y}.png"): [PNG],
    ("get", "/collections/growing_areas/export"): EXPORTS,
    ("get", "/collections/growing_areas/items/{fid}/export"): EXPORTS,
    ("get", "/collections/households/items/{hid}/qr.{fmt}"): [PNG, SVG],
    ("get", "/villages/{code}/qr-sheet"): [HTML, PDF],
    ("get", "/q/{token}"): [HTML, JSON],
    ("post", "/collections/growing_areas/items"): [GEOJSON],
    ("put", "/collections/growing_areas/items/{fid}"): [GEOJSON],
    ("patch", "/collections/growing_areas/items/{fid}"): [GEOJSON],
    ("post", "/collections/growing_areas/items/{fid}/{action}"): [GEOJSON],
    ("post", "/login"): [HTML],
    ("get", "/admin/audit"): [JSON, "text/csv"],
    ("get", "/coverage/hexagons"): [GEOJSON],
    ("get", "/coverage/polygons"): [GEOJSON],
    ("get", "/coverage/households"): [GEOJSON],
    ("get", "/coverage/gaps"): [GEOJSON],
    ("get", "/coverage/speed-tests"): [GEOJSON],
    ("get", "/coverage/report.{kind}"): ["text/csv", XLSX, PDF],
    ("get", "/maps/growing-areas/download"): ["text/csv", XLSX, *EXPORTS],
    ("get", "/maps/imports"): [HTML],
    ("post", "/maps/imports"): [HTML],
    ("get", "/maps/imports/history"): [HTML],
    ("post", "/maps/imports/history/{batch}/undo"): [HTML],
    ("get", "/maps/imports/{token}"): [HTML],
    ("post", "/maps/imports/{token}"): [HTML],
    ("post", "/maps/imports/{token}/confirm"): [HTML],
    ("get", "/maps/imports/{token}/progress"): [JSON],
}
# Further statuses particular to a route: status -> description.
EXTRA: dict[tuple[str, str], dict[str, str]] = {
    ("get", "/collections/{collection_id}/tiles/{tms_id}/{z}/{x}/{y}"): {"304": "Not modified"},
    ("get", "/tiles/{tms_id}/{z}/{x}/{y}"): {"304": "Not modified"},
    ("get", "/collections/soil_rasters/items/{rid}/tiles/{tms_id}/{z}/{x}/{y}.png"): {
        "204": "Outside the raster", "304": "Not modified",
    },
    ("get", "/q"): {"303": "To the household's page", "404": "No such code",
                    "429": "Too many lookups"},
    ("get", "/q/{token}"): {"410": "The code was replaced", "429": "Too many lookups"},
    ("post", "/login"): {"303": "Signed in: to the page asked for", "401": "Refused",
                         "429": "Too many tries"},
    ("post", "/logout"): {"303": "Signed out: to the sign-in page"},
    ("get", "/readyz"): {"503": "Not ready"},
    ("post", "/maps/growing-areas/{fid}"): {"303": "Saved: back to the area's page"},
    ("post", "/maps/growing-areas/{fid}/status"): {"303": "Changed: back to the area's page"},
    ("post", "/maps/imports"): {"303": "Uploaded: to the preview"},
    ("post", "/maps/imports/history/{batch}/undo"): {"303": "Undone: back to the history"},
    ("post", "/maps/imports/{token}"): {"303": "Choices saved: to the new preview"},
    ("post", "/maps/imports/{token}/confirm"): {"303": "Confirmed: to the progress page"},
    ("get", "/lang/{lang}"): {"303": "Back to the page, in the chosen language"},
}  # fmt: skip
# Paths that answer without looking anything up (every other may say "not found").
NEVER_404 = frozenset({"/", "/conformance", "/healthz", "/readyz", "/login", "/logout",
                       "/tileMatrixSets", "/collections"})  # fmt: skip
PRECONDITION = re.compile(r"^/collections/growing_areas/items/\{fid\}(/\{action\})?$")
HTML_ERRORS = {HTML: ANY_BODY}


def _uses_principal(dependant) -> bool:
    return any(d.call is current_principal or _uses_principal(d) for d in dependant.dependencies)


def _signed_in_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of the routes that read who is asking (they may answer 401 or 403)."""
    found: set[tuple[str, str]] = set()
    for router in getattr(app.state, "routers", ()):
        for route in router.routes:
            if isinstance(route, APIRoute) and _uses_principal(route.dependant):
                found |= {(m.lower(), route.path) for m in route.methods}
    return found


def _error(description: str, page: bool, retry: bool = False) -> dict:
    out: dict[str, Any] = {
        "description": description,
        "content": {**({HTML: ANY_BODY} if page else {}), JSON: {"schema": ERROR_REF}},
    }
    if retry:
        out["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    return out


def _truthful(doc: dict, signed_in: set[tuple[str, str]]) -> dict:
    doc.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    schemas = doc["components"]["schemas"]
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            key = (method, path)
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            page = path.startswith("/maps/") or path in ("/login", "/q", "/q/{token}")
            ok = next((s for s in responses if s.startswith("2")), "200")
            if key in SUCCESS_MEDIA:
                responses[ok]["content"] = {m: ANY_BODY for m in SUCCESS_MEDIA[key]}
            elif page and "content" in responses.get(ok, {}):
                responses[ok]["content"] = {HTML: ANY_BODY}
            responses.setdefault("400", _error("Bad input (bilingual error)", page))
            if path not in NEVER_404:
                responses.setdefault("404", _error("Not found (or nothing matches)", page))
            if "requestBody" in op or method in ("post", "put", "patch"):
                responses.setdefault("413", _error("Body over its limit (AGRIMAP_MAX_*)", page))
            if key in signed_in or path.startswith("/maps/"):
                responses.setdefault("401", _error("Not signed in / token invalid", page))
                responses.setdefault("403", _error("Role or commune does not allow it", page))
            if page:
                responses.setdefault("303", {"description": "To the sign-in page, or on"})
            if method != "get":
                responses.setdefault("409", _error("Conflicts with stored data", page))
            if method in ("put", "patch", "delete", "post") and PRECONDITION.match(path):
                responses.setdefault("428", _error("If-Match (the version) is needed", page))
            if key in (("get", "/collections/growing_areas/items/{fid}/export"),):
                responses.setdefault("409", _error("Not exportable in its status", page))
            for status, text in EXTRA.get(key, {}).items():
                if status in ("429", "503"):
                    responses.setdefault(status, _error(text, page, retry=True))
                elif status in ("401", "404", "410"):
                    responses.setdefault(status, {"description": text,
                                                  "content": {HTML: ANY_BODY, JSON: ANY_BODY}})  # fmt: skip
                else:
                    responses.setdefault(status, {"description": text})
            responses.setdefault("503", _error("Database unavailable: retry", page, retry=True))
    return doc


def _downgrade(node: Any) -> Any:
    """Rewrite 3.1 constructs FastAPI emits (``anyOf`` with a null type) into 3.0 ``nullable``."""
    if isinstance(node, list):
        return [_downgrade(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _downgrade(v) for k, v in node.items()}
    options = node.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        node.pop("anyOf")
        node.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
        node["nullable"] = True
    if node.get("type") == "null":
        node.pop("type")
        node["nullable"] = True
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = node.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):  # 3.1: a number
            node[plain], node[bound] = value, True  # 3.0: the bound and a flag
    node.pop("examples", None) if isinstance(node.get("examples"), list) else None
    return node


def openapi_30(app: FastAPI) -> dict:
    if app.openapi_schema is None:
        doc = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version="3.0.3",
            description=app.description,
            routes=app.routes,
        )
        app.openapi_schema = _truthful(_downgrade(doc), _signed_in_routes(app))
    return app.openapi_schema


def _template(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


class AnswerOptions:
    """ASGI middleware: OPTIONS on a path of the API document answers 204 with the methods
    it takes in Allow (not 405); on any other path, 404."""

    def __init__(self, app, fastapi: FastAPI) -> None:
        self.app = app
        self.fastapi = fastapi
        self._paths: list[tuple[re.Pattern[str], set[str]]] | None = None

    def _allowed(self, path: str) -> str | None:
        if self._paths is None:
            doc = openapi_30(self.fastapi)
            self._paths = [
                (_template(p), {m.upper() for m in ops}) for p, ops in doc["paths"].items()
            ]
            self._paths.append((re.compile(r"/api(\.html)?$|/openapi\.json$"), {"GET"}))
        # A path may match several templates (/collections/{id}/items/{fid} and
        # /collections/growing_areas/items/{fid}): the methods of all of them.
        methods = set().union(*(m for pattern, m in self._paths if pattern.match(path)))
        if not methods:
            return None
        return ", ".join(sorted(methods | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())))

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            return await self.app(scope, receive, send)
        allow = self._allowed(scope.get("path", ""))
        response = (
            Response(status_code=204, headers={"Allow": allow})
            if allow
            else Response(status_code=404)
        )
        await response(scope, receive, send)
