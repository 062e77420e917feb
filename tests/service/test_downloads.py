"""A round's downloads as staff use them: both e-mail addresses, a workbook with a styled,
frozen header, sized columns and the unmatched on a sheet of their own, a mail-merge file;
analysts get ids only."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from scheme import import_scheme, run_round, sign_in, write_scheme

from matcher.data import ProblemData

Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def solved(client: TestClient, as_role: Headers, tmp_path: Path) -> tuple[int, ProblemData]:
    # More mentees than the mentors can take, so that some wait.
    problem = write_scheme(tmp_path, n_mentors=4, n_mentees=40)
    staff = as_role("matcher")
    import_scheme(client, tmp_path, staff)
    round_id = client.post("/api/rounds", json={"name": "Q1"}, headers=staff).json()["id"]
    assert run_round(client, round_id, staff)["status"] == "done"
    return round_id, problem


def _sheets(content: bytes) -> dict[str, Any]:
    return {ws.title: ws for ws in openpyxl.load_workbook(io.BytesIO(content))}


def _rows(sheet: Any) -> list[dict[str, Any]]:
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_staff_get_both_addresses_and_the_unmatched_on_a_sheet(
    client: TestClient, as_role: Headers, solved: tuple[int, ProblemData]
) -> None:
    round_id, problem = solved
    emails = {p.mentor_id: p.email for p in problem.mentors} | {
        p.mentee_id: p.email for p in problem.mentees
    }
    proposals = client.get(f"/api/rounds/{round_id}/proposals", headers=as_role("matcher")).json()
    waiting = client.get(f"/api/rounds/{round_id}/unmatched", headers=as_role("matcher")).json()
    assert proposals and waiting
    sign_in(client, "matcher", "secret-matcher")
    book = _sheets(client.get(f"/rounds/{round_id}/pairs.xlsx").content)
    assert list(book) == ["Pairs", "Unmatched"]
    pairs, unmatched = book["Pairs"], book["Unmatched"]
    assert pairs.freeze_panes == "A2"
    assert all(cell.font.b for cell in pairs[1])
    assert pairs.column_dimensions["C"].width >= max(len(emails[p["mentor_id"]]) for p in proposals)
    rows = _rows(pairs)
    assert [(r["mentor_id"], r["mentee_id"]) for r in rows] == [
        (p["mentor_id"], p["mentee_id"]) for p in proposals
    ]
    assert all(r["mentor_email"] == emails[r["mentor_id"]] for r in rows)
    assert all(r["mentee_email"] == emails[r["mentee_id"]] for r in rows)
    assert [(r["mentee_id"], r["mentee_email"], r["reason"]) for r in _rows(unmatched)] == [
        (w["mentee_id"], emails[w["mentee_id"]], w["reason"]) for w in waiting
    ]
    text = client.get(f"/rounds/{round_id}/pairs.csv").content.decode("utf-8-sig")
    assert list(csv.DictReader(io.StringIO(text))) == [
        {k: "" if v is None else str(v) for k, v in r.items()} for r in rows
    ]


def test_the_mail_merge_file_has_one_row_per_introduction(
    client: TestClient, as_role: Headers, solved: tuple[int, ProblemData]
) -> None:
    round_id, problem = solved
    emails = {p.mentor_id: p.email for p in problem.mentors} | {
        p.mentee_id: p.email for p in problem.mentees
    }
    proposals = client.get(f"/api/rounds/{round_id}/proposals", headers=as_role("matcher")).json()
    sign_in(client, "matcher", "secret-matcher")
    answer = client.get(f"/rounds/{round_id}/introductions.csv")
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="round-{round_id}-introductions.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [
        (r["mentor_name"], r["mentor_email"], r["mentee_name"], r["mentee_email"]) for r in rows
    ] == [
        (p["mentor_name"], emails[p["mentor_id"]], p["mentee_name"], emails[p["mentee_id"]])
        for p in proposals
    ]
    assert {r["round_id"] for r in rows} == {str(round_id)}
    assert [r["why_this_pair"] for r in rows] == [p["reasons"] for p in proposals]


def test_analysts_get_ids_and_no_mail_merge(
    client: TestClient, solved: tuple[int, ProblemData]
) -> None:
    round_id, _problem = solved
    sign_in(client, "analyst", "secret-analyst")
    book = _sheets(client.get(f"/rounds/{round_id}/pairs.xlsx").content)
    headers = {title: [c.value for c in sheet[1]] for title, sheet in book.items()}
    assert headers["Unmatched"] == ["mentee_id", "cohort", "reason"]
    assert not any("name" in h or "email" in h or h == "reasons" for h in headers["Pairs"])
    assert client.get(f"/rounds/{round_id}/introductions.csv").status_code == 403
