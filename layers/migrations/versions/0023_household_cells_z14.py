"""Households counted per z14 cluster cell (~38 m), kept by triggers: dense z13–14 tiles read cells.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

A z13–14 household tile over the point budget is drawn as clusters on the tile's 64 × 64 grid
(layers/serving/tiles.py). They were grouped from the tile's points: at 1,000,000 households a
dense village-centre tile read 10,000–40,000 points and computed each one's Web Mercator
position (11–24 ms a tile). household_cell_z14 holds the same sums as household_cell
(migration 0007) on the z14 grid (2^20 cells across the world, the cells of a z14 tile's
clusters exactly; a z13 cluster is 2 × 2 of them), so such a tile reads at most 66 × 66 cell
rows of an index. The triggers are those of 0007 on the finer grid; the INSERT one is ENABLE
ALWAYS like 0007's since 0020, so a bulk import (replica mode) keeps the cells too.
"""

import re

from alembic import op

from layers.migrations import sibling

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

Z12 = sibling("0007_household_cells.py")
CELLS_ACROSS = 2**20  # 16,384 tiles at z14 × 64 cells per tile
CELL_M = 2 * 3.141592653589793 * 6378137.0 / CELLS_ACROSS


def _on_z14(text: str) -> str:
    """0007's text on the z14 grid: its cell size, and each household_cell(s) name with _z14
    (household_cell_z14, household_cell_z14_empty, household_cells_z14_apply, …)."""
    text = text.replace(repr(Z12.CELL_M), repr(CELL_M))
    return re.sub(r"household_cells?", lambda m: m.group(0) + "_z14", text)


# A household's cell and Mercator position, the rows of an UPDATE whose place or fibre changed,
# and the write of a delta: 0007's.
ROWS = _on_z14(Z12.ROWS)
MOVED = Z12.MOVED
APPLY = _on_z14(Z12.APPLY)

# 0007's table, trigger function and triggers, filled from the stored households; the INSERT
# trigger ALWAYS, as 0020 made 0007's.
UP = (
    _on_z14(Z12.UP)
    + """
ALTER TABLE household ENABLE ALWAYS TRIGGER household_cells_z14_inserted;
ANALYZE household_cell_z14;
"""
)


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER household_cells_z14_inserted ON household;"
        "DROP TRIGGER household_cells_z14_updated ON household;"
        "DROP TRIGGER household_cells_z14_deleted ON household;"
        "DROP TRIGGER household_cells_z14_truncated ON household;"
        "DROP FUNCTION household_cells_z14_apply(); DROP TABLE household_cell_z14;"
    )
