"""Soak under mixed load, with hostile requests (issue 17).

Usage: .venv/bin/python bench/soak.py [--minutes 10] [--clients 4] [--max-requests 500000]
       (./run.sh soak [--minutes 10] runs it)

1. database agrimap_soak in the local cluster (or AGRIMAP_SOAK_DATABASE_URL), migrated and
   loaded once with the demo commune; an officer account and its API token;
2. our server (uvicorn, one worker, as `agrimap serve` runs it) on a free 127.0.0.1 port;
3. --clients threads drive a realistic mix on the loopback: vector tiles, feature pages and
   features, QR lookups, household registrations and sign-ins;
4. the first 30 % of the time is the baseline; then each hostile kind in turn runs next to the
   mix, one request at a time (41 MB anonymous POST, a boundary just under the vertex limit,
   one six times over it, a zip bomb, a password spray with forged X-Forwarded-For, NUL and non-integer
   numbers, a forged Host, NaN JSON);
5. the report: per phase the normal requests' throughput, p50, p99, errors and the p99 against
   the baseline (the issue asks for at most 2x), the hostile answers, and the server's memory
   (RSS) over time; --json writes it too.
Every request goes to 127.0.0.1; the run stops after --minutes or --max-requests.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import morecantile
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agrimap import localpg  # noqa: E402
from agrimap.clicommon import run_async  # noqa: E402
from agrimap.settings import Settings  # noqa: E402
from layers import accounts, migrate  # noqa: E402

PASSWORD = "mật-khẩu-soak-0123"
MAX_MINUTES = 60
OK = {"tile": {200, 204, 304}, "page": {200}, "item": {200}, "qr": {200},
      "register": {201}, "sign-in": {303}}  # fmt: skip
WEIGHTS = {"tile": 40, "page": 15, "item": 15, "qr": 15, "register": 5, "sign-in": 5}
# Reads that should stay fast whatever else runs (sign-ins pay Argon2 on purpose).
LIGHT = {"tile", "page", "item", "qr"}


@dataclass
class Sample:
    at: float
    kind: str
    status: int
    seconds: float


@dataclass
class Fixture:
    base: str
    token: str
    username: str
    tiles: list[str]
    area_ids: list[int]
    qr_tokens: list[str]
    points: list[tuple[float, float]]
    bbox: tuple[float, float, float, float]


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    hostile: list[Sample] = field(default_factory=list)
    memory: list[tuple[float, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    count: int = 0


# --- setting up ---------------------------------------------------------------------------


def soak_database() -> str:
    url = os.environ.get("AGRIMAP_SOAK_DATABASE_URL")
    if not url:
        cluster = localpg.start(databases=("agrimap_soak",))
        url = cluster.url("agrimap_soak")
    migrate.upgrade(url)
    with psycopg.connect(url) as conn:
        loaded = conn.execute("SELECT count(*) FROM village").fetchone()[0] > 0
    if not loaded:
        from agrimap.cli import load_demo

        load_demo(url, Settings(database_url=url, data_dir=ROOT / ".cache" / "soak-data"))
    return url


def fixture(url: str, base: str) -> Fixture:
    name = f"soak-{uuid.uuid4().hex[:6]}"
    run_async(url, accounts.add_user, username=name, role="admin", password=PASSWORD, by="soak")
    _, token = run_async(url, accounts.create_token, username=name, name="soak", by="soak")
    with psycopg.connect(url) as conn:
        w, s, e, n = conn.execute(
            "SELECT ST_XMin(x), ST_YMin(x), ST_XMax(x), ST_YMax(x) FROM "
            "(SELECT ST_Extent(geom) x FROM village) v"
        ).fetchone()
        areas = [r[0] for r in conn.execute("SELECT id FROM growing_area ORDER BY id")]
        qrs = [r[0] for r in conn.execute("SELECT qr_token FROM household "
                                          "WHERE qr_token IS NOT NULL LIMIT 500")]  # fmt: skip
        points = [tuple(r) for r in conn.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM village) v")]  # fmt: skip
    tms = morecantile.tms.get("WebMercatorQuad")
    tiles = [f"/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
             for z in range(12, 17) for t in tms.tiles(w, s, e, n, [z])]  # fmt: skip
    return Fixture(base, token, name, tiles, areas, qrs, points, (w, s, e, n))


def start_server(url: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url, "AGRIMAP_LOGIN_RATE": "1000000/minute",
           "AGRIMAP_QR_RATE": "1000000/minute"}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "api.asgi:create", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "error", "--no-proxy-headers"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


# --- the normal mix ----------------------------------------------------------------------


def normal_request(c: httpx.Client, fx: Fixture, kind: str, rng: random.Random) -> int:
    auth = {"Authorization": f"Bearer {fx.token}"}
    if kind == "tile":
        return c.get(rng.choice(fx.tiles)).status_code
    if kind == "page":
        w, s, e, n = fx.bbox
        x, y = rng.uniform(w, e), rng.uniform(s, n)
        bbox = f"{x - 0.01},{y - 0.01},{x + 0.01},{y + 0.01}"
        return c.get(f"/collections/households/items?limit=50&bbox={bbox}").status_code
    if kind == "item":
        return c.get(f"/collections/growing_areas/items/{rng.choice(fx.area_ids)}").status_code
    if kind == "qr":
        return c.get(
            f"/q/{rng.choice(fx.qr_tokens)}", headers={"Accept": "application/json"}
        ).status_code
    if kind == "register":
        lon, lat = rng.choice(fx.points)
        feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                   "properties": {"label": f"Hộ soak {rng.randrange(10**6)}"}}  # fmt: skip
        return c.post("/collections/households/items", json=feature, headers=auth).status_code
    page = c.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = c.post("/login", data={"username": fx.username, "password": PASSWORD, "csrf_token": csrf},
               follow_redirects=False)  # fmt: skip
    c.cookies.clear()
    return r.status_code


def client_loop(fx: Fixture, run: Run, seed: int, max_requests: int) -> None:
    rng = random.Random(seed)
    kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
    with httpx.Client(base_url=fx.base, timeout=30) as c:
        while not run.stop.is_set():
            kind = rng.choices(kinds, weights)[0]
            started = time.monotonic()
            try:
                status = normal_request(c, fx, kind, rng)
            except httpx.HTTPError:
                status = -1
            with run.lock:
                run.samples.append(Sample(started, kind, status, time.monotonic() - started))
                run.count += 1
                if run.count >= max_requests:
                    run.stop.set()


# --- hostile requests --------------------------------------------------------------------


def _ring(n: int, lon: float, lat: float) -> list[list[float]]:
    pts = [[lon + 0.002 * math.cos(2 * math.pi * i / n), lat + 0.002 * math.sin(2 * math.pi * i / n)]
           for i in range(n)]  # fmt: skip
    return [*pts, pts[0]]


def _raw_post(base: str, head: bytes, body: bytes) -> int:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        try:
            s.sendall(head + body)
        except OSError:
            pass  # the server answered and closed before the rest was sent
        data = s.recv(65536)
    return int(data.split(b" ", 2)[1]) if data else -1


def hostile_kinds(fx: Fixture) -> dict[str, Callable[[httpx.Client, random.Random], int]]:
    auth = {"Authorization": f"Bearer {fx.token}"}
    lon, lat = fx.points[0]
    limit = Settings().max_vertices
    near_limit = json.dumps(
        {"type": "Polygon", "coordinates": [_ring(limit - 100, lon, lat)]}
    ).encode()
    over_limit = json.dumps(
        {"type": "Polygon", "coordinates": [_ring(6 * limit, lon, lat)]}
    ).encode()
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("thua.geojson", "w", force_zip64=True) as f:
            for _ in range(1024):
                f.write(b" " * (1024 * 1024))  # 1 GiB of spaces, about 1 MB zipped
    bomb_bytes = bomb.getvalue()
    big_head = (b"POST /collections/growing_areas/items HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 43000000\r\n\r\n")  # fmt: skip
    odd_paths = ["/collections/households/items?code=%00", "/collections/growing_areas/items/%C2%B2",
                 "/registry/households/99999999999999999999", "/q/%00abc"]  # fmt: skip

    def spray(c: httpx.Client, rng: random.Random) -> int:
        ip = f"198.51.100.{rng.randrange(1, 255)}"
        return c.post("/login", data={"username": fx.username + "-x", "password": "sai-mat-khau",
                                      "csrf_token": "x"},
                      headers={"X-Forwarded-For": ip}, cookies={"agrimap_csrf": "x"}).status_code  # fmt: skip

    return {
        "41 MB anonymous POST": lambda c, rng: _raw_post(fx.base, big_head, b"{" * (1024 * 1024)),
        f"boundary of {limit - 100:,} vertices": lambda c, rng: (
            c.post(
                "/collections/growing_areas/check",
                content=near_limit,
                headers={**auth, "Content-Type": "application/json"},
            ).status_code
        ),  # fmt: skip
        f"boundary of {6 * limit:,} vertices": lambda c, rng: (
            c.post(
                "/collections/growing_areas/check",
                content=over_limit,
                headers={**auth, "Content-Type": "application/json"},
            ).status_code
        ),  # fmt: skip
        "zip bomb (1 GiB)": lambda c, rng: (
            c.post(
                "/growing-areas/boundary", files={"file": ("bom.zip", bomb_bytes)}, headers=auth
            ).status_code
        ),  # fmt: skip
        "password spray, forged XFF": spray,
        "NUL and non-integers": lambda c, rng: c.get(rng.choice(odd_paths)).status_code,
        "forged Host": lambda c, rng: c.get("/", headers={"Host": "evil.example"}).status_code,
        "NaN JSON": lambda c, rng: (
            c.post(
                "/collections/growing_areas/check",
                content=b'{"type":"Polygon","coordinates":'
                b"[[[NaN,NaN],[NaN,NaN],[NaN,NaN],[NaN,NaN]]]}",
                headers={**auth, "Content-Type": "application/json"},
            ).status_code
        ),  # fmt: skip
    }


def hostile_loop(fn, fx: Fixture, run: Run, kind: str, until: float) -> None:
    rng = random.Random(kind)
    with httpx.Client(base_url=fx.base, timeout=60) as c:
        while time.monotonic() < until and not run.stop.is_set():
            started = time.monotonic()
            try:
                status = fn(c, rng)
            except httpx.HTTPError:
                status = -1
            with run.lock:
                run.hostile.append(Sample(started, kind, status, time.monotonic() - started))


def memory_loop(pid: int, run: Run) -> None:
    while not run.stop.is_set():
        try:
            text = Path(f"/proc/{pid}/status").read_text()
            rss = int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1))
            run.memory.append((time.monotonic(), rss))
        except (OSError, AttributeError):
            pass
        run.stop.wait(1.0)


# --- the report --------------------------------------------------------------------------


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def phase_stats(samples: list[Sample], start: float, end: float) -> dict:
    window = [s for s in samples if start <= s.at < end]
    latencies = [s.seconds for s in window]
    light = [s.seconds for s in window if s.kind in LIGHT]
    errors = [s for s in window if s.status not in OK[s.kind]]
    return {
        "requests": len(window),
        "per_second": round(len(window) / max(end - start, 1e-9), 1),
        "p50_ms": round(_p(latencies, 0.50) * 1000, 1),
        "p99_ms": round(_p(latencies, 0.99) * 1000, 1),
        "reads_p50_ms": round(_p(light, 0.50) * 1000, 1),
        "reads_p99_ms": round(_p(light, 0.99) * 1000, 1),
        "sign_in_p50_ms": round(
            _p([s.seconds for s in window if s.kind == "sign-in"], 0.5) * 1000, 1
        ),
        "errors": len(errors),
        "error_statuses": sorted({s.status for s in errors}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--max-requests", type=int, default=500_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    minutes = min(max(args.minutes, 0.5), MAX_MINUTES)
    total = minutes * 60
    url = soak_database()
    proc, base = start_server(url)
    run = Run()
    try:
        fx = fixture(url, base)
        kinds = hostile_kinds(fx)
        t0 = time.monotonic()
        baseline_end = t0 + 0.3 * total
        slot = 0.7 * total / len(kinds)
        threads = [threading.Thread(target=client_loop, args=(fx, run, i, args.max_requests))
                   for i in range(args.clients)]  # fmt: skip
        threads.append(threading.Thread(target=memory_loop, args=(proc.pid, run)))
        for t in threads:
            t.start()
        phases = [("baseline", t0, baseline_end)]
        print(f"soak: {minutes:g} min, {args.clients} clients, server {base} (pid {proc.pid})")
        run.stop.wait(max(0.0, baseline_end - time.monotonic()))
        for i, (kind, fn) in enumerate(kinds.items()):
            start, end = baseline_end + i * slot, baseline_end + (i + 1) * slot
            if run.stop.is_set():
                break
            print(f"  {kind} …", flush=True)
            hostile_loop(fn, fx, run, kind, end)
            phases.append((kind, start, end))
        run.stop.set()
        for t in threads:
            t.join(timeout=60)
        t1 = time.monotonic()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    base_stats = phase_stats(run.samples, *phases[0][1:])
    report = {"minutes": minutes, "clients": args.clients, "duration_s": round(t1 - t0, 1),
              "overall": phase_stats(run.samples, t0, t1), "phases": []}  # fmt: skip
    print(f"\n{'phase':30} {'req/s':>6} {'p99 ms':>7} {'reads p50':>9} {'reads p99':>9} "
          f"{'x base':>6} {'sign-in':>7} {'errors':>6}  hostile answers")  # fmt: skip
    for name, start, end in phases:
        st = phase_stats(run.samples, start, end)
        # The test: the p99 of everyone else's reads against the baseline's.
        ratio = (
            st["reads_p99_ms"] / base_stats["reads_p99_ms"]
            if base_stats["reads_p99_ms"]
            else float("nan")
        )
        hostile = [s for s in run.hostile if s.kind == name]
        answers = {
            str(k): sum(1 for s in hostile if s.status == k) for k in {s.status for s in hostile}
        }
        hostile_p50 = round(_p([s.seconds for s in hostile], 0.5) * 1000) if hostile else None
        report["phases"].append({"phase": name, **st, "reads_p99_vs_baseline": round(ratio, 2),
                                 "hostile": answers, "hostile_p50_ms": hostile_p50})  # fmt: skip
        flag = "" if name == "baseline" or ratio <= 2 else "  > 2x"
        print(f"{name:30} {st['per_second']:6.1f} {st['p99_ms']:7.0f} {st['reads_p50_ms']:9.1f} "
              f"{st['reads_p99_ms']:9.1f} {ratio:6.2f} {st['sign_in_p50_ms']:7.0f} "
              f"{st['errors']:6}  {answers or ''}"
              + (f" (p50 {hostile_p50} ms)" if hostile_p50 is not None else "") + flag)  # fmt: skip
    rss = [kb for _, kb in run.memory]
    if rss:
        minute = {int((t - t0) // 60): kb for t, kb in run.memory}
        # Flat = no trend: the least-squares slope of RSS over the run after its first minute
        # (the tile cache and connection pools fill during it).
        settled = [(t - t0, kb) for t, kb in run.memory if t - t0 >= 60]
        slope = (
            statistics.linear_regression([t for t, _ in settled], [kb for _, kb in settled]).slope
            * 60 / 1024
            if len(settled) > 2 else float("nan")
        )  # fmt: skip
        report["memory_kb"] = {"start": rss[0], "max": max(rss), "end": rss[-1],
                               "per_minute": minute,
                               "trend_mb_per_minute": round(slope, 2)}  # fmt: skip
        print(f"\nserver RSS: start {rss[0] / 1024:.0f} MB, max {max(rss) / 1024:.0f} MB, "
              f"end {rss[-1] / 1024:.0f} MB; trend after the first minute {slope:+.2f} MB/min; "
              "per minute: "
              + ", ".join(f"{m}: {kb / 1024:.0f}" for m, kb in sorted(minute.items())))  # fmt: skip
    overall = report["overall"]
    print(
        f"overall: {overall['requests']} normal requests, {overall['per_second']} req/s, "
        f"p99 {overall['p99_ms']} ms, errors {overall['errors']} {overall['error_statuses']}"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    median = statistics.median([s.seconds for s in run.samples]) if run.samples else 0
    sys.exit(0 if overall["errors"] == 0 and median < 5 else 1)


if __name__ == "__main__":
    main()
