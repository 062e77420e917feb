"""The wording of every mail the service sends, as templates the scheme may edit.

Each kind of mail has a default subject and text here, the names it may use (``fields``,
each with an example), and may be replaced by the scheme's own wording (``mail_templates``
table). Templates are Jinja2 text run in a sandbox with undefined names refused, so a
template that names a field the mail does not have is refused when it is saved, not when a
mail is sent (``check_template``, ``save_template``). Mails are plain text: nothing is escaped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateError, TemplateSyntaxError, UndefinedError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service import audit
from service.db import utcnow
from service.errors import NotFound
from service.mail_sandbox import mail_environment
from service.models import MailTemplate, User

log = logging.getLogger(__name__)
_env = mail_environment()


@lru_cache(maxsize=64)
def _compiled(source: str) -> Template:
    """A template compiled once: an approval at national size renders 8,000 mails."""
    return _env.from_string(source)


SIGN_OFF = "With best wishes,\nThe GP mentoring scheme\n"
SUBJECT_MOST = 300  # the outbox's and the templates' subject column
BODY_MOST = 20_000


@dataclass(frozen=True)
class MailKind:
    """One kind of mail: what it is for, its default wording and the fields it may use."""

    kind: str
    label: str
    subject: str
    body: str
    fields: Mapping[str, tuple[str, str]]  # name -> (what it is, an example)

    @property
    def example(self) -> dict[str, str]:
        return {name: sample for name, (_meaning, sample) in self.fields.items()}


_INTRODUCTION_FIELDS = {
    "name": ("the recipient's name", "Dr Asha Patel"),
    "other_name": ("the other person's name", "Dr Tom Reid"),
    "other_email": ("the other person's e-mail address", "tom.reid@example.nhs.uk"),
    "needs": ("the needs they share, in words", "Leadership, Wellbeing"),
    "slots": ("weekly times both are free", "Tuesday evening, Thursday morning"),
    "modes": ("ways both can meet", "Virtual"),
    "first_meeting": (
        "the proposed first meeting, or empty",
        "Tuesday 08 December 2026 at 18:30",
    ),
    "sign_in_url": ("where they sign in to the scheme's pages", "https://example.org/me/sign-in"),
}
_INTRODUCTION_BODY = (
    """Dear {{ name }},

Your {{ role }} in the GP mentoring scheme is {{ other_name }}{% if other_email %} ({{ other_email }}){% endif %}.

Needs you share: {{ needs or "none recorded" }}.
Weekly times you are both free: {{ slots or "none recorded: agree a time between you" }}.
Ways you can both meet: {{ modes or "none recorded" }}.

{% if first_meeting %}We suggest a first meeting on {{ first_meeting }} (the invitation is attached); change it between you as you need.{% else %}Please agree a first meeting between you.{% endif %}

You can see your match, keep your details up to date and tell us how it is going at
{{ sign_in_url }}

"""
    + SIGN_OFF
)

KINDS: dict[str, MailKind] = {
    kind.kind: kind
    for kind in (
        MailKind(
            "introduction_to_mentee",
            "Introduction, to the mentee",
            "Your GP mentoring mentor: {{ other_name }}",
            _INTRODUCTION_BODY.replace("{{ role }}", "mentor"),
            _INTRODUCTION_FIELDS,
        ),
        MailKind(
            "introduction_to_mentor",
            "Introduction, to the mentor",
            "Your GP mentoring mentee: {{ other_name }}",
            _INTRODUCTION_BODY.replace("{{ role }}", "mentee"),
            _INTRODUCTION_FIELDS,
        ),
        MailKind(
            "sign_in_link",
            "Sign-in link",
            "Your link to sign in to the GP mentoring scheme",
            "Dear {{ name }},\n\nFollow this link to sign in:\n\n{{ link }}\n\n"
            "It works once, within {{ minutes }} minutes. If you did not ask for it, "
            "you need do nothing.\n\n" + SIGN_OFF,
            {
                "name": ("the recipient's name", "Dr Asha Patel"),
                "link": ("the one-time link", "https://example.org/me/link/abc"),
                "minutes": ("how long the link works", "30"),
            },
        ),
        MailKind(
            "return_reminder",
            "Monthly return reminder",
            "Your mentoring return for {{ month }}",
            "Dear {{ name }},\n\nPlease send your mentoring return for {{ month }}: the "
            "sessions you held with each mentee, or that you held none. It takes a minute "
            "at\n\n{{ return_url }}\n\n" + SIGN_OFF,
            {
                "name": ("the mentor's name", "Dr Tom Reid"),
                "month": ("the month, in words", "November 2026"),
                "return_url": ("the return page", "https://example.org/me/return"),
            },
        ),
        MailKind(
            "survey_invitation",
            "Feedback survey",
            "How is your GP mentoring going?",
            "Dear {{ name }},\n\nNow that {{ stage }}, please tell us how it went: three "
            "ratings and a comment if you wish, at\n\n{{ survey_url }}\n\n"
            "Your answers help the scheme; your comment is read only by the scheme's staff.\n\n"
            + SIGN_OFF,
            {
                "name": ("the recipient's name", "Dr Asha Patel"),
                "stage": (
                    "when, in words",
                    "your first meeting with Dr Tom Reid has been held",
                ),
                "survey_url": ("the survey page", "https://example.org/me/surveys/1"),
            },
        ),
        MailKind(
            "application_received",
            "Application received",
            "We have your application to be a GP mentor",
            "Dear {{ name }},\n\nThank you for applying to be a mentor in the GP mentoring "
            "scheme. Your reference is {{ reference }}. We will write again when your "
            "application has been decided.\n\n" + SIGN_OFF,
            {
                "name": ("the applicant's name", "Dr Tom Reid"),
                "reference": ("the application's number", "A-42"),
            },
        ),
        MailKind(
            "application_decision",
            "Application decided",
            "Your application to be a GP mentor",
            "Dear {{ name }},\n\n{% if approved %}Your application {{ reference }} has been "
            "approved: you are on the scheme's register of mentors. We will be in touch about "
            "the mentorship training.{% else %}We are sorry: your application {{ reference }} "
            "has not been approved.{% endif %}{% if reason %}\n\n{{ reason }}{% endif %}\n\n"
            + SIGN_OFF,
            {
                "name": ("the applicant's name", "Dr Tom Reid"),
                "reference": ("the application's number", "A-42"),
                "approved": ("true when approved", "true"),
                "reason": ("the reason staff gave, or empty", ""),
            },
        ),
    )
}


class TemplateProblem(ValueError):
    """A template that cannot be used: the sentence says where and why."""


# What a template's own expressions may raise besides Jinja2's errors.
_RUNTIME = (TypeError, ValueError, ArithmeticError, LookupError)


def mail_kind(kind: str) -> MailKind:
    try:
        return KINDS[kind]
    except KeyError:
        raise KeyError(f"no mail kind {kind!r}") from None


def wording(session: Session, kind: str) -> tuple[str, str]:
    """The subject and text template in use for ``kind``: the scheme's, else the default."""
    own = session.get(MailTemplate, kind)
    if own is not None:
        return own.subject, own.body
    default = mail_kind(kind)
    return default.subject, default.body


def render(subject: str, body: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """The subject (one line) and text; ``TemplateProblem`` names what is wrong."""
    try:
        shown_subject = _compiled(subject).render(context)
        shown_body = _compiled(body).render(context)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"line {exc.lineno}: {exc.message}") from None
    except TemplateError as exc:
        raise TemplateProblem(str(exc.message or type(exc).__name__)) from None
    except _RUNTIME as exc:  # e.g. a sum of a name and a number
        raise TemplateProblem(f"{type(exc).__name__}: {exc}") from None
    # Within the outbox's column whatever the fields hold (long names, many needs).
    return " ".join(shown_subject.split())[:SUBJECT_MOST], shown_body


def compose(session: Session, kind: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """The subject and text of a ``kind`` mail with ``context``, in the scheme's wording; in
    the default wording if the scheme's no longer renders (checked when saved, so only a
    newer version's change of fields can cause this), which is logged: no mail is lost."""
    default = mail_kind(kind)
    subject, body = wording(session, kind)
    try:
        return render(subject, body, context)
    except TemplateProblem as exc:
        log.warning("mail template %s does not render (%s): default wording used", kind, exc)
        return render(default.subject, default.body, context)


# Fields a kind's text must use (a sign-in mail without its link is no use), and fields its
# subject must not: the link is a credential and subjects are shown on the outbox pages.
_NEEDED = {"sign_in_link": ("link",)}
_NOT_IN_SUBJECT = {"sign_in_link": ("link",)}


class TemplateRefused(TemplateProblem):
    """A template not saved: ``problems`` as ``check_template`` gives them."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Preview:
    """A template filled in with its kind's example fields: what renders, and the problems
    by part ("subject" or "body") of what does not."""

    subject: str
    body: str
    problems: dict[str, str]

    @property
    def sentences(self) -> list[str]:
        """The problems as "subject: ..." and "body: ..." sentences."""
        return [f"{part}: {text}" for part, text in self.problems.items()]


@dataclass(frozen=True)
class TemplateState:
    """A kind of mail and the wording in use: the default, or the scheme's own."""

    mail: MailKind
    subject: str
    body: str
    edited_at: datetime | None
    edited_by: str | None  # the staff user's name; None for the default or a removed user

    @property
    def edited(self) -> bool:
        return self.edited_at is not None


def find_kind(kind: str) -> MailKind:
    """``kind``'s definition; NotFound (404) naming the kinds there are."""
    if kind not in KINDS:
        raise NotFound(f"no kind of mail {kind!r}: the kinds are {', '.join(KINDS)}")
    return KINDS[kind]


def _filled(text: str, mail: MailKind) -> str:
    """``text`` rendered with ``mail``'s examples; TemplateProblem says where and why."""
    try:
        return _compiled(text).render(mail.example)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"line {exc.lineno}: {exc.message}") from None
    except UndefinedError as exc:
        raise TemplateProblem(
            f"{exc.message}: the fields of this mail are {', '.join(mail.fields)}"
        ) from None
    except TemplateError as exc:
        raise TemplateProblem(str(exc.message or type(exc).__name__)) from None
    except _RUNTIME as exc:
        raise TemplateProblem(f"{type(exc).__name__}: {exc}") from None


def _limits(subject: str, body: str) -> dict[str, str]:
    found: dict[str, str] = {}
    if "\n" in subject or "\r" in subject:
        found["subject"] = "must be one line"
    elif len(subject) > SUBJECT_MOST:
        found["subject"] = f"at most {SUBJECT_MOST} characters"
    if len(body) > BODY_MOST:
        found["body"] = f"at most {BODY_MOST:,} characters"
    return found


def preview(
    session: Session, kind: str, subject: str | None = None, body: str | None = None
) -> Preview:
    """``subject`` and ``body`` (default: the wording in use) filled in with ``kind``'s
    example fields, and what is wrong with each."""
    mail = find_kind(kind)
    in_use = wording(session, kind)
    return _checked(
        mail, in_use[0] if subject is None else subject, in_use[1] if body is None else body
    )


def check_template(kind: str, subject: str, body: str) -> list[str]:
    """What stops ``subject`` and ``body`` being saved for ``kind``, as "subject: ..." and
    "body: ..." sentences (none: they may be saved). Each is rendered with the kind's example
    fields, undefined names refused; the subject must fill in to one non-empty line."""
    return _checked(find_kind(kind), subject, body).sentences


def _checked(mail: MailKind, subject: str, body: str) -> Preview:
    problems = _limits(subject, body)
    shown: dict[str, str] = {}
    for part, text in (("subject", subject), ("body", body)):
        if part not in problems:
            try:
                shown[part] = _filled(text, mail)
            except TemplateProblem as exc:
                problems[part] = str(exc)
    line = " ".join(shown.get("subject", "").split())
    text = shown.get("body", "")
    if "subject" in shown:
        if not line:
            problems["subject"] = "must not be empty once its fields are filled in"
        elif len(line) > SUBJECT_MOST:
            problems["subject"] = (
                f"is {len(line)} characters with the example fields: at most {SUBJECT_MOST}"
            )
        for name in _NOT_IN_SUBJECT.get(mail.kind, ()):
            if mail.example[name] in line:
                problems.setdefault(
                    "subject", f"must not use {name}: subjects are shown on the outbox pages"
                )
    if "body" in shown:
        if not text.strip():
            problems["body"] = "must not be empty once its fields are filled in"
        for name in _NEEDED.get(mail.kind, ()):
            if mail.example[name] not in text:
                problems.setdefault("body", f"must use {name} ({mail.fields[name][0]})")
    ordered: dict[str, str] = {p: problems[p] for p in ("subject", "body") if p in problems}
    return Preview(line if "subject" in shown else "", text, ordered)


def template_states(session: Session) -> list[TemplateState]:
    """Every kind of mail with the wording in use and who last edited it, in ``KINDS`` order."""
    rows = session.execute(
        select(MailTemplate, User.name).outerjoin(User, User.id == MailTemplate.updated_by)
    ).all()
    own = {row.kind: (row, name) for row, name in rows}
    states = []
    for kind, mail in KINDS.items():
        if kind in own:
            row, name = own[kind]
            states.append(TemplateState(mail, row.subject, row.body, row.updated_at, name))
        else:
            states.append(TemplateState(mail, mail.subject, mail.body, None, None))
    return states


def template_state(session: Session, kind: str) -> TemplateState:
    """One kind's wording in use (NotFound for an unknown kind)."""
    find_kind(kind)
    return next(state for state in template_states(session) if state.mail.kind == kind)


def save_template(session: Session, user: User, kind: str, subject: str, body: str) -> MailTemplate:
    """Store the scheme's wording of ``kind`` (the caller commits), audited
    ``mail_templates.edit``; TemplateRefused, nothing stored, if ``check_template`` objects."""
    find_kind(kind)
    problems = check_template(kind, subject, body)
    if problems:
        raise TemplateRefused(problems)
    row = session.get(MailTemplate, kind)
    if row is None:
        row = MailTemplate(kind=kind)
        session.add(row)
    row.subject, row.body = subject, body
    row.updated_at, row.updated_by = utcnow(), user.id
    session.flush()
    audit.record(session, user, "mail_templates.edit", "mail_template", kind)
    return row


def reset_template(session: Session, user: User, kind: str) -> bool:
    """Back to the default wording of ``kind`` (the caller commits); False if it was already,
    else audited ``mail_templates.reset``."""
    find_kind(kind)
    gone = session.execute(delete(MailTemplate).where(MailTemplate.kind == kind))
    if not gone.rowcount:  # type: ignore[attr-defined]
        return False
    audit.record(session, user, "mail_templates.reset", "mail_template", kind)
    return True
