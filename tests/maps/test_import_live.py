"""The web import in headless Chromium, only by clicking (issue 15): an officer signs in, opens
the import page from the header, uploads a zipped household shapefile whose head-of-household
column has a name the importer does not know, maps that column in the preview, confirms,
watches the progress bar, finds the import in the history and undoes it. Every page reads as
Vietnamese; screenshots in tests/artifacts/import_*.png."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from agrimap.clicommon import run_async
from layers import accounts
from tests.browser import browser_page, page_log, screenshot
from tests.importfiles import HEAD_COLUMN, households_zip, points_in_villages
from tests.maps.test_vietnamese_pages import VISIBLE_WORDS_JS, english_words

pytestmark = pytest.mark.browser
PASSWORD = "mật-khẩu-nhập-tệp-0123"
COMMUNE = "02923"
PER_VILLAGE = 100  # 14 villages: 1,400 households, enough for the bar to be seen moving


@pytest.fixture(scope="module")
def officer(demo_url: str):
    name = f"nhap-{uuid.uuid4().hex[:6]}"
    run_async(
        demo_url, accounts.add_user, username=name, role="officer", password=PASSWORD,
        communes=[COMMUNE], display_name="Lò Thị Mai", by="tests",
    )  # fmt: skip
    yield name
    with psycopg.connect(demo_url) as conn:  # leave the demo commune as it was, pass or fail
        conn.execute("SELECT set_config('agrimap.system', 'on', false)")
        conn.execute(
            "DELETE FROM household WHERE import_batch_id IN "
            "(SELECT id FROM import_batch WHERE imported_by = %s)",
            (name,),
        )


def vi(n: int) -> str:
    return f"{n:,}".replace(",", ".")  # 1.400


def _vietnamese(page, where: str) -> None:
    assert page.evaluate("document.documentElement.lang") == "vi", where
    found = english_words(page.evaluate(VISIBLE_WORDS_JS))
    assert not found, f"English words on the {where} page: {found}"


def test_an_officer_imports_a_shapefile_by_clicking_and_undoes_it(
    live_server: str, demo_url: str, officer: str, artifacts: Path, tmp_path: Path
) -> None:
    tag = f"B{uuid.uuid4().hex[:5].upper()}"
    points = points_in_villages(demo_url, COMMUNE, PER_VILLAGE)
    zipped = households_zip(tmp_path, points, tag=tag, outside=True)
    n = len(points)
    with browser_page(width=1400, height=1000) as page:
        page.goto(f"{live_server}/maps/overview")
        page.click(".agrimap-header >> text=Đăng nhập")
        page.fill("input[name=username]", officer)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/maps/overview*")

        page.click(".agrimap-header nav a[href='/maps/imports']")
        page.wait_for_url(f"{live_server}/maps/imports")
        _vietnamese(page, "upload")
        assert page.inner_text("#import-file-name") == "Chưa chọn tệp nào"
        page.set_input_files("input[type=file][name=file]", str(zipped))
        assert page.inner_text("#import-file-name") == zipped.name
        page.select_option("select[name=layer]", "households")
        screenshot(page, artifacts / "import_upload.png")
        page.click("#import-upload-form button[type=submit]")
        page.wait_for_function("document.body && document.body.dataset.importReady === '1'")

        # The preview: nothing written; the unknown column is not read; the far row refused.
        assert page.inner_text("h1") == f"Xem trước: {zipped.name}"
        head = page.locator("#import-mapping tr[data-field=head_name]")
        assert "tự nhận: — không đọc —" in head.inner_text()
        assert page.locator("#import-problems tbody tr").count() == 1
        assert page.get_attribute("#import-problems tbody tr", "data-row") == str(n + 1)
        assert "nằm ngoài mọi thôn đã có" in page.inner_text("#import-problems")
        assert page.locator("#import-confirm").count() == 0
        encoding = page.inner_text("#import-encoding")
        assert "UTF-8" in encoding and "Nguy" not in encoding  # no raw bytes for UTF-8
        assert f"{vi(n)} dòng được xếp vào thôn chứa chúng" in page.inner_text("#import-place")
        assert page.locator(".leaflet-interactive").count() == min(n + 1, 3000)
        _vietnamese(page, "preview")
        screenshot(page, artifacts / "import_preview.png")

        # The officer maps the column, skips the refused row and previews again.
        page.select_option("select[name='map:head_name']", HEAD_COLUMN)
        page.check("input[name=skip_invalid]")
        page.click("#import-repreview")
        page.wait_for_function("document.body && document.body.dataset.importReady === '1'")
        head = page.locator("#import-mapping tr[data-field=head_name]")
        assert "đã đổi" in head.inner_text()
        assert head.locator("select").input_value() == HEAD_COLUMN
        label = page.inner_text("#import-confirm")
        assert label == f"Nhập {vi(n)} dòng hợp lệ, bỏ 1 dòng lỗi"
        page.locator("#import-mapping").scroll_into_view_if_needed()
        screenshot(page, artifacts / "import_mapping.png")

        # Confirm: the progress bar, then the result (the page reloads when it is done).
        page.click("#import-confirm")
        page.wait_for_selector("#import-progress")
        if page.locator("#import-progress[data-state=running], "
                        "#import-progress[data-state=queued]").count():  # fmt: skip
            _vietnamese(page, "progress")
            page.wait_for_function(
                "Number(document.body.dataset.importPercent || 0) > 0", timeout=60_000
            )
            page.wait_for_timeout(400)  # the bar's width eases in
            try:
                screenshot(page, artifacts / "import_progress.png", timeout=5_000)
            except PlaywrightTimeoutError:
                pass  # the import ended and the page reloaded while it was taken (a CI run hung)
        page.wait_for_selector("#import-done", timeout=120_000)
        result = page.inner_text("#import-result")
        assert f"Đã nhập {vi(n)} dòng vào hộ gia đình" in result
        assert "Bỏ qua 1 dòng lỗi." in result
        _vietnamese(page, "result")
        screenshot(page, artifacts / "import_done.png")

        with psycopg.connect(demo_url) as conn:
            stored = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE head_name LIKE 'Nguyễn Văn Thử %%'), "
                "min(import_batch_id) FROM household WHERE code LIKE %s",
                (f"{tag}-%",),
            ).fetchone()
        assert stored[:2] == (n, n)
        batch = stored[2]

        # The history: who, when, the file, the counts; undo the whole import.
        page.click("#import-to-history")
        row = page.locator(f"#import-history tr[data-batch='{batch}']")
        cells = row.inner_text()
        assert officer in cells and zipped.name in cells and "Gia Phú" in cells
        assert vi(n) in cells
        _vietnamese(page, "history")
        screenshot(page, artifacts / "import_history.png")
        page.once("dialog", lambda dialog: dialog.accept())
        row.locator("button", has_text="Hoàn tác").click()
        page.wait_for_selector("#import-undone")
        assert f"Đã hoàn tác lần nhập số {batch}" in page.inner_text("#import-undone")
        row = page.locator(f"#import-history tr[data-batch='{batch}']")
        assert "Đã hoàn tác" in row.inner_text() and row.locator("button").count() == 0
        assert "bởi Lò Thị Mai" in row.inner_text()
        _vietnamese(page, "history after the undo")
        screenshot(page, artifacts / "import_undone.png")
        log = page_log(page)
        assert not log.page_errors, log.page_errors

    with psycopg.connect(demo_url) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM household WHERE code LIKE %s", (f"{tag}-%",)
            ).fetchone()[0]
            == 0
        )
