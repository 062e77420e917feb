"""Editing the wording of the scheme's mails: a wording that does not render with its kind's
example fields is refused with where and why and nothing stored, through the API and the
page; a saved wording is what a real approval's introductions then say, and going back to
the default wording restores it; the matches page leads to each match's mails."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from page_reading import cells, error_of, sign_in, text
from scheme import run_round
from sqlalchemy import select

from matcher.data import ProblemData
from service.db import transaction
from service.mail_templates import KINDS, SUBJECT_MOST, check_template, render
from service.models import AuditEntry, MailTemplate, Match, OutboxMail

Headers = Callable[[str], dict[str, str]]
LINK_FIELDS = "name, link, minutes"


def test_every_default_wording_passes_its_own_check() -> None:
    for kind, mail in KINDS.items():
        assert check_template(kind, mail.subject, mail.body) == [], kind


def test_a_subject_is_cut_to_the_outbox_column_whatever_its_fields_hold() -> None:
    # A wording checked with the examples may meet longer values in a real mail.
    assert render("Re: {{ needs }}", "x", {"needs": "a" * 400}) == ("Re: " + "a" * 296, "x")
    assert SUBJECT_MOST == 300


@pytest.mark.parametrize(
    ("kind", "subject", "body", "problems"),
    [
        # A brace too few on line 3 of the text.
        (
            "sign_in_link",
            "Your link",
            "Dear {{ name }},\n\n{{ link }\n",
            ["body: line 3: unexpected '}'"],
        ),
        (
            "sign_in_link",
            "Your link",
            "Dear {{ first_name }},\n\n{{ link }}\n",
            [f"body: 'first_name' is undefined: the fields of this mail are {LINK_FIELDS}"],
        ),
        # The link is a credential: not in a subject, which the outbox pages show; and a
        # sign-in mail without it is no use.
        (
            "sign_in_link",
            "Sign in at {{ link }}",
            "Dear {{ name }},\n",
            [
                "subject: must not use link: subjects are shown on the outbox pages",
                "body: must use link (the one-time link)",
            ],
        ),
        # "Dr Asha Patel" is 13 characters: 30 times is 390.
        (
            "introduction_to_mentee",
            "{{ name * 30 }}",
            "Dear {{ name }}",
            ["subject: is 390 characters with the example fields: at most 300"],
        ),
        (
            "return_reminder",
            "{% if false %}Reminder{% endif %}",
            "{{ month }}",
            ["subject: must not be empty once its fields are filled in"],
        ),
        (
            "application_received",
            "Thanks",
            "{{ reference + 1 }}",
            ['body: TypeError: can only concatenate str (not "int") to str'],
        ),
        # Memory bombs the plain sandbox would run: a gigabyte of text.
        (
            "return_reminder",
            "Hi",
            "{{ month * 100000 }}",
            ["body: a repeated text may be at most 10,000 characters long"],
        ),
        (
            "return_reminder",
            "Hi",
            '{{ "a" * 10 ** 9 }}',
            ["body: powers (**) are not allowed in mail templates"],
        ),
    ],
)
def test_a_wording_that_does_not_render_is_refused_and_nothing_stored(
    app: FastAPI,
    client: TestClient,
    as_role: Headers,
    kind: str,
    subject: str,
    body: str,
    problems: list[str],
) -> None:
    staff = as_role("matcher")
    sent = {"subject": subject, "body": body}
    answer = client.put(f"/api/mail-templates/{kind}", json=sent, headers=staff)
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": "the template was not saved: " + "; ".join(problems),
        "problems": problems,
    }
    preview = client.post(f"/api/mail-templates/{kind}/preview", json=sent, headers=staff)
    assert preview.json()["problems"] == problems
    with transaction(app.state.sessions) as session:
        assert session.scalars(select(MailTemplate)).all() == []
        assert (
            session.scalars(
                select(AuditEntry.action).where(AuditEntry.entity == "mail_template")
            ).all()
            == []
        )
    shown = client.get(f"/api/mail-templates/{kind}", headers=staff).json()
    assert (shown["edited"], shown["subject"], shown["body"]) == (
        False,
        KINDS[kind].subject,
        KINDS[kind].body,
    )


def test_the_api_previews_saves_and_resets(client: TestClient, as_role: Headers) -> None:
    staff = as_role("admin")
    sent = {"subject": "Sign in, {{ name }}", "body": "{{ link }} ({{ minutes }} minutes)\n"}
    preview = client.post("/api/mail-templates/sign_in_link/preview", json=sent, headers=staff)
    assert preview.json() == {
        "subject": "Sign in, Dr Asha Patel",
        "body": "https://example.org/me/link/abc (30 minutes)\n",
        "problems": [],
    }
    saved = client.put("/api/mail-templates/sign_in_link", json=sent, headers=staff).json()
    assert (saved["subject"], saved["body"], saved["edited"], saved["updated_by"]) == (
        sent["subject"],
        sent["body"],
        True,
        "admin",
    )
    assert [f["name"] for f in saved["fields"]] == ["name", "link", "minutes"]
    listed = {t["kind"]: t for t in client.get("/api/mail-templates", headers=staff).json()}
    assert list(listed) == list(KINDS)
    assert [k for k, t in listed.items() if t["edited"]] == ["sign_in_link"]
    # A subject with a line break never reaches the check: the request model refuses it.
    broken = {**sent, "subject": "Two\nlines"}
    assert (
        client.put("/api/mail-templates/sign_in_link", json=broken, headers=staff).status_code
        == 422
    )
    reset = client.delete("/api/mail-templates/sign_in_link", headers=staff).json()
    assert (reset["edited"], reset["subject"]) == (False, KINDS["sign_in_link"].subject)
    assert client.get("/api/mail-templates/nothing", headers=staff).status_code == 404
    logged = client.get("/api/audit", headers=staff).json()
    edits = [
        (e["action"], e["entity_id"], e["detail"]) for e in logged if e["entity"] == "mail_template"
    ]
    assert edits == [
        ("mail_templates.reset", "sign_in_link", {}),
        ("mail_templates.edit", "sign_in_link", {}),
    ]


def test_the_page_shows_problems_next_to_their_field_and_saves_and_resets(
    app: FastAPI, client: TestClient, tokens: dict[str, str]
) -> None:
    csrf = sign_in(client, "matcher")
    form = {"csrf_token": csrf, "subject": "Your link", "action": "save"}
    refused = client.post(
        "/mail-templates/sign_in_link",
        data={**form, "body": "Dear {{ name }},\r\n\r\n{{ link }\r\n"},
    )
    assert refused.status_code == 422
    assert error_of(refused.text, "mt_body") == "Error: Line 3: unexpected '}'"
    assert "Nothing was saved" in text(refused.text)
    unknown = client.post(
        "/mail-templates/sign_in_link",
        data={**form, "action": "preview", "body": "Dear {{ first_name }}, {{ link }}"},
    )
    assert unknown.status_code == 422
    assert error_of(unknown.text, "mt_body") == (
        f"Error: 'first_name' is undefined: the fields of this mail are {LINK_FIELDS}"
    )
    with transaction(app.state.sessions) as session:
        assert session.scalars(select(MailTemplate)).all() == []

    body = "Dear {{ name }},\r\n\r\nSign in here: {{ link }}\r\n"
    previewed = client.post(
        "/mail-templates/sign_in_link", data={**form, "action": "preview", "body": body}
    )
    assert previewed.status_code == 200
    assert "Subject: Your link" in text(previewed.text)
    assert "Sign in here: https://example.org/me/link/abc" in text(previewed.text)
    with transaction(app.state.sessions) as session:
        assert session.scalars(select(MailTemplate)).all() == []  # a preview stores nothing

    saved = client.post(
        "/mail-templates/sign_in_link", data={**form, "body": body}, follow_redirects=False
    )
    assert saved.headers["location"] == "/mail-templates/sign_in_link?notice=saved"
    with transaction(app.state.sessions) as session:
        row = session.get_one(MailTemplate, "sign_in_link")
        assert (row.subject, row.body) == (
            "Your link",
            "Dear {{ name }},\n\nSign in here: {{ link }}\n",
        )
    listing = client.get("/mail-templates").text
    assert cells(listing, "kind-sign_in_link", "t[hd]")[2] == (
        f"Edited by matcher on {date.today().isoformat()}"
    )
    confirm = client.get("/mail-templates/sign_in_link/reset").text
    assert "Use the default wording" in confirm
    client.post("/mail-templates/sign_in_link/reset", data={"csrf_token": csrf})
    with transaction(app.state.sessions) as session:
        assert session.get(MailTemplate, "sign_in_link") is None
    page = text(client.get("/mail-templates/sign_in_link").text)
    assert "The service's default wording." in page
    listing = client.get("/mail-templates").text
    assert cells(listing, "kind-sign_in_link", "t[hd]")[2] == "Default"
    assert client.get("/mail-templates/no_such_kind").status_code == 404


def _approve(client: TestClient, staff: dict[str, str], round_id: int | None = None) -> int:
    if round_id is None:
        made = client.post("/api/rounds", json={"name": "words", "time_limit": 10}, headers=staff)
        round_id = int(made.json()["id"])
        assert run_round(client, round_id, staff)["status"] == "done"
    answer = client.post(f"/api/rounds/{round_id}/approve", headers=staff)
    assert answer.status_code == 200, answer.text
    return round_id


def _mentor_mails(app: FastAPI) -> list[tuple[Match, OutboxMail]]:
    with transaction(app.state.sessions) as session:
        matches = {f"match:{m.id}": m for m in session.scalars(select(Match))}
        mails = session.scalars(
            select(OutboxMail).where(OutboxMail.kind == "introduction_to_mentor")
        ).all()
        return [(matches[mail.about], mail) for mail in mails]


def test_a_saved_wording_is_what_introductions_say_until_reset(
    app: FastAPI, client: TestClient, as_role: Headers, lmc: ProblemData
) -> None:
    staff = as_role("matcher")
    wording = {
        "subject": "Meet {{ other_name }}, your mentee",
        "body": "Hello {{ name }},\n\nyour mentee is {{ other_name }} <{{ other_email }}>.\n",
    }
    assert (
        client.put(
            "/api/mail-templates/introduction_to_mentor", json=wording, headers=staff
        ).status_code
        == 200
    )
    round_id = _approve(client, staff)
    mentors = {m.mentor_id: m for m in lmc.mentors}
    mentees = {m.mentee_id: m for m in lmc.mentees}
    sent = _mentor_mails(app)
    assert len(sent) > 0
    for match, mail in sent:
        mentor, mentee = mentors[match.mentor_id], mentees[match.mentee_id]
        assert mail.recipient == mentor.email
        assert mail.subject == f"Meet {mentee.name}, your mentee"
        assert (
            mail.body == f"Hello {mentor.name},\n\nyour mentee is {mentee.name} <{mentee.email}>.\n"
        )
    with transaction(app.state.sessions) as session:  # the other kind keeps its default
        to_mentees = session.scalars(
            select(OutboxMail.subject).where(OutboxMail.kind == "introduction_to_mentee")
        ).all()
    assert to_mentees and all(s.startswith("Your GP mentoring mentor: ") for s in to_mentees)

    _the_matches_page_leads_to_each_match_s_mails(app, client, sent[0][0])

    assert (
        client.delete("/api/mail-templates/introduction_to_mentor", headers=staff).json()["edited"]
        is False
    )
    assert client.post(f"/api/rounds/{round_id}/unapprove", headers=staff).status_code == 200
    _approve(client, staff, round_id)
    again = _mentor_mails(app)
    assert len(again) == len(sent)
    for match, mail in again:
        mentor, mentee = mentors[match.mentor_id], mentees[match.mentee_id]
        assert mail.subject == f"Your GP mentoring mentee: {mentee.name}"
        assert mail.body.startswith(
            f"Dear {mentor.name},\n\nYour mentee in the GP mentoring scheme is "
        )


def _the_matches_page_leads_to_each_match_s_mails(
    app: FastAPI, client: TestClient, match: Any
) -> None:
    sign_in(client, "matcher")
    page = client.get(f"/matches?q={match.mentee_id}").text
    row = re.search(rf'<tr id="match-{match.id}">(.*?)</tr>', page, re.S)
    assert row, page
    link = re.search(r'<a href="(/outbox\?q=[^"]+)" aria-label="Mails about match (\d+)">', row[1])
    assert link and link[2] == str(match.id)
    listed = client.get(link[1]).text
    with transaction(app.state.sessions) as session:
        expected = session.scalars(
            select(OutboxMail.id)
            .where(OutboxMail.about == f"match:{match.id}")
            .order_by(OutboxMail.id.desc())
        ).all()
    assert len(expected) == 2  # to the mentor and to the mentee
    assert [int(n) for n in re.findall(r'<tr id="mail-(\d+)">', listed)] == list(expected)
