"""Start the servers under test on free loopback ports and stop them again: ours (uvicorn
--factory api.asgi:create) and tipg from its own venv, one worker each, same pool size."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "bench"
TIPG_VENV = CACHE / "tipg-venv"
POOL_SIZE = 10  # both servers' maximum database connections (tipg's and our default)
# tipg serves every table and set-returning function it can see: limit it to our layers.
TIPG_TABLES = ["public.household", "public.growing_area", "public.soil_zone", "public.coverage",
               "public.commune", "public.village", "public.province"]  # fmt: skip
# Our public household properties (layers/catalog.py); tipg would otherwise put the head's
# name, phone and QR token into every tile and page, which is both unfair and a leak.
# qr_token is published to tipg so that it can filter by it (the QR lookups workload); head
# names and phones are not.
TIPG_HOUSEHOLD_PROPERTIES = ["id", "code", "label", "village_code", "has_fibre", "qr_token"]


class ServerError(RuntimeError):
    """A server could not be installed or started; the message says why."""


@dataclass
class Server:
    name: str
    base: str
    proc: subprocess.Popen
    log: Path
    notes: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_tipg(say=print) -> Path:
    """tipg and uvicorn[standard] (uvloop + httptools, as ours) in .cache/bench/tipg-venv."""
    python = TIPG_VENV / "bin" / "python"
    probe = [str(python), "-c", "import tipg, uvicorn, uvloop, httptools; print(tipg.__version__)"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    say(f"installing tipg into {TIPG_VENV} (once) …")
    CACHE.mkdir(parents=True, exist_ok=True)
    steps = [
        ["python3", "-m", "venv", str(TIPG_VENV)],
        [str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"],
        [str(python), "-m", "pip", "install", "-q", "tipg", "uvicorn[standard]"],
    ]  # fmt: skip
    for step in steps:
        proc = subprocess.run(step, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ServerError(f"{' '.join(step)} failed:\n{proc.stderr[-2000:]}")
    return python


def tipg_version(python: Path) -> str:
    out = subprocess.run([str(python), "-c", "import tipg; print(tipg.__version__)"],
                         capture_output=True, text=True)  # fmt: skip
    return out.stdout.strip()


def _wait_ready(server: Server, probe: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            tail = server.log.read_text(errors="replace")[-3000:]
            raise ServerError(f"{server.name} exited with {server.proc.returncode}:\n{tail}")
        try:
            if httpx.get(server.base + probe, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise ServerError(f"{server.name} did not answer {probe} within {timeout:.0f} s ({server.log})")


def _spawn(name: str, cmd: list[str], env: dict[str, str], cwd: Path, logdir: Path) -> Server:
    port = free_port()
    cmd = [*cmd, "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
           "--no-access-log", "--log-level", "warning"]  # fmt: skip
    log = logdir / f"{name}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Server(name, f"http://127.0.0.1:{port}", proc, log)


# Both servers run as `agrimap serve` runs ours: warnings and errors logged, no line per
# request (a production deployment logs requests at its reverse proxy).
UVICORN_FLAGS = ("--log-level", "warning")


def start_ours(name: str, database_url: str, logdir: Path, **extra_env: str) -> Server:
    env = {**os.environ, "DATABASE_URL": database_url, "AGRIMAP_POOL_MAX": str(POOL_SIZE),
           "AGRIMAP_DATA_DIR": str(CACHE / "data"),
           # The QR lookups workload is one client scanning thousands of codes a second.
           "AGRIMAP_QR_RATE": "100000000/minute", **extra_env}  # fmt: skip
    cmd = [sys.executable, "-m", "uvicorn", *UVICORN_FLAGS, "--factory", "api.asgi:create"]
    server = _spawn(name, cmd, env, ROOT, logdir)
    _wait_ready(server, "/conformance")
    return server


def start_tipg(python: Path, database_url: str, logdir: Path) -> Server:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TIPG_", "AGRIMAP_"))},
        "DATABASE_URL": database_url,
        "TIPG_DB_TABLES": json.dumps(TIPG_TABLES),
        "TIPG_DB_EXCLUDE_FUNCTION_SCHEMAS": json.dumps(["public"]),
        "TIPG_TABLE_CONFIG__public_household__properties": json.dumps(TIPG_HOUSEHOLD_PROPERTIES),
        "TIPG_DB_MAX_CONN_SIZE": str(POOL_SIZE),
        "TIPG_CATALOG_TTL": "0",  # no catalogue refresh in the middle of a run
    }
    # cwd outside the repo: tipg's settings also read a .env file from the working folder.
    cmd = [str(python), "-m", "uvicorn", *UVICORN_FLAGS, "tipg.main:app"]
    server = _spawn("tipg", cmd, env, logdir, logdir)
    _wait_ready(server, "/healthz")
    return server


def stop(server: Server) -> None:
    """SIGTERM the server's own process group, then SIGKILL it if it lingers."""
    if server.proc.poll() is not None:
        return
    try:
        os.killpg(server.proc.pid, signal.SIGTERM)
        server.proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(server.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.proc.wait(timeout=5)


def started(stack: ExitStack, server: Server) -> Server:
    stack.callback(stop, server)
    return server
