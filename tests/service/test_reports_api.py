"""Session logs, the finance ledger and the monitoring figures over HTTP.

The scheme below is in the financial year 2025/26 (1 April 2025 to 31 March 2026), so every
date is in the past. Matches and training records are written straight to the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.db import transaction
from service.models import AuditEntry, Match, MentoringSession, TrainingRecord

Headers = Callable[[str], dict[str, str]]

MENTORS = (
    "mentor_id,name,email,gmc_number,clinical_sessions_per_week,status\n"
    "M1,Dr Ada,ada@example.org,1234567,6,active\n"
    "M2,Dr Bo,bo@example.org,2345678,4,active\n"
    "M3,Dr Cal,cal@example.org,3456789,9,paused\n"
    "M4,Dr Dee,dee@example.org,4567890,,active\n"
)
MENTEES = (
    "mentee_id,name,cohort\nE1,Dr Eve,fellow\nE2,Dr Fay,fellow\n"
    "E3,Dr Gus,new_partner\nE4,Dr Hal,fellow\n"
)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10)


@pytest.fixture
def scheme(client: TestClient, app: FastAPI, as_role: Headers) -> dict[str, int]:
    """Four mentors, four matches and three training records; returns match ids by name.

    X1 M1-E1 registered (confirmed 1 May 2025, registered 10 May);
    X2 M2-E2 ended (confirmed 1 May, registered 20 May, ended 1 September);
    X3 M3-E3 confirmed 15 September; X4 M4-E4 confirmed 1 November 2025.
    Training: M1 completed 30 June 2025 (4 sessions), M2 completed 2 October (2),
    M3 not completed (4).
    """
    for kind, body in (("mentors", MENTORS), ("mentees", MENTEES)):
        files = {"file": (f"{kind}.csv", body.encode(), "text/csv")}
        answer = client.post(f"/api/{kind}/import", files=files, headers=as_role("admin"))
        assert answer.status_code == 200, answer.text
    matches = {
        "X1": Match(
            mentor_id="M1",
            mentee_id="E1",
            status="registered",
            confirmed_at=at("2025-05-01"),
            registered_at=at("2025-05-10"),
        ),
        "X2": Match(
            mentor_id="M2",
            mentee_id="E2",
            status="ended",
            confirmed_at=at("2025-05-01"),
            registered_at=at("2025-05-20"),
            ended_at=at("2025-09-01"),
            end_reason="moved away",
        ),
        "X3": Match(
            mentor_id="M3", mentee_id="E3", status="confirmed", confirmed_at=at("2025-09-15")
        ),
        "X4": Match(
            mentor_id="M4", mentee_id="E4", status="confirmed", confirmed_at=at("2025-11-01")
        ),
    }
    with transaction(app.state.sessions) as db:
        db.add_all(matches.values())
        db.add_all(
            [
                TrainingRecord(
                    mentor_id="M1",
                    course="ILM5",
                    started_on=date(2025, 4, 1),
                    completed_on=date(2025, 6, 30),
                    reimbursed_sessions=4,
                ),
                TrainingRecord(
                    mentor_id="M2",
                    course="ILM5",
                    started_on=date(2025, 4, 1),
                    completed_on=date(2025, 10, 2),
                    reimbursed_sessions=2,
                ),
                TrainingRecord(
                    mentor_id="M3",
                    course="ILM5",
                    started_on=date(2025, 9, 1),
                    reimbursed_sessions=4,
                ),
            ]
        )
        db.flush()
        return {name: match.id for name, match in matches.items()}


def log(client: TestClient, match_id: int, day: str, headers: dict[str, str], minutes: int = 60):
    body: dict[str, Any] = {"held_on": day, "minutes": minutes}
    return client.post(f"/api/matches/{match_id}/sessions", json=body, headers=headers)


def log_all(client: TestClient, app: FastAPI, scheme: dict[str, int], as_role: Headers) -> None:
    """The sessions of the worked examples below.

    M1 (X1): Mon 2 and Tue 3 June 2025 (one ISO week), Mon 9 June, Mon 29 September.
    M2 (X2, ended, so written directly): Thu 22 May 2025.
    M3 (X3): Wed 1 and Thu 2 October 2025 (one week), Mon 6 October.
    """
    for day in ("2025-06-02", "2025-06-03", "2025-06-09", "2025-09-29"):
        assert log(client, scheme["X1"], day, as_role("matcher")).status_code == 201
    for day in ("2025-10-01", "2025-10-02", "2025-10-06"):
        assert log(client, scheme["X3"], day, as_role("admin")).status_code == 201
    with transaction(app.state.sessions) as db:
        db.add(
            MentoringSession(
                match_id=scheme["X2"],
                mentor_id="M2",
                mentee_id="E2",
                held_on=date(2025, 5, 22),
                minutes=90,
            )
        )


def test_log_and_list_sessions(
    client: TestClient, app: FastAPI, scheme: dict[str, int], as_role: Headers
) -> None:
    answer = log(client, scheme["X1"], "2025-06-02", as_role("matcher"), minutes=75)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "id": answer.json()["id"],
        "match_id": scheme["X1"],
        "mentor_id": "M1",
        "mentee_id": "E1",
        "held_on": "2025-06-02",
        "minutes": 75,
    }
    # On the day the match was confirmed, and today, are both allowed.
    assert log(client, scheme["X1"], "2025-05-01", as_role("admin")).status_code == 201
    assert log(client, scheme["X1"], date.today().isoformat(), as_role("admin")).status_code == 201
    assert log(client, scheme["X3"], "2025-10-01", as_role("admin")).status_code == 201

    listed = client.get("/api/sessions?mentor_id=M1&month=2025-06", headers=as_role("analyst"))
    assert listed.status_code == 200, listed.text
    assert [(s["held_on"], s["minutes"]) for s in listed.json()] == [("2025-06-02", 75)]
    assert "Dr " not in listed.text  # ids, never names
    everyone = client.get("/api/sessions", headers=as_role("matcher")).json()
    assert [s["held_on"] for s in everyone] == [
        "2025-05-01",
        "2025-06-02",
        "2025-10-01",
        date.today().isoformat(),
    ]
    october = client.get("/api/sessions?month=2025-10", headers=as_role("admin")).json()
    assert [s["mentor_id"] for s in october] == ["M3"]

    with app.state.sessions() as db:
        query = select(AuditEntry).where(AuditEntry.action == "sessions.create")
        entries = db.scalars(query.order_by(AuditEntry.id))
        details = [(e.username, e.entity_id, e.detail) for e in entries]
    assert details[0] == ("matcher", str(answer.json()["id"]), {"match_id": scheme["X1"]})
    assert len(details) == 4


def test_rejected_sessions_store_nothing(
    client: TestClient, app: FastAPI, scheme: dict[str, int], as_role: Headers
) -> None:
    staff = as_role("matcher")
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    cases = [
        (log(client, 9999, "2025-06-02", staff), 404, "no match with id 9999"),
        (log(client, scheme["X2"], "2025-06-02", staff), 409, f"match {scheme['X2']} is ended"),
        (log(client, scheme["X1"], tomorrow, staff), 422, "is in the future"),
        (log(client, scheme["X1"], "2025-04-30", staff), 422, f"before match {scheme['X1']} was"),
        (log(client, scheme["X3"], "2025-09-14", staff), 422, "confirmed on 2025-09-15"),
        (log(client, scheme["X1"], "2025-06-02", staff, minutes=0), 422, "minutes"),
        (log(client, scheme["X1"], "2025-06-02", staff, minutes=601), 422, "minutes"),
        (log(client, scheme["X1"], "2 June", staff), 422, "held_on"),
    ]
    extra = {"held_on": "2025-06-02", "minutes": 60, "mentor_id": "M2"}
    answer = client.post(f"/api/matches/{scheme['X1']}/sessions", json=extra, headers=staff)
    cases.append((answer, 422, "mentor_id"))
    for answer, status, message in cases:
        assert answer.status_code == status, answer.text
        assert message in answer.json()["detail"]
    assert client.get("/api/sessions", headers=staff).json() == []
    with app.state.sessions() as db:
        assert db.scalars(select(MentoringSession)).all() == []
        assert (
            db.scalars(select(AuditEntry).where(AuditEntry.entity == "mentoring_session")).all()
            == []
        )


def test_finance_ledger(
    client: TestClient, app: FastAPI, scheme: dict[str, int], as_role: Headers
) -> None:
    log_all(client, app, scheme, as_role)
    # Tue 31 March and Wed 1 April 2026 share an ISO week: paid once, in March 2026.
    for day in ("2026-03-31", "2026-04-01"):
        assert log(client, scheme["X1"], day, as_role("matcher")).status_code == 201
    answer = client.get("/api/reports/finance?year=2025", headers=as_role("analyst"))
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["financial_year"], report["rate_gbp"], report["annual_cap"]) == (
        "2025/26",
        289.0,
        35,
    )
    months = {m["month"]: m for m in report["months"]}
    assert list(months) == [f"2025-{m:02d}" for m in range(4, 13)] + [
        f"2026-{m:02d}" for m in range(1, 4)
    ]
    # May: M2's week (1). June: M1's weeks of 2 and 9 June (2) and M1's training (4): 6 x
    # £289 = £1,734. September: M1's 29 September (1). October: M3's weeks of 1 and 6
    # October (2) and M2's training (2): 4 x £289 = £1,156. March: M1's 31 March (1).
    figures = {
        month: (
            m["mentoring_sessions"],
            m["training_sessions"],
            m["amount_gbp"],
            m["cumulative_gbp"],
        )
        for month, m in months.items()
        if m["amount_gbp"]
    }
    assert figures == {
        "2025-05": (1, 0, 289.0, 289.0),
        "2025-06": (2, 4, 1734.0, 2023.0),
        "2025-09": (1, 0, 289.0, 2312.0),
        "2025-10": (2, 2, 1156.0, 3468.0),
        "2026-03": (1, 0, 289.0, 3757.0),
    }
    assert all(m["unpaid_sessions"] == 0 for m in report["months"])
    assert report["total_gbp"] == 13 * 289.0
    # The week that began on 31 March 2026 is not paid again in April 2026.
    later = client.get("/api/reports/finance?year=2026", headers=as_role("admin")).json()
    assert (later["financial_year"], later["total_gbp"]) == ("2026/27", 0.0)
    assert later["months"][0] == {
        "month": "2026-04",
        "mentoring_sessions": 0,
        "training_sessions": 0,
        "unpaid_sessions": 0,
        "amount_gbp": 0.0,
        "cumulative_gbp": 0.0,
    }


def test_finance_ledger_defaults_to_the_current_year(client: TestClient, as_role: Headers) -> None:
    today = date.today()
    start = today.year if today.month >= 4 else today.year - 1
    report = client.get("/api/reports/finance", headers=as_role("matcher")).json()
    assert report["financial_year"] == f"{start}/{(start + 1) % 100:02d}"
    assert report["months"][0]["month"] == f"{start}-04"


def test_monitoring(
    client: TestClient, app: FastAPI, scheme: dict[str, int], as_role: Headers
) -> None:
    log_all(client, app, scheme, as_role)
    answer = client.get("/api/reports/monitoring?as_of=2025-10-01", headers=as_role("analyst"))
    assert answer.status_code == 200, answer.text
    # Trained by 1 October 2025: M1 (M2 completes on 2 October, M3 has not).
    # Registered: X1 and X2 (ended since, still counted); X3 and X4 never registered.
    # Mean clinical sessions of active mentors who state them: M1 6, M2 4 -> 5.0 (M3 is
    # paused, M4 states none).
    # Spend to date: weeks M1 2 June, 9 June, 29 September; M2 22 May; M3 1 October (on
    # as_of) -> 5, and M1's training 4 -> 9 x £289 = £2,601.
    # Profile: 181 days after 1 October to 31 March 2026 -> 25 whole weeks. Matched at
    # as_of: M1 (X1) and M3 (X3); X2 ended in September, X4 starts in November.
    # M1 min(35 - 3, 25) = 25, M3 min(35 - 1, 25) = 25 -> 9 + 50 = 59 x £289 = £17,051.
    assert answer.json() == {
        "financial_year": "2025/26",
        "as_of": "2025-10-01",
        "mentors_trained": 1,
        "registered_matches": 2,
        "mean_clinical_sessions": 5.0,
        "spend_to_date": 2601.0,
        "profiled_spend": 17051.0,
        "mentors_profiled": 2,
        "whole_weeks_left": 25,
    }
    # A day later M2's training (2) is complete and paid, and M3's 2 October is in a week
    # already paid: 11 x £289 = £3,179. Profile unchanged at 25 weeks each (180 days left).
    later = client.get("/api/reports/monitoring?as_of=2025-10-02", headers=as_role("matcher"))
    figures = later.json()
    assert (figures["mentors_trained"], figures["spend_to_date"]) == (2, 3179.0)
    assert figures["profiled_spend"] == (11 + 50) * 289.0
    # Before anything happened: nothing trained, registered or spent; no active match yet.
    early = client.get("/api/reports/monitoring?as_of=2025-04-15", headers=as_role("admin")).json()
    assert (early["mentors_trained"], early["registered_matches"], early["profiled_spend"]) == (
        0,
        0,
        0.0,
    )


def test_monitoring_with_no_records(client: TestClient, as_role: Headers) -> None:
    report = client.get("/api/reports/monitoring", headers=as_role("analyst")).json()
    assert report["as_of"] == date.today().isoformat()
    assert report["mean_clinical_sessions"] is None
    assert (report["mentors_trained"], report["spend_to_date"], report["profiled_spend"]) == (
        0,
        0.0,
        0.0,
    )


def test_roles(client: TestClient, scheme: dict[str, int], as_role: Headers) -> None:
    reads = ("/api/reports/finance", "/api/reports/monitoring", "/api/sessions")
    for url in reads:
        assert client.get(url).status_code == 401
        assert client.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.get(url, headers=as_role("organiser")).status_code == 403
        for role in ("admin", "matcher", "analyst"):
            assert client.get(url, headers=as_role(role)).status_code == 200
    assert log(client, scheme["X1"], "2025-06-02", {}).status_code == 401
    for role in ("analyst", "organiser"):
        assert log(client, scheme["X1"], "2025-06-02", as_role(role)).status_code == 403
    assert client.get("/api/sessions", headers=as_role("admin")).json() == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/api/reports/finance?year=last", "query.year: Input should be a valid integer"),
        (
            "/api/reports/finance?year=1999",
            "query.year: Input should be greater than or equal to 2000",
        ),
        ("/api/reports/monitoring?as_of=2025-13-01", "query.as_of"),
        (
            "/api/reports/monitoring?as_of=1999-12-31",
            "as_of must be a date in the years 2000 to 2100",
        ),
        ("/api/sessions?month=2025-13", "month must be a year and month as YYYY-MM"),
        ("/api/sessions?month=June", "month must be a year and month as YYYY-MM"),
        ("/api/sessions?month=9999-12", "month must be a year and month as YYYY-MM"),
    ],
)
def test_bad_query_values(client: TestClient, as_role: Headers, url: str, message: str) -> None:
    answer = client.get(url, headers=as_role("analyst"))
    assert answer.status_code == 422
    assert message in answer.json()["detail"]
