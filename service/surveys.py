"""Feedback surveys: each side of a match rates it after the first meeting and at its end.

``open_surveys`` makes a stage's two surveys (the mentor's side and the mentee's) and queues
an invitation to each side with an e-mail address, in the caller's transaction; the unique
key (match, side, stage) makes each survey once, however many requests race. A survey is
answered once, by its own side's person only (``answer_survey``), through a conditional
update, so two answers at once cannot both land. Comments are for the scheme's staff
(``match_surveys``); analysts get figures without them (``service.experience``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, Select, case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from service import audit
from service.api.schemas import control_refusal
from service.db import utcnow
from service.errors import Conflict, Invalid, NotFound
from service.mail_templates import compose
from service.models import SURVEY_RATINGS, Match, Mentee, Mentor, Survey, User
from service.outbox import MailSetup, queue_mail
from service.participants import Person, person

SIDES = ("mentor", "mentee")
STAGES = ("first_meeting", "end")
# The stage a match's new status opens: its first meeting was held, or it ended.
STAGE_OF_STATUS = {"registered": "first_meeting", "ended": "end"}
QUESTIONS = {
    "overall": "How was it overall?",
    "fit": "How well are you matched?",
    "usefulness": "How useful has the mentoring been?",
}
# Each rating in a few words, for column headings and lists of problems.
SHORT = {"overall": "Overall", "fit": "How well matched", "usefulness": "How useful"}
SCALE = range(1, 6)
COMMENT_LIMIT = 2000
RATING_PROBLEM = "must be a whole number from 1 to 5"


@dataclass(frozen=True)
class SurveyItem:
    """A survey as its own person sees it: the match, the other person and the answers."""

    id: int
    match_id: int
    side: str
    stage: str
    other_id: str
    other_name: str
    created_at: datetime
    answered_at: datetime | None
    ratings: Mapping[str, int | None]
    comment: str | None

    @property
    def open(self) -> bool:
        return self.answered_at is None


def stage_words(stage: str, other_name: str) -> str:
    """When, in words, for the invitation: "your first meeting with Dr X has been held"."""
    if stage == "first_meeting":
        return f"your first meeting with {other_name} has been held"
    return f"your mentoring with {other_name} has ended"


def open_surveys(session: Session, match: Match, stage: str, setup: MailSetup) -> int:
    """Make ``stage``'s two surveys of ``match`` if not there yet, and invite each side that
    has an e-mail address; the caller commits. Returns the invitations queued (none for a
    survey that was already there)."""
    if stage not in STAGES:
        raise ValueError(f"unknown survey stage {stage!r}: choose {' or '.join(STAGES)}")
    people = {
        "mentor": person(session, "mentor", match.mentor_id),
        "mentee": person(session, "mentee", match.mentee_id),
    }
    queued = 0
    for side, other_side in zip(SIDES, reversed(SIDES), strict=True):
        survey = _new_survey(session, match.id, side, stage)
        own, other = people[side], people[other_side]
        if survey is None or own is None or not own.email:
            continue
        _invite(session, survey, own, other, setup)
        queued += 1
    return queued


def open_for_status(session: Session, match: Match, setup: MailSetup) -> int:
    """The surveys a match's new status opens (none for other statuses); see ``open_surveys``."""
    stage = STAGE_OF_STATUS.get(match.status)
    return 0 if stage is None else open_surveys(session, match, stage, setup)


def _new_survey(session: Session, match_id: int, side: str, stage: str) -> Survey | None:
    """The survey, made now; None if it was already there."""
    key = (Survey.match_id == match_id, Survey.side == side, Survey.stage == stage)
    if session.scalar(select(Survey.id).where(*key)) is not None:
        return None
    try:
        with session.begin_nested():
            survey = Survey(match_id=match_id, side=side, stage=stage)
            session.add(survey)
            session.flush()
    except IntegrityError:
        # Another request made it first (the unique key): theirs invited the person.
        return None
    return survey


def _invite(
    session: Session, survey: Survey, own: Person, other: Person | None, setup: MailSetup
) -> None:
    other_name = other.name if other else f"your {'mentee' if own.kind == 'mentor' else 'mentor'}"
    subject, body = compose(
        session,
        "survey_invitation",
        {
            "name": own.name,
            "stage": stage_words(survey.stage, other_name),
            "survey_url": setup.link(f"/me/surveys/{survey.id}"),
        },
    )
    queue_mail(
        session,
        kind="survey_invitation",
        recipient=own.email,
        subject=subject,
        body=body,
        about=f"survey:{survey.id}",
    )


def _owner_column(kind: str) -> InstrumentedAttribute[str]:
    return Match.mentor_id if kind == "mentor" else Match.mentee_id


def surveys_for(session: Session, kind: str, person_id: str) -> list[SurveyItem]:
    """The person's surveys, open ones first, newest first within each."""
    if kind not in SIDES:
        raise ValueError(f"unknown participant kind {kind!r}")
    query = (
        _items()
        .where(Survey.side == kind, _owner_column(kind) == person_id)
        .order_by(case((Survey.answered_at.is_(None), 0), else_=1), Survey.id.desc())
    )
    return [_item(row) for row in session.execute(query)]


def own_survey(session: Session, survey_id: int, kind: str, person_id: str) -> SurveyItem:
    """One of the person's surveys; NotFound for anyone else's (which it does not reveal)."""
    row = None
    if kind in SIDES:
        row = session.execute(
            _items().where(
                Survey.id == survey_id, Survey.side == kind, _owner_column(kind) == person_id
            )
        ).first()
    if row is None:
        raise NotFound(f"no survey with id {survey_id}")
    return _item(row)


def match_surveys(session: Session, match_id: int) -> list[SurveyItem]:
    """A match's surveys with their answers and comments, for the scheme's staff."""
    query = _items().where(Survey.match_id == match_id)
    items = [_item(row) for row in session.execute(query.order_by(Survey.id))]
    order = {(stage, side): n for n, (stage, side) in enumerate(_stage_sides())}
    return sorted(items, key=lambda s: order[s.stage, s.side])


def _stage_sides() -> list[tuple[str, str]]:
    return [(stage, side) for stage in STAGES for side in SIDES]


def _items() -> Select[Survey, str, str]:
    """Surveys with the other side's id and name (the mentee's for a mentor's survey)."""
    mentor_side = Survey.side == "mentor"
    return (
        select(
            Survey,
            case((mentor_side, Match.mentee_id), else_=Match.mentor_id),
            case((mentor_side, Mentee.name), else_=Mentor.name),
        )
        .join(Match, Match.id == Survey.match_id)
        .join(Mentor, Mentor.mentor_id == Match.mentor_id)
        .join(Mentee, Mentee.mentee_id == Match.mentee_id)
    )


def _item(row: Row[Survey, str, str]) -> SurveyItem:
    survey, other_id, other_name = row
    return SurveyItem(
        id=survey.id,
        match_id=survey.match_id,
        side=survey.side,
        stage=survey.stage,
        other_id=other_id,
        other_name=other_name,
        created_at=survey.created_at,
        answered_at=survey.answered_at,
        ratings={name: getattr(survey, name) for name in SURVEY_RATINGS},
        comment=survey.comment,
    )


def read_answer(
    ratings: Mapping[str, object], comment: str | None
) -> tuple[dict[str, int], str | None, dict[str, str]]:
    """The ratings as numbers and the comment (None when empty), or the problems, field ->
    sentence (``required``, ``must be a whole number from 1 to 5``, ...)."""
    values: dict[str, int] = {}
    problems: dict[str, str] = {}
    for name in SURVEY_RATINGS:
        given = ratings.get(name)
        if given is None or (isinstance(given, str) and not given.strip()):
            problems[name] = "required"
            continue
        number = _rating(given)
        if number is None:
            problems[name] = RATING_PROBLEM
        else:
            values[name] = number
    text = (comment or "").strip()
    refusal = control_refusal(text, lines=True)
    if refusal:
        problems["comment"] = refusal
    elif len(text) > COMMENT_LIMIT:
        problems["comment"] = f"at most {COMMENT_LIMIT} characters"
    return values, text or None, problems


def _rating(given: object) -> int | None:
    if isinstance(given, bool):
        return None
    if isinstance(given, int):
        number = given
    elif isinstance(given, str) and given.strip().isascii() and given.strip().isdigit():
        number = int(given.strip())
    else:
        return None
    return number if number in SCALE else None


def answer_survey(
    session: Session,
    user: User,
    survey_id: int,
    person: tuple[str, str],
    ratings: Mapping[str, object],
    comment: str | None,
) -> SurveyItem:
    """Store ``person``'s (kind, person id) answer to their survey, once; the caller commits.

    NotFound for a survey not theirs, Invalid naming the first field wrong, Conflict if it
    was already answered. The audit entry has the survey's id only, never the comment."""
    kind, person_id = person
    if not own_survey(session, survey_id, kind, person_id).open:
        raise Conflict(f"survey {survey_id} is already answered")
    values, text, problems = read_answer(ratings, comment)
    if problems:
        field, problem = next(iter(problems.items()))
        raise Invalid(f"{field}: {problem}")
    done = session.execute(
        update(Survey)
        .where(Survey.id == survey_id, Survey.answered_at.is_(None))
        .values(answered_at=utcnow(), comment=text, **values)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        raise Conflict(f"survey {survey_id} is already answered")
    audit.record(session, user, "surveys.answer", "survey", survey_id)
    return own_survey(session, survey_id, kind, person_id)
