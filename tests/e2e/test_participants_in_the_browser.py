"""A mentor and a mentee in a real browser, from the introduction e-mail to a logged session
and a survey. The service runs as `matcher serve` sending mail to a real SMTP server on the
loopback; each person follows the link in their introduction, asks for a sign-in link, takes
it from the mail that arrives, sees their match, and then: the mentee records the first
meeting and answers the survey it brings; the mentor sends the month's return and answers
theirs. Every page is reviewed (overflow on a phone, unnamed controls, axe-core's WCAG A and
AA rules)."""

from __future__ import annotations

import email
import re
import threading
import time
from collections.abc import Iterator
from csv import DictReader
from datetime import date
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from playwright.sync_api import Browser, Page, expect
from served import Service, free_port, serving
from test_browser import SAMPLE, _context, _open_from_nav, _review, _signed_in
from test_sessions_in_the_browser import _approved_matches

MAIL_TIMEOUT = 30.0


class Inbox:
    """What the SMTP server on the loopback received."""

    def __init__(self) -> None:
        self.arrived: list[Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        with self.lock:
            self.arrived.append(email.message_from_bytes(envelope.content))  # type: ignore[arg-type]
        return "250 OK"

    def wait_for(self, to: str, subject: str) -> str:
        """The text of the newest mail to ``to`` whose subject holds ``subject``."""
        deadline = time.monotonic() + MAIL_TIMEOUT
        while time.monotonic() < deadline:
            with self.lock:
                found = [m for m in self.arrived if m["To"] == to and subject in m["Subject"]]
            if found:
                return _text(found[-1])
            time.sleep(0.2)
        raise AssertionError(f"no mail to {to} about {subject!r} within {MAIL_TIMEOUT} s")


def _text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode().replace("\r\n", "\n")
    raise AssertionError("no text part")


@pytest.fixture(scope="module")
def mailing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Inbox]]:
    """`matcher serve` sending its outbox to an SMTP server on the loopback."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with serving(
            tmp_path_factory.mktemp("e2e-mail"),
            MATCHER_SMTP_URL=f"smtp://127.0.0.1:{controller.port}",
            MATCHER_MAIL_INTERVAL_SECONDS="0.5",
            MATCHER_MAIL_FROM="matching@lmc.example",
        ) as service:
            yield service, inbox
    finally:
        controller.stop()


def _approved_match(service: Service) -> dict[str, Any]:
    """The sample imported, a round run and approved through the API; its first match."""
    match: dict[str, Any] = _approved_matches(service)[0]
    return match


def _sample_row(side: str, person_id: str) -> dict[str, str]:
    """The person's row in the sample the service imported."""
    with (SAMPLE / f"{side}s.csv").open(encoding="utf-8-sig") as handle:
        return next(r for r in DictReader(handle) if r[f"{side}_id"] == person_id)


def _sign_in_from_introduction(
    page: Page, inbox: Inbox, address: str, subject: str, findings: list[str]
) -> None:
    """Follow the introduction's link, ask for a sign-in link, follow the one that arrives."""
    introduction = inbox.wait_for(address, subject)
    found = re.search(r"(http://\S+/me/sign-in)", introduction)
    assert found, introduction
    page.goto(found.group(1))
    expect(page.get_by_role("heading", name="Sign in: mentors and mentees")).to_be_visible()
    _review(page, "participant sign-in", findings, None)
    page.get_by_label("Your e-mail address").fill(address)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("status")).to_contain_text("a link to sign in is on its way")
    link = re.search(r"(http://\S+/me/link\?token=\S+)", inbox.wait_for(address, "sign in"))
    assert link, "no link in the sign-in mail"
    page.goto(link.group(1))
    _review(page, "participant link", findings, None)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _answer_survey(page: Page, findings: list[str], name: str) -> None:
    page.get_by_role("link", name="My surveys", exact=True).click()
    page.locator("main a[href^='/me/surveys/']").first.click()
    _review(page, f"{name} survey", findings, None)
    for question, rating in (
        ("How was it overall?", "5 (excellent)"),
        ("How well are you matched?", "4"),
        ("How useful has the mentoring been?", "4"),
    ):
        page.get_by_role("group", name=question).get_by_label(rating, exact=True).check()
    page.get_by_label("Comment (optional)").fill("A good start.")
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("status")).to_have_text("Thank you: your answers are saved.")
    _review(page, f"{name} surveys answered", findings, None)


def test_from_introduction_to_a_logged_session_and_a_survey(
    browser: Browser, mailing: tuple[Service, Inbox], screenshots: Path | None
) -> None:
    service, inbox = mailing
    errors: list[str] = []
    findings: list[str] = []
    match = _approved_match(service)
    today = date.today()
    mentee_row = _sample_row("mentee", match["mentee_id"])
    mentor_row = _sample_row("mentor", match["mentor_id"])
    mentee_address, mentor_address = mentee_row["email"], mentor_row["email"]

    # The mentee: introduced, signed in, sees the mentor, records the first meeting.
    mentee = _context(browser, errors)
    page = mentee.new_page()
    _sign_in_from_introduction(page, inbox, mentee_address, "Your GP mentoring mentor", findings)
    card = page.locator(f"#match-{match['id']}")
    expect(card).to_contain_text(mentor_row["name"])
    expect(card).to_contain_text(mentor_address)
    _review(page, "mentee's page", findings, screenshots, phone_shot="me-phone")
    card.get_by_label("Our first meeting was held on").fill(today.isoformat())
    card.get_by_role("button", name="Record the first meeting").click()
    expect(page.get_by_role("status")).to_have_text("Thank you: the first meeting is recorded.")
    inbox.wait_for(mentee_address, "How is your GP mentoring going?")
    _answer_survey(page, findings, "mentee")
    mentee.close()

    # The mentor: introduced, signed in, sends this month's return, answers the survey.
    mentor = _context(browser, errors)
    page = mentor.new_page()
    _sign_in_from_introduction(page, inbox, mentor_address, "Your GP mentoring mentee", findings)
    expect(page.locator(f"#match-{match['id']}")).to_contain_text(mentee_row["name"])
    page.get_by_role("link", name="Monthly return", exact=True).click()
    page.get_by_label("Month", exact=True).fill(f"{today:%Y-%m}")
    page.get_by_role("button", name="Show this month").click()
    group = page.locator(f"#match-{match['id']}")
    group.get_by_label("Session 1: date").fill(today.isoformat())
    group.get_by_label("Minutes of session 1").fill("45")
    _review(page, "mentor's return", findings, screenshots)
    page.get_by_role("button", name="Send this return").click()
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^1 session logged for 1 mentee"))
    _review(page, "mentor's return sent", findings, None)
    _answer_survey(page, findings, "mentor")
    mentor.close()

    # Staff: what was sent, the wording, returns outstanding, the answers and the figures.
    staff, page = _signed_in(browser, service, "boss", errors)
    _open_from_nav(page, "Outbox")
    expect(page.locator("tbody tr").first).to_be_visible()
    _review(page, "outbox", findings, screenshots)
    page.locator("main a[href^='/outbox/']").filter(has_text=re.compile(r"^\d+$")).first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    _review(page, "a mail", findings, None)
    _open_from_nav(page, "Mail wording")
    _review(page, "mail wording", findings, None)
    page.get_by_role("link", name="Monthly return reminder").click()
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("Dear Dr Tom Reid")).to_be_visible()
    _review(page, "a mail's wording, previewed", findings, None)
    page.goto(f"{service.url}/returns?month={today:%Y-%m}")
    expect(page.get_by_role("heading", name="Monthly returns outstanding")).to_be_visible()
    _review(page, "returns outstanding", findings, None)
    page.goto(f"{service.url}/matches/{match['id']}/surveys")
    expect(page.get_by_text("A good start.").first).to_be_visible()
    _review(page, "a match's surveys", findings, None)
    page.goto(f"{service.url}/reports/experience?by=round")
    expect(page.get_by_role("heading", name="Participants’ scheme experience")).to_be_visible()
    _review(page, "experience figures", findings, None)
    staff.close()

    with service.api("officer") as api:
        logged = api.get("/api/sessions").json()
        assert [(s["match_id"], s["held_on"], s["minutes"]) for s in logged] == [
            (match["id"], today.isoformat(), 45)
        ]
        assert api.get(f"/api/matches/{match['id']}").json()["status"] == "registered"
    assert findings == [], "\n".join(findings)
    assert errors == []
