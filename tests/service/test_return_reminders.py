"""Monthly returns outstanding and their reminders: who owes a month's return (a match that
could take sessions then, no return of sessions or of none), one reminder per mentor and
month however many processes send at once, the mail loop queuing them at month end, and the
staff page and API."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from scheme import approve_new_round, sign_in
from sqlalchemy import func, select, update

from matcher.data import ProblemData
from service.db import transaction
from service.mail_sender import MailSender
from service.models import (
    AuditEntry,
    Match,
    OutboxMail,
    ReturnReminder,
    SessionReturn,
    User,
)
from service.outbox import MailSetup
from service.return_reminders import due_month, owed, remind
from service.session_logs import TypedRow, log_return

Headers = Callable[[str], dict[str, str]]
SETUP = MailSetup("matching@lmc.example", "https://mentoring.example.org")
MONTH = "2026-10"
REMINDERS = select(func.count()).select_from(OutboxMail).where(OutboxMail.kind == "return_reminder")


@pytest.mark.parametrize(
    ("today", "month"),
    [
        (date(2026, 10, 31), "2026-10"),
        (date(2026, 11, 1), "2026-10"),
        (date(2026, 11, 7), "2026-10"),
        (date(2026, 11, 8), None),
        (date(2026, 11, 29), None),
        (date(2027, 2, 28), "2027-02"),
        (date(2028, 2, 28), None),  # a leap year: the 29th is the last day
        (date(2028, 2, 29), "2028-02"),
    ],
)
def test_when_reminders_are_due(today: date, month: str | None) -> None:
    assert due_month(today) == month


def _matches_in_october(
    app: FastAPI, client: TestClient, staff: dict[str, str]
) -> list[dict[str, Any]]:
    matches = approve_new_round(client, staff)
    with transaction(app.state.sessions) as db:
        db.execute(update(Match).values(confirmed_at=datetime(2026, 10, 5, 9, 0)))
    return matches


def test_who_owes_and_one_reminder_each(
    app: FastAPI, client: TestClient, as_role: Headers, lmc: ProblemData
) -> None:
    matches = _matches_in_october(app, client, as_role("matcher"))
    mentors = sorted({m["mentor_id"] for m in matches})
    sent_sessions, sent_none = mentors[0], mentors[1]
    with transaction(app.state.sessions) as db:
        staff = db.scalars(select(User).where(User.name == "matcher")).one()
        first = next(m for m in matches if m["mentor_id"] == sent_sessions)
        row = TypedRow(first["id"], "2026-10-20", "45")
        log_return(db, staff, sent_sessions, MONTH, "a" * 24, [row], date(2026, 11, 3))
        log_return(db, staff, sent_none, MONTH, "b" * 24, [], date(2026, 11, 3), none_held=True)
    expected = {m: sum(1 for x in matches if x["mentor_id"] == m) for m in mentors[2:]}
    with app.state.sessions() as db:
        found = owed(db, MONTH)
        assert {o.mentor_id: o.matches for o in found} == expected
        assert owed(db, "2026-09") == []  # no match could take sessions in September
    emails = {m.mentor_id: m.email for m in lmc.mentors}

    # Two processes at once remind each mentor once.
    counts: list[int] = []
    start = threading.Barrier(2)

    def send() -> None:
        start.wait()
        for _attempt in range(5):
            try:
                with transaction(app.state.sessions) as db:
                    counts.append(remind(db, None, MONTH, SETUP))
                return
            except Exception:  # SQLite: the other writer holds the lock a moment
                time.sleep(0.2)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with app.state.sessions() as db:
        mails = db.scalars(select(OutboxMail).where(OutboxMail.kind == "return_reminder")).all()
        assert sorted(m.recipient for m in mails) == sorted(emails[m] for m in expected)
        assert sum(counts) == len(expected)
        body = mails[0].body
        assert "October 2026" in body and f"{SETUP.site}/me/return?month={MONTH}" in body
        assert db.scalar(select(func.count()).select_from(ReturnReminder)) == len(expected)
    with transaction(app.state.sessions) as db:
        assert remind(db, None, MONTH, SETUP) == 0  # never twice


def test_the_mail_loop_reminds_at_month_end(
    app: FastAPI, client: TestClient, as_role: Headers, lmc: ProblemData
) -> None:
    matches = _matches_in_october(app, client, as_role("matcher"))
    mentors = {m["mentor_id"] for m in matches}
    mid_month = MailSender(app.state.sessions, None, SETUP, 0.2, today=lambda: date(2026, 10, 15))
    mid_month.start()
    time.sleep(1.0)
    mid_month.stop()
    with app.state.sessions() as db:
        assert db.scalar(REMINDERS) == 0
    month_end = MailSender(app.state.sessions, None, SETUP, 0.2, today=lambda: date(2026, 10, 31))
    month_end.start()
    deadline = time.monotonic() + 30
    try:
        while True:
            with app.state.sessions() as db:
                queued = db.scalar(REMINDERS)
            if queued == len(mentors) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        month_end.stop()
    assert queued == len(mentors)


def test_staff_see_who_owes_and_send_reminders(
    app: FastAPI, client: TestClient, as_role: Headers, lmc: ProblemData
) -> None:
    matches = _matches_in_october(app, client, as_role("matcher"))
    mentors = sorted({m["mentor_id"] for m in matches})
    api = client.get(f"/api/returns/outstanding?month={MONTH}", headers=as_role("matcher"))
    assert api.status_code == 200
    assert [o["mentor_id"] for o in api.json()] == mentors
    assert all(o["has_email"] and o["reminded_at"] is None for o in api.json())
    assert (
        client.get(
            f"/api/returns/outstanding?month={MONTH}", headers=as_role("analyst")
        ).status_code
        == 403
    )
    assert (
        client.get("/api/returns/outstanding?month=2026-13", headers=as_role("matcher")).status_code
        == 422
    )

    csrf = sign_in(client, "matcher", "secret-matcher")
    page = client.get(f"/returns?month={MONTH}")
    assert page.status_code == 200
    assert f"{len(mentors)} mentors owe a return for October 2026" in page.text
    assert f"Send {len(mentors)} reminders now" in page.text
    sent = client.post("/returns/reminders", data={"csrf_token": csrf, "month": MONTH})
    assert sent.status_code == 200 and f"{len(mentors)} reminders queued." in sent.text
    assert 'action="/returns/reminders"' not in sent.text  # nobody is left to remind
    again = client.post("/api/returns/reminders", json={"month": MONTH}, headers=as_role("matcher"))
    assert again.json() == {"month": MONTH, "queued": 0}
    assert client.get("/returns?month=2026-13").status_code == 422
    with app.state.sessions() as db:
        audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "returns.remind")).all()
        assert [a.detail for a in audit] == [{"reminders": len(mentors)}]
        assert db.scalar(select(func.count()).select_from(SessionReturn)) == 0
