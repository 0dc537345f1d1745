"""Typed request bodies, their properties generated from each layer's schema.

The models say what a client sends (the OpenAPI document shows every accepted property with its
Vietnamese and English label); the values themselves are checked by the layer's own parsers in
``layers/`` (``registry_checks.record_fields``, ``schema.parse_changes``), which accept what a
person types ("15/03/2024", "12 hộ") and answer in Vietnamese first. So the properties are typed
``Any`` here and unknown ones pass through, to be named in that answer.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from layers import growing_areas, households
from layers.schema import Column, Layer


def _properties(name: str, layer: Layer, extra: tuple[str, ...] = ()) -> type[BaseModel]:
    """A model of the properties a client may send for ``layer``: its editable columns."""
    columns: list[Column] = [*layer.editable, *(layer.column(n) for n in extra)]
    fields: dict[str, Any] = {
        c.name: (
            Any,
            Field(
                None,
                title=c.title_en,
                description=f"{c.title_vi} / {c.title_en} ({c.type}"
                + (", required" if c.required else "")
                + ")",
                json_schema_extra={"type": c.type},
            ),
        )
        for c in columns
    }
    return create_model(name, __config__=ConfigDict(extra="allow"), **fields)


GrowingAreaProperties = _properties("GrowingAreaProperties", growing_areas.LAYER, ("code",))
HouseholdProperties = _properties("HouseholdProperties", households.LAYER, ("code",))

_POLYGON_EXAMPLE = {
    "type": "Polygon",
    "coordinates": [[[104.05, 22.35], [104.051, 22.35], [104.051, 22.351],
                     [104.05, 22.351], [104.05, 22.35]]],
}  # fmt: skip


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")

    def data(self) -> dict[str, Any]:
        """The body as the layers functions take it (what the client sent, nothing added).

        Geometries are handed over as sent, not copied: a dump walked every vertex of a
        10,000-vertex boundary on the event loop (12–150 ms); the layers only read them."""
        raw = {"geometry", "coordinates"}
        out = self.model_dump(exclude_unset=True, exclude=raw)
        extra = self.model_extra or {}
        for key in raw:
            if key in extra:
                out[key] = extra[key]
            elif key in self.model_fields_set and key in type(self).model_fields:
                out[key] = getattr(self, key)
        return out


class GrowingAreaFeature(_Body):
    """A growing area (vùng trồng): a GeoJSON Feature with a Polygon or MultiPolygon in WGS84."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "Feature",
                    "geometry": _POLYGON_EXAMPLE,
                    "properties": {"crop": "Chè", "owner": "HTX Nông nghiệp Gia Phú",
                                   "member_households": 12, "issued_on": "2026-11-22"},
                }
            ]
        },
    )  # fmt: skip
    type: str | None = Field(None, description='"Feature" (a bare geometry is read too)')
    geometry: dict[str, Any] | None = Field(None, description="Polygon or MultiPolygon, WGS84")
    properties: GrowingAreaProperties | None = None  # type: ignore[valid-type]


class GrowingAreaChange(_Body):
    """Some fields of a growing area: ``{"properties": {...}, "geometry": ...}`` or the
    properties alone (a JSON merge patch); ``version`` or If-Match names the version changed."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"examples": [{"properties": {"crop": "Chè"}}]}
    )
    geometry: dict[str, Any] | None = None
    properties: GrowingAreaProperties | None = None  # type: ignore[valid-type]


class HouseholdFeature(_Body):
    """A household (hộ gia đình): a GeoJSON Feature with a Point in WGS84; its village comes
    from the location."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.05, 22.38]},
                 "properties": {"label": "Hộ số 12", "has_fibre": False}}
            ]
        },
    )  # fmt: skip
    type: str | None = None
    geometry: dict[str, Any] | None = None
    properties: HouseholdProperties | None = None  # type: ignore[valid-type]


class HouseholdChange(_Body):
    """Only the fields to change (a JSON merge patch of the household's properties), or
    ``{"properties": ..., "geometry": ...}`` to move it too."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"examples": [{"has_fibre": True, "phone": "0912345678"}]},
    )
    geometry: dict[str, Any] | None = None
    properties: HouseholdProperties | None = None  # type: ignore[valid-type]
