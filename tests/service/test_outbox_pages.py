"""The outbox as staff see it: counts, filters, search and pages against mails queued here and
figures computed from the list that queued them; a sign-in link's text never on a page or in
the API; a failed mail tried again (only a failed one), then delivered by a real SMTP server;
the mail-merge CSV and the .eml zip read back; marking as sent by hand changes exactly the
mails offered; analysts and organisers refused on every outbox and wording route."""

from __future__ import annotations

import csv
import email
import io
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from page_reading import cells, sign_in, text
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from test_outbox import Inbox, smtp  # noqa: F401  (a real SMTP server on the loopback)

from service.db import transaction
from service.models import AuditEntry, OutboxMail
from service.outbox import MOST_TRIES, deliver_due, queue_mail
from service.outbox_views import HIDDEN_TEXT
from service.smtp_address import SmtpServer

Headers = Callable[[str], dict[str, str]]
SECRET = "https://lmc.example/me/link/Zq8-one-time-secret"
ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
KINDS = ("introduction_to_mentee", "introduction_to_mentor", "survey_invitation")
SENDER = "matching@localhost"  # the settings' default MATCHER_MAIL_FROM


@dataclass(frozen=True)
class Queued:
    """A mail as the test queued it, and the status it then gave it."""

    id: int
    kind: str
    about: str
    recipient: str
    subject: str
    body: str
    status: str
    attachment_name: str | None = None


def _status(n: int) -> str:
    # Every fifth mail sent, every seventh failed (35 is sent), the rest queued.
    return "sent" if n % 5 == 0 else "failed" if n % 7 == 0 else "queued"


def _queue_all(sessions: sessionmaker[Session]) -> list[Queued]:
    """57 mails: three kinds in turn, about matches 1 to 57 (so match:12 and match:120 are
    not confused: 120 is added apart), statuses by ``_status``; then a sign-in link and a
    mail whose subject a spreadsheet would run as a formula."""
    made: list[Queued] = []
    with transaction(sessions) as session:
        for n in range(1, 58):
            kind = KINDS[n % 3]
            attachment = ("first-meeting.ics", ICS) if n % 4 == 0 else None
            mail = queue_mail(
                session,
                kind=kind,
                recipient=f"gp{n}@practice{n % 2}.nhs.example",
                subject=f"Mail {n} about your match",
                body=f"Dear colleague {n},\n\nmeet your mentor.\n",
                about=f"match:{n}",
                attachment=attachment,
            )
            made.append(
                Queued(
                    mail.id,
                    kind,
                    mail.about,
                    mail.recipient,
                    mail.subject,
                    mail.body,
                    _status(n),
                    attachment[0] if attachment else None,
                )
            )
        extra = [
            ("sign_in_link", "match:120", "asha@lmc.example", "Your link", f"Follow {SECRET}\n"),
            ("introduction_to_mentee", "", "tom@lmc.example", '=HYPERLINK("x")', "-2+3\n"),
        ]
        for kind, about, recipient, subject, body in extra:
            mail = queue_mail(
                session, kind=kind, recipient=recipient, subject=subject, body=body, about=about
            )
            made.append(Queued(mail.id, kind, about, recipient, subject, body, "queued"))
        for q in made:
            if q.status != "queued":
                session.execute(
                    update(OutboxMail)
                    .where(OutboxMail.id == q.id)
                    .values(
                        status=q.status,
                        attempts=MOST_TRIES if q.status == "failed" else 1,
                        last_error="SMTPRecipientsRefused: 550" if q.status == "failed" else None,
                    )
                )
    return made


@pytest.fixture
def queued(app: FastAPI, tokens: dict[str, str]) -> list[Queued]:
    return _queue_all(app.state.sessions)


def _row_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="mail-(\d+)">', page)]


def _count_of(page: str, status: str) -> int:
    found = re.search(rf'<div id="count-{status}"><dt>[^<]*</dt><dd>([\d,]+)</dd>', page)
    assert found, status
    return int(found[1].replace(",", ""))


def _statuses(sessions: sessionmaker[Session]) -> dict[int, str]:
    with transaction(sessions) as session:
        rows = session.execute(select(OutboxMail.id, OutboxMail.status))
        return {mail_id: status for mail_id, status in rows}


def test_the_list_counts_filters_searches_and_pages(
    client: TestClient, queued: list[Queued]
) -> None:
    sign_in(client, "matcher")
    expected = Counter(q.status for q in queued)
    # Of mails 1 to 57, sent: 5, 10, ... 55 (11); failed: 7, 14, 21, 28, 42, 49, 56 (7);
    # queued: the other 39, and the two added apart.
    assert expected == {"queued": 41, "sent": 11, "failed": 7}
    page = client.get("/outbox").text
    for status in ("queued", "sent", "failed"):
        assert _count_of(page, status) == expected[status]
    newest_first = sorted((q.id for q in queued), reverse=True)
    assert _row_ids(page) == newest_first[:50]
    assert "Showing 1–50 of 59" in page
    assert _row_ids(client.get("/outbox?page=2").text) == newest_first[50:]

    failed = client.get("/outbox?status=failed").text
    assert _row_ids(failed) == sorted((q.id for q in queued if q.status == "failed"), reverse=True)
    first_failed = min(q.id for q in queued if q.status == "failed")
    row = cells(failed, f"mail-{first_failed}")
    assert row[5:] == ["Failed", str(MOST_TRIES), row[7], "", "SMTPRecipientsRefused: 550"]

    survey = client.get("/outbox?kind=survey_invitation&status=queued").text
    assert _row_ids(survey) == sorted(
        (q.id for q in queued if q.kind == "survey_invitation" and q.status == "queued"),
        reverse=True,
    )
    # About exactly match:12 (not match:120); part of an address finds every mail to it.
    assert _row_ids(client.get("/outbox?q=match:12").text) == [
        q.id for q in queued if q.about == "match:12"
    ]
    assert _row_ids(client.get("/outbox?q=PRACTICE1.nhs").text) == sorted(
        (q.id for q in queued if "practice1.nhs" in q.recipient), reverse=True
    )
    assert "No mail matching “nobody@x”." in text(client.get("/outbox?q=nobody@x").text)


def test_the_api_pages_filters_and_counts(
    client: TestClient, as_role: Headers, queued: list[Queued]
) -> None:
    staff = as_role("admin")
    queued_ids = sorted((q.id for q in queued if q.status == "queued"), reverse=True)
    answer = client.get("/api/outbox?status=queued&offset=5&limit=7", headers=staff).json()
    assert answer["total"] == len(queued_ids) == 41
    assert [m["id"] for m in answer["mails"]] == queued_ids[5:12]
    assert answer["counts"] == {"queued": 41, "sent": 11, "failed": 7}
    intro = client.get("/api/outbox?kind=introduction_to_mentor&limit=500", headers=staff).json()
    assert [m["id"] for m in intro["mails"]] == sorted(
        (q.id for q in queued if q.kind == "introduction_to_mentor"), reverse=True
    )
    about = client.get("/api/outbox?about=match:12", headers=staff).json()
    (one,) = about["mails"]
    mail = next(q for q in queued if q.about == "match:12")
    assert (one["id"], one["recipient"], one["subject"], one["status"]) == (
        mail.id,
        mail.recipient,
        mail.subject,
        mail.status,
    )
    assert client.get("/api/outbox?limit=501", headers=staff).status_code == 422
    detail = client.get(f"/api/outbox/{mail.id}", headers=staff).json()
    assert (detail["body"], detail["body_hidden"]) == (mail.body, False)
    assert client.get("/api/outbox/999999", headers=staff).status_code == 404


def test_a_sign_in_link_is_never_shown(
    client: TestClient, as_role: Headers, queued: list[Queued]
) -> None:
    link = next(q for q in queued if q.kind == "sign_in_link")
    sign_in(client, "admin")
    shown = [
        client.get("/outbox").text,
        client.get("/outbox?kind=sign_in_link").text,
        client.get(f"/outbox/{link.id}").text,
        client.get(f"/api/outbox/{link.id}", headers=as_role("admin")).text,
        client.get("/api/outbox?limit=500", headers=as_role("admin")).text,
    ]
    for page in shown:
        assert SECRET not in page and "one-time-secret" not in page
    assert HIDDEN_TEXT in text(shown[2])
    api = client.get(f"/api/outbox/{link.id}", headers=as_role("admin")).json()
    assert (api["body"], api["body_hidden"]) == (HIDDEN_TEXT, True)
    # The download keeps it: staff without SMTP forward that mail by hand.
    archive = zipfile.ZipFile(io.BytesIO(client.get("/outbox/download.zip").content))
    message = email.message_from_bytes(archive.read(f"mail-{link.id:06d}.eml"))
    assert SECRET in _body(message)


def _body(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode().replace("\r\n", "\n")


def test_the_mail_merge_csv_reads_back_as_the_queued_mails(
    client: TestClient, as_role: Headers, queued: list[Queued]
) -> None:
    answer = client.get("/api/outbox.csv", headers=as_role("matcher"))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["id", "kind", "about", "recipient", "subject", "body", "attachment_name"]
    expected = [
        [str(q.id), q.kind, q.about, q.recipient, q.subject, q.body, q.attachment_name or ""]
        for q in queued
        if q.status == "queued"
    ]
    formula = next(q for q in queued if q.recipient == "tom@lmc.example")
    for row in expected:
        if row[0] == str(formula.id):  # neutralised: a leading ' and nothing else changed
            row[4], row[5] = '\'=HYPERLINK("x")', "'-2+3\n"
    assert rows[1:] == expected
    sign_in(client, "matcher")
    page_file = client.get("/outbox/mail-merge.csv")
    assert page_file.content == answer.content
    newest = max(q.id for q in queued if q.status == "queued")
    older = client.get(f"/outbox/mail-merge.csv?up_to={newest - 1}").content.decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(older, newline="")))) == len(expected)  # one fewer


def test_the_eml_zip_holds_each_queued_mail(
    client: TestClient, as_role: Headers, queued: list[Queued]
) -> None:
    answer = client.get("/api/outbox.zip", headers=as_role("admin"))
    assert answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    waiting = [q for q in queued if q.status == "queued"]
    assert archive.namelist() == [f"mail-{q.id:06d}.eml" for q in waiting]
    for q in waiting:
        message = email.message_from_bytes(archive.read(f"mail-{q.id:06d}.eml"))
        assert (message["From"], message["To"], message["Subject"]) == (
            SENDER,
            q.recipient,
            q.subject,
        )
        assert _body(message) == q.body
        names = [p.get_filename() for p in message.walk() if p.get_filename()]
        assert names == ([q.attachment_name] if q.attachment_name else [])
    failed = zipfile.ZipFile(
        io.BytesIO(client.get("/api/outbox.zip?status=failed", headers=as_role("admin")).content)
    )
    assert failed.namelist() == [f"mail-{q.id:06d}.eml" for q in queued if q.status == "failed"]


def test_marking_as_sent_by_hand_changes_exactly_the_mails_offered(
    app: FastAPI, client: TestClient, queued: list[Queued]
) -> None:
    sessions = app.state.sessions
    csrf = sign_in(client, "matcher")
    page = client.get("/outbox").text
    offered = [q.id for q in queued if q.status == "queued"]
    assert f"Mark these {len(offered)} as sent by hand" in page
    ids = re.search(r'name="ids" value="([^"]*)"', page)
    assert ids and [int(n) for n in ids[1].split(",")] == offered
    before = _statuses(sessions)
    # Meanwhile one offered mail goes out by SMTP, and a new one is queued: neither is marked.
    with transaction(sessions) as session:
        session.execute(update(OutboxMail).where(OutboxMail.id == offered[0]).values(status="sent"))
        late = queue_mail(
            session, kind="sign_in_link", recipient="x@y.example", subject="s", body="b"
        )
        late_id = late.id
    answer = client.post(
        "/outbox/sent-by-hand", data={"csrf_token": csrf, "ids": ids[1]}, follow_redirects=False
    )
    assert answer.status_code == 303
    after = _statuses(sessions)
    changed = {i for i in after if after[i] != before.get(i)}
    assert changed == set(offered) | {late_id}
    assert after[late_id] == "queued"
    assert {i for i in offered if after[i] == "sent"} == set(offered)
    notice = text(client.get(answer.headers["location"]).text)
    assert f"{len(offered) - 1} mail(s) marked as sent by hand. 1 were no longer queued" in notice
    with transaction(sessions) as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "outbox.sent_by_hand")
        ).one()
        assert entry.detail == {"mails": len(offered) - 1, "ids": offered[1:]}
        marked = select(OutboxMail.sent_at).where(OutboxMail.id.in_(offered[1:]))
        sent_at = session.scalars(marked).all()
    assert all(s is not None for s in sent_at)


def test_the_api_marks_as_sent_by_hand_only_what_is_queued(
    client: TestClient, as_role: Headers, queued: list[Queued]
) -> None:
    waiting = [q.id for q in queued if q.status == "queued"][:3]
    done = next(q.id for q in queued if q.status == "failed")
    body = {"ids": [*waiting, done], "status": "sent"}
    answer = client.patch("/api/outbox", json=body, headers=as_role("matcher"))
    assert answer.json() == {"marked": 3, "ids": waiting}
    again = client.patch("/api/outbox", json=body, headers=as_role("matcher"))
    assert again.json() == {"marked": 0, "ids": []}  # sent already: nothing changes
    listed = client.get("/api/outbox?status=queued&limit=500", headers=as_role("matcher")).json()
    assert listed["total"] == 41 - 3


def test_a_failed_mail_is_tried_again_and_then_delivered(
    app: FastAPI,
    client: TestClient,
    as_role: Headers,
    smtp: tuple[Inbox, SmtpServer],  # noqa: F811
) -> None:
    inbox, server = smtp
    sessions = app.state.sessions
    inbox.refuse.add("gone@lmc.example")
    with transaction(sessions) as session:
        mail_id = queue_mail(
            session, kind="survey_invitation", recipient="gone@lmc.example", subject="S", body="B\n"
        ).id
    for _ in range(MOST_TRIES):  # each try as if its pause had passed
        deliver_due(sessions, server, SENDER)
        with transaction(sessions) as session:
            session.execute(update(OutboxMail).values(next_attempt_at=OutboxMail.created_at))
    csrf = sign_in(client, "matcher")
    page = client.get(f"/outbox/{mail_id}").text
    assert "Mail " + str(mail_id) + ": failed" in text(page)
    assert "SMTPRecipientsRefused" in text(page) and "no such mailbox here" in text(page)
    assert client.post(f"/api/outbox/{mail_id}/retry", headers=as_role("admin")).status_code == 200
    # Tried again once: a second time it is queued, not failed.
    again = client.post(f"/api/outbox/{mail_id}/retry", headers=as_role("admin"))
    assert again.status_code == 409
    assert again.json()["detail"] == (
        f"mail {mail_id} is queued: only a failed mail can be tried again"
    )
    refused = client.post(f"/outbox/{mail_id}/retry", data={"csrf_token": csrf})
    assert refused.status_code == 409
    with transaction(sessions) as session:
        row = session.get_one(OutboxMail, mail_id)
        assert (row.status, row.attempts) == ("queued", 0)
    inbox.refuse.clear()
    assert deliver_due(sessions, server, SENDER) == (1, 0)
    assert [m["To"] for m in inbox.arrived] == ["gone@lmc.example"]
    logged = client.get("/api/audit?action=outbox.retry", headers=as_role("admin")).json()
    assert [(e["entity_id"], e["user"]) for e in logged] == [(str(mail_id), "admin")]


def test_the_page_tries_a_failed_mail_again(
    app: FastAPI, client: TestClient, queued: list[Queued]
) -> None:
    failed = next(q for q in queued if q.status == "failed")
    sent = next(q for q in queued if q.status == "sent")
    csrf = sign_in(client, "admin")
    assert "Try again" in client.get(f"/outbox/{failed.id}").text
    assert "Try again" not in client.get(f"/outbox/{sent.id}").text
    answer = client.post(
        f"/outbox/{failed.id}/retry", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert answer.headers["location"] == f"/outbox/{failed.id}?notice=retried"
    assert f"Mail {failed.id} is queued again" in text(client.get(answer.headers["location"]).text)
    assert _statuses(app.state.sessions)[failed.id] == "queued"
    assert client.post(f"/outbox/{sent.id}/retry", data={"csrf_token": csrf}).status_code == 409
    assert _statuses(app.state.sessions)[sent.id] == "sent"


def test_the_mail_page_shows_headers_text_and_attachment(
    client: TestClient, queued: list[Queued]
) -> None:
    mail = next(q for q in queued if q.attachment_name and q.status == "queued")
    sign_in(client, "matcher")
    page = text(client.get(f"/outbox/{mail.id}").text)
    for shown in (f"From {SENDER}", f"To {mail.recipient}", f"Subject {mail.subject}"):
        assert shown in page
    assert "Dear colleague" in page and "meet your mentor." in page
    attachment = client.get(f"/outbox/{mail.id}/attachment")
    assert attachment.text == ICS
    assert attachment.headers["content-type"] == "text/calendar; charset=utf-8"
    assert attachment.headers["content-disposition"] == 'attachment; filename="first-meeting.ics"'
    plain = next(q for q in queued if not q.attachment_name)
    assert client.get(f"/outbox/{plain.id}/attachment").status_code == 404


OUTBOX_PAGES = [
    ("GET", "/outbox"),
    ("GET", "/outbox/1"),
    ("GET", "/outbox/1/attachment"),
    ("POST", "/outbox/1/retry"),
    ("GET", "/outbox/download.zip"),
    ("GET", "/outbox/mail-merge.csv"),
    ("POST", "/outbox/sent-by-hand"),
    ("GET", "/mail-templates"),
    ("GET", "/mail-templates/sign_in_link"),
    ("POST", "/mail-templates/sign_in_link"),
    ("GET", "/mail-templates/sign_in_link/reset"),
    ("POST", "/mail-templates/sign_in_link/reset"),
]
OUTBOX_API = [
    ("GET", "/api/outbox"),
    ("GET", "/api/outbox/1"),
    ("POST", "/api/outbox/1/retry"),
    ("PATCH", "/api/outbox"),
    ("GET", "/api/outbox.zip"),
    ("GET", "/api/outbox.csv"),
    ("GET", "/api/mail-templates"),
    ("GET", "/api/mail-templates/sign_in_link"),
    ("PUT", "/api/mail-templates/sign_in_link"),
    ("DELETE", "/api/mail-templates/sign_in_link"),
    ("POST", "/api/mail-templates/sign_in_link/preview"),
]


def test_every_route_is_listed_here(app: FastAPI) -> None:
    paths = {
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if route.path and route.methods
        for method in route.methods - {"HEAD"}
        if route.path.startswith(("/outbox", "/mail-templates", "/api/outbox", "/api/mail-"))
    }
    listed = {(m, re.sub(r"/1\b", "/{mail_id}", p)) for m, p in OUTBOX_PAGES + OUTBOX_API}
    listed = {(m, p.replace("sign_in_link", "{kind}")) for m, p in listed}
    assert paths == listed


@pytest.mark.parametrize("role", ["analyst", "organiser"])
def test_analysts_and_organisers_are_refused_everywhere(
    client: TestClient, as_role: Headers, queued: list[Queued], role: str
) -> None:
    for method, path in OUTBOX_API:
        body = {"subject": "s", "body": "b"} if method in ("PUT", "POST") else None
        body = {"ids": [1], "status": "sent"} if method == "PATCH" else body
        answer = client.request(method, path, headers=as_role(role), json=body)
        assert answer.status_code == 403, (method, path, answer.text)
    csrf = sign_in(client, role)
    assert "/outbox" not in client.get("/rounds").text  # not in their navigation
    for method, path in OUTBOX_PAGES:
        data = {"csrf_token": csrf} if method == "POST" else None
        answer = client.request(method, path, data=data)
        assert answer.status_code == 403, (method, path)
    assert Counter(_statuses_after(client, as_role)) == {"queued": 41, "sent": 11, "failed": 7}


def _statuses_after(client: TestClient, as_role: Headers) -> list[str]:
    listed = client.get("/api/outbox?limit=500", headers=as_role("admin")).json()
    return [m["status"] for m in listed["mails"]]
