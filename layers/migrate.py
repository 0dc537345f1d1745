"""Run the alembic migrations programmatically (the CLI and the tests call this)."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("layers") / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    """The newest migration this code knows (what a database must be at to be served)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(files("layers") / "migrations"))
    return ScriptDirectory.from_config(cfg).get_current_head() or ""
