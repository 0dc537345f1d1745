"""Who may do what: the README's access table, checked cell by cell against the live server,
plus sign-in, CSRF, tokens, rate limits and the audit trail (sign-in back-off:
tests/api/test_accounts_hardening.py)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from agrimap.clicommon import run_async
from geo import qrtoken
from layers import accounts
from tests.conftest import ROOT, serve

ROLES = ("admin", "officer", "other officer", "planner", "public")
PASSWORD = "mật-khẩu-thử-0123"


def readme_table() -> dict[str, tuple[str, str, dict[str, int]]]:
    """{group: (method, path template, {role: expected status})} from the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^\| ([^|`]+?) \| `(GET|POST|PATCH|PUT|DELETE) ([^`]+)` \|(.+)\|$", line)
        if m:
            cells = [c.strip() for c in m.group(4).split("|")]
            assert len(cells) == len(ROLES), line
            rows[m.group(1)] = (
                m.group(2),
                m.group(3),
                dict(zip(ROLES, map(int, cells), strict=True)),
            )
    return rows


@pytest.fixture(scope="module")
def people(demo_url: str) -> dict[str, dict]:
    """One account per role (and an officer of another commune), each with an API token."""
    tag = uuid.uuid4().hex[:6]
    spec = {
        "admin": ("admin", (), False),
        "officer": ("officer", ("02923",), False),
        "other officer": ("officer", ("02926",), False),
        "planner": ("planner", (), False),
        "planner+pd": ("planner", (), True),
    }
    out: dict[str, dict] = {"public": {"headers": {}, "username": None}}
    for key, (role, communes, pd) in spec.items():
        name = f"t{tag}.{key.replace(' ', '-').replace('+', '-')}"
        run_async(
            demo_url, accounts.add_user, username=name, role=role, password=PASSWORD,
            communes=communes, personal_data=pd, by="tests",
        )  # fmt: skip
        _, token = run_async(
            demo_url, accounts.create_token, username=name, name="tests", by="tests"
        )
        out[key] = {"headers": {"Authorization": f"Bearer {token}"}, "username": name}
    return out


@pytest.fixture(scope="module")
def ids(demo_url: str, people) -> dict[str, str]:
    with psycopg.connect(demo_url) as conn:
        household, qr = conn.execute(
            "SELECT id, qr_token FROM household WHERE village_code LIKE '02923-%' ORDER BY id LIMIT 1"
        ).fetchone()
        area = conn.execute(
            "SELECT id FROM growing_area WHERE commune_code = '02923' ORDER BY id LIMIT 1"
        ).fetchone()[0]
    return {
        "household": str(household), "qr_token": qr, "growing_area": str(area),
        "account": people["planner"]["username"],
    }  # fmt: skip


def _body(method: str, path: str, n: int, demo_url: str) -> dict | None:
    if path.startswith("/collections/households/items/"):
        return {"phone": f"09120000{n:02d}", "has_fibre": n % 2 == 0}
    if path.startswith("/collections/growing_areas/items/"):
        with psycopg.connect(demo_url) as conn:  # the version this client has seen
            version = conn.execute(
                "SELECT version FROM growing_area WHERE id = %s", (path.rsplit("/", 1)[1],)
            ).fetchone()[0]
        return {"member_households": 10 + n, "version": version}
    if path.startswith("/admin/users/"):
        return {"disabled": False}
    if path == "/admin/users":
        return {"username": f"new-{uuid.uuid4().hex[:8]}", "role": "planner", "password": PASSWORD}
    return None


def _audit(demo_url: str, actor: str, object_type: str, object_id: str) -> list[tuple]:
    with psycopg.connect(demo_url) as conn:
        return conn.execute(
            "SELECT action, before, after FROM audit_log WHERE actor = %s AND object_type = %s "
            "AND object_id = %s ORDER BY id",
            (actor, object_type, object_id),
        ).fetchall()


def test_readme_table_covers_every_protected_route(live_server: str) -> None:
    table = readme_table()
    assert len(table) >= 12
    paths = httpx.get(f"{live_server}/api").json()["paths"]
    documented = {re.sub(r"\{[^}]+\}", "{}", path) for _, path, _ in table.values()}
    for path, ops in paths.items():
        generic = re.sub(r"\{[^}]+\}", "{}", path)
        if path.startswith(("/admin", "/registry", "/stats", "/auth/me")):
            assert generic in documented, f"{path} is protected but missing from the README table"
        if path.startswith("/collections/") and "patch" in ops:
            assert generic in documented, f"PATCH {path} is missing from the README table"


@pytest.mark.parametrize("group", list(readme_table()))
def test_access_table(group: str, live_server: str, people, ids, demo_url: str) -> None:
    method, template, expected = readme_table()[group]
    path = template.format(**ids)
    for n, role in enumerate(ROLES):
        r = httpx.request(
            method,
            live_server + path,
            json=_body(method, path, n, demo_url),
            headers={**people[role]["headers"], "Accept": "application/json"},
            follow_redirects=False,
        )
        assert r.status_code == expected[role], f"{group} as {role}: {r.status_code} {r.text[:300]}"
        if r.status_code in (401, 403):
            assert r.headers["content-type"].startswith(("application/json", "text/html"))
            assert "không" in r.text.lower() or "cần" in r.text.lower()  # a Vietnamese reason
        if r.status_code == 303:
            assert r.headers["location"].startswith("/login?next=")
        if method == "PATCH" and r.status_code == 200:
            object_type = {"households": "household", "growing_areas": "growing_area"}.get(
                path.split("/")[2], "app_user"
            )
            entries = _audit(
                demo_url, people[role]["username"], object_type, path.rsplit("/", 1)[1]
            )
            assert entries, f"{group} by {role} is not in the audit trail"
            action, before, after = entries[-1]
            if object_type == "app_user":
                assert action == "user_update"
            else:
                assert action == "update" and before != after
                assert before["geom"]["type"] and after["geom"] == before["geom"]


def test_planner_with_grant_reads_personal_data_and_it_is_audited(
    live_server: str, people, ids, demo_url: str
) -> None:
    who = people["planner+pd"]
    r = httpx.get(f"{live_server}/registry/households/{ids['household']}", headers=who["headers"])
    assert r.status_code == 200
    assert set(r.json()) >= {"head_name", "phone"}
    entries = _audit(demo_url, who["username"], "household", ids["household"])
    assert [e[0] for e in entries] == ["read_personal"]


def test_database_refuses_writes_outside_scope_whatever_the_client(
    demo_url: str, people, ids
) -> None:
    other = run_async(demo_url, accounts.get_user, username=people["other officer"]["username"])
    with psycopg.connect(demo_url) as conn:
        conn.execute("SELECT set_config('agrimap.user_id', %s, true)", (str(other.id),))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="02923"):
            conn.execute("UPDATE household SET label = 'x' WHERE id = %s", (ids["household"],))
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="đăng nhập"):
            conn.execute("DELETE FROM growing_area WHERE id = %s", (ids["growing_area"],))
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM household_personal(%s)", (ids["household"],))


def test_audit_log_cannot_be_rewritten(demo_url: str) -> None:
    with psycopg.connect(demo_url, autocommit=True) as conn:
        for stmt in (
            "UPDATE audit_log SET actor = 'x'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="chỉ được ghi thêm"):
                conn.execute(stmt)
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] > 0


def _sign_in(base: str, username: str, password: str) -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(base_url=base, follow_redirects=False)
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf, "next": "/auth/me"},
    )
    return client, r


def test_session_sign_in_csrf_and_sign_out(live_server: str, people, ids, demo_url: str) -> None:
    name = people["officer"]["username"]
    client, r = _sign_in(live_server, name, PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/auth/me"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    me = client.get("/auth/me").json()
    assert me["username"] == name and me["via"] == "session"
    url = f"/collections/households/items/{ids['household']}"
    # A cookie alone cannot change data: the CSRF token must come with it.
    refused = client.patch(url, json={"label": "Hộ thử CSRF"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["description"]
    ok = client.patch(
        url, json={"label": "Hộ thử CSRF"}, headers={"X-CSRF-Token": me["csrf_token"]}
    )
    assert ok.status_code == 200
    assert _audit(demo_url, name, "household", ids["household"])[-1][2]["label"] == "Hộ thử CSRF"
    out = client.post("/logout", data={"csrf_token": me["csrf_token"]})
    assert out.status_code == 303
    assert client.get("/auth/me").status_code == 401
    client.close()


def test_login_form_without_csrf_is_refused(live_server: str, people) -> None:
    r = httpx.post(
        f"{live_server}/login",
        data={"username": people["admin"]["username"], "password": PASSWORD, "csrf_token": "x"},
    )
    assert r.status_code == 400 and "Vui lòng đăng nhập lại" in r.text


def test_tokens_are_shown_once_stored_hashed_and_revocable(
    live_server: str, people, demo_url: str
) -> None:
    who = people["planner"]
    r = httpx.post(f"{live_server}/auth/tokens", json={"name": "QGIS"}, headers=who["headers"])
    assert r.status_code == 201
    token, tid = r.json()["token"], r.json()["id"]
    mine = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{live_server}/auth/me", headers=mine).json()["username"] == who["username"]
    listed = httpx.get(f"{live_server}/auth/tokens", headers=mine).json()["tokens"]
    assert token not in str(listed) and any(t["id"] == tid for t in listed)
    with psycopg.connect(demo_url) as conn:
        stored = conn.execute("SELECT token_hash FROM api_token WHERE id = %s", (tid,)).fetchone()[
            0
        ]
    assert stored != token and stored == accounts.digest(token)
    # A planner cannot make tokens for someone else, nor revoke theirs.
    other = httpx.post(
        f"{live_server}/auth/tokens",
        json={"name": "x", "user": people["admin"]["username"]},
        headers=mine,
    )
    assert other.status_code == 403
    assert httpx.delete(f"{live_server}/auth/tokens/{tid}", headers=mine).status_code == 204
    r = httpx.get(f"{live_server}/auth/me", headers=mine)
    assert r.status_code == 401 and "thu hồi" in r.json()["description"]


def test_disabled_account_loses_access_at_once(live_server: str, demo_url: str) -> None:
    name = f"off-{uuid.uuid4().hex[:6]}"
    run_async(
        demo_url, accounts.add_user, username=name, role="planner", password=PASSWORD, by="tests"
    )
    _, token = run_async(demo_url, accounts.create_token, username=name, name="x", by="tests")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{live_server}/stats/villages", headers=headers).status_code == 200
    run_async(demo_url, accounts.update_user, username=name, disabled=True, by="tests")
    assert httpx.get(f"{live_server}/stats/villages", headers=headers).status_code == 401


def test_admin_exports_the_audit_trail_as_csv(live_server: str, people) -> None:
    r = httpx.get(
        f"{live_server}/admin/audit?f=csv&limit=100000", headers=people["admin"]["headers"]
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("id,at,actor,action")
    assert any(",import," in line for line in lines) and any(",update," in line for line in lines)


def test_rate_limits_answer_429_with_retry_after(demo_url: str, ids, tmp_path: Path) -> None:
    with serve(demo_url, AGRIMAP_LOGIN_RATE="3/minute", AGRIMAP_QR_RATE="5/minute") as base:
        codes = [httpx.get(f"{base}/q/{ids['qr_token']}").status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        r = httpx.get(f"{base}/q/{ids['qr_token']}")
        assert r.status_code == 429 and 0 < int(r.headers["retry-after"]) <= 60
        assert "Quá nhiều yêu cầu" in r.json()["description"]
        logins = [httpx.post(f"{base}/login", data={"username": "x"}).status_code for _ in range(4)]
        assert logins[:3] == [400, 400, 400] and logins[3] == 429


def test_qr_page_shows_the_minimum(live_server: str, ids, demo_url: str) -> None:
    with psycopg.connect(demo_url) as conn:
        name, phone = conn.execute(
            "SELECT head_name, phone FROM household WHERE id = %s", (ids["household"],)
        ).fetchone()
    html = httpx.get(f"{live_server}/q/{ids['qr_token']}").text
    data = httpx.get(
        f"{live_server}/q/{ids['qr_token']}", headers={"Accept": "application/json"}
    ).json()
    assert set(data) == {"label", "village", "commune", "has_fibre", "lon", "lat"}
    for secret in (name, phone):
        assert secret and secret not in html and secret not in str(data)
    unknown = qrtoken.new_token()  # well formed, issued to nobody
    missing = httpx.get(f"{live_server}/q/{unknown}", headers={"Accept": "application/json"})
    assert missing.status_code == 404 and "Mã QR" in missing.json()["description"]
    # Not a code at all (32 characters): a typing mistake, told as such (issue 14).
    wrong = httpx.get(f"{live_server}/q/{'0' * 32}", headers={"Accept": "application/json"})
    assert wrong.status_code == 400 and wrong.json()["code"] == "mistyped"
