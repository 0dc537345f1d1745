"""GDAL's OGC API Features client (ogrinfo, Debian gdal-bin) reads every layer we serve."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from layers.serving.catalog import COLLECTIONS

pytestmark = pytest.mark.gdal


def _ogrinfo(*args: str) -> str:
    exe = shutil.which("ogrinfo")
    assert exe, "ogrinfo is missing: ./run.sh test installs Debian's gdal-bin"
    proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_ogrinfo_lists_every_layer(live_server: str) -> None:
    out = _ogrinfo("-ro", f"OAPIF:{live_server}/")
    for coll in COLLECTIONS:
        assert re.search(rf"^\d+: {coll.id}\b", out, re.M), out


@pytest.mark.parametrize(
    "collection", [c for c in COLLECTIONS if c.id != "provinces"], ids=lambda c: c.id
)
def test_ogrinfo_reads_features_and_schema(live_server: str, collection) -> None:
    out = _ogrinfo("-ro", "-al", "-so", f"OAPIF:{live_server}/collections/{collection.id}")
    count = int(re.search(r"Feature Count: (\d+)", out).group(1))
    assert count > 0, out
    for prop in collection.properties:
        assert re.search(rf"^{prop.name}: ", out, re.M), f"{prop.name} missing:\n{out}"
    # and the features themselves, in full, through the paging links
    full = _ogrinfo("-ro", "-al", "-q", f"OAPIF:{live_server}/collections/{collection.id}")
    assert full.count("OGRFeature(") == count
