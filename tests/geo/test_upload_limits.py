"""Issue 17: what one uploaded file may hold — features (AGRIMAP_MAX_UPLOAD_FEATURES), and a
shapefile whose geometry index and attribute table disagree (GDAL reads the shorter one and
drops the rest without a word)."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geo.errors import InvalidInput, TooLarge
from geo.readers import ArchiveLimits, read_table, shapefile_counts


def _points(n: int) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"ma_ho": [f"H{i:03d}" for i in range(n)]},
        geometry=[shapely.Point(104.05 + i * 1e-4, 22.35) for i in range(n)],
        crs=4326,
    )


def _mismatched(tmp_path: Path, shapes: int, records: int) -> Path:
    """A shapefile whose .shp/.shx come from an export of ``shapes`` rows and .dbf from one of
    ``records`` rows."""
    _points(shapes).to_file(tmp_path / "a.shp")
    _points(records).to_file(tmp_path / "b.shp")
    shutil.copy(tmp_path / "b.dbf", tmp_path / "a.dbf")
    return tmp_path / "a.shp"


@pytest.mark.parametrize(("shapes", "records"), [(3, 2), (2, 3)])
def test_a_shapefile_whose_parts_disagree_is_refused(
    tmp_path: Path, shapes: int, records: int
) -> None:
    shp = _mismatched(tmp_path, shapes, records)
    assert shapefile_counts(shp) == (shapes, records)
    with pytest.raises(InvalidInput) as err:
        read_table(shp)
    assert f"{shapes} hình" in err.value.vi and f"{records} dòng" in err.value.vi
    assert ".dbf" in err.value.en


def test_a_shapefile_whose_parts_agree_is_read_whole(tmp_path: Path) -> None:
    _points(3).to_file(tmp_path / "a.shp")
    assert shapefile_counts(tmp_path / "a.shp") == (3, 3)
    assert len(read_table(tmp_path / "a.shp").frame) == 3


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".csv", ".xlsx", ".shp"])
def test_a_file_over_the_feature_limit_is_413_naming_it(tmp_path: Path, suffix: str) -> None:
    src = tmp_path / f"ho{suffix}"
    frame = _points(6)
    if suffix in (".csv", ".xlsx"):
        table = frame.assign(lon=frame.geometry.x, lat=frame.geometry.y).drop(columns="geometry")
        table.to_csv(src, index=False) if suffix == ".csv" else table.to_excel(src, index=False)
    else:
        frame.to_file(src)
    with pytest.raises(TooLarge) as err:
        read_table(src, archive_limits=ArchiveLimits(max_features=5))
    assert "AGRIMAP_MAX_UPLOAD_FEATURES" in err.value.en
    assert "hơn 5 đối tượng" in err.value.vi
    # At the limit the file is read whole; without one (the operator's CLI), too.
    assert len(read_table(src, archive_limits=ArchiveLimits(max_features=6)).frame) == 6
    assert len(read_table(src).frame) == 6
