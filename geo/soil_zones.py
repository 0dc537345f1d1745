"""Graded soil zones from a raster: classify by the class table, sieve small patches, then
simplify the coverage without gaps or overlaps (shapely.coverage_simplify keeps shared edges)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import rasterio.features
import shapely
from affine import Affine
from scipy import ndimage

from .soil import ClassTable


@dataclass(frozen=True)
class Zone:
    grade: str
    value: float  # the mean of the raster's cells in the zone, in the table's unit
    geometry: shapely.Geometry  # a Polygon in the raster's coordinates


def graded_zones(
    values: np.ndarray, valid: np.ndarray, transform: Affine, table: ClassTable, *,
    min_cells: int, simplify: float,
) -> list[Zone]:  # fmt: skip
    """One polygon per connected patch of one grade, patches under ``min_cells`` cells merged
    into their largest neighbour, edges simplified by ``simplify`` (raster units) as a coverage.

    An all-invalid raster gives no zones.
    """
    index = np.where(valid, table.classify(values), -1).astype("int32")
    if not (index >= 0).any():
        return []
    coded = (index + 1).astype("int32")  # 0 = nodata for sieve's mask
    if min_cells > 1:
        coded = rasterio.features.sieve(coded, size=min_cells, mask=coded > 0, connectivity=4)
    # Connected patches of one grade: each grade is labelled on its own.
    patch = np.zeros_like(coded)
    next_id = 0
    for g in np.unique(coded[coded > 0]):
        lab, n = ndimage.label(coded == g, structure=[[0, 1, 0], [1, 1, 1], [0, 1, 0]])
        patch[lab > 0] = lab[lab > 0] + next_id
        next_id += n
    flat = patch.ravel()
    sums = np.bincount(flat, weights=np.where(valid, values, 0).ravel(), minlength=next_id + 1)
    counts = np.bincount(flat, weights=valid.ravel().astype(float), minlength=next_id + 1)
    grade_of = np.zeros(next_id + 1, dtype="int32")
    grade_of[flat] = coded.ravel()
    polys, ids = [], []
    for geom, pid in rasterio.features.shapes(
        patch, mask=patch > 0, transform=transform, connectivity=4
    ):
        polys.append(shapely.geometry.shape(geom))
        ids.append(int(pid))
    if simplify > 0 and polys:
        simplified = shapely.coverage_simplify(np.array(polys, dtype=object), simplify)
        polys = [shapely.make_valid(p) if not p.is_valid else p for p in simplified]
    zones = []
    for poly, pid in zip(polys, ids, strict=True):
        if poly.is_empty:
            continue
        mean = float(sums[pid] / counts[pid]) if counts[pid] else float("nan")
        zones.append(Zone(table.classes[grade_of[pid] - 1].grade, mean, poly))
    return zones
