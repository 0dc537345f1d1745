"""Alembic's migrations (versions/). A migration that rewrites what an earlier one wrote reads
that one's own text through ``sibling`` rather than keeping a copy."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

VERSIONS = Path(__file__).with_name("versions")


def sibling(name: str) -> ModuleType:
    """The migration module ``versions/<name>`` (e.g. "0007_household_cells.py"), loaded on
    its own: migration files are not importable by name (they start with a digit)."""
    path = VERSIONS / name
    spec = importlib.util.spec_from_file_location("agrimap_migration_" + path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
