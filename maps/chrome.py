"""The page header (đầu trang) every page shares: who is signed in, the pages their role may
open, sign-out and the language switch. Pure: it takes what the API layer looked up."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from urllib.parse import quote

ROLE_NAMES: dict[str, dict[str, str]] = {
    "vi": {
        "admin": "quản trị viên",
        "officer": "cán bộ nông nghiệp",
        "planner": "cán bộ quy hoạch",
        "public": "khách",
    },
    "en": {
        "admin": "administrator",
        "officer": "agricultural officer",
        "planner": "planner",
        "public": "visitor",
    },
}

STRINGS: dict[str, dict[str, str]] = {
    "vi": {
        "brand": "Bản đồ số nông nghiệp",
        "nav": "Các trang",
        "signedInAs": "Đang đăng nhập",
        "signOut": "Đăng xuất",
        "signIn": "Đăng nhập",
        "communes": "xã",
        "allCommunes": "mọi xã",
        "switch": "English",  # a language is named in its own words, as switches do
    },
    "en": {
        "brand": "Digital agriculture map",
        "nav": "Pages",
        "signedInAs": "Signed in",
        "signOut": "Sign out",
        "signIn": "Sign in",
        "communes": "communes",
        "allCommunes": "all communes",
        "switch": "Tiếng Việt",
    },
}


@dataclass(frozen=True)
class NavPage:
    """A page in the header: its path, its titles and the roles that may open it."""

    path: str
    title_vi: str
    title_en: str
    roles: frozenset[str]

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" else self.title_vi


_SIGNED_IN = frozenset({"admin", "officer", "planner"})
_EVERYONE = _SIGNED_IN | {"public"}
PAGES: tuple[NavPage, ...] = (
    NavPage("/maps/overview", "Tổng quan", "Overview", _EVERYONE),
    NavPage("/maps/register", "Đăng ký vùng trồng", "Register", frozenset({"admin", "officer"})),
    NavPage("/maps/growing-areas", "Vùng trồng", "Growing areas", _SIGNED_IN),
    NavPage("/maps/households", "Hộ gia đình", "Households", frozenset({"admin", "officer"})),
    NavPage("/maps/imports", "Nhập dữ liệu", "Import", frozenset({"admin", "officer"})),
    NavPage("/maps/coverage", "Phủ sóng", "Coverage", _SIGNED_IN),
    NavPage("/maps/soil", "Thổ nhưỡng", "Soil", _EVERYONE),
    NavPage("/maps/code-check", "Tra cứu mã", "Code lookup", _EVERYONE),
    # Administration has no page yet (accounts and the audit trail are the /admin API).
)


@dataclass(frozen=True)
class Reader:
    """Who reads the page: ``role == 'public'`` when nobody is signed in."""

    role: str = "public"
    username: str = ""
    display_name: str = ""
    communes: tuple[str, ...] = field(default_factory=tuple)  # names, as people read them

    @property
    def signed_in(self) -> bool:
        return self.role != "public"


def pages_for(role: str, *, available: frozenset[str] | None = None) -> list[NavPage]:
    """The header's pages for a role, in order; ``available`` limits them to existing paths."""
    return [p for p in PAGES if role in p.roles and (available is None or p.path in available)]


def role_name(role: str, lang: str = "vi") -> str:
    """'cán bộ nông nghiệp' for 'officer': the role as the reader's language names it."""
    return ROLE_NAMES[lang].get(role, role)


def lang_switch_url(path: str, to: str) -> str:
    """The switch link: /lang/{to} remembers the choice and comes back to ``path``."""
    return f"/lang/{to}?next={quote(path, safe='')}"


def _is_current(page: NavPage, path: str) -> bool:
    return path == page.path or path.startswith(page.path + "/")


def render_header(
    reader: Reader,
    *,
    lang: str,
    path: str,
    csrf: str = "",
    available: frozenset[str] | None = None,
) -> str:
    """The header as HTML (its own styles inline, so any page can put it first in <body>).

    ``path`` is the page's own path and query (the current page is marked, the language
    switch comes back to it); ``csrf`` goes into the sign-out form.
    """
    s = STRINGS[lang]
    esc = html.escape
    links = "".join(
        f'<a href="{esc(p.path)}"{" aria-current=page" if _is_current(p, path) else ""}>'
        f"{esc(p.title(lang))}</a>"
        for p in pages_for(reader.role, available=available)
    )
    other = "en" if lang == "vi" else "vi"
    switch = (
        f'<a class="agrimap-lang" href="{esc(lang_switch_url(path, other))}" '
        f'hreflang="{other}" lang="{other}">'
        f"{esc(s['switch'])}</a>"
    )
    if reader.signed_in:
        where = (
            s["allCommunes"]
            if reader.role == "admin" or (reader.role == "planner" and not reader.communes)
            else f"{s['communes']} " + ", ".join(reader.communes)
        )
        who = (
            f'<span class="agrimap-who" title="{esc(reader.username)}">{esc(s["signedInAs"])}: '
            f"<strong>{esc(reader.display_name or reader.username)}</strong> · "
            f"{esc(role_name(reader.role, lang))} · {esc(where)}</span>"
        )
        account = (
            f'{who}<form method="post" action="/logout" class="agrimap-signout">'
            f'<input type="hidden" name="csrf_token" value="{esc(csrf)}">'
            f'<button type="submit">{esc(s["signOut"])}</button></form>'
        )
    else:
        account = f'<a href="/login?next={esc(quote(path, safe=""))}">{esc(s["signIn"])}</a>'
    return (
        f"<style>{HEADER_CSS}</style>"
        f'<header class="agrimap-header" lang="{lang}">'
        f'<a class="agrimap-brand" href="/maps/overview">AgriMap · {esc(s["brand"])}</a>'
        f'<nav aria-label="{esc(s["nav"])}">{links}</nav>'
        f'<div class="agrimap-account">{account}{switch}</div>'
        "</header>"
    )


HEADER_CSS = (
    ".agrimap-header{display:flex;flex-wrap:wrap;align-items:center;gap:.3rem 1rem;"
    "background:#2f6b3a;color:#fff;padding:.45rem 1rem;font:14px/1.4 system-ui,-apple-system,"
    '"Segoe UI",Roboto,sans-serif;position:relative;z-index:1100}'
    ".agrimap-header a{color:#fff;text-decoration:none}"
    ".agrimap-brand{font-weight:700;margin-right:.5rem}"
    ".agrimap-header nav{display:flex;flex-wrap:wrap;gap:.2rem .9rem;flex:1 1 auto}"
    ".agrimap-header nav a{white-space:nowrap}"
    ".agrimap-header nav a{opacity:.9;padding:.1rem 0;border-bottom:2px solid transparent}"
    ".agrimap-header nav a:hover{opacity:1;border-bottom-color:#cfe8c9}"
    ".agrimap-header nav a[aria-current=page]{opacity:1;border-bottom-color:#fff;font-weight:600}"
    ".agrimap-account{display:flex;flex-wrap:wrap;align-items:center;gap:.3rem .8rem;"
    "margin-left:auto}"
    ".agrimap-who{opacity:.95}"
    ".agrimap-signout{display:inline;margin:0}"
    ".agrimap-signout button{background:transparent;color:#fff;border:1px solid #cfe8c9;"
    "border-radius:4px;padding:.1rem .55rem;cursor:pointer;font:inherit}"
    ".agrimap-lang{border:1px solid #cfe8c9;border-radius:4px;padding:.1rem .55rem}"
    "@media print{.agrimap-header{display:none}}"
)
