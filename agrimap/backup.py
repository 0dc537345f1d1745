"""Backup and restore (sao lưu và khôi phục): the database and the soil rasters in one verified archive.

An archive is an uncompressed tar (the dump is compressed by pg_dump, the rasters are deflated
COGs) holding exactly:

- ``manifest.json``: format, AgriMap version, alembic revision, creation time, the row count of
  every table and the SHA-256 and size of every other member;
- ``database.dump``: a ``pg_dump`` custom-format dump (schema and data: layers, accounts, the
  audit trail, ``alembic_version``);
- ``rasters/<name>.tif``: every file ``soil_raster.path`` refers to.

A restore reads nothing it has not checked: member names are whitelisted (no absolute path,
``..``, link or device can be written), every checksum must match the manifest and the dump
must be readable before the target is touched.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import logging
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

import psycopg
from alembic.script import ScriptDirectory

from geo.errors import Conflict, InvalidInput
from layers import migrate, whole_database

from . import localpg

log = logging.getLogger(__name__)

FORMAT = "agrimap-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DUMP = "database.dump"
RASTER_DIR = "rasters"
# The only names an archive may hold; anything else is refused before a byte is written.
MEMBER_NAME = re.compile(r"(?:database\.dump|rasters/[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.tif)")
CHUNK = 1 << 20
MAX_MANIFEST_BYTES = 16 << 20


@dataclass
class BackupResult:
    path: Path
    size: int
    tables: dict[str, int]
    rasters: int
    revision: str | None


@dataclass
class RestoreResult:
    tables: dict[str, int]
    rasters: int
    revision: str | None
    replaced: list[str] = field(default_factory=list)  # guarded tables that held rows (--force)
    at_head: bool = True


def _agrimap_version() -> str:
    try:
        return importlib.metadata.version("agrimap")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        return "unknown"


def _binary(name: str) -> str:
    """pg_dump, pg_restore, psql: Debian's, next to pg_ctl, else from PATH."""
    try:
        found = localpg.bindir() / name
        if found.exists():
            return str(found)
    except localpg.LocalPostgresError:
        pass
    which = shutil.which(name)
    if which:
        return which
    raise InvalidInput(
        f"Không tìm thấy chương trình {name} của PostgreSQL.",
        f"PostgreSQL's {name} was not found.",
        hint_vi="Cài gói postgresql-client-15 (./run.sh demo cài sẵn).",
        hint_en="Install postgresql-client-15 (./run.sh demo installs it).",
    )


def _run(args: list[str], what_vi: str, what_en: str) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, cwd="/")
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise InvalidInput(f"{what_vi} thất bại.", f"{what_en} failed.", details=detail)
    return proc.stdout


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _raster_members(paths: list[str]) -> dict[str, Path]:
    """Archive member name -> file on disk, for every raster the database refers to."""
    members: dict[str, Path] = {}
    missing: list[str] = []
    for stored in paths:
        path = Path(stored)
        name = f"{RASTER_DIR}/{path.name}"
        if not MEMBER_NAME.fullmatch(name):
            raise InvalidInput(
                f"Tên tệp ảnh {path.name!r} không sao lưu được.",
                f"Raster file name {path.name!r} cannot be backed up.",
                hint_vi="Tên chỉ gồm chữ không dấu, số, '.', '_', '-' và đuôi .tif.",
                hint_en="Names hold ASCII letters, digits, '.', '_', '-' and end in .tif.",
            )
        if name in members:
            raise Conflict(
                f"Hai ảnh đất cùng tên tệp {path.name} ({members[name]} và {path}).",
                f"Two soil rasters share the file name {path.name} ({members[name]} and {path}).",
            )
        if not path.is_file():
            missing.append(stored)
        members[name] = path
    if missing:
        raise InvalidInput(
            f"Thiếu {len(missing)} tệp ảnh đất mà CSDL tham chiếu; bản sao lưu sẽ không đầy đủ.",
            f"{len(missing)} soil raster file(s) the database refers to are missing; the backup "
            "would be incomplete.",
            hint_vi="Khôi phục các tệp này hoặc xoá các dòng soil_raster tương ứng.",
            hint_en="Put the files back or delete their soil_raster rows.",
            details=missing,
        )
    return members


@contextmanager
def _snapshot(url: str) -> Iterator[tuple[psycopg.Connection, str]]:
    """A repeatable-read transaction and its exported snapshot: pg_dump, the row counts and the
    raster list all see the same moment, even while the server keeps writing."""
    with psycopg.connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            yield conn, snapshot


def create_backup(url: str, dest: Path) -> BackupResult:
    """Write the database at ``url`` and its rasters to the archive ``dest``.

    The archive is written next to ``dest`` and moved into place at the end, so a failed backup
    never leaves a half archive under the name asked for.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="agrimap-backup-") as tmp:
        dump = Path(tmp) / DUMP
        with _snapshot(url) as (conn, snapshot):
            tables = whole_database.table_counts(conn)
            revision = whole_database.schema_revision(conn)
            rasters = _raster_members(
                whole_database.raster_paths(conn)
            )  # before the dump: fail fast
            _run(
                [_binary("pg_dump"), "--format=custom", f"--snapshot={snapshot}",
                 f"--file={dump}", f"--dbname={url}"],
                "Xuất CSDL (pg_dump)", "Dumping the database (pg_dump)",
            )  # fmt: skip
        sources = {DUMP: dump, **rasters}
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "agrimap_version": _agrimap_version(),
            "alembic_revision": revision,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "tables": tables,
            "rasters": {name: str(path) for name, path in rasters.items()},
            "members": {
                name: {"sha256": _sha256_file(path), "size": path.stat().st_size}
                for name, path in sources.items()
            },
        }
        fd, partial = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        os.close(fd)
        try:
            with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
                body = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
                _add_bytes(tar, MANIFEST, body)
                for name, path in sources.items():
                    with path.open("rb") as fh:
                        _add_stream(tar, name, fh, path.stat().st_size)
            os.replace(partial, dest)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return BackupResult(dest, dest.stat().st_size, tables, len(rasters), revision)


def _member_info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, int(datetime.now(UTC).timestamp())
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, body: bytes) -> None:
    tar.addfile(_member_info(name, len(body)), io.BytesIO(body))


def _add_stream(tar: tarfile.TarFile, name: str, fh: IO[bytes], size: int) -> None:
    tar.addfile(_member_info(name, size), fh)


# --- restore -------------------------------------------------------------------------------


def _refuse(vi: str, en: str, **kw: Any) -> InvalidInput:
    return InvalidInput(
        f"Bản sao lưu không hợp lệ, không khôi phục: {vi}",
        f"Invalid backup archive, nothing restored: {en}",
        **kw,
    )


def _check_member(member: tarfile.TarInfo) -> None:
    """Refuse a member that could write outside the data dir or is not one of ours."""
    name = member.name
    pure = PurePosixPath(name)
    if name.startswith("/") or pure.is_absolute() or re.match(r"[A-Za-z]:", name):
        raise _refuse(f"đường dẫn tuyệt đối {name!r}.", f"absolute path {name!r}.")
    if ".." in pure.parts or "\\" in name:
        raise _refuse(f"đường dẫn chứa '..' {name!r}.", f"path with '..' {name!r}.")
    if member.issym() or member.islnk():
        raise _refuse(f"liên kết {name!r}.", f"link {name!r}.")
    if not member.isreg():
        raise _refuse(f"{name!r} không phải tệp thường.", f"{name!r} is not a regular file.")
    if name != MANIFEST and not MEMBER_NAME.fullmatch(name):
        raise _refuse(f"tệp lạ {name!r}.", f"unexpected member {name!r}.")


def _read_manifest(tar: tarfile.TarFile, member: tarfile.TarInfo) -> dict[str, Any]:
    if member.size > MAX_MANIFEST_BYTES:
        raise _refuse("manifest.json quá lớn.", "manifest.json is too large.")
    fh = tar.extractfile(member)
    assert fh is not None  # a regular file, checked
    try:
        manifest = json.loads(fh.read())
    except (ValueError, UnicodeDecodeError) as exc:
        raise _refuse("manifest.json hỏng.", f"manifest.json is not valid JSON ({exc}).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refuse("không phải bản sao lưu AgriMap.", "not an AgriMap backup.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise _refuse(
            f"phiên bản định dạng {manifest.get('format_version')!r} không hỗ trợ.",
            f"format version {manifest.get('format_version')!r} is not supported.",
        )
    members = manifest.get("members")
    if not isinstance(members, dict) or DUMP not in members:
        raise _refuse("manifest.json thiếu danh sách tệp.", "manifest.json lists no members.")
    tables = manifest.get("tables", {})
    if (
        not isinstance(tables, dict)
        or not tables
        or not all(
            isinstance(k, str) and "." in k and isinstance(v, int) for k, v in tables.items()
        )
    ):
        raise _refuse("số dòng trong manifest sai.", "bad table row counts in the manifest.")
    for name, entry in members.items():
        if not (
            isinstance(name, str)
            and MEMBER_NAME.fullmatch(name)
            and isinstance(entry, dict)
            and isinstance(entry.get("sha256"), str)
            and isinstance(entry.get("size"), int)
        ):
            raise _refuse(f"mục {name!r} trong manifest sai.", f"bad manifest entry {name!r}.")
    return manifest


def _unpack(archive: Path, *, dump_to: Path, rasters_to: Path) -> dict[str, Any]:
    """Check the archive's members and checksums while copying the dump and rasters out of it.

    Nothing is written outside ``dump_to`` and ``rasters_to``: the names written are ours
    (the member's base name after the whitelist), never taken from the archive as paths.
    """
    try:
        tar = tarfile.open(archive, "r:")
    except (tarfile.TarError, OSError) as exc:
        raise _refuse(
            f"không đọc được {archive.name} ({exc}).", f"cannot read {archive.name} ({exc})."
        ) from exc
    with tar:
        try:
            members = tar.getmembers()
        except tarfile.TarError as exc:
            raise _refuse("tệp lưu trữ hỏng.", f"the archive is damaged ({exc}).") from exc
        seen: set[str] = set()
        for member in members:
            _check_member(member)
            if member.name in seen:
                raise _refuse(f"tệp {member.name!r} lặp lại.", f"duplicate member {member.name!r}.")
            seen.add(member.name)
        by_name = {m.name: m for m in members}
        if MANIFEST not in by_name:
            raise _refuse("thiếu manifest.json.", "manifest.json is missing.")
        manifest = _read_manifest(tar, by_name[MANIFEST])
        expected = set(manifest["members"])
        present = seen - {MANIFEST}
        if expected != present:
            missing, extra = sorted(expected - present), sorted(present - expected)
            raise _refuse(
                "các tệp không khớp manifest.",
                "the members do not match the manifest.",
                details=[f"thiếu / missing: {n}" for n in missing]
                + [f"thừa / extra: {n}" for n in extra],
            )
        for name in sorted(expected):
            entry, member = manifest["members"][name], by_name[name]
            target = dump_to if name == DUMP else rasters_to / PurePosixPath(name).name
            digest = hashlib.sha256()
            src = tar.extractfile(member)
            assert src is not None
            try:
                with target.open("wb") as out:
                    while chunk := src.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise _refuse(
                    f"không đọc được {name} ({exc}).", f"cannot read {name} ({exc})."
                ) from exc
            if member.size != entry["size"] or digest.hexdigest() != entry["sha256"]:
                raise _refuse(
                    f"{name} không khớp mã kiểm tra SHA-256 trong manifest (tệp đã bị sửa hoặc hỏng).",
                    f"{name} does not match its SHA-256 in the manifest (changed or damaged).",
                )
    return manifest


def verify(archive: Path) -> dict[str, Any]:
    """Check an archive without restoring it; returns its manifest."""
    with tempfile.TemporaryDirectory(prefix="agrimap-verify-") as tmp:
        rasters = Path(tmp) / RASTER_DIR
        rasters.mkdir()
        manifest = _unpack(Path(archive), dump_to=Path(tmp) / DUMP, rasters_to=rasters)
        _check_dump(Path(tmp) / DUMP)
        _check_revision(manifest)
    return manifest


def _check_dump(dump: Path) -> None:
    proc = subprocess.run(
        [_binary("pg_restore"), "--list", str(dump)], capture_output=True, text=True, cwd="/"
    )
    if proc.returncode != 0:
        raise _refuse(
            "không đọc được bản xuất CSDL.",
            "the database dump is not readable.",
            details=proc.stderr.strip().splitlines()[-3:],
        )


def _known_revisions() -> set[str]:
    scripts = ScriptDirectory.from_config(migrate.alembic_config("postgresql://"))
    return {rev.revision for rev in scripts.walk_revisions()}


def _head_revision() -> str | None:
    return ScriptDirectory.from_config(migrate.alembic_config("postgresql://")).get_current_head()


def _check_revision(manifest: dict[str, Any]) -> None:
    revision = manifest.get("alembic_revision")
    if revision is not None and revision not in _known_revisions():
        raise _refuse(
            f"lược đồ {revision!r} mới hơn phiên bản AgriMap này.",
            f"schema revision {revision!r} is unknown to this AgriMap (made by a newer one?).",
            hint_vi="Cập nhật AgriMap rồi khôi phục lại.",
            hint_en="Upgrade AgriMap, then restore.",
        )


def restore(url: str, archive: Path, *, data_dir: Path, force: bool = False) -> RestoreResult:
    """Replace the database at ``url`` by the archive's and put its rasters in ``data_dir``.

    The archive is verified first. The database part runs in one transaction (drop the public
    schema, the dump's script, the raster paths rewritten for ``data_dir``), so a failure leaves
    the target as it was; the rasters, staged inside ``data_dir`` meanwhile, are moved into
    place only after that transaction committed.
    """
    archive = Path(archive)
    raster_dir = (Path(data_dir) / RASTER_DIR).resolve()
    raster_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=raster_dir))
    try:
        with tempfile.TemporaryDirectory(prefix="agrimap-restore-") as tmp:
            dump = Path(tmp) / DUMP
            manifest = _unpack(archive, dump_to=dump, rasters_to=staging)
            _check_dump(dump)
            _check_revision(manifest)
            with psycopg.connect(url) as conn:
                occupied = whole_database.tables_with_rows(conn)
            if occupied and not force:
                raise Conflict(
                    "CSDL đích đã có dữ liệu; không khôi phục đè lên.",
                    "The target database is not empty; nothing restored over it.",
                    hint_vi="Dùng --force để thay toàn bộ dữ liệu hiện có bằng bản sao lưu.",
                    hint_en="Use --force to replace everything in it by the backup.",
                    details=[f"có dữ liệu / holds rows: {', '.join(occupied)}"],
                )
            script = Path(tmp) / "restore.sql"
            # --no-owner/--no-privileges: the target's roles need not match the source's.
            _run(
                [_binary("pg_restore"), "--no-owner", "--no-privileges", f"--file={script}", str(dump)],
                "Đọc bản xuất CSDL (pg_restore)", "Reading the dump (pg_restore)",
            )  # fmt: skip
            _run(
                [_binary("psql"), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1",
                 f"--set=raster_dir={raster_dir}",
                 f"--set=expected_counts={json.dumps(manifest['tables'])}", "--single-transaction",
                 f"--file={whole_database.restore_script('restore_before.sql')}", f"--file={script}",
                 f"--file={whole_database.restore_script('restore_after.sql')}", f"--dbname={url}"],
                "Khôi phục CSDL (không có gì thay đổi)", "Restoring the database (nothing changed)",
            )  # fmt: skip
        names = [PurePosixPath(n).name for n in manifest["members"] if n != DUMP]
        for name in names:
            os.replace(staging / name, raster_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    with psycopg.connect(url) as conn:
        tables = whole_database.table_counts(conn)
    revision = manifest.get("alembic_revision")
    return RestoreResult(
        tables=tables,
        rasters=len(names),
        revision=revision,
        replaced=occupied,
        at_head=revision == _head_revision(),
    )
