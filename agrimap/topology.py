"""The local topology of issue 18, piece by piece: PgBouncer in transaction mode in front of a
PostgreSQL, and Varnish in front of several server processes. Each is started as a child
process in the foreground (no daemon, no system service), with its files in a folder of its
own, on 127.0.0.1 only; ``stop`` ends exactly the process it started.

Used by ``agrimap cluster`` (``./run.sh cluster``) and by the tests in tests/cluster/.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from agrimap import localpg


class TopologyError(RuntimeError):
    """A piece could not start; the message says what to install or fix."""


def _program(name: str, package: str, *extra: str) -> str:
    found = shutil.which(name) or next((p for p in extra if Path(p).exists()), None)
    if found is None:
        raise TopologyError(
            f"{name} is not installed: `apt-get install {package}` (./run.sh test and "
            "./run.sh cluster install it on Debian 12)."
        )
    return found


def wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise TopologyError(f"{what} stopped at start (exit {proc.returncode})")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TopologyError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


@dataclass
class Child:
    """A process we started, and how to end it."""

    name: str
    proc: subprocess.Popen
    port: int
    folder: Path
    log: Path

    def stop(self, timeout: float = 10) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)


# --- PgBouncer -------------------------------------------------------------------------


@dataclass(frozen=True)
class Bouncer:
    port: int
    folder: Path
    target_port: int  # the PostgreSQL it forwards to (127.0.0.1)
    pool_size: int = 4
    # Extra [databases] entries: name -> (real database, pool size).
    aliases: dict[str, tuple[str, int]] = field(default_factory=dict)
    user: str = "agrimap"

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def config(self) -> str:
        dbs = [f"* = host=127.0.0.1 port={self.target_port}"]
        dbs += [
            f"{alias} = host=127.0.0.1 port={self.target_port} dbname={db} pool_size={size}"
            for alias, (db, size) in self.aliases.items()
        ]
        return "\n".join([
            "[databases]", *dbs, "",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {self.port}",
            f"unix_socket_dir = {self.folder}",
            "auth_type = trust",  # like the local cluster: 127.0.0.1 only
            f"auth_file = {self.folder / 'userlist.txt'}",
            # The mode the server is written for: a server connection is lent for one
            # transaction, so nothing may outlive one (no prepared statements, no LISTEN, no
            # session SET; AGRIMAP_PGBOUNCER=true).
            "pool_mode = transaction",
            f"default_pool_size = {self.pool_size}",
            "max_client_conn = 500",
            f"admin_users = {self.user}",
            f"logfile = {self.folder / 'pgbouncer.log'}",
            f"pidfile = {self.folder / 'pgbouncer.pid'}",
            "",
        ])  # fmt: skip


def start_pgbouncer(bouncer: Bouncer) -> Child:
    """PgBouncer in the foreground (as the ``postgres`` user when we are root: it refuses
    to run as root)."""
    program = _program("pgbouncer", "pgbouncer", "/usr/sbin/pgbouncer")
    owner = localpg._run_as()
    bouncer.folder.mkdir(parents=True, exist_ok=True)
    ini = bouncer.folder / "pgbouncer.ini"
    ini.write_text(bouncer.config())
    (bouncer.folder / "userlist.txt").write_text(f'"{bouncer.user}" ""\n')
    (bouncer.folder / "pgbouncer.pid").unlink(missing_ok=True)
    if owner:
        for path in (bouncer.folder, *bouncer.folder.iterdir()):
            shutil.chown(path, owner, owner)
    log = bouncer.folder / "pgbouncer.log"
    args = ["runuser", "-u", owner, "--", program, str(ini)] if owner else [program, str(ini)]
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/", start_new_session=True
    )
    child = Child("pgbouncer", proc, bouncer.port, bouncer.folder, log)
    try:
        wait_for_port(bouncer.port, proc, "pgbouncer")
    except TopologyError as exc:
        child.stop()
        raise TopologyError(f"{exc}; see {log}") from exc
    return child


# --- Varnish ---------------------------------------------------------------------------


def varnish_vcl(backends: list[int]) -> str:
    """Our VCL (api/varnish.vcl) with one backend per server port."""
    template = files("api").joinpath("varnish.vcl").read_text()
    decl = "\n".join(
        f'backend s{i} {{ .host = "127.0.0.1"; .port = "{port}"; '
        # Healthy from the start (.initial): otherwise the first request after a start waits
        # for a good probe and is a 503 "Backend fetch failed" on a busy machine.
        '.probe = { .url = "/healthz"; .interval = 1s; .timeout = 2s; .window = 3; '
        ".threshold = 2; .initial = 2; } }"
        for i, port in enumerate(backends)
    )
    adds = "\n".join(f"    servers.add_backend(s{i});" for i in range(len(backends)))
    return template.replace("# BACKENDS", decl).replace("# ADD_BACKENDS", adds)


def start_varnish(port: int, backends: list[int], folder: Path, cache_mb: int = 256) -> Child:
    """varnishd in the foreground on 127.0.0.1:``port``, its working folder in ``folder``."""
    program = _program("varnishd", "varnish", "/usr/sbin/varnishd")
    folder.mkdir(parents=True, exist_ok=True)
    vcl = folder / "agrimap.vcl"
    vcl.write_text(varnish_vcl(backends))
    log = folder / "varnishd.log"
    workdir = folder / "work"
    args = [
        program, "-F", "-a", f"127.0.0.1:{port}", "-f", str(vcl), "-n", str(workdir),
        "-s", f"malloc,{cache_mb}m", "-T", "none",
        # Objects with a validator are kept this long for conditional revalidation.
        "-p", "default_keep=3600",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, cwd="/", start_new_session=True
        )
    child = Child("varnish", proc, port, folder, log)
    try:
        wait_for_port(port, proc, "varnishd")
        _wait_through(port, proc)
    except TopologyError as exc:
        child.stop()
        raise TopologyError(f"{exc}: {log.read_text(errors='replace')[-2000:]}") from exc
    return child


def _wait_through(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    """Until the cache answers /healthz from a backend (it listens before its VCL's backends
    are usable)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise TopologyError(f"varnishd stopped at start (exit {proc.returncode})")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise TopologyError(f"varnishd on 127.0.0.1:{port} reached no backend within {timeout:.0f} s")


# --- server processes --------------------------------------------------------------------


def start_servers(ports: list[int], env: dict[str, str], folder: Path) -> list[Child]:
    """Server processes on ``ports``, started together, each waited for."""
    children = [start_server(p, env, folder, wait=False) for p in ports]
    try:
        for child in children:
            _wait_server(child)
    except TopologyError:
        for child in children:
            child.stop()
        raise
    return children


def _wait_server(child: Child) -> None:
    try:
        wait_for_port(child.port, child.proc, child.name, timeout=60)
    except TopologyError as exc:
        child.stop()
        raise TopologyError(f"{exc}: {child.log.read_text(errors='replace')[-2000:]}") from exc


def start_server(port: int, env: dict[str, str], folder: Path, *, wait: bool = True) -> Child:
    """One uvicorn server process (its own tile cache and change listener) on 127.0.0.1."""
    import sys

    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"server-{port}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "api.asgi:create", "--host",
             "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-proxy-headers"],
            # The cache on 127.0.0.1 is the one proxy whose X-Forwarded-For is believed.
            env={**os.environ, "AGRIMAP_TRUSTED_PROXIES": "127.0.0.1", **env}, cwd=localpg.PROJECT_ROOT, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    child = Child(f"the server on port {port}", proc, port, folder, log)
    if wait:
        _wait_server(child)
    return child
