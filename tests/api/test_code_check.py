"""Issue 14, code lookup: any spelling of a code, old or today's layout, read into its parts
with the units' names when issued and today, by the API and by `agrimap code check`."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import psycopg

SEED = "VN-51-522-21214-13-24"  # Tịnh Long, TP Quảng Ngãi: merged into Tịnh Khê in 2025


def test_the_seed_code_names_its_units_then_and_now(live_server: str) -> None:
    r = httpx.get(
        f"{live_server}/growing-areas/code-check", params={"code": "vn 51 522 21214 13 24"}
    )
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["code"] == SEED and d["valid"] is True and (d["serial"], d["year"]) == (13, 2024)
    assert d["issued_in"]["province"] == {"code": "51", "name": "Tỉnh Quảng Ngãi"}
    assert d["issued_in"]["district"] == {"code": "522", "name": "Thành phố Quảng Ngãi"}
    assert d["issued_in"]["commune"] == {"code": "21214", "name": "Xã Tịnh Long"}
    assert d["today"]["commune"] == {"code": "21211", "name": "Xã Tịnh Khê"}
    assert d["retired"] is True and "Tịnh Khê" in d["notes"][0]["vi"]
    assert d["registered"] is None  # not one of ours


def test_a_registered_code_comes_with_its_area(live_server: str, demo_url: str) -> None:
    with psycopg.connect(demo_url) as conn:
        code, crop = conn.execute(
            "SELECT code, crop FROM growing_area ORDER BY id LIMIT 1"
        ).fetchone()
    d = httpx.get(f"{live_server}/growing-areas/code-check", params={"code": code.lower()}).json()
    assert d["registered"]["code"] == code and d["registered"]["crop"] == crop


def test_a_malformed_code_is_told_which_part_is_wrong(live_server: str) -> None:
    r = httpx.get(f"{live_server}/growing-areas/code-check", params={"code": "VN-15-0292-03-25"})
    assert r.status_code == 400
    assert "phần xã '0292' phải gồm 5 chữ số" in r.json()["description"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "agrimap.cli", *args], capture_output=True, text=True, env=env
    )


def test_agrimap_code_check() -> None:
    ok = _cli("code", "check", SEED)
    assert ok.returncode == 0, ok.stderr
    for name in ("Tỉnh Quảng Ngãi", "Thành phố Quảng Ngãi", "Xã Tịnh Long", "Xã Tịnh Khê"):
        assert name in ok.stdout
    bad = _cli("code", "check", "VN-15-0292-03-25")
    assert bad.returncode == 1
    assert "phần xã '0292' phải gồm 5 chữ số" in bad.stderr
    assert "VN-[tỉnh: 2 chữ số]-[xã: 5 chữ số]" in bad.stderr  # the layout, not eaten as markup
