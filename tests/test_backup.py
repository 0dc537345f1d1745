"""`agrimap backup` / `agrimap restore`: the demo database and its rasters round-trip exactly into
a fresh database and data dir; a non-empty target, a tampered archive and hostile members are
refused and change nothing."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from agrimap import backup
from agrimap.cli import app
from agrimap.clicommon import run_async
from geo.errors import Conflict, InvalidInput
from layers import accounts
from layers.migrate import head_revision
from tests.conftest import _fresh_database

runner = CliRunner()
TABLES_SQL = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
SEQUENCES_SQL = "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"  # fmt: skip
# md5 over each table's rows in a fixed order: any changed value, row or column shows.
CHECKSUM = "SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {} t"


def snapshot(url: str) -> dict[str, object]:
    """Every public table's row count and checksum, the sequences, and the raster rows."""
    with psycopg.connect(url) as conn:
        tables = [t for (t,) in conn.execute(TABLES_SQL)]
        state: dict[str, object] = {
            t: conn.execute(sql.SQL(CHECKSUM).format(sql.Identifier(t))).fetchone() for t in tables
        }
        state["<sequences>"] = conn.execute(SEQUENCES_SQL).fetchall()
        if "soil_raster" in tables:
            state["<raster paths>"] = [
                p for (p,) in conn.execute("SELECT path FROM soil_raster ORDER BY id")
            ]
    return state


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def source_url(demo_url: str) -> str:
    """The demo commune (with its soil raster and import audit) plus an account and a token, so
    accounts and their audit entries are in the backup too."""
    try:
        run_async(
            demo_url, accounts.add_user, username="saoluu.officer", role="officer",
            password="mot-mat-khau-dai", communes=("02923",), by="tests",
        )  # fmt: skip
        run_async(
            demo_url, accounts.create_token, username="saoluu.officer", name="QGIS", by="tests"
        )
    except Conflict:
        pass  # already there from an earlier run of this module in the session
    return demo_url


@pytest.fixture(scope="module")
def archive(source_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("backup") / "agrimap.tar"
    result = runner.invoke(app, ["backup", str(path)], env={"DATABASE_URL": source_url})
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def empty_url() -> str:
    """A fresh, migrated, empty database: what a new server starts with."""
    return _fresh_database("agrimap_restore_test")


@pytest.fixture(scope="module")
def untouched_url() -> str:
    """A fresh, migrated, empty database shared by the tests whose restore must be refused:
    each checks it is still exactly as it was."""
    return _fresh_database("agrimap_restore_refused")


def test_round_trip_restores_every_table_and_raster(
    source_url: str, archive: Path, empty_url: str, tmp_path: Path
) -> None:
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert names[0] == "manifest.json" and "database.dump" in names
    assert manifest["alembic_revision"] == head_revision() and manifest["agrimap_version"]
    assert manifest["tables"]["public.audit_log"] > 0 and manifest["tables"]["public.app_user"] > 0
    assert set(manifest["members"]) == set(names) - {"manifest.json"}

    data_dir = tmp_path / "restored-data"
    result = runner.invoke(
        app, ["restore", str(archive)],
        env={"DATABASE_URL": empty_url, "AGRIMAP_DATA_DIR": str(data_dir)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    before, after = snapshot(source_url), snapshot(empty_url)
    source_paths, restored_paths = before.pop("<raster paths>"), after.pop("<raster paths>")
    before.pop("soil_raster"), after.pop("soil_raster")  # its path column moved: compared below
    assert after == before
    assert {f"public.{t}": v[0] for t, v in after.items() if not t.startswith("<")} == {
        k: v for k, v in manifest["tables"].items() if k != "public.soil_raster"
    }

    assert source_paths and len(restored_paths) == len(source_paths)
    for old, new in zip(source_paths, restored_paths, strict=True):
        assert Path(new) == (data_dir / "rasters" / Path(old).name).resolve()
        assert Path(new).read_bytes() == Path(old).read_bytes()
    assert files_under(data_dir) == {
        f"rasters/{Path(p).name}": Path(p).read_bytes() for p in source_paths
    }  # no staging folder left behind
    # soil_raster itself: identical but for the path, and the rewrite fired no layer trigger
    with psycopg.connect(source_url) as a, psycopg.connect(empty_url) as b:
        query = "SELECT (to_jsonb(t) - 'path')::text FROM soil_raster t ORDER BY id"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()


def test_restore_over_data_needs_force_and_changes_nothing_without_it(
    source_url: str, archive: Path, empty_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    backup.restore(empty_url, archive, data_dir=data_dir)
    run_async(
        empty_url, accounts.add_user, username="chi.o.dich", role="planner",
        password="mot-mat-khau-dai", by="tests",
    )  # fmt: skip
    before, files_before = snapshot(empty_url), files_under(data_dir)

    result = runner.invoke(
        app, ["restore", str(archive)],
        env={"DATABASE_URL": empty_url, "AGRIMAP_DATA_DIR": str(data_dir)},
    )  # fmt: skip
    assert result.exit_code == 1
    assert "CSDL đích đã có dữ liệu" in result.output and "--force" in result.output
    assert snapshot(empty_url) == before and files_under(data_dir) == files_before

    done = backup.restore(empty_url, archive, data_dir=data_dir, force=True)
    assert "app_user" in done.replaced and "audit_log" in done.replaced
    with psycopg.connect(empty_url) as conn:
        assert not conn.execute("SELECT 1 FROM app_user WHERE username = 'chi.o.dich'").fetchone()
    source, restored = snapshot(source_url), snapshot(empty_url)
    for state in (source, restored):
        state.pop("<raster paths>"), state.pop("soil_raster")
    assert restored == source


def _member_offset(archive: Path, name: str) -> int:
    with tarfile.open(archive) as tar:
        return tar.getmember(name).offset_data


@pytest.mark.parametrize("member", ["database.dump", "raster"])
def test_tampered_archive_is_refused(
    archive: Path, untouched_url: str, tmp_path: Path, member: str
) -> None:
    with tarfile.open(archive) as tar:
        name = member if member == "database.dump" else next(
            n for n in tar.getnames() if n.startswith("rasters/")
        )  # fmt: skip
    bad = tmp_path / "tampered.tar"
    shutil.copy(archive, bad)
    with bad.open("r+b") as fh:
        fh.seek(_member_offset(bad, name) + 1000)
        byte = fh.read(1)
        fh.seek(-1, io.SEEK_CUR)
        fh.write(bytes([byte[0] ^ 0x01]))
    before = snapshot(untouched_url)
    with pytest.raises(InvalidInput) as refused:
        backup.restore(untouched_url, bad, data_dir=tmp_path / "data")
    assert "SHA-256" in refused.value.vi and name in refused.value.vi
    assert refused.value.vi.startswith("Bản sao lưu không hợp lệ, không khôi phục")
    assert snapshot(untouched_url) == before
    assert files_under(tmp_path / "data") == {}


def _hostile(archive: Path, dest: Path, add) -> Path:
    """The real archive with one extra member added by ``add(tar)``."""
    with tarfile.open(archive) as src, tarfile.open(dest, "w") as out:
        for m in src.getmembers():
            out.addfile(m, src.extractfile(m))
        add(out)
    return dest


def _file(name: str, body: bytes = b"evil"):
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))

    return add


def _link(name: str, target: str, kind: bytes):
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, target
        tar.addfile(info)

    return add


@pytest.mark.parametrize(
    ("add", "why"),
    [
        (_file("../evil.tif"), "'..'"),
        (_file("rasters/../../evil.tif"), "'..'"),
        (_file("/tmp/agrimap-evil.tif"), "tuyệt đối"),
        (_link("rasters/evil.tif", "/etc/passwd", tarfile.SYMTYPE), "liên kết"),
        (_link("rasters/hard.tif", "/etc/passwd", tarfile.LNKTYPE), "liên kết"),
        (_file("rasters/evil.sh"), "tệp lạ"),
        (_file("database.dump"), "lặp lại"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink", "hardlink", "unknown", "duplicate"],
)
def test_unsafe_members_are_refused(
    archive: Path, untouched_url: str, tmp_path: Path, add, why: str
) -> None:
    (tmp_path / "box").mkdir()
    bad = _hostile(archive, tmp_path / "box" / "hostile.tar", add)
    data_dir = tmp_path / "box" / "data"
    before = snapshot(untouched_url)
    with pytest.raises(InvalidInput) as refused:
        backup.restore(untouched_url, bad, data_dir=data_dir)
    assert why in refused.value.vi
    assert snapshot(untouched_url) == before
    assert (
        not (tmp_path / "box" / "evil.tif").exists() and not Path("/tmp/agrimap-evil.tif").exists()
    )
    assert files_under(tmp_path) == {"box/hostile.tar": bad.read_bytes()}


def test_verify_reads_a_good_archive_and_refuses_a_truncated_one(
    archive: Path, tmp_path: Path
) -> None:
    assert backup.verify(archive)["format"] == "agrimap-backup"
    cut = tmp_path / "cut.tar"
    cut.write_bytes(archive.read_bytes()[: _member_offset(archive, "database.dump") + 5000])
    with pytest.raises(InvalidInput, match="Invalid backup archive"):
        backup.verify(cut)


def _rebuilt(archive: Path, dest: Path, *, dump: Path | None = None, edit=None) -> Path:
    """``archive`` with its dump replaced by ``dump`` and/or its manifest changed by ``edit``,
    checksums kept consistent: an archive that verifies but whose database part fails."""
    with tarfile.open(archive) as src, tarfile.open(dest, "w") as out:
        manifest = json.loads(src.extractfile("manifest.json").read())
        if dump:
            manifest["members"]["database.dump"] = {
                "sha256": backup._sha256_file(dump), "size": dump.stat().st_size,
            }  # fmt: skip
        if edit:
            edit(manifest)
        body = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(body)
        out.addfile(info, io.BytesIO(body))
        for m in src.getmembers():
            if m.name == "database.dump" and dump:
                out.add(dump, arcname="database.dump")
            elif m.name != "manifest.json":
                out.addfile(m, src.extractfile(m))
    return dest


def test_failed_restore_leaves_target_and_data_dir_as_they_were(
    archive: Path, empty_url: str, tmp_path: Path
) -> None:
    # A database whose two rasters share a file name in different folders: its dump restores,
    # but rewriting both paths into one data dir breaks soil_raster's unique path, at the very
    # end of the restore's transaction.
    broken_url = _fresh_database("agrimap_restore_broken")
    backup.restore(broken_url, archive, data_dir=tmp_path / "broken-data")
    with psycopg.connect(broken_url) as conn:
        conn.execute(
            "INSERT INTO soil_raster (property, unit, path, source, stats, geom) "
            "SELECT property, unit, '/elsewhere/' || regexp_replace(path, '^.*/', ''), source, "
            "stats, geom FROM soil_raster"
        )
    with pytest.raises(Conflict):
        backup.create_backup(broken_url, tmp_path / "refused.tar")  # backup refuses the clash
    dump = tmp_path / "broken.dump"
    pg_dump = backup._binary("pg_dump")
    backup._run([pg_dump, "-Fc", f"--file={dump}", f"--dbname={broken_url}"], "pg_dump", "pg_dump")
    hostile = _rebuilt(archive, tmp_path / "broken.tar", dump=dump)
    assert backup.verify(hostile)  # a well-formed archive: the failure comes later

    data_dir = tmp_path / "data"
    backup.restore(empty_url, archive, data_dir=data_dir)
    run_async(
        empty_url, accounts.add_user, username="van.o.day", role="planner",
        password="mot-mat-khau-dai", by="tests",
    )  # fmt: skip
    before, files_before = snapshot(empty_url), files_under(data_dir)
    with pytest.raises(InvalidInput, match="nothing changed") as failed:
        backup.restore(empty_url, hostile, data_dir=data_dir, force=True)
    assert any("soil_raster_path_key" in line or "unique" in line for line in failed.value.details)
    assert snapshot(empty_url) == before and files_under(data_dir) == files_before


def test_backup_refuses_a_missing_raster(archive: Path, empty_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    backup.restore(empty_url, archive, data_dir=data_dir)
    removed = 0
    for tif in (data_dir / "rasters").glob("*.tif"):
        tif.unlink()
        removed += 1
    assert removed > 1  # the imported GeoTIFF and the rasters interpolated from the samples
    with pytest.raises(InvalidInput, match="missing") as refused:
        backup.create_backup(empty_url, tmp_path / "incomplete.tar")
    assert refused.value.vi.startswith(f"Thiếu {removed} tệp ảnh đất")
    assert not list(tmp_path.glob("*incomplete.tar*"))


def test_restore_checks_row_counts_against_the_manifest(
    archive: Path, untouched_url: str, tmp_path: Path
) -> None:
    def one_household_less(manifest: dict) -> None:
        manifest["tables"]["public.household"] -= 1

    edited = _rebuilt(archive, tmp_path / "counts.tar", edit=one_household_less)
    before = snapshot(untouched_url)
    with pytest.raises(InvalidInput, match="nothing changed") as failed:
        backup.restore(untouched_url, edited, data_dir=tmp_path / "data")
    assert any("public.household holds" in line for line in failed.value.details)
    assert snapshot(untouched_url) == before
    assert files_under(tmp_path / "data") == {}
