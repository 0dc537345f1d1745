"""Issue 17, OpenAPI truth: schemathesis generates requests from /api and every answer must be
a documented status with a documented media type and conforming body, never a 500. Bounded:
a few examples per operation, anonymous for every operation and as a planner (read-only) for
the reads, on the demo database; the whole file runs in well under a minute."""

from __future__ import annotations

import uuid

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agrimap.clicommon import run_async
from layers import accounts

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 10


@pytest.fixture(scope="session")
def api_schema(live_server: str):
    return schemathesis.openapi.from_url(f"{live_server}/api")


@pytest.fixture(scope="session")
def planner(demo_url: str) -> dict[str, str]:
    name = f"fuzz-{uuid.uuid4().hex[:6]}"
    run_async(demo_url, accounts.add_user, username=name, role="planner",
              password="mật-khẩu-thử-0123", by="tests")  # fmt: skip
    _, token = run_async(demo_url, accounts.create_token, username=name, name="fuzz", by="tests")
    return {"Authorization": f"Bearer {token}"}


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests on every run: a failure is reproducible
    suppress_health_check=list(HealthCheck),
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: report, do not minimise
)


def _fuzz(api_schema, headers: dict, methods: set[str] | None = None) -> list[str]:
    """Each operation's examples; the failures as readable lines (none expected)."""
    failures = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if methods and operation.method.upper() not in methods:
            continue

        @given(case=operation.as_strategy())
        @FUZZ
        def run(case) -> None:
            case.call_and_validate(checks=CHECKS, headers=headers, timeout=30)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    return failures


def test_anonymous_requests_get_documented_answers(api_schema) -> None:
    failures = _fuzz(api_schema, {})
    assert not failures, "\n\n".join(failures)


def test_a_planner_gets_documented_answers(api_schema, planner: dict) -> None:
    failures = _fuzz(api_schema, planner, {"GET"})
    assert not failures, "\n\n".join(failures)


def test_the_document_is_served_at_openapi_json_and_lists_our_statuses(live_server: str) -> None:
    doc = httpx.get(f"{live_server}/openapi.json").json()
    assert doc == httpx.get(f"{live_server}/api").json()
    items = doc["paths"]["/collections/{collection_id}/items"]["get"]["responses"]
    assert set(items["200"]["content"]) == {"application/geo+json", "text/html"}
    assert {"400", "404", "503"} <= set(items)
    tile = doc["paths"]["/tiles/{tms_id}/{z}/{x}/{y}"]["get"]["responses"]
    assert set(tile["200"]["content"]) == {"application/vnd.mapbox-vector-tile"}
    put = doc["paths"]["/collections/growing_areas/items/{fid}"]["put"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "428", "503"} <= set(put)
    export = doc["paths"]["/collections/growing_areas/export"]["get"]["responses"]["200"]
    assert "application/geopackage+sqlite3" in export["content"]
    assert "422" not in str(doc) or "HTTPValidationError" not in str(doc)


def test_options_answers_with_the_allowed_methods(live_server: str) -> None:
    r = httpx.options(f"{live_server}/collections/growing_areas/items/12")
    assert r.status_code == 204
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH",
                                                   "DELETE"}  # fmt: skip
    assert httpx.options(f"{live_server}/no/such/path").status_code == 404
