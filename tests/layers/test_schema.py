"""One schema per layer: the declarations match the migrated tables, keep personal data out of
the public columns, and drive the catalogue, importer, registry and exports."""

from __future__ import annotations

from dataclasses import replace

import psycopg
import pytest

from geo.errors import InvalidInput
from geo.values import parse_integer
from layers import growing_areas, households, registry_checks
from layers.ingest import SPECS
from layers.schema import Column, Layer, parse_changes
from layers.serving.catalog import COLLECTIONS

# PostgreSQL's own names (information_schema.columns.data_type) for the types we declare
PG_TYPES = {"text": "text", "numeric": "numeric", "integer": "integer", "bigint": "bigint",
            "boolean": "boolean", "date": "date", "double precision": "double precision"}  # fmt: skip
PERSONAL = {"head_name", "phone", "owner_name", "qr_token", "registered_by"}


def _table_columns(conn: psycopg.Connection, table: str) -> dict[str, str]:
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = %s",
        (table,),
    ).fetchall()
    return dict(rows)


@pytest.mark.parametrize("layer", COLLECTIONS, ids=lambda layer: layer.id)
def test_every_stored_column_is_in_its_table_with_its_type(db_url: str, layer: Layer) -> None:
    with psycopg.connect(db_url) as conn:
        table = _table_columns(conn, layer.table)
    assert table, f"no table {layer.table}"
    stored = [c for c in layer.columns if c.stored]
    assert stored
    wrong = {c.name: (c.sql_type, table.get(c.name)) for c in stored
             if table.get(c.name) != PG_TYPES[c.sql_type]}  # fmt: skip
    assert wrong == {}
    assert layer.id_column in table


@pytest.mark.parametrize("layer", COLLECTIONS, ids=lambda layer: layer.id)
def test_personal_data_is_never_a_public_column(layer: Layer) -> None:
    public = {p.name for p in layer.properties}
    assert public and not public & PERSONAL
    assert all(p.title_vi and p.title_en for p in layer.properties)


def test_the_catalogue_and_the_importer_read_the_same_layers() -> None:
    by_id = {c.id: c for c in COLLECTIONS}
    assert all(by_id[name] is spec for name, spec in SPECS.items())
    assert set(by_id) - set(SPECS) == {"soil_rasters"}  # rasters come in as GeoTIFF


def test_registry_record_and_exports_come_from_the_growing_area_columns() -> None:
    layer = growing_areas.LAYER
    assert growing_areas.RECORD_COLUMNS[0] == "id"
    assert set(growing_areas.RECORD_COLUMNS) == {"id", *(p.name for p in layer.properties), "note"}
    assert [f.dbf for f in growing_areas.EXPORT_FIELDS] == [
        c.export_name for c in layer.columns if c.export_name
    ]
    # commune_name and producer_country are made on the way out, not read from the table
    assert "commune_name" not in growing_areas.EXPORT_COLUMNS
    assert "owner_name" not in growing_areas.EXPORT_COLUMNS


def test_a_new_column_is_one_entry_everywhere() -> None:
    """What the note of issue 12 shows: one Column added, and every derived list has it."""
    tree_age = Column("tree_age", "integer", "Tuổi cây (năm)", "Tree age (years)", parse_integer,
                      ("tuoi_cay", "tuoicay"), public=True, editable=True,
                      export_name="TUOI_CAY", popup=5)  # fmt: skip
    layer = replace(growing_areas.LAYER, columns=(*growing_areas.LAYER.columns, tree_age))
    assert layer.property("tree_age") is tree_age
    assert tree_age in layer.fields and tree_age in layer.editable and tree_age in layer.exported
    assert layer.popup_columns[-1] is tree_age
    assert ("tree_age", "integer") in layer.staging_columns()
    assert tree_age.find(["MA_VUNG", "Tuổi_cây"]) == "Tuổi_cây"  # folded like every alias
    assert growing_areas.LAYER.property("tree_age") is None  # the real layer is unchanged


def test_registry_accepts_the_editable_fields_and_names_the_rest() -> None:
    fields = registry_checks.record_fields(
        {"crop": "Chè", "owner": "HTX Chè Gia Phú", "member_households": "12", "note": "x"}
    )
    assert fields == {"crop": "Chè", "member_households": 12, "note": "x",
                      "cooperative": "HTX Chè Gia Phú", "owner_name": None}  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        registry_checks.record_fields({"crop": "Chè", "tree_age": 3, "member_households": -1})
    message = refused.value.message("vi")
    assert "không có trường 'tree_age'" in message and "số hộ không được âm" in message


def test_household_changes_take_the_editable_columns_only() -> None:
    assert parse_changes(households.LAYER, {"has_fibre": "có", "label": "Hộ 7"}) == {
        "has_fibre": True,
        "label": "Hộ 7",
    }
    with pytest.raises(InvalidInput) as refused:
        parse_changes(households.LAYER, {"village_code": "01", "qr_token": "x"})
    assert "không sửa được trường 'village_code'" in refused.value.message("vi")
