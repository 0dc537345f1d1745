"""Errors are rendered in one place: JSON for the API, the error page or the sign-in redirect
for the HTML pages under /maps/."""

from __future__ import annotations

import uuid

import httpx
import pytest

from agrimap.clicommon import run_async
from layers import accounts

MISSING = 2_000_000_000  # no household has this id


@pytest.fixture(scope="module")
def tokens(demo_url: str) -> dict[str, dict[str, str]]:
    tag = uuid.uuid4().hex[:6]
    out = {}
    for role in ("admin", "planner"):
        name = f"err-{role}-{tag}"
        run_async(
            demo_url, accounts.add_user, username=name, role=role,
            password="mật-khẩu-lỗi-0123", by="tests",
        )  # fmt: skip
        _, token = run_async(
            demo_url, accounts.create_token, username=name, name="tests", by="tests"
        )
        out[role] = {"Authorization": f"Bearer {token}"}
    return out


def test_the_same_refusal_is_json_for_the_api_and_a_page_for_a_page(
    live_server: str, tokens
) -> None:
    api = httpx.get(f"{live_server}/registry/households/{MISSING}", headers=tokens["admin"])
    assert api.status_code == 404 and api.json()["code"] == "NotFound"
    page = httpx.get(f"{live_server}/maps/households/{MISSING}", headers=tokens["admin"])
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Không tìm thấy" in page.text and f"{MISSING}" in page.text


def test_a_page_refused_to_a_role_is_a_403_page(live_server: str, tokens) -> None:
    r = httpx.get(f"{live_server}/maps/register", headers=tokens["planner"])
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert "Không có quyền" in r.text and "cán bộ quy hoạch" in r.text
    assert "Tài khoản cán bộ quy hoạch không được" in r.text  # the role named in Vietnamese


@pytest.mark.parametrize("path", ["/maps/register", "/maps/households/new", "/maps/households/1"])
def test_a_page_asks_whoever_is_not_signed_in_to_sign_in(live_server: str, path: str) -> None:
    r = httpx.get(f"{live_server}{path}?x=1", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=" + path.replace("/", "%2F") + "%3Fx%3D1"


def test_the_api_answers_not_signed_in_with_json(live_server: str) -> None:
    r = httpx.get(f"{live_server}/registry/households/1")
    assert r.status_code == 401 and r.json()["code"] == "NotSignedIn"
