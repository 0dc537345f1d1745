"""The public collections: the stored layers, each described by its own schema (layers.schema).

Only a layer's public columns ever leave the database through the public API (feature pages,
tiles, queryables); the layer modules declare which those are.
"""

from __future__ import annotations

from .. import admin, coverage, growing_areas, households, soil
from ..schema import Layer

# A served collection is a stored layer (the serving code calls it a collection).
Collection = Layer

COLLECTIONS: tuple[Layer, ...] = (
    admin.PROVINCES,
    admin.COMMUNES,
    admin.VILLAGES,
    growing_areas.LAYER,
    soil.ZONES,
    soil.RASTERS,
    households.LAYER,
    coverage.LAYER,
)

BY_ID: dict[str, Layer] = {c.id: c for c in COLLECTIONS}
