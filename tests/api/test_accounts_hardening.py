"""Issue 17, accounts: rate limits and sign-in back-off keyed on the real client (X-Forwarded-For
believed only from AGRIMAP_TRUSTED_PROXIES), a back-off nobody can trigger for someone else and
that answers unknown usernames with the same words, and API tokens that expire, are revoked by
a password reset or disabling, and are capped per account."""

from __future__ import annotations

import html
import re
import uuid

import httpx
import psycopg
import pytest

from agrimap.clicommon import run_async
from geo.errors import Conflict
from layers import accounts
from tests.conftest import serve

PASSWORD = "mật-khẩu-thử-0123"
WRONG = "sai-mat-khau-123"


def _sign_in(base: str, username: str, password: str, client_ip: str | None = None):
    headers = {"X-Forwarded-For": client_ip} if client_ip else {}
    with httpx.Client(base_url=base, follow_redirects=False, headers=headers) as client:
        page = client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return client.post(
            "/login", data={"username": username, "password": password, "csrf_token": csrf}
        )


def _alert(r: httpx.Response) -> str:
    found = re.search(r'role="alert"[^>]*>([^<]+)<', r.text)
    return html.unescape(found.group(1)) if found else ""


def _account(demo_url: str, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    run_async(demo_url, accounts.add_user, username=name, role="planner", password=PASSWORD,
              by="tests")  # fmt: skip
    return name


@pytest.fixture(scope="module")
def behind_proxy(demo_url: str):
    """A server that believes X-Forwarded-For from 127.0.0.1 (its test proxy), with the
    default back-off (5 tries)."""
    with serve(
        demo_url, AGRIMAP_TRUSTED_PROXIES="127.0.0.1", AGRIMAP_LOGIN_RATE="10000/minute"
    ) as base:
        yield base


def test_backoff_holds_back_only_the_failing_client(behind_proxy: str, demo_url: str) -> None:
    name = _account(demo_url, "backoff")
    attacker, owner = "198.51.100.7", "203.0.113.20"
    answers = [_sign_in(behind_proxy, name, WRONG, attacker) for _ in range(5)]
    assert [r.status_code for r in answers] == [401, 401, 401, 401, 429]
    assert "cần chờ 1 phút" in _alert(answers[-1]) and answers[-1].headers["retry-after"] == "60"
    # The attacker waits, even with the right password ...
    assert _sign_in(behind_proxy, name, PASSWORD, attacker).status_code == 429
    # ... the account's owner, elsewhere, is not locked out.
    r = _sign_in(behind_proxy, name, PASSWORD, owner)
    assert r.status_code == 303 and "agrimap_session" in r.headers["set-cookie"]


def test_unknown_and_real_usernames_get_the_same_answers(behind_proxy: str, demo_url: str) -> None:
    real, ghost = _account(demo_url, "real"), f"ghost-{uuid.uuid4().hex[:6]}"
    seen = {}
    for name, ip in ((real, "198.51.100.30"), (ghost, "198.51.100.31")):
        seen[name] = [
            (r.status_code, _alert(r)) for r in (_sign_in(behind_proxy, name, WRONG, ip)
                                                 for _ in range(6))
        ]  # fmt: skip
    assert seen[real] == seen[ghost]
    assert seen[real][0] == (401, "Sai tên đăng nhập hoặc mật khẩu.")
    assert seen[real][-1][0] == 429


def test_forwarded_for_from_an_untrusted_client_is_ignored(demo_url: str) -> None:
    """The bypass of the attack: a new X-Forwarded-For on each request. Without trusted
    proxies (the default) the limit counts the address that connected."""
    with serve(demo_url, AGRIMAP_LOGIN_RATE="3/minute", AGRIMAP_QR_RATE="3/minute") as base:
        codes = [
            httpx.get(f"{base}/q?code=abc", headers={"X-Forwarded-For": f"192.0.2.{i}"}).status_code
            for i in range(5)
        ]
    assert codes == [400, 400, 400, 429, 429]  # "abc" is a mistyped code (400), then limited


def test_forwarded_for_from_a_trusted_proxy_names_the_client(behind_proxy: str) -> None:
    # 10000/minute here, so count on the QR limit's default instead: 60/minute per client.
    codes = [
        httpx.get(
            f"{behind_proxy}/q?code=abc", headers={"X-Forwarded-For": f"192.0.2.{i}"}
        ).status_code
        for i in range(70)
    ]
    assert codes == [400] * 70  # 70 clients, one (mistyped) request each: none limited


def test_password_reset_and_disabling_revoke_api_tokens(live_server: str, demo_url: str) -> None:
    name = _account(demo_url, "reset")
    _, token = run_async(demo_url, accounts.create_token, username=name, name="a", by="tests")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{live_server}/auth/me", headers=headers).status_code == 200
    run_async(demo_url, accounts.update_user, username=name, password="mật-khẩu-mới-4567",
              by="tests")  # fmt: skip
    assert httpx.get(f"{live_server}/auth/me", headers=headers).status_code == 401
    listed = run_async(demo_url, accounts.list_tokens, username=name)
    assert all(t["revoked_at"] is not None for t in listed)
    # Disabling revokes too: enabling the account again does not bring the token back.
    _, token2 = run_async(demo_url, accounts.create_token, username=name, name="b", by="tests")
    run_async(demo_url, accounts.update_user, username=name, disabled=True, by="tests")
    run_async(demo_url, accounts.update_user, username=name, disabled=False, by="tests")
    r = httpx.get(f"{live_server}/auth/me", headers={"Authorization": f"Bearer {token2}"})
    assert r.status_code == 401


def test_tokens_expire(live_server: str, demo_url: str) -> None:
    name = _account(demo_url, "expiry")
    tid, token = run_async(demo_url, accounts.create_token, username=name, name="a", by="tests")
    with psycopg.connect(demo_url) as conn:
        days = conn.execute(
            "SELECT round(extract(epoch FROM expires_at - created_at) / 86400) FROM api_token "
            "WHERE id = %s", (tid,),
        ).fetchone()[0]  # fmt: skip
        assert days == 90  # the default, AGRIMAP_TOKEN_DAYS
        conn.execute("UPDATE api_token SET expires_at = now() - interval '1 second' WHERE id = %s",
                     (tid,))  # fmt: skip
    r = httpx.get(f"{live_server}/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_an_account_holds_a_bounded_number_of_tokens(live_server: str, demo_url: str) -> None:
    name = _account(demo_url, "cap")
    _, token = run_async(demo_url, accounts.create_token, username=name, name="t0", by="tests")
    headers = {"Authorization": f"Bearer {token}"}
    codes = [
        httpx.post(f"{live_server}/auth/tokens", json={"name": f"t{i}"}, headers=headers)
        for i in range(1, 21)
    ]
    assert [r.status_code for r in codes] == [201] * 19 + [409]
    body = codes[-1].json()
    assert "AGRIMAP_MAX_TOKENS_PER_ACCOUNT" in body["description"] and "20" in body["description"]
    with pytest.raises(Conflict):
        run_async(demo_url, accounts.create_token, username=name, name="x", by="tests",
                  max_active=20)  # fmt: skip
    # Revoking one makes room again.
    assert httpx.delete(f"{live_server}/auth/tokens/{codes[0].json()['id']}",
                        headers=headers).status_code == 204  # fmt: skip
    assert httpx.post(f"{live_server}/auth/tokens", json={"name": "again"},
                      headers=headers).status_code == 201  # fmt: skip
