"""Reading the files communes send: a GeoPackage of several layers is not read by guess."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geo.errors import InvalidInput
from geo.readers import read_table


def _two_layers(path: Path) -> Path:
    gpd.GeoDataFrame({"ma_ho": ["H1", "H2"]}, geometry=[Point(105.1, 21.1), Point(105.2, 21.2)],
                     crs=4326).to_file(path, layer="ho_gia_dinh", driver="GPKG")  # fmt: skip
    gpd.GeoDataFrame({"ma_thon": ["01"]}, geometry=[box(105, 21, 105.3, 21.3)], crs=4326).to_file(
        path, layer="thon", driver="GPKG"
    )
    return path


def test_a_geopackage_of_several_layers_is_refused_with_their_names(tmp_path: Path) -> None:
    src = _two_layers(tmp_path / "xa.gpkg")
    with pytest.raises(InvalidInput) as info:
        read_table(src)
    assert "2 lớp" in info.value.vi and "ho_gia_dinh (Point)" in info.value.vi
    assert "thon (Polygon)" in info.value.vi and "--source-layer" in info.value.hint_vi
    table = read_table(src, source_layer="thon")
    assert list(table.frame["ma_thon"]) == ["01"]
    with pytest.raises(InvalidInput) as info:
        read_table(src, source_layer="khong_co")
    assert "không có lớp khong_co" in info.value.vi and "ho_gia_dinh, thon" in info.value.vi


def test_a_damaged_geopackage_is_refused_with_gdals_reason(tmp_path: Path) -> None:
    src = tmp_path / "hong.gpkg"
    src.write_bytes(b"SQLite format 3\x00" + b"\x07" * 4000)
    with pytest.raises(InvalidInput) as info:
        read_table(src)
    assert info.value.vi.startswith("Không đọc được hong.gpkg: ")
    assert info.value.en.startswith("Cannot read hong.gpkg: ") and "QGIS" in info.value.hint_vi
