"""The outbox against a real SMTP server on the loopback (aiosmtpd): what arrives is what was
queued, with its calendar attachment; a server that is down loses nothing and the mail goes
once it is back; two senders at once send each mail once; a mail refused every time fails
after its tries with the reason kept; without SMTP the queued mails download as .eml."""

from __future__ import annotations

import email
import io
import threading
import time
import zipfile
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from test_server_smoke import free_port

from service.app import create_app
from service.config import ServiceSettings
from service.db import make_engine, session_factory, transaction, upgrade
from service.models import OutboxMail
from service.outbox import MOST_TRIES, deliver_due, eml_archive, queue_mail
from service.smtp_address import SmtpServer

SENDER = "matching@lmc.example"
ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


class Inbox:
    """An aiosmtpd handler keeping what arrives; refuses recipients in ``refuse``."""

    def __init__(self) -> None:
        self.arrived: list[Message] = []
        self.refuse: set[str] = set()
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: SMTP, session: SmtpSession, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        with self.lock:
            self.arrived.append(email.message_from_bytes(envelope.content))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@pytest.fixture
def sessions(settings: ServiceSettings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, SmtpServer]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, SmtpServer.from_url(f"smtp://127.0.0.1:{port}")
    finally:
        controller.stop()


def _queue(sessions: sessionmaker[Session], count: int, **extra: Any) -> list[int]:
    with transaction(sessions) as session:
        return [
            queue_mail(
                session,
                kind="introduction",
                recipient=f"person{n}@nhs.example",
                subject=f"Your mentoring match {n}",
                body=f"Dear colleague {n},\nmeet your mentor.\n",
                about=f"match:{n}",
                **extra,
            ).id
            for n in range(count)
        ]


def _rows(sessions: sessionmaker[Session]) -> list[OutboxMail]:
    with transaction(sessions) as session:
        return list(session.query(OutboxMail).order_by(OutboxMail.id))


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode().replace("\r\n", "\n")


def _due_now(sessions: sessionmaker[Session]) -> None:
    """As if every pause had passed."""
    with transaction(sessions) as session:
        session.execute(update(OutboxMail).values(next_attempt_at=OutboxMail.created_at))


def test_what_arrives_is_what_was_queued(
    sessions: sessionmaker[Session], smtp: tuple[Inbox, SmtpServer]
) -> None:
    inbox, server = smtp
    _queue(sessions, 2, attachment=("first-meeting.ics", ICS))
    assert deliver_due(sessions, server, SENDER) == (2, 0)
    assert sorted(m["To"] for m in inbox.arrived) == ["person0@nhs.example", "person1@nhs.example"]
    first = next(m for m in inbox.arrived if m["To"] == "person0@nhs.example")
    assert (first["From"], first["Subject"]) == (SENDER, "Your mentoring match 0")
    parts = list(first.walk())
    text = next(p for p in parts if p.get_content_type() == "text/plain")
    assert _text(text) == "Dear colleague 0,\nmeet your mentor.\n"  # lines end in CRLF on the wire
    invite = next(p for p in parts if p.get_content_type() == "text/calendar")
    assert invite.get_filename() == "first-meeting.ics"
    assert invite.get_param("method") == "REQUEST"
    assert _text(invite) == ICS.replace("\r\n", "\n")
    assert [(r.status, r.attempts, r.last_error) for r in _rows(sessions)] == [
        ("sent", 1, None),
        ("sent", 1, None),
    ]
    assert deliver_due(sessions, server, SENDER) == (0, 0)  # nothing is sent twice
    assert len(inbox.arrived) == 2


def test_a_server_that_is_down_loses_nothing(
    sessions: sessionmaker[Session], smtp: tuple[Inbox, SmtpServer]
) -> None:
    inbox, server = smtp
    _queue(sessions, 3)
    nobody = SmtpServer.from_url(f"smtp://127.0.0.1:{free_port()}")  # nothing listens there
    assert deliver_due(sessions, nobody, SENDER) == (0, 3)
    rows = _rows(sessions)
    assert {(r.status, r.attempts) for r in rows} == {("queued", 1)}
    assert all(r.last_error and r.last_error.startswith("ConnectionRefusedError") for r in rows)
    assert deliver_due(sessions, server, SENDER) == (0, 0)  # still pausing
    _due_now(sessions)
    assert deliver_due(sessions, server, SENDER) == (3, 0)
    assert len(inbox.arrived) == 3
    assert {(r.status, r.attempts) for r in _rows(sessions)} == {("sent", 2)}


def test_two_senders_at_once_send_each_mail_once(
    sessions: sessionmaker[Session], smtp: tuple[Inbox, SmtpServer]
) -> None:
    inbox, server = smtp
    _queue(sessions, 40)
    results: list[tuple[int, int]] = []
    start = threading.Barrier(2)

    def send() -> None:
        start.wait()
        results.append(deliver_due(sessions, server, SENDER))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(sent for sent, _ in results) == 40
    assert sorted(m["To"] for m in inbox.arrived) == sorted(
        f"person{n}@nhs.example" for n in range(40)
    )


def test_a_refused_mail_fails_after_its_tries_with_the_reason(
    sessions: sessionmaker[Session], smtp: tuple[Inbox, SmtpServer]
) -> None:
    inbox, server = smtp
    inbox.refuse.add("person1@nhs.example")
    _queue(sessions, 2)
    for _ in range(MOST_TRIES):
        deliver_due(sessions, server, SENDER)
        _due_now(sessions)
    kept, refused = _rows(sessions)
    assert (kept.status, kept.attempts) == ("sent", 1)
    assert (refused.status, refused.attempts) == ("failed", MOST_TRIES)
    assert refused.last_error is not None and "550" in refused.last_error
    assert deliver_due(sessions, server, SENDER) == (0, 0)  # a failed mail is left alone
    assert [m["To"] for m in inbox.arrived] == ["person0@nhs.example"]


def test_without_smtp_the_queued_mails_download_as_eml(sessions: sessionmaker[Session]) -> None:
    _queue(sessions, 2, attachment=("first-meeting.ics", ICS))
    with transaction(sessions) as session:
        archive = zipfile.ZipFile(io.BytesIO(eml_archive(session, SENDER)))
    ids = [r.id for r in _rows(sessions)]
    assert archive.namelist() == [f"mail-{i:06d}.eml" for i in ids]
    first = email.message_from_bytes(archive.read(archive.namelist()[0]))
    assert (first["To"], first["Subject"]) == ("person0@nhs.example", "Your mentoring match 0")
    assert any(p.get_filename() == "first-meeting.ics" for p in first.walk())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", ("smtp", "mail.example", 25, None, None)),
        (
            "smtp+starttls://me%40x:p%2Fw@mail.example:2525",
            ("smtp+starttls", "mail.example", 2525, "me@x", "p/w"),
        ),
        ("smtps://mail.example", ("smtps", "mail.example", 465, None, None)),
    ],
)
def test_the_smtp_address_is_read_as_written(url: str, expected: tuple[Any, ...]) -> None:
    server = SmtpServer.from_url(url)
    assert (server.scheme, server.host, server.port, server.user, server.password) == expected


def test_an_smtp_address_of_another_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="MATCHER_SMTP_URL must look like smtp://host:25"):
        SmtpServer.from_url("http://mail.example")


def test_the_service_sends_the_outbox_as_it_runs(
    settings: ServiceSettings, smtp: tuple[Inbox, SmtpServer]
) -> None:
    inbox, server = smtp
    url = f"smtp://{server.host}:{server.port}"
    app = create_app(settings.model_copy(update={"smtp_url": url, "mail_interval_seconds": 0.2}))
    with TestClient(app):
        _queue(app.state.sessions, 2)
        deadline = time.monotonic() + 20
        while len(inbox.arrived) < 2:
            assert time.monotonic() < deadline, "the outbox was not sent"
            time.sleep(0.1)
    assert {r.status for r in _rows(app.state.sessions)} == {"sent"}
    assert {m["From"] for m in inbox.arrived} == {"matching@localhost"}


def test_an_unreadable_smtp_setting_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as refused:
        ServiceSettings(smtp_url="smtpx://me:s3cret@mail.example")
    assert "MATCHER_SMTP_URL must look like smtp://host:25" in str(refused.value)
    assert "s3cret" not in str(refused.value)
    assert "s3cret" not in repr(SmtpServer.from_url("smtps://me:s3cret@mail.example"))
