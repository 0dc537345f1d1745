"""The web import over HTTP on the real server and the demo commune (issue 15): upload, preview
(encoding, CRS, column mapping the officer changes, each row's problems), confirm, progress,
the import written as the officer (scope, batch and audit trail), history and undo; CSRF, the
officer's communes and other accounts' uploads refused."""

from __future__ import annotations

import html
import re
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from agrimap.clicommon import run_async
from layers import accounts
from tests.importfiles import HEAD_COLUMN, households_zip, village_points
from tests.maps.test_workspace import PASSWORD, sign_in

COMMUNE = "02923"


@pytest.fixture(scope="module")
def people(demo_url: str) -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    names = {}
    for key, role, communes in (
        ("officer", "officer", [COMMUNE]),
        ("stranger", "officer", ["99999"]),  # an officer of another commune
        ("planner", "planner", []),
        ("admin", "admin", []),
    ):
        # Usernames of Vietnamese words: the page walks read them as text of the pages.
        short = {"officer": "canbo", "stranger": "xakhac", "planner": "quyhoach", "admin": "qt"}
        names[key] = f"nhap-{short[key]}-{tag}"
        run_async(
            demo_url, accounts.add_user, username=names[key], role=role, password=PASSWORD,
            communes=communes, display_name=f"Người nhập {short[key]}", by="tests",
        )  # fmt: skip
    return names


@pytest.fixture(scope="module", autouse=True)
def clean_up(demo_url: str, people):
    """Whatever these tests imported leaves the demo commune as it was, pass or fail."""
    yield
    with psycopg.connect(demo_url) as conn:
        conn.execute("SELECT set_config('agrimap.system', 'on', false)")
        conn.execute("SELECT set_config('agrimap.bulk', 'on', false)")
        conn.execute(
            "DELETE FROM household WHERE import_batch_id IN (SELECT id FROM import_batch "
            "WHERE imported_by = ANY(%s))",
            (list(people.values()),),
        )


@pytest.fixture(scope="module")
def officer(live_server: str, people) -> tuple[httpx.Client, str]:
    return sign_in(live_server, people["officer"])


def _upload(client: httpx.Client, csrf: str, path: Path, **form: str) -> httpx.Response:
    with path.open("rb") as fh:
        return client.post(
            "/maps/imports",
            data={"csrf_token": csrf, "layer": "households", **form},
            files={"file": (path.name, fh, "application/zip")},
        )


def _token(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.fullmatch(r"/maps/imports/[A-Za-z0-9_-]{32}", location), location
    return location.rsplit("/", 1)[1]


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _wait_done(client: httpx.Client, token: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        status = client.get(f"/maps/imports/{token}/progress").json()
        seen.append(status)
        if status["state"] in ("done", "failed"):
            return {**status, "seen": seen}
        time.sleep(0.2)
    raise AssertionError(f"the import did not finish: {seen[-3:]}")


def test_upload_preview_change_mapping_confirm_history_undo(
    officer, people, demo_url: str, tmp_path: Path
) -> None:
    client, csrf = officer
    tag = f"W{uuid.uuid4().hex[:5].upper()}"
    points = village_points(demo_url, COMMUNE)
    zipped = households_zip(tmp_path, points, tag=tag, outside=True)
    token = _token(_upload(client, csrf, zipped))

    # The preview: nothing written, the file's facts, every row on the map, row 4 refused.
    page = client.get(f"/maps/imports/{token}")
    assert page.status_code == 200, page.text
    shown = _text(page.text)
    assert "Chưa ghi gì vào cơ sở dữ liệu" in shown
    assert "4 dòng" in shown  # read
    assert "UTF-8" in shown and "WGS 84" in shown
    assert re.search(r"Sẽ nhập\s+3 dòng", shown)
    assert re.search(r"Bị từ chối\s+1 dòng", shown)
    problems = re.search(r'<table class="import-problems".*?</table>', page.text, re.S).group(0)
    assert 'data-row="4"' in problems and "nằm ngoài mọi thôn đã có" in _text(problems)
    assert "outside" not in _text(problems)  # the Vietnamese half only
    assert page.text.count('"type": "Feature"') == 4
    # The head-of-household column has a name no alias knows: not read yet.
    head_row = re.search(r'<tr data-field="head_name">.*?</tr>', page.text, re.S).group(0)
    assert "tự nhận: — không đọc —" in _text(head_row)
    assert "import-confirm-form" not in page.text  # a refused row and no "skip" chosen
    with psycopg.connect(demo_url) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM household WHERE code LIKE %s", (f"{tag}-%",)
            ).fetchone()[0]
            == 0
        )

    # The officer maps the column and chooses to skip the refused row, and previews again.
    r = client.post(
        f"/maps/imports/{token}",
        data={"csrf_token": csrf, "map:head_name": HEAD_COLUMN, "skip_invalid": "1",
              "mode": "refuse", "map:code": "__auto__"},
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"/maps/imports/{token}"
    page = client.get(f"/maps/imports/{token}")
    head_row = re.search(r'<tr data-field="head_name">.*?</tr>', page.text, re.S).group(0)
    assert f'<option value="{HEAD_COLUMN}" selected>' in head_row and "đã đổi" in head_row
    confirm = re.search(r'<button type="submit" id="import-confirm">([^<]+)<', page.text)
    assert confirm and confirm.group(1) == "Nhập 3 dòng hợp lệ, bỏ 1 dòng lỗi"
    english = client.get(f"/maps/imports/{token}?lang=en")
    assert english.status_code == 200
    assert (
        "Column mapping" in english.text and "Import 3 valid rows, skip 1 refused" in english.text
    )
    assert "outside every stored village" in _text(english.text)

    r = client.post(f"/maps/imports/{token}/confirm", data={"csrf_token": csrf})
    assert r.status_code == 303
    status = _wait_done(client, token)
    assert status["state"] == "done", status
    assert status["percent"] == 100 and status["stage_name"] == "Xong"
    # A second press of the button imports nothing more.
    client.post(f"/maps/imports/{token}/confirm", data={"csrf_token": csrf})
    done = _text(client.get(f"/maps/imports/{token}").text)
    assert "Đã nhập xong" in done and "Đã nhập 3 dòng vào hộ gia đình" in done

    with psycopg.connect(demo_url) as conn:
        rows = conn.execute(
            "SELECT h.code, h.head_name, h.has_fibre, h.commune_code, h.import_batch_id "
            "FROM household h WHERE h.code LIKE %s ORDER BY h.code",
            (f"{tag}-%",),
        ).fetchall()
        assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
            (f"{tag}-{i}", f"Nguyễn Văn Thử {i}", True, COMMUNE) for i in (1, 2, 3)
        ]
        batch = rows[0][4]
        by, by_id, communes, rejected, columns = conn.execute(
            "SELECT imported_by, imported_by_id, communes, features_rejected, columns "
            "FROM import_batch WHERE id = %s",
            (batch,),
        ).fetchone()
        officer_id = conn.execute(
            "SELECT id FROM app_user WHERE username = %s", (people["officer"],)
        ).fetchone()[0]
        assert (by, by_id, communes, rejected) == (people["officer"], officer_id, [COMMUNE], 1)
        assert columns["head_name"] == HEAD_COLUMN
        # Written as the officer: the batch's audit row and one 'create' per household name them.
        audited = conn.execute(
            "SELECT action, count(*) FROM audit_log WHERE actor_id = %s AND "
            "(object_id = %s OR (object_type = 'household' AND object_id IN "
            "(SELECT id::text FROM household WHERE import_batch_id = %s))) GROUP BY action",
            (officer_id, str(batch), batch),
        ).fetchall()
        assert dict(audited) == {"import": 1, "create": 3}

    # The history names who, the file, the layer, the counts; undo removes the three rows.
    history = client.get("/maps/imports/history")
    row = re.search(rf'<tr data-batch="{batch}".*?</tr>', history.text, re.S).group(0)
    cells = _text(row)
    assert people["officer"] in cells and zipped.name in cells and "Hộ gia đình" in cells
    assert "Gia Phú" in cells and "Từ chối dòng đã có" in cells
    r = client.post(f"/maps/imports/history/{batch}/undo", data={"csrf_token": csrf})
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    assert f"Đã hoàn tác lần nhập số {batch}: xóa 3 dòng." in _text(page.text)
    row = re.search(rf'<tr data-batch="{batch}".*?</tr>', page.text, re.S).group(0)
    assert "Đã hoàn tác" in _text(row) and "Hoàn tác</button>" not in row
    with psycopg.connect(demo_url) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM household WHERE import_batch_id = %s", (batch,)
            ).fetchone()[0]
            == 0
        )

    # Undoing it again is refused, in Vietnamese, on the history page.
    r = client.post(f"/maps/imports/history/{batch}/undo", data={"csrf_token": csrf})
    assert r.status_code == 409
    assert f"Lần nhập số {batch} đã được hoàn tác." in _text(r.text)


def test_forms_need_their_csrf_token(officer, demo_url: str, tmp_path: Path) -> None:
    client, csrf = officer
    zipped = households_zip(tmp_path, village_points(demo_url, COMMUNE, 1), tag="CSRF")
    r = _upload(client, "not-the-token", zipped)
    assert r.status_code == 403 and "CSRF" in r.text
    token = _token(_upload(client, csrf, zipped))
    r = client.post(f"/maps/imports/{token}/confirm", data={"csrf_token": "wrong"})
    assert r.status_code == 403
    assert client.get(f"/maps/imports/{token}/progress").status_code == 404  # not confirmed
    r = client.post("/maps/imports/history/1/undo", data={})
    assert r.status_code == 403


def test_an_officer_imports_only_into_their_communes(
    live_server: str, people, demo_url: str, tmp_path: Path
) -> None:
    client, csrf = sign_in(live_server, people["stranger"])
    zipped = households_zip(tmp_path, village_points(demo_url, COMMUNE, 2), tag="SCOPE")
    r = _upload(client, csrf, zipped, commune=COMMUNE)
    assert r.status_code == 403
    assert "không được nhập dữ liệu vào xã 02923: chỉ được nhập vào xã 99999" in _text(r.text)
    # Placed by their location, the rows land in Gia Phú: each is refused with its row number.
    token = _token(_upload(client, csrf, zipped, skip_invalid="1"))
    page = client.get(f"/maps/imports/{token}")
    problems = _text(re.search(r'<table class="import-problems".*?</table>', page.text, re.S)[0])
    assert problems.count("ngoài các xã tài khoản này được nhập") == 2
    assert "Gia Phú (02923)" in problems
    assert "import-confirm-form" not in page.text
    # Confirming anyway writes nothing.
    client.post(f"/maps/imports/{token}/confirm", data={"csrf_token": csrf})
    status = _wait_done(client, token)
    assert status["state"] == "failed"
    assert "Cơ sở dữ liệu không thay đổi" in _text(client.get(f"/maps/imports/{token}").text)
    with psycopg.connect(demo_url) as conn:
        assert (
            conn.execute("SELECT count(*) FROM household WHERE code LIKE 'SCOPE-%'").fetchone()[0]
            == 0
        )


def test_an_upload_is_its_owners_only(officer, live_server: str, people, demo_url, tmp_path):
    client, csrf = officer
    zipped = households_zip(tmp_path, village_points(demo_url, COMMUNE, 1), tag="MINE")
    token = _token(_upload(client, csrf, zipped))
    other, _ = sign_in(live_server, people["admin"])
    for path in (f"/maps/imports/{token}", f"/maps/imports/{token}/progress"):
        r = other.get(path)
        assert r.status_code == 404 and "Không tìm thấy tệp đã tải lên" in _text(r.text)
    assert other.get("/maps/imports/" + "x" * 32).status_code == 404
    assert other.get("/maps/imports/..%2F..%2Fetc").status_code == 404


def test_who_may_open_the_import_pages(live_server: str, people) -> None:
    anonymous = httpx.Client(base_url=live_server, follow_redirects=False)
    assert anonymous.get("/maps/imports").status_code in (303, 401)
    planner, _ = sign_in(live_server, people["planner"])
    for path in ("/maps/imports", "/maps/imports/history"):
        r = planner.get(path)
        assert r.status_code == 403 and "không được dùng chức năng này" in _text(r.text)
    officer, _ = sign_in(live_server, people["officer"])
    page = officer.get("/maps/imports")
    assert page.status_code == 200
    header = re.search(r'<header class="agrimap-header".*?</header>', page.text, re.S)[0]
    assert '<a href="/maps/imports" aria-current=page>Nhập dữ liệu</a>' in header
    assert "Tài khoản này nhập được vào: Gia Phú" in _text(page.text)
    english = officer.get("/maps/imports?lang=en")
    assert "Import from a file" in english.text and "Nhập dữ liệu từ tệp" not in english.text


def test_a_file_that_cannot_be_imported_is_said_so(officer, tmp_path: Path) -> None:
    client, csrf = officer
    bad = tmp_path / "ghi_chu.txt"
    bad.write_text("không phải bản đồ")
    with bad.open("rb") as fh:
        r = client.post(
            "/maps/imports", data={"csrf_token": csrf, "layer": "households"},
            files={"file": (bad.name, fh, "text/plain")},
        )  # fmt: skip
    assert r.status_code == 400 and "chỉ nhận .zip" in _text(r.text)
    # A damaged zip is uploaded, and its preview says what is wrong, with nothing to confirm.
    broken = tmp_path / "hong.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with broken.open("rb") as fh:
        r = client.post(
            "/maps/imports", data={"csrf_token": csrf, "layer": "villages"},
            files={"file": (broken.name, fh, "application/zip")},
        )  # fmt: skip
    page = client.get(r.headers["location"])
    assert page.status_code == 200
    assert "bị hỏng hoặc tải về chưa hết" in _text(page.text)
    assert "import-confirm-form" not in page.text
    r = client.post(
        "/maps/imports",
        data={"csrf_token": csrf, "layer": "coverage"},
        files={"file": ("a.geojson", b"{}", "application/geo+json")},
    )
    assert r.status_code == 400 and "Không nhập được lớp" in _text(r.text)


def test_undo_refusals_are_said_in_vietnamese(live_server: str, people, demo_url: str) -> None:
    with psycopg.connect(demo_url) as conn:
        villages, households = (
            conn.execute(
                "SELECT min(id) FROM import_batch WHERE layer = %s AND imported_by = 'demo'",
                (layer,),
            ).fetchone()[0]
            for layer in ("villages", "households")
        )
    # Households lie in the demo's villages: their import cannot be undone, even by an admin.
    admin, csrf = sign_in(live_server, people["admin"])
    r = admin.post(f"/maps/imports/history/{villages}/undo", data={"csrf_token": csrf})
    assert r.status_code == 409
    assert "hộ gia đình nằm trong các thôn của lần nhập này: không hoàn tác được" in _text(r.text)
    assert "Hoàn tác lần nhập hộ gia đình trước." in _text(r.text)
    # An officer of another commune may not undo Gia Phú's households.
    stranger, csrf = sign_in(live_server, people["stranger"])
    r = stranger.post(f"/maps/imports/history/{households}/undo", data={"csrf_token": csrf})
    assert r.status_code == 403
    assert "ngoài các xã của tài khoản" in _text(r.text)
    assert f'data-batch="{households}"' not in stranger.get("/maps/imports/history").text
    with psycopg.connect(demo_url) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM household WHERE import_batch_id = %s", (households,)
            ).fetchone()[0]
            == 2626
        )
