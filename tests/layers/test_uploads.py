"""The web import's upload store: unguessable ids tied to their account, expiry and clean-up,
one confirmed import per upload, progress written whole."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from geo.errors import NotFound
from layers.ingest.uploads import STALE_JOB_S, TOKEN, UploadStore


def test_an_upload_is_kept_for_its_account_until_it_expires(tmp_path: Path) -> None:
    store = UploadStore(tmp_path, ttl_s=60)
    up = store.create(io.BytesIO(b"PK data"), "thon.zip", user_id=7, options={"layer": "villages"})
    assert TOKEN.fullmatch(up.token) and up.file.read_bytes() == b"PK data"
    assert store.get(up.token, user_id=7).options == {"layer": "villages"}
    for token, user in ((up.token, 8), ("../" + up.token[3:], 7), ("x" * 32, 7), ("", 7)):
        with pytest.raises(NotFound) as err:
            store.get(token, user_id=user)
        assert err.value.vi.startswith("Không tìm thấy tệp đã tải lên")
    # Expired: gone on the next look, and swept by the next upload.
    meta = up.folder / "upload.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "created": time.time() - 61}))
    other = store.create(io.BytesIO(b"x"), "ho.csv", user_id=7, options={})
    assert not up.folder.exists() and other.folder.exists()
    with pytest.raises(NotFound):
        store.get(up.token, user_id=7)


def test_one_import_per_upload_and_a_running_one_is_not_swept(tmp_path: Path) -> None:
    store = UploadStore(tmp_path, ttl_s=0.0)
    up = store.create(io.BytesIO(b"x"), "ho.csv", user_id=1, options={})
    assert store.claim(up) is True and store.claim(up) is False
    assert store.read_job(up)["state"] == "queued"
    assert store.sweep() == 0 and up.folder.exists()  # queued: kept although expired
    store.write_job(up, {"state": "failed", "stage": "read"})
    store.clear_job(up)
    assert store.read_job(up) is None and store.claim(up) is True
    # A job nobody has updated for STALE_JOB_S died with its process.
    job = up.folder / "job.json"
    job.write_text(json.dumps({"state": "running", "updated": time.time() - STALE_JOB_S - 1}))
    assert store.read_job(up)["state"] == "failed"
    assert store.sweep() == 1 and not up.folder.exists()
    assert not list(tmp_path.glob(".*"))  # no half-written files left behind
