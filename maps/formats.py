"""How values read on a page in the reader's language: numbers (1.234,5 in Vietnamese), dates
(dd/mm/yyyy), a code's status and a history entry's action. Jinja filters of every page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from .sheet_svg import vn_number

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

STATUS_NAMES: dict[str, dict[str, str]] = {
    "vi": {"active": "đang hiệu lực", "suspended": "tạm dừng", "revoked": "đã thu hồi"},
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
    value = float(value)
    if lang == "en":
        return f"{value:,.{decimals}f}"
    return vn_number(value, decimals)


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
    """A code's status in the reader's words: "active" → "đang hiệu lực"."""
    return STATUS_NAMES[lang].get(str(value), str(value)) if value else "—"


def action(value: Any, lang: str = "vi") -> str:
    """A history entry's action in the reader's words: "suspend" → "Tạm dừng mã"."""
    return ACTION_NAMES[lang].get(str(value), str(value))


DECIMALS = {"area_ha": 4}
YES_NO = {"vi": ("Có", "Không"), "en": ("Yes", "No")}


def shown(value: Any, name: str = "", lang: str = "vi") -> str:
    """Any property value as a page shows it: statuses and yes/no in words, numbers and dates
    in the reader's format, nothing for a missing value.

    >>> shown("active", "status"), shown(True), shown(2.5, "area_ha"), shown("2026-01-13"), shown(None)
    ('đang hiệu lực', 'Có', '2,5000', '13/01/2026', '')
    """
    if value is None:
        return ""
    if name == "status":
        return status(value, lang)
    if isinstance(value, bool):
        return YES_NO[lang][0 if value else 1]
    if isinstance(value, (int, float)):
        places = DECIMALS.get(name, 0 if isinstance(value, int) else 2)
        return number(value, places, lang)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date(value, lang)
    return str(value)


FILTERS = {
    "shown": shown,
    "number": number,
    "date_vi": date,
    "status_name": status,
    "action_name": action,
}
