"""Bad requests are 4xx answers that name the field, never a 500, on SQLite and PostgreSQL.

PostgreSQL refuses NUL in text and integers past 2**31 - 1 in its INTEGER columns; SQLite
refuses integers past 2**63 - 1. Both used to surface as 500s. Each case here is refused
before the database: a 422 whose ``problems`` say where (path, query or body, then the field)
and what is wrong, or, for a spreadsheet, which file, row and column.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import openpyxl
import pytest
from fastapi.testclient import TestClient
from scheme import sign_in

Headers = Callable[[str], dict[str, str]]
NUL = "\u0000"


def refusal(location: str, message: str) -> dict[str, object]:
    """The answer to a request field the schema refuses."""
    return {
        "detail": f"invalid request: {location}: {message}",
        "problems": [{"location": location, "message": message}],
    }


def import_file(client: TestClient, headers: dict[str, str], name: str, data: bytes):
    files = {"file": (name, data, "application/octet-stream")}
    return client.post("/api/mentors/import", files=files, headers=headers)


def test_a_nul_byte_in_a_json_text_field_is_refused_naming_it(
    client: TestClient, as_role: Headers
) -> None:
    staff = as_role("matcher")
    answer = client.post("/api/rounds", json={"name": f"May{NUL}round"}, headers=staff)
    assert (answer.status_code, answer.json()) == (
        422,
        refusal("body.name", "must not contain control characters (U+0000 at position 3)"),
    )
    # Inside a round's free-form settings too, with the path to the value.
    settings = {"cohorts": {"fellow": {"label": f"F{NUL}"}}}
    answer = client.post("/api/rounds", json={"name": "May", "settings": settings}, headers=staff)
    assert (answer.status_code, answer.json()) == (
        422,
        refusal(
            "body.settings",
            "cohorts.fellow.label: must not contain control characters (U+0000 at position 1)",
        ),
    )
    assert client.get("/api/rounds", headers=staff).json() == []


def test_a_nul_byte_in_the_sign_in_form_is_refused_without_a_login(client: TestClient) -> None:
    answer = client.post("/auth/token", json={"username": f"ad{NUL}min", "password": "secret"})
    assert (answer.status_code, answer.json()) == (
        422,
        refusal("body.username", "must not contain control characters (U+0000 at position 2)"),
    )


def test_other_control_characters_and_lone_surrogates_are_refused(
    client: TestClient, as_role: Headers
) -> None:
    staff = as_role("matcher")
    answer = client.post("/api/rounds", json={"name": "May\u001b[31m"}, headers=staff)
    assert answer.json()["problems"] == [
        {
            "location": "body.name",
            "message": "must not contain control characters (U+001B at position 3)",
        }
    ]
    # Python's JSON reader lets "\ud800" through; no database could store it.
    body = b'{"name": "May \\ud800"}'
    headers = {**staff, "Content-Type": "application/json"}
    answer = client.post("/api/rounds", content=body, headers=headers)
    assert (answer.status_code, answer.json()["problems"]) == (
        422,
        [
            {
                "location": "body.name",
                "message": "Input should be a valid string, unable to parse raw data as a "
                "unicode string",
            }
        ],
    )
    # NaN is not JSON, but Python's reader takes it; PostgreSQL's JSON does not.
    body = b'{"name": "May", "settings": {"capacity": {"max": NaN}}}'
    answer = client.post("/api/rounds", content=body, headers=headers)
    assert (answer.status_code, answer.json()["problems"]) == (
        422,
        [{"location": "body.settings", "message": "capacity.max: must be a finite number"}],
    )


@pytest.mark.parametrize(
    ("method", "url", "location"),
    [
        ("GET", f"/api/rounds/{2**31}", "path.round_id"),
        ("GET", f"/api/rounds/{2**63}", "path.round_id"),
        ("DELETE", f"/api/rounds/1/pairs/{2**63}", "path.pair_id"),
        ("DELETE", f"/api/exclusions/{2**31}", "path.exclusion_id"),
        ("PATCH", f"/api/matches/{2**63}", "path.match_id"),
        ("GET", f"/api/applications/{2**31}", "path.application_id"),
        ("GET", f"/api/matches?round_id={2**31}", "query.round_id"),
        ("GET", f"/api/audit?before_id={2**63}", "query.before_id"),
    ],
)
def test_ids_past_the_database_integer_are_refused_naming_them(
    client: TestClient, as_role: Headers, method: str, url: str, location: str
) -> None:
    answer = client.request(method, url, headers=as_role("admin"), json={"status": "registered"})
    assert (answer.status_code, answer.json()) == (
        422,
        refusal(location, "Input should be less than or equal to 2147483647"),
    )


def test_the_largest_id_is_unknown_and_zero_is_refused(
    client: TestClient, as_role: Headers
) -> None:
    admin = as_role("admin")
    largest = client.get(f"/api/rounds/{2**31 - 1}", headers=admin)
    assert (largest.status_code, largest.json()) == (404, {"detail": "no round with id 2147483647"})
    zero = client.get("/api/rounds/0", headers=admin)
    assert zero.json() == refusal("path.round_id", "Input should be greater than or equal to 1")


@pytest.mark.parametrize(
    ("url", "location", "message"),
    [
        (
            "/api/mentors/M%001/history",
            "path.person_id",
            "must not contain control characters (U+0000 at position 1)",
        ),
        (
            f"/api/mentors/{'M' * 65}/history",
            "path.person_id",
            "String should have at most 64 characters",
        ),
        (
            "/api/jobs/a%00b",
            "path.job_id",
            "must not contain control characters (U+0000 at position 1)",
        ),
        (
            "/api/matches?mentor_id=M%0A1",
            "query.mentor_id",
            "must not contain control characters (U+000A at position 1)",
        ),
        (
            "/api/training?mentor_id=M%001",
            "query.mentor_id",
            "must not contain control characters (U+0000 at position 1)",
        ),
        (
            "/api/audit?action=rounds.%00",
            "query.action",
            "must not contain control characters (U+0000 at position 7)",
        ),
    ],
)
def test_person_and_job_ids_in_paths_and_queries_are_checked(
    client: TestClient, as_role: Headers, url: str, location: str, message: str
) -> None:
    answer = client.get(url, headers=as_role("admin"))
    assert (answer.status_code, answer.json()) == (422, refusal(location, message))


def test_over_long_text_in_a_body_is_refused_naming_it(
    client: TestClient, as_role: Headers
) -> None:
    answer = client.post("/api/rounds", json={"name": "R" * 256}, headers=as_role("admin"))
    assert (answer.status_code, answer.json()) == (
        422,
        refusal("body.name", "String should have at most 255 characters"),
    )


@pytest.mark.parametrize(
    ("url", "location", "message"),
    [
        (
            "/api/matches?status=paused",
            "query.status",
            "Input should be 'confirmed', 'registered' or 'ended'",
        ),
        (
            "/api/applications?decision=maybe",
            "query.decision",
            "Input should be 'pending', 'approved' or 'rejected'",
        ),
        ("/api/teachers/M1/history", "path.kind", "Input should be 'mentors' or 'mentees'"),
    ],
)
def test_unknown_enum_values_are_refused_naming_the_field(
    client: TestClient, as_role: Headers, url: str, location: str, message: str
) -> None:
    answer = client.get(url, headers=as_role("admin"))
    assert (answer.status_code, answer.json()) == (422, refusal(location, message))


def test_an_unknown_kind_of_pair_is_refused_naming_it(client: TestClient, as_role: Headers) -> None:
    staff = as_role("matcher")
    round_id = client.post("/api/rounds", json={"name": "May"}, headers=staff).json()["id"]
    body = {"kind": "prefer", "mentor_id": "M1", "mentee_id": "E1"}
    answer = client.post(f"/api/rounds/{round_id}/pairs", json=body, headers=staff)
    assert (answer.status_code, answer.json()) == (
        422,
        refusal("body.kind", "Input should be 'pin' or 'forbid'"),
    )


HEADER = "mentor_id,name,email,gmc_number\n"


def test_an_over_long_id_or_name_on_import_is_a_problem_of_its_row(
    client: TestClient, as_role: Headers
) -> None:
    # The database keeps ids of up to 64 characters and names of up to 255.
    long_id, long_name = "M" * 65, "Dr " + "N" * 253
    rows = f"{long_id},Dr Ada,ada@example.org,1234567\nM2,{long_name},bo@example.org,2345678\n"
    answer = import_file(client, as_role("matcher"), "mentors.csv", (HEADER + rows).encode())
    assert (answer.status_code, answer.json()) == (
        422,
        {
            "detail": "2 problem(s); nothing was stored",
            "problems": [
                {
                    "file": "mentors.csv",
                    "row": "2",
                    "column": "mentor_id",
                    "value": long_id,
                    "problem": "an id may have at most 64 characters",
                },
                {
                    "file": "mentors.csv",
                    "row": "3",
                    "column": "name",
                    "value": "(hidden, 256 characters)",  # a name is personal data
                    "problem": "a name may have at most 255 characters",
                },
            ],
        },
    )
    assert client.get("/api/mentors", headers=as_role("admin")).json() == []


def test_a_nul_byte_in_a_csv_refuses_the_whole_file(client: TestClient, as_role: Headers) -> None:
    # The CSV reader takes a NUL for binary data: the file is refused as a whole.
    data = (HEADER + f"M1,Dr A{NUL}da,ada@example.org,1234567\n").encode()
    answer = import_file(client, as_role("matcher"), "mentors.csv", data)
    assert (answer.status_code, answer.json()) == (
        422,
        {
            "detail": "1 problem(s); nothing was stored",
            "problems": [
                {
                    "file": "mentors.csv",
                    "row": "",
                    "column": "",
                    "value": "",
                    "problem": "not a CSV file: it contains binary data; save it as CSV UTF-8 "
                    "or .xlsx",
                }
            ],
        },
    )


def workbook_with(cell: str) -> bytes:
    """A mentors workbook whose first name cell holds ``cell`` as Excel writes it (escaped)."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["mentor_id", "name", "email", "gmc_number"])
    sheet.append(["M1", "Dr PLACEHOLDER", "ada@example.org", "1234567"])
    written = io.BytesIO()
    book.save(written)
    # openpyxl refuses to write control characters; Excel writes them as _xHHHH_.
    source, out = zipfile.ZipFile(written), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item).replace(b"PLACEHOLDER", cell.encode()))
    return out.getvalue()


def test_a_nul_byte_in_a_workbook_cell_is_a_problem_of_its_row(
    client: TestClient, as_role: Headers
) -> None:
    answer = import_file(client, as_role("matcher"), "mentors.xlsx", workbook_with("A_x0000_da"))
    assert answer.status_code == 422
    ((problem,),) = [answer.json()["problems"]]
    assert (problem["row"], problem["column"]) == ("2", "name")
    assert problem["problem"] == (
        "holds the control character U+0000, which no value may have: retype the cell"
    )


@pytest.mark.parametrize(
    ("path", "form", "field"),
    [
        ("/rounds", {"name": "Q\x001"}, "body.name"),
        (
            "/rounds/1/pairs",
            {"kind": "pin", "mentor_id": "MR\x001", "mentee_id": "E"},
            "body.mentor_id",
        ),
        (
            "/rounds/1/pairs",
            {"kind": "forbid", "mentor_id": "M", "mentee_id": "E", "reason": "a\x00"},
            "body.reason",
        ),
        ("/matches/1/status", {"status": "ended", "reason": "moved\x00away"}, "body.reason"),
        ("/events", {"name": "Evening\x00", "held_on": "2026-12-01"}, "body.name"),
    ],
)
def test_a_page_form_with_a_nul_byte_is_refused_naming_the_field(
    client: TestClient, tokens: dict[str, str], path: str, form: dict[str, str], field: str
) -> None:
    csrf = sign_in(client, "admin", "secret-admin")
    answer = client.post(path, data={"csrf_token": csrf, **form}, follow_redirects=False)
    assert answer.status_code == 422
    assert "text/html" in answer.headers["content-type"]
    assert f"{field}: must not contain control characters (U+0000 at position" in answer.text
