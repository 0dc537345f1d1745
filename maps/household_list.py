"""Officers' household list (danh sách hộ gia đình): a village's households with search, each
with its code, head's name (personal data: the route reads it audited), village and links to
its edit page and its QR label; without a village, the villages the officer may open.

Vietnamese first, English with ``lang="en"``. The shared page header (``header_html``) is the
first thing in the body; nothing is fetched from elsewhere.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from geo.qrtoken import display, is_well_formed
from geo.values import format_number

PER_PAGE = 50

TEXT = {
    "vi": {
        "title": "Hộ gia đình", "villages": "Chọn thôn", "village": "Thôn", "commune": "Xã",
        "village_code": "Mã thôn",
        "households": "Số hộ", "code": "Mã hộ", "head": "Chủ hộ", "qr": "Mã tra cứu QR",
        "actions": "Thao tác", "edit": "Sửa", "label": "Nhãn QR", "search": "Tìm",
        "search_label": "Tìm theo mã hộ, nhãn hoặc tên chủ hộ (gõ có dấu hoặc không dấu)",
        "none": "Không có hộ nào khớp.", "no_villages": "Tài khoản này chưa quản lý thôn nào.",
        "shown": "Hiển thị {first}–{last} trong {total} hộ", "prev": "← Trang trước",
        "next": "Trang sau →", "all": "Tất cả các thôn", "sheet": "In phiếu mã QR của thôn (PDF)",
        "add": "Thêm hộ gia đình", "no_code": "chưa có mã", "count": "{n} hộ",
        "privacy": "Tên chủ hộ là dữ liệu cá nhân (Luật 91/2025/QH15): mỗi lần xem danh sách "
                   "đều được ghi nhật ký.",
    },
    "en": {
        "title": "Households", "villages": "Choose a village", "village": "Village",
        "village_code": "Village code",
        "commune": "Commune", "households": "Households", "code": "Household code",
        "head": "Head of household", "qr": "QR lookup code", "actions": "Actions",
        "edit": "Edit", "label": "QR label", "search": "Search",
        "search_label": "Search by household code, label or head's name (with or without "
                        "diacritics)",
        "none": "No household matches.", "no_villages": "This account manages no village yet.",
        "shown": "Showing {first}–{last} of {total} households", "prev": "← Previous page",
        "next": "Next page →", "all": "All villages", "sheet": "Print the village's QR sheet (PDF)",
        "add": "Add a household", "no_code": "no code", "count": "{n} households",
        "privacy": "Heads' names are personal data (Law 91/2025/QH15): every view of this list "
                   "is logged.",
    },
}  # fmt: skip

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2b1f;
background:#f6f8f4}
main{max-width:64rem;margin:0 auto;padding:1rem 1.2rem}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d5ddd2;padding:.35rem .5rem;text-align:left;font-size:.92rem}
th{background:#e8efe5}td.num{text-align:right}a{color:#24572e}.muted{color:#5d6b5f;font-size:.9rem}
.qr{font-family:"DejaVu Sans Mono",Consolas,monospace;white-space:nowrap}
form.search{display:flex;gap:.5rem;flex-wrap:wrap;align-items:end;margin:.8rem 0}
form.search input{min-width:18rem;padding:.35rem}nav.pages a{margin-right:1rem}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _page(title: str, body: str, lang: str, header_html: str) -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} – AgriMap</title><style>{CSS}</style></head>"
        f"<body>{header_html}<main>{body}</main></body></html>"
    )


def render_village_choice(
    villages: Sequence[dict[str, Any]], *, lang: str = "vi", header_html: str = ""
) -> str:
    """The villages an officer may open, with their commune and household count."""
    t = TEXT[lang]
    rows = "".join(
        f'<tr><td><a href="/maps/households?{urlencode({"village": v["code"]})}">'
        f"{_e(v['name'])}</a></td><td>{_e(v['code'])}</td><td>{_e(v['commune_name'])}</td>"
        f'<td class="num">{format_number(v["households"], lang=lang)}</td></tr>'
        for v in villages
    )
    table = (
        f"<table><thead><tr><th>{t['village']}</th><th>{t['village_code']}</th>"
        f"<th>{t['commune']}</th><th>{t['households']}</th></tr></thead><tbody>{rows}</tbody>"
        "</table>"
        if villages
        else f'<p class="muted">{t["no_villages"]}</p>'
    )
    body = (
        f"<h1>{t['title']}</h1><h2>{t['villages']}</h2>{table}"
        f'<p><a href="/maps/households/new">{t["add"]}</a></p>'
    )
    return _page(t["title"], body, lang, header_html)


def render_household_list(
    village: dict[str, Any],
    households: Sequence[dict[str, Any]],
    *,
    total: int,
    search: str = "",
    page: int = 1,
    lang: str = "vi",
    header_html: str = "",
) -> str:
    """One page (``PER_PAGE``) of a village's households with the search form and paging.

    ``households`` carry ``id``, ``code``, ``label``, ``head_name`` and ``qr_token`` (the route
    reads them with ``layers.households.village_households``, audited).
    """
    t = TEXT[lang]
    title = f"{t['title']} – {t['village']} {village['name']}"
    rows = []
    for h in households:
        token = h.get("qr_token")
        typed = (
            f'<span class="qr">{_e(display(token))}</span>'
            if token and is_well_formed(token)
            else f'<span class="muted">{t["no_code"]}</span>'
        )
        label_link = (
            f' · <a href="/collections/households/items/{h["id"]}/qr.png">{t["label"]}</a>'
            if token
            else ""
        )
        rows.append(
            f"<tr><td>{_e(h['code'])}</td><td>{_e(h['head_name'] or '—')}</td>"
            f"<td>{_e(village['name'])}</td><td>{typed}</td>"
            f'<td><a href="/maps/households/{h["id"]}">{t["edit"]}</a>{label_link}</td></tr>'
        )
    first = (page - 1) * PER_PAGE + 1
    shown = t["shown"].format(
        first=format_number(first if households else 0, lang=lang),
        last=format_number(first + len(households) - 1 if households else 0, lang=lang),
        total=format_number(total, lang=lang),
    )
    if not households:
        shown = ""  # past the last page, or nothing matches: the table's place says so
    table = (
        f"<table><thead><tr><th>{t['code']}</th><th>{t['head']}</th><th>{t['village']}</th>"
        f"<th>{t['qr']}</th><th>{t['actions']}</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if households
        else f'<p class="muted" role="status">{t["none"]}</p>'
    )
    links = []
    base = {"village": village["code"], **({"q": search} if search else {})}
    if lang == "en":
        base["lang"] = "en"
    if page > 1:
        links.append(f'<a href="/maps/households?{urlencode({**base, "page": page - 1})}">'
                     f"{t['prev']}</a>")  # fmt: skip
    if page * PER_PAGE < total:
        links.append(f'<a href="/maps/households?{urlencode({**base, "page": page + 1})}">'
                     f"{t['next']}</a>")  # fmt: skip
    lang_field = '<input type="hidden" name="lang" value="en">' if lang == "en" else ""
    body = (
        f"<h1>{_e(title)}</h1>"
        f'<p class="muted">{t["commune"]} {_e(village["commune_name"])} · '
        f"{t['count'].format(n=format_number(village['households'], lang=lang))} · "
        f'<a href="/maps/households{"?lang=en" if lang == "en" else ""}">{t["all"]}</a> · '
        f'<a href="/villages/{_e(village["code"])}/qr-sheet?f=pdf">{t["sheet"]}</a></p>'
        f'<p class="muted">{t["privacy"]}</p>'
        f'<form class="search" method="get" action="/maps/households">'
        f'<input type="hidden" name="village" value="{_e(village["code"])}">{lang_field}'
        f'<label>{t["search_label"]}<br><input type="search" name="q" value="{_e(search)}" '
        f'maxlength="80"></label><button type="submit">{t["search"]}</button></form>'
        f'<p class="muted">{shown}</p>{table}<nav class="pages">{"".join(links)}</nav>'
    )
    return _page(title, body, lang, header_html)
