"""The wording of every mail the service sends, as templates the scheme may edit.

Each kind of mail has a default subject and text here, the names it may use (``fields``,
each with an example), and may be replaced by the scheme's own wording (``mail_templates``
table). Templates are Jinja2 text run in a sandbox with undefined names refused, so a
template that names a field the mail does not have is refused when it is saved, not when a
mail is sent. Mails are plain text: nothing is escaped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.orm import Session

from service.models import MailTemplate

log = logging.getLogger(__name__)
_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
SIGN_OFF = "With best wishes,\nThe GP mentoring scheme\n"


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
        shown_subject = _env.from_string(subject).render(context)
        shown_body = _env.from_string(body).render(context)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"line {exc.lineno}: {exc.message}") from None
    except TemplateError as exc:
        raise TemplateProblem(str(exc.message or type(exc).__name__)) from None
    return " ".join(shown_subject.split()), shown_body


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
