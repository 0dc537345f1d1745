"""The sign-in page reads in the reader's language (Vietnamese first, English as the switch),
with the page header and its language switch; its refusals too."""

from __future__ import annotations

import re

import httpx


def _csrf(client: httpx.Client, base: str, lang: str) -> str:
    page = client.get(f"{base}/login?lang={lang}")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_the_sign_in_page_follows_the_language_switch(live_server: str) -> None:
    vi = httpx.get(f"{live_server}/login")
    assert "<h1>Đăng nhập</h1>" in vi.text and "Tên đăng nhập" in vi.text
    assert "Sign in" not in vi.text and 'lang="vi"' in vi.text
    assert "/lang/en" in vi.text  # the header's switch
    en = httpx.get(f"{live_server}/login?lang=en")
    assert "<h1>Sign in</h1>" in en.text and "Username" in en.text and 'lang="en"' in en.text
    assert "Tên đăng nhập" not in en.text


def test_a_refusal_is_in_the_readers_language(live_server: str) -> None:
    for lang, words in (("vi", "Sai tên đăng nhập hoặc mật khẩu."),
                        ("en", "Wrong username or password.")):  # fmt: skip
        with httpx.Client() as client:
            csrf = _csrf(client, live_server, lang)
            r = client.post(f"{live_server}/login?lang={lang}", data={
                "username": "khong-co-ai", "password": "sai", "csrf_token": csrf})  # fmt: skip
        assert r.status_code == 401 and words in r.text, (lang, r.text[:400])
