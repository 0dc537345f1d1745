"""A project-local PostGIS cluster for the demo and the tests, started when no DATABASE_URL is given."""

from __future__ import annotations

import glob
import logging
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Settings for a small machine: the tile SQL of issue 6 ran 3.7x slower with JIT and parallel
# plans on 2 cores, and the demo never needs them.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "jit": "off",
    "max_parallel_workers_per_gather": "0",
    # A million households' move writes ~600 MB of table and key pages: with 256 MB the import
    # wrote evicted pages out itself (and WAL up to each of them) in the middle of its insert.
    "shared_buffers": "'1GB'",
    "wal_buffers": "'64MB'",
    "work_mem": "'32MB'",
    "max_connections": "100",
    "log_min_messages": "warning",
    # A province's import writes ~0.9 GB of WAL per million households in one transaction: with
    # the default 1 GB a checkpoint starts in the middle of it (every page it touches after
    # that is logged whole, and the flush competes with the import). docs/scaling.md, Imports.
    "max_wal_size": "'4GB'",
}


class LocalPostgresError(RuntimeError):
    """The local cluster could not be set up; the message says what to install or fix."""


@dataclass(frozen=True)
class LocalPostgres:
    data_dir: Path
    port: int
    user: str = "agrimap"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir

    def url(self, database: str = "agrimap") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"


def default_cluster() -> LocalPostgres:
    data_dir = Path(os.environ.get("AGRIMAP_PGDATA", PROJECT_ROOT / ".pgdata")).resolve()
    return LocalPostgres(data_dir=data_dir, port=int(os.environ.get("AGRIMAP_PGPORT", "54329")))


def _bindir() -> Path:
    """Directory of initdb/pg_ctl: Debian keeps them out of PATH, under /usr/lib/postgresql/N/bin."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if found:
        return Path(found[0]).parent
    which = shutil.which("pg_ctl")
    if which:
        return Path(which).parent
    raise LocalPostgresError(
        "PostgreSQL is not installed. Run `make demo` (it installs postgresql-15-postgis-3), "
        "or set DATABASE_URL to an existing PostGIS database."
    )


def bindir() -> Path:
    """Where Debian's PostgreSQL programs are (pg_dump, pg_restore, psql for the backups)."""
    return _bindir()


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root, so root runs the cluster as the `postgres` user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise LocalPostgresError(
            "Running as root, but there is no `postgres` system user to run PostgreSQL as. "
            "Install Debian's postgresql package (make demo does) or run as a normal user."
        ) from exc
    return "postgres"


def _cmd(args: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *args] if owner else args


def _check(args: list[str], owner: str | None, what: str) -> str:
    proc = subprocess.run(_cmd(args, owner), capture_output=True, text=True, cwd="/")
    if proc.returncode != 0:
        raise LocalPostgresError(f"{what} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def is_running(cluster: LocalPostgres) -> bool:
    proc = subprocess.run(
        [str(_bindir() / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(cluster.port)],
        capture_output=True,
    )
    return proc.returncode == 0


def _prepare_dir(cluster: LocalPostgres, owner: str | None) -> None:
    cluster.data_dir.mkdir(parents=True, exist_ok=True)
    if owner:
        shutil.chown(cluster.data_dir, owner, owner)
        # The postgres user must be able to reach the data folder through the project path.
        probe = subprocess.run(
            ["runuser", "-u", owner, "--", "test", "-w", str(cluster.data_dir)], capture_output=True
        )
        if probe.returncode != 0:
            raise LocalPostgresError(
                f"The `{owner}` user cannot reach {cluster.data_dir} (a parent folder is not "
                "searchable by others). Set AGRIMAP_PGDATA to a folder it can use, e.g. "
                "/var/lib/agrimap/pgdata, or `chmod o+x` the parent folders."
            )
    cluster.data_dir.chmod(0o700)


def _initdb(cluster: LocalPostgres, owner: str | None) -> None:
    bindir = _bindir()
    _check(
        [
            str(bindir / "initdb"),
            "-D",
            str(cluster.data_dir),
            "-U",
            cluster.user,
            "-A",
            "trust",  # the cluster listens on 127.0.0.1 and a private socket only
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        owner,
        "initdb",
    )
    conf = cluster.data_dir / "postgresql.auto.conf"
    lines = [f"{k} = {v}" for k, v in SERVER_SETTINGS.items()]
    lines += [f"port = {cluster.port}", f"unix_socket_directories = '{cluster.socket_dir}'"]
    with conf.open("a") as fh:
        fh.write("\n".join(lines) + "\n")


def start(
    cluster: LocalPostgres | None = None, *, databases: tuple[str, ...] = ("agrimap",)
) -> LocalPostgres:
    """Create (first time) and start the local cluster; safe to call when it already runs."""
    cluster = cluster or default_cluster()
    owner = _run_as()
    if not (cluster.data_dir / "PG_VERSION").exists():
        log.info("initialising a local PostgreSQL cluster in %s", cluster.data_dir)
        _prepare_dir(cluster, owner)
        _initdb(cluster, owner)
    if not is_running(cluster):
        logfile = cluster.data_dir / "server.log"
        _check(
            [
                str(_bindir() / "pg_ctl"),
                "-D",
                str(cluster.data_dir),
                "-l",
                str(logfile),
                # The port asked for now, whatever the cluster was created with.
                "-o",
                f"-p {cluster.port}",
                "-w",
                "-t",
                "60",
                "start",
            ],
            owner,
            "pg_ctl start",
        )
    for _ in range(50):
        if is_running(cluster):
            break
        time.sleep(0.2)
    for db in databases:
        ensure_database(cluster, db)
    return cluster


def ensure_database(cluster: LocalPostgres, name: str) -> None:
    import psycopg

    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')  # name is ours, not user input


def stop(cluster: LocalPostgres | None = None) -> None:
    cluster = cluster or default_cluster()
    if (cluster.data_dir / "PG_VERSION").exists() and is_running(cluster):
        _check(
            [str(_bindir() / "pg_ctl"), "-D", str(cluster.data_dir), "-m", "fast", "-w", "stop"],
            _run_as(),
            "pg_ctl stop",
        )


def system_identifier(cluster: LocalPostgres) -> str | None:
    """The cluster's system identifier (pg_controldata), None when it has no data folder."""
    if not (cluster.data_dir / "PG_VERSION").exists():
        return None
    out = _check(
        [str(_bindir() / "pg_controldata"), "-D", str(cluster.data_dir)],
        _run_as(),
        "pg_controldata",
    )
    for line in out.splitlines():
        if line.startswith("Database system identifier:"):
            return line.split(":", 1)[1].strip()
    return None


def start_replica(
    primary: LocalPostgres, replica: LocalPostgres, *, keep_wal: str | None = "512MB"
) -> LocalPostgres:
    """A streaming replica of ``primary`` (running) in ``replica.data_dir``, started.

    The first time (or when the folder holds a copy of another cluster) it is made with
    ``pg_basebackup -R`` (which writes standby.signal and primary_conninfo); after that it is
    only started, and catches up from the primary's WAL, of which the primary keeps
    ``keep_wal`` for it (wal_keep_size; None leaves the primary's setting). Safe to call when
    it already runs.
    """
    owner = _run_as()
    if (
        system_identifier(replica) != system_identifier(primary)
        or not (replica.data_dir / "standby.signal").exists()
    ):
        if is_running(replica):
            raise LocalPostgresError(
                f"Port {replica.port} is taken by a server that is not a replica of the cluster "
                f"in {primary.data_dir}; stop it or choose another port."
            )
        shutil.rmtree(replica.data_dir, ignore_errors=True)
        _prepare_dir(replica, owner)
        if keep_wal is not None:  # enough WAL for a replica stopped a while to catch up
            with _primary_connection(primary) as conn:
                conn.execute(
                    sql.SQL("ALTER SYSTEM SET wal_keep_size = {}").format(sql.Literal(keep_wal))
                )
                conn.execute("SELECT pg_reload_conf()")
        log.info("making a streaming replica of %s in %s", primary.data_dir, replica.data_dir)
        _check(
            [str(_bindir() / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
             "-U", primary.user, "-D", str(replica.data_dir), "-R", "-X", "stream",
             "-c", "fast"],
            owner, "pg_basebackup",
        )  # fmt: skip
        with (replica.data_dir / "postgresql.auto.conf").open("a") as fh:
            fh.write(
                f"port = {replica.port}\n"
                f"unix_socket_directories = '{replica.socket_dir}'\n"
                "hot_standby_feedback = on\n"
            )
        for stale in ("postmaster.pid", "server.log"):
            (replica.data_dir / stale).unlink(missing_ok=True)
    return start(replica, databases=())


def _primary_connection(cluster: LocalPostgres):
    return psycopg.connect(cluster.url("postgres"), autocommit=True)
