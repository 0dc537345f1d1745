"""Settings: production refuses the default secret; the demo loader is safe to re-run."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agrimap.settings import Settings


def test_production_refuses_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGRIMAP_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="AGRIMAP_SECRET_KEY"):
        Settings(environment="production")
    assert Settings(environment="production", secret_key="x" * 40).secret_key == "x" * 40


def test_demo_load_is_idempotent(demo_url: str, tmp_path) -> None:
    from agrimap.cli import load_demo

    assert load_demo(demo_url, Settings(database_url=demo_url, data_dir=tmp_path)) is False
