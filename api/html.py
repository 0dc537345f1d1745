"""HTML rendering of API responses with Jinja2 templates (Vietnamese first)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from geo.exports import STATUS_VI
from geo.values import DECIMALS, format_number

STATUS_EN = {"active": "Active", "suspended": "Suspended", "revoked": "Revoked"}
YES_NO = {"vi": ("Có", "Không"), "en": ("Yes", "No")}


def display_value(value: Any, name: str = "", lang: str = "vi") -> str:
    """A stored value as a page shows it: numbers with the language's separators (1,4765 in
    Vietnamese), dates dd/mm/yyyy, yes/no and status words in the page's language; "" for
    None. Codes are text and stay as they are.

    >>> display_value(1.4765, "area_ha"), display_value(1.4765, "area_ha", "en")
    ('1,4765', '1.4765')
    >>> display_value("active", "status"), display_value(dt.date(2024, 3, 5)), display_value(None)
    ('Còn hiệu lực', '05/03/2024', '')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES_NO[lang][0 if value else 1]
    if isinstance(value, int | float | Decimal):
        return format_number(value, DECIMALS.get(name), lang=lang)
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y") if lang == "vi" else value.isoformat()
    if name == "status" and isinstance(value, str):
        return (STATUS_VI if lang == "vi" else STATUS_EN).get(value, value)
    if isinstance(value, str) and name.endswith(("_on", "_date")) and len(value) == 10:
        try:
            return display_value(dt.date.fromisoformat(value), name, lang)
        except ValueError:
            return value
    return str(value)


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=PackageLoader("api", "templates"), autoescape=select_autoescape())
    env.filters["shown"] = lambda value, name="", lang="vi": display_value(value, name, lang)
    return env


def render(template: str, **context: object) -> str:
    return _env().get_template(template).render(**context)
