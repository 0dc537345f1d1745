"""Drive a server with a list of request paths for a fixed time: wrk with cycle.lua when it is
installed, else an asyncio/httpx loop with the same semantics (and a much slower client)."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import numpy as np

LUA = Path(__file__).with_name("cycle.lua")


@dataclass
class RunResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    mean_body_bytes: float
    non2xx: int
    socket_errors: int
    driver: str

    def as_dict(self) -> dict:
        return asdict(self)


def wrk_path() -> str | None:
    return shutil.which("wrk")


def _write_paths(paths: list[str]) -> Path:
    fh = tempfile.NamedTemporaryFile("w", suffix=".urls", delete=False, encoding="utf-8")
    with fh:
        fh.write("\n".join(paths) + "\n")
    return Path(fh.name)


def run_wrk(base: str, paths: list[str], *, duration: float, connections: int, threads: int,
            header: tuple[str, str] | None = None) -> RunResult:  # fmt: skip
    listing = _write_paths(paths)
    try:
        cmd = [wrk_path() or "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, math.ceil(duration))}s",  # wrk takes whole seconds
               "--latency", "--timeout", "30s", "-s", str(LUA), base, "--", str(listing),
               *(header or ())]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 90)
    finally:
        listing.unlink(missing_ok=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout}")
    d = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = d["duration_us"] / 1e6
    return RunResult(
        requests=d["requests"],
        seconds=seconds,
        rps=d["requests"] / seconds if seconds else 0.0,
        p50_ms=d["p50_us"] / 1000,
        p90_ms=d["p90_us"] / 1000,
        p99_ms=d["p99_us"] / 1000,
        mean_ms=d["latency_mean_us"] / 1000,
        mean_body_bytes=d["body_bytes"] / d["responses"] if d["responses"] else 0.0,
        non2xx=d["non2xx"],
        socket_errors=d["connect_errors"] + d["read_errors"] + d["write_errors"] + d["timeouts"],
        driver="wrk",
    )


async def _httpx_run(base, paths, duration, connections, header):
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = dict([header]) if header else {}
    latencies: list[float] = []
    counts = {"bytes": 0, "non2xx": 0, "errors": 0}
    stop_at = time.perf_counter() + duration

    turn = itertools.count()  # one position shared by all connections, as in wrk's thread

    async def worker(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < stop_at:
            path = paths[next(turn) % len(paths)]
            t0 = time.perf_counter()
            try:
                r = await client.get(path)
            except httpx.HTTPError:
                counts["errors"] += 1
                continue
            latencies.append(time.perf_counter() - t0)
            counts["bytes"] += r.num_bytes_downloaded  # as sent: gzip stays gzip
            counts["non2xx"] += not 200 <= r.status_code < 300

    async with httpx.AsyncClient(base_url=base, limits=limits, headers=headers,
                                 timeout=30) as client:  # fmt: skip
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(connections)))
        seconds = time.perf_counter() - t0
    return latencies, counts, seconds


def run_httpx(base: str, paths: list[str], *, duration: float, connections: int,
              header: tuple[str, str] | None = None) -> RunResult:  # fmt: skip
    lat, counts, seconds = asyncio.run(_httpx_run(base, paths, duration, connections, header))
    ms = np.array(lat) * 1000 if lat else np.zeros(1)
    n = len(lat)
    return RunResult(
        requests=n + counts["errors"],
        seconds=seconds,
        rps=n / seconds if seconds else 0.0,
        p50_ms=float(np.percentile(ms, 50)),
        p90_ms=float(np.percentile(ms, 90)),
        p99_ms=float(np.percentile(ms, 99)),
        mean_ms=float(ms.mean()),
        mean_body_bytes=counts["bytes"] / n if n else 0.0,
        non2xx=counts["non2xx"],
        socket_errors=counts["errors"],
        driver="httpx",
    )


def run(base: str, paths: list[str], *, duration: float, connections: int, threads: int = 1,
        header: tuple[str, str] | None = None) -> RunResult:  # fmt: skip
    if wrk_path():
        return run_wrk(base, paths, duration=duration, connections=connections,
                       threads=threads, header=header)  # fmt: skip
    return run_httpx(base, paths, duration=duration, connections=connections, header=header)


def fetch_once(base: str, paths: list[str], header: tuple[str, str] | None = None) -> list[int]:
    """Status of each path, one request at a time (warms a cache; checks the routes exist)."""
    headers = dict([header]) if header else {}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        return [client.get(p).status_code for p in paths]
