"""Side-by-side benchmark of the soil maps (issue 16), in one run.

Usage: .venv/bin/python bench/soil.py [--tiles 300] [--fields 2000] [--samples 300]

1. PNG tiles over HTTP: our server and TiTiler (its own venv in .cache/bench/titiler-venv)
   serving the same COG (the demo's kriged OM raster), one uvicorn worker each, the same
   class table (TiTiler gets it as an interval colour map), every tile requested once on one
   keep-alive connection (our tile cache cannot help: no tile is asked twice), p50 / p99.
2. Zonal statistics: --fields synthetic fields of about 0.48 ha on a 1000 × 1000 raster of
   20 m cells; ours (layers.soil.zonal_summaries: mean, min, max, share per grade, covered
   share) against exactextract alone computing mean, min and max on the same raster
   and fields; areas per second. Also one HTTP request for the whole demo commune.
3. Interpolation: --samples samples onto the demo commune at 20 m: our IDW and our ordinary
   kriging (with LOO), and PyKrige's ordinary kriging on the same grid and variogram.
Results: a table on the terminal and bench/results/soil-<timestamp>.json. 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import morecantile
import numpy as np
import psycopg
import rasterio
import shapely
import shapely.affinity
import shapely.geometry
from rasterio.transform import from_origin
from tilebench import servers

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agrimap.cli import load_demo  # noqa: E402
from agrimap.settings import Settings  # noqa: E402
from layers.ingest.soil_samples import interpolate_property  # noqa: E402
from layers.soil import SoilRaster, load_config, zonal_summaries  # noqa: E402

TITILER_VENV = servers.CACHE / "titiler-venv"
DATA_DIR = servers.CACHE / "soil-data"
RESULTS = ROOT / "bench" / "results"
TMS = morecantile.tms.get("WebMercatorQuad")


def say(text: str) -> None:
    print(text, flush=True)


def ensure_titiler() -> Path:
    python = TITILER_VENV / "bin" / "python"
    probe = [str(python), "-c", "import titiler.application, uvicorn"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    say(f"installing TiTiler into {TITILER_VENV} (once) …")
    for step in (["python3", "-m", "venv", str(TITILER_VENV)],
                 [str(python), "-m", "pip", "install", "-q", "titiler.application", "uvicorn[standard]"]):  # fmt: skip
        proc = subprocess.run(step, capture_output=True, text=True)
        if proc.returncode != 0:
            raise servers.ServerError(f"{' '.join(step)} failed:\n{proc.stderr[-2000:]}")
    return python


def start_titiler(python: Path, logdir: Path) -> servers.Server:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGRIMAP_", "TITILER_"))}
    env["GDAL_NUM_THREADS"] = "1"
    cmd = [str(python), "-m", "uvicorn", *servers.UVICORN_FLAGS, "titiler.application.main:app"]
    server = servers._spawn("titiler", cmd, env, logdir, logdir)
    servers._wait_ready(server, "/healthz")
    return server


def demo_database() -> str:
    from tests.conftest import _fresh_database

    url = _fresh_database("bench_soil")
    load_demo(url, Settings(database_url=url, data_dir=DATA_DIR))
    return url


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def timed_gets(client: httpx.Client, urls: list[str]) -> tuple[list[float], dict[int, int]]:
    times, codes = [], {}
    for url in urls:
        started = time.perf_counter()
        r = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        codes[r.status_code] = codes.get(r.status_code, 0) + 1
    return times, codes


def tile_benchmark(url: str, raster: dict, n_tiles: int, logdir: Path) -> dict:
    table = load_config().table(raster["property"], raster["unit"])
    with rasterio.open(raster["path"]) as src:
        west, south, east, north = src.bounds
    tiles = [t for z in (13, 14, 15, 16) for t in TMS.tiles(west, south, east, north, [z])]
    rng = np.random.default_rng(16)
    pick = [tiles[i] for i in rng.permutation(len(tiles))[:n_tiles]]
    # TiTiler's interval colour map from the same class table: [[[min, max], [r, g, b, a]]...]
    cmap = []
    for c in table.classes:
        rgb = [int(c.colour[i : i + 2], 16) for i in (1, 3, 5)]
        cmap.append([[max(c.low, -1e9), min(c.high, 1e9)], [*rgb, 255]])
    titiler_q = {"url": raster["path"], "colormap": json.dumps(cmap), "resampling": "nearest",
                 "bidx": "1"}  # fmt: skip
    ours = servers.start_ours("ours", url, logdir)
    titiler = start_titiler(ensure_titiler(), logdir)
    try:
        our_urls = [f"{ours.base}/collections/soil_rasters/items/{raster['id']}/tiles/"
                    f"WebMercatorQuad/{t.z}/{t.x}/{t.y}.png" for t in pick]  # fmt: skip
        ti_urls = [str(httpx.URL(f"{titiler.base}/cog/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png",
                                 params=titiler_q)) for t in pick]  # fmt: skip
        with httpx.Client(timeout=30) as a, httpx.Client(timeout=30) as b:
            timed_gets(a, our_urls[:10])  # open files, import paths, warm the interpreter
            timed_gets(b, ti_urls[:10])
            ours_ms, ours_codes = timed_gets(a, our_urls[10:])
            ti_ms, ti_codes = timed_gets(b, ti_urls[10:])
            commune_started = time.perf_counter()
            body = a.get(f"{ours.base}/soil/communes/02923/growing-areas").json()
            commune_s = time.perf_counter() - commune_started
    finally:
        servers.stop(ours)
        servers.stop(titiler)
    return {
        "tiles": len(ours_ms), "zooms": [13, 16],
        "ours_ms": {"p50": statistics.median(ours_ms), "p99": percentile(ours_ms, 99),
                    "codes": ours_codes},
        "titiler_ms": {"p50": statistics.median(ti_ms), "p99": percentile(ti_ms, 99),
                       "codes": ti_codes},
        "commune_request": {"areas": body["count"], "rasters": len(body["growing_areas"][0]["properties"]),
                            "seconds": commune_s},
    }  # fmt: skip


def zonal_benchmark(n_fields: int, tmp: Path) -> dict:
    from exactextract import exact_extract

    rng = np.random.default_rng(6)
    cell = 20 / 111_320
    west, north = 104.0, 22.4
    values = (2.5 + np.sin(np.arange(1000)[:, None] / 60) * np.cos(np.arange(1000)[None, :] / 45)
              + rng.normal(0, 0.2, (1000, 1000))).astype("float32")  # fmt: skip
    path = tmp / "zonal_om.tif"
    with rasterio.open(path, "w", driver="GTiff", width=1000, height=1000, count=1,
                       dtype="float32", crs="EPSG:4326", tiled=True,
                       transform=from_origin(west, north, cell, cell), nodata=-9999) as dst:  # fmt: skip
        dst.write(values, 1)
    side = np.sqrt(4800) / 111_320  # a 0.48 ha square, rotated at random
    cx = rng.uniform(west + 0.01, west + 1000 * cell - 0.01, n_fields)
    cy = rng.uniform(north - 1000 * cell + 0.01, north - 0.01, n_fields)
    base = shapely.box(-side / 2, -side / 2, side / 2, side / 2)
    fields = [shapely.affinity.translate(shapely.affinity.rotate(base, a), x, y)
              for a, x, y in zip(rng.uniform(0, 90, n_fields), cx, cy, strict=True)]  # fmt: skip
    raster = SoilRaster(
        1, "om", "%", "0-20", str(path), "bench", None, "imported", {}, {}, 20.0, 1, None
    )
    config = load_config()
    zonal_summaries(raster, fields[:50], config=config)  # warm
    started, cpu = time.perf_counter(), time.process_time()
    ours = zonal_summaries(raster, fields, config=config)
    ours_s, ours_cpu = time.perf_counter() - started, time.process_time() - cpu
    feats = [{"type": "Feature", "id": i, "properties": {"fid": i},
              "geometry": shapely.geometry.mapping(g)} for i, g in enumerate(fields)]  # fmt: skip
    # exactextract on its own computing mean, min and max: fed the same in-memory raster (its
    # fastest source), and the file (its rasterio reader, a window per field).
    from exactextract.raster import NumPyRasterSource

    ops = ["mean", "min", "max"]
    with rasterio.open(path) as src:
        b = src.bounds
        memory = NumPyRasterSource(src.read(1).astype("float64"), b.left, b.bottom, b.right, b.top,
                                   nodata=-9999)  # fmt: skip
    exact_extract(memory, feats[:50], ops, include_cols=["fid"], output="geojson")
    started, cpu = time.perf_counter(), time.process_time()
    ref = exact_extract(memory, feats, ops, include_cols=["fid"], output="geojson")
    ref_s, ref_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    exact_extract(str(path), feats, ops, include_cols=["fid"], output="geojson")
    file_s, file_cpu = time.perf_counter() - started, time.process_time() - cpu
    diff = max(abs(o["mean"] - r["properties"]["mean"]) for o, r in zip(ours, ref, strict=True))
    return {"fields": n_fields, "raster": "1000 × 1000, 20 m", "field_ha": 0.48,
            "ours_per_s": n_fields / ours_s, "ours_s": ours_s, "ours_per_cpu_s": n_fields / ours_cpu,
            "exactextract_per_s": n_fields / ref_s, "exactextract_s": ref_s,
            "exactextract_per_cpu_s": n_fields / ref_cpu,
            "exactextract_file_per_s": n_fields / file_s,
            "exactextract_file_per_cpu_s": n_fields / file_cpu,
            "max_mean_difference": diff}  # fmt: skip


def interpolation_benchmark(url: str, n_samples: int) -> dict:
    from pykrige.ok import OrdinaryKriging as PyKrigeOK

    from layers.ingest.soil_samples import _local_metres, survey_grid

    with psycopg.connect(url) as conn:
        commune = shapely.from_wkb(
            conn.execute("SELECT ST_AsBinary(geom) FROM commune").fetchone()[0]
        )
    rng = np.random.default_rng(300)
    west, south, east, north = commune.bounds
    pts = []
    while len(pts) < n_samples:
        x, y = rng.uniform(west, east), rng.uniform(south, north)
        if commune.contains(shapely.Point(x, y)):
            pts.append((x, y))
    lonlat = np.array(pts)
    z = (
        2.5
        + np.sin(lonlat[:, 0] * 400) * np.cos(lonlat[:, 1] * 350)
        + rng.normal(0, 0.1, n_samples)
    )
    config = load_config()
    out = {"samples": n_samples, "cell_m": 20}
    for method in ("idw", "ordinary_kriging"):
        started, cpu = time.perf_counter(), time.process_time()
        bands, _, _, params, rel = interpolate_property(
            lonlat, z, commune, config=config, method=method
        )
        out[method] = {"seconds": time.perf_counter() - started,
                       "cpu_seconds": time.process_time() - cpu,
                       "cells": int(np.isfinite(bands[0]).sum()),
                       "loo_rmse": rel["rmse"], "loo_bias": rel["bias"]}  # fmt: skip
        if method == "ordinary_kriging":
            variogram = params["variogram"]
    # PyKrige on the same grid cells, variogram and metric coordinates (without LOO).
    transform, width, height = survey_grid(commune, 20)
    to_m = _local_metres(commune.centroid.x, commune.centroid.y)
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    glon, glat = transform @ (cols, rows)
    inside = shapely.contains_xy(commune, glon, glat)
    gx, gy = to_m.transform(glon[inside], glat[inside])
    sx, sy = to_m.transform(lonlat[:, 0], lonlat[:, 1])
    started, cpu = time.perf_counter(), time.process_time()
    ok = PyKrigeOK(np.asarray(sx), np.asarray(sy), z, variogram_model="spherical",
                   variogram_parameters={"sill": variogram["partial_sill"] + variogram["nugget"],
                                         "range": variogram["range_m"], "nugget": variogram["nugget"]})  # fmt: skip
    for s in range(0, len(gx), 20_000):
        ok.execute("points", np.asarray(gx[s : s + 20_000]), np.asarray(gy[s : s + 20_000]))
    out["pykrige_ordinary_kriging"] = {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "cells": int(inside.sum()),
    }
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tiles", type=int, default=300)
    p.add_argument("--fields", type=int, default=2000)
    p.add_argument("--samples", type=int, default=300)
    p.add_argument("--only", choices=["zonal"], help="run one part only (no database, no servers)")
    args = p.parse_args(argv)
    if args.only == "zonal":
        zs = zonal_benchmark(args.fields, servers.CACHE)
        say(json.dumps(zs, indent=1))
        return
    logdir = servers.CACHE / "soil-logs"
    logdir.mkdir(parents=True, exist_ok=True)
    say("loading the demo commune into bench_soil …")
    url = demo_database()
    with psycopg.connect(url) as conn:
        rid, path, prop, unit = conn.execute(
            "SELECT id, path, property, unit FROM soil_raster WHERE property = 'om' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    results = {"when": datetime.now().isoformat(timespec="seconds"), "cpus": os.cpu_count()}
    say("tiles: ours vs TiTiler …")
    results["tiles"] = tile_benchmark(url, {"id": rid, "path": path, "property": prop, "unit": unit},
                                      args.tiles, logdir)  # fmt: skip
    say("zonal statistics: ours vs exactextract …")
    results["zonal"] = zonal_benchmark(args.fields, logdir)
    say("interpolation: ours vs PyKrige …")
    results["interpolation"] = interpolation_benchmark(url, args.samples)
    t, zs, it = results["tiles"], results["zonal"], results["interpolation"]
    say("")
    o, ti, cr = t["ours_ms"], t["titiler_ms"], t["commune_request"]
    say(
        f"PNG tiles z13–16, {t['tiles']} distinct, 1 connection: ours p50 {o['p50']:.1f} ms, "
        f"p99 {o['p99']:.1f} ms | TiTiler p50 {ti['p50']:.1f} ms, p99 {ti['p99']:.1f} ms"
    )
    say(
        f"zonal, {zs['fields']} fields of 0.48 ha on 1000×1000 cells, areas/s wall (per CPU-s): "
        f"ours {zs['ours_per_s']:.0f} ({zs['ours_per_cpu_s']:.0f}) | exactextract alone, "
        f"mean/min/max, in memory {zs['exactextract_per_s']:.0f} ({zs['exactextract_per_cpu_s']:.0f}), "
        f"from the file {zs['exactextract_file_per_s']:.0f} ({zs['exactextract_file_per_cpu_s']:.0f}); "
        f"max mean difference {zs['max_mean_difference']:.1e}"
    )
    say(f"commune request: {cr['areas']} areas × {cr['rasters']} rasters in {cr['seconds']:.2f} s")
    idw_, ok_, pk = it["idw"], it["ordinary_kriging"], it["pykrige_ordinary_kriging"]
    say(f"interpolation, {it['samples']} samples at 20 m ({idw_['cells']} cells), wall (CPU) s: "
        f"IDW+LOO {idw_['seconds']:.2f} ({idw_['cpu_seconds']:.2f}) | kriging+LOO "
        f"{ok_['seconds']:.2f} ({ok_['cpu_seconds']:.2f}) | PyKrige {pk['seconds']:.2f} "
        f"({pk['cpu_seconds']:.2f})")  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"soil-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    say(f"→ {out}")


if __name__ == "__main__":
    main()
