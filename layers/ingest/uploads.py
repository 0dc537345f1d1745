"""Files uploaded for a web import (nhập dữ liệu trên trình duyệt), kept on the server between the
preview and the confirmation: one folder per upload, named by an unguessable id and tied to the
account that sent it, removed once it expires. The import's progress and result are kept there
too (a small JSON file), so that any server process on the machine can answer the page."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from geo.errors import NotFound

TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
# A job whose worker has said nothing for this long died with its process.
STALE_JOB_S = 15 * 60


def _gone() -> NotFound:
    # One answer for unknown, expired and someone else's uploads: nothing tells them apart.
    return NotFound(
        "Không tìm thấy tệp đã tải lên (có thể đã hết hạn).",
        "The uploaded file was not found (it may have expired).",
        hint_vi="Tải tệp lên lại để xem trước và nhập.",
        hint_en="Upload the file again to preview and import it.",
    )


@dataclass
class Upload:
    """One uploaded file and what the officer chose for it (layer, mode, column mapping …)."""

    token: str
    user_id: int
    name: str
    created: float
    options: dict[str, Any] = field(default_factory=dict)
    folder: Path = Path()

    @property
    def file(self) -> Path:
        return self.folder / "file" / self.name

    @property
    def has_file(self) -> bool:
        return self.file.exists()


class UploadStore:
    """Uploads under ``root``, each kept ``ttl_s`` seconds after it was sent."""

    def __init__(self, root: Path, ttl_s: float = 6 * 3600) -> None:
        self.root = Path(root)
        self.ttl_s = ttl_s

    def _folder(self, token: str) -> Path:
        if not TOKEN.fullmatch(token or ""):
            raise _gone()
        return self.root / token

    def create(
        self, source: BinaryIO, name: str, *, user_id: int, options: dict[str, Any]
    ) -> Upload:
        """Copy ``source`` (an uploaded file, read in chunks) into a new upload folder. ``name``
        must be safe already (``geo.boundary.upload_name``)."""
        self.sweep()
        token = secrets.token_urlsafe(24)  # 32 characters, 192 bits
        folder = self.root / token
        (folder / "file").mkdir(parents=True, mode=0o700)
        upload = Upload(token, user_id, name, time.time(), dict(options), folder)
        with open(upload.file, "wb") as out:
            shutil.copyfileobj(source, out, 1024 * 1024)
        self.save(upload)
        return upload

    def save(self, upload: Upload) -> None:
        meta = {k: v for k, v in asdict(upload).items() if k != "folder"}
        _write_json(upload.folder / "upload.json", meta)

    def get(self, token: str, *, user_id: int) -> Upload:
        """The upload ``token`` of account ``user_id``; NotFound when unknown, expired or not
        theirs."""
        folder = self._folder(token)
        try:
            meta = json.loads((folder / "upload.json").read_text())
        except (OSError, ValueError):
            raise _gone() from None
        upload = Upload(**meta, folder=folder)
        if upload.user_id != user_id:
            raise _gone()
        if time.time() - upload.created > self.ttl_s and not self._running(folder):
            shutil.rmtree(folder, ignore_errors=True)
            raise _gone()
        return upload

    def drop_file(self, upload: Upload) -> None:
        """The file itself is not needed once imported (its job's result stays until expiry)."""
        shutil.rmtree(upload.folder / "file", ignore_errors=True)

    def claim(self, upload: Upload) -> bool:
        """Mark the upload confirmed; False when it was already (a second press of the button,
        another server process): exactly one import per upload."""
        try:
            fd = os.open(upload.folder / "confirmed", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return False
        os.close(fd)
        self.write_job(upload, {"state": "queued", "stage": "queued", "done": 0, "total": 0})
        return True

    def clear_job(self, upload: Upload) -> None:
        """Forget a failed import, so that the file can be previewed and confirmed again."""
        job = self.read_job(upload)
        if job is not None and job.get("state") == "failed" and upload.has_file:
            (upload.folder / "job.json").unlink(missing_ok=True)
            (upload.folder / "confirmed").unlink(missing_ok=True)

    def write_job(self, upload: Upload, state: dict[str, Any]) -> None:
        _write_json(upload.folder / "job.json", {**state, "updated": time.time()})

    def read_job(self, upload: Upload) -> dict[str, Any] | None:
        try:
            job = json.loads((upload.folder / "job.json").read_text())
        except (OSError, ValueError):
            return None
        if job.get("state") in ("queued", "running") and time.time() - job["updated"] > STALE_JOB_S:
            job = {**job, "state": "failed", "error": _died()}
        return job

    def _running(self, folder: Path) -> bool:
        try:
            job = json.loads((folder / "job.json").read_text())
        except (OSError, ValueError):
            return False
        return job.get("state") in ("queued", "running") and (
            time.time() - job.get("updated", 0) <= STALE_JOB_S
        )

    def sweep(self) -> int:
        """Remove expired uploads (not those being imported); returns how many."""
        if not self.root.is_dir():
            return 0
        removed = 0
        now = time.time()
        for folder in self.root.iterdir():
            if not TOKEN.fullmatch(folder.name) or self._running(folder):
                continue
            try:
                created = json.loads((folder / "upload.json").read_text())["created"]
            except (OSError, ValueError, KeyError):
                created = folder.stat().st_mtime
            if now - created > self.ttl_s:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed


def _died() -> dict[str, str]:
    return {
        "vi": "Lần nhập bị dừng giữa chừng (máy chủ khởi động lại); cơ sở dữ liệu không thay đổi.",
        "en": "The import stopped half-way (the server restarted); the database is unchanged.",
        "hint_vi": "Tải tệp lên và nhập lại.",
        "hint_en": "Upload the file and import it again.",
    }


def _write_json(path: Path, value: dict[str, Any]) -> None:
    """Written whole or not at all: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    tmp.write_text(json.dumps(value, ensure_ascii=False, default=str))
    os.replace(tmp, path)
