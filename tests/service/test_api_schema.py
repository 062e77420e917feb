"""The OpenAPI document is a contract the service keeps: schemathesis holds it to it.

First the document itself: every operation's answer is a declared model, every error has the
one ``ErrorAnswer`` schema, timestamps are ``date-time``, ids are bounded. Then schemathesis
(every phase, every check, a few examples per operation) against the app with the LMC sample
loaded, on SQLite and PostgreSQL: any failure fails the test with schemathesis' report.
``python -m benchmarks.api_conformance`` runs the same with more examples and counts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from benchmarks.api_conformance import conformance
from service.app import create_app
from service.config import ServiceSettings

ERROR = {"$ref": "#/components/schemas/ErrorAnswer"}
MAX_INT = 2**31 - 1
# Examples per operation: enough to find the 500s and schema breaks the issue listed (each
# database's run takes well under a minute on two cores).
EXAMPLES = 10


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("openapi")
    app = create_app(ServiceSettings(database_url=f"sqlite:///{folder / 'scheme.db'}"))
    app.state.engine.dispose()
    return app.openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if path.startswith(("/api/", "/auth/"))
    ]


def test_every_operation_answers_a_declared_model(document: dict[str, Any]) -> None:
    untyped = []
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if not status.startswith("2") or status == "204":
                continue
            content = response.get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                # The printable sheets, and files (the outbox's zip and CSV) declared binary.
                binary = {"type": "string", "format": "binary"}
                files = content and all(m.get("schema") == binary for m in content.values())
                assert "text/html" in content or files, (method, path)
                continue
            schema = schema.get("items", schema)
            if "$ref" not in schema:
                untyped.append(f"{method} {path} {status}: {schema}")
    assert untyped == []


def test_every_error_has_the_one_error_schema(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for method, path, operation in operations(document):
        responses = operation["responses"]
        if operation.get("parameters") or operation.get("requestBody"):
            assert "422" in responses, (method, path)
        if operation.get("security"):
            assert "401" in responses, (method, path)
        for status, response in responses.items():
            if status[0] in "45":
                content = response.get("content", {})
                assert content.get("application/json", {}).get("schema") == ERROR, (
                    method,
                    path,
                    status,
                    response,
                )
    answer = document["components"]["schemas"]["ErrorAnswer"]
    assert answer["properties"]["detail"] == {"title": "Detail", "type": "string"}
    assert answer["required"] == ["detail"]


def test_timestamps_are_date_times_and_ids_are_bounded(document: dict[str, Any]) -> None:
    stamps = {
        (name, field): spec
        for name, model in document["components"]["schemas"].items()
        for field, spec in model.get("properties", {}).items()
        if field == "at" or field.endswith("_at")
    }
    assert len(stamps) >= 10
    for (name, field), spec in stamps.items():
        kinds = [(k.get("type"), k.get("format")) for k in spec.get("anyOf", [spec])]
        assert ("string", "date-time") in kinds, (name, field, spec)
    unbounded = []
    for method, path, operation in operations(document):
        for parameter in operation.get("parameters", []):
            where = f"{method} {path} {parameter['name']}"
            for kind in parameter["schema"].get("anyOf", [parameter["schema"]]):
                if kind.get("type") == "integer":
                    # Ids are the database's INTEGER; any other number has some bound.
                    most = MAX_INT if parameter["name"].endswith("_id") else kind.get("maximum")
                    if most is None or kind.get("maximum") != most:
                        unbounded.append(f"{where}: no maximum {most or ''}")
                if kind.get("type") == "string" and not {"enum", "pattern", "format"} & set(kind):
                    unbounded.append(f"{where}: any text, control characters too")
    assert unbounded == []


def test_times_leave_in_utc_with_their_zone(client: TestClient, as_role: Any) -> None:
    made = client.post("/api/rounds", json={"name": "May"}, headers=as_role("matcher")).json()
    assert made["created_at"].endswith("Z")
    created = datetime.fromisoformat(made["created_at"])
    assert created.tzinfo == UTC
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60


def test_schemathesis_finds_no_failure(database_url: str) -> None:
    found = conformance(database_url, max_examples=EXAMPLES, seed=1)
    # It ran: every operation, with a few thousand requests.
    assert len(found.operations) >= 44
    assert found.cases > 1000
    assert found.failures == 0, found.report()
