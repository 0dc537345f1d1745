"""OpenAPI 3.0 description (FastAPI writes 3.1; OGC API - Features Part 1 asks for 3.0)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi


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
        app.openapi_schema = _downgrade(doc)
    return app.openapi_schema
