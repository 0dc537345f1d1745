"""HTML rendering of API responses with Jinja2 templates (Vietnamese first)."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, select_autoescape

from maps.formats import FILTERS


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=PackageLoader("api", "templates"), autoescape=select_autoescape())
    env.filters.update(FILTERS)
    return env


def render(template: str, **context: object) -> str:
    return _env().get_template(template).render(**context)
