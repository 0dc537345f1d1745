"""How values read on a page in the reader's language: numbers (1.234,5 in Vietnamese), dates
(dd/mm/yyyy), a code's status and a history entry's action. Jinja filters of every page."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from geo.exports import STATUS_VI
from geo.values import DECIMALS, format_number

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

STATUS_NAMES: dict[str, dict[str, str]] = {
    "vi": {k: v[:1].lower() + v[1:] for k, v in STATUS_VI.items()},  # within a sentence
    "en": {"active": "active", "suspended": "suspended", "revoked": "revoked"},
}
# What a history entry records: the row's operation, or the status action that made it.
ACTION_NAMES: dict[str, dict[str, str]] = {
    "vi": {
        "insert": "Đăng ký", "update": "Sửa thông tin", "delete": "Xóa",
        "suspend": "Tạm dừng mã", "reinstate": "Khôi phục mã", "revoke": "Thu hồi mã",
        "redraw": "Vẽ lại ranh giới", "import": "Nhập từ tệp",
    },
    "en": {
        "insert": "Registered", "update": "Details changed", "delete": "Deleted",
        "suspend": "Code suspended", "reinstate": "Code reinstated", "revoke": "Code revoked",
        "redraw": "Boundary redrawn", "import": "Imported from a file",
    },
}  # fmt: skip


def number(value: Any, decimals: int = 0, lang: str = "vi") -> str:
    """``1234.5`` → "1.234,5" (vi) or "1,234.5" (en); None → "—".

    >>> number(1.4765, 4), number(2626), number(1.5, 1, "en"), number(None)
    ('1,4765', '2.626', '1.5', '—')
    """
    if value is None or value == "":
        return "—"
    return format_number(float(value), decimals, lang=lang)


def date(value: Any, lang: str = "vi") -> str:
    """A date as dd/mm/yyyy (both languages: the official form in Vietnam); None → "—".

    >>> date(dt.date(2026, 12, 2)), date("2026-12-02T02:05:00+00:00"), date(None)
    ('02/12/2026', '02/12/2026 09:05', '—')
    """
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = (
                dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
            )
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:  # told in Vietnam's time, whatever the server's zone
            value = value.astimezone(VIETNAM)
        return value.strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


def status(value: Any, lang: str = "vi") -> str:
    """A code's status in the reader's words: "active" → "còn hiệu lực"."""
    return STATUS_NAMES[lang].get(str(value), str(value)) if value else "—"


def action(value: Any, lang: str = "vi") -> str:
    """A history entry's action in the reader's words: "suspend" → "Tạm dừng mã"."""
    return ACTION_NAMES[lang].get(str(value), str(value))


YES_NO = {"vi": ("Có", "Không"), "en": ("Yes", "No")}
STATUS_EN = {"active": "Active", "suspended": "Suspended", "revoked": "Revoked"}


def shown(value: Any, name: str = "", lang: str = "vi") -> str:
    """A stored value as a page shows it: numbers with the language's separators (1,4765 in
    Vietnamese), dates dd/mm/yyyy, yes/no and status words in the page's language; "" for
    None. Codes are text and stay as they are.

    >>> shown(1.4765, "area_ha"), shown(1.4765, "area_ha", "en")
    ('1,4765', '1.4765')
    >>> shown("active", "status"), shown(dt.date(2024, 3, 5)), shown(None), shown(True)
    ('Còn hiệu lực', '05/03/2024', '', 'Có')
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
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return shown(dt.date.fromisoformat(value), name, lang)
        except ValueError:
            return value
    return str(value)


FILTERS = {
    "shown": shown,
    "number": number,
    "date_vi": date,
    "status_name": status,
    "action_name": action,
}
