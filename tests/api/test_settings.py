"""Settings: production refuses the default secret; the demo loader is safe to re-run."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agrimap.settings import Settings


def test_production_refuses_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGRIMAP_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="AGRIMAP_SECRET_KEY"):
        Settings(environment="production")
    prod = Settings(environment="production", secret_key="x" * 40, public_url="https://a.vn")
    assert prod.secret_key == "x" * 40


def test_production_needs_a_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGRIMAP_PUBLIC_URL", raising=False)
    with pytest.raises(ValidationError, match="AGRIMAP_PUBLIC_URL"):
        Settings(environment="production", secret_key="x" * 40)


def test_lists_read_from_commas_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGRIMAP_TRUSTED_PROXIES", "10.0.0.1, 10.1.0.0/16")
    monkeypatch.setenv("AGRIMAP_ALLOWED_HOSTS", '["agrimap.local"]')
    s = Settings()
    assert s.trusted_proxies == ["10.0.0.1", "10.1.0.0/16"]
    assert s.allowed_hosts == ["agrimap.local"]


def test_demo_load_is_idempotent(demo_url: str, tmp_path) -> None:
    from agrimap.cli import load_demo

    assert load_demo(demo_url, Settings(database_url=demo_url, data_dir=tmp_path)) is False
