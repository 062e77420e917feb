"""The participants' scheme experience: the surveys' figures for analysts, without comments.

Per group (``by``: the match's round, the mentee's cohort, or the mentee's groups of the
equity measures, ``matcher.metrics.EQUITY_ATTRIBUTES`` but the cohort: gender, ethnicity
and IMG), per stage and per side: surveys sent, answered, the response rate, and for each
rating its mean (2 decimals) and how many answered 1, 2, 3, 4 and 5. As in the equity
measures, values are grouped ignoring case and surrounding spaces (labelled with their first
spelling, in mentee id order), a mentee with no value is in no group of that attribute,
and a group of fewer than ``MIN_MENTEES`` surveyed mentees is left out.

Small numbers are suppressed: a row with fewer than ``MIN_ANSWERS`` answers keeps its
counts of surveys sent and answered, but neither means nor the counts of each rating, so no
one reads a single person's answers. Figures ``as_of`` a day count the surveys sent by its
end, and the answers given by then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.metrics import EQUITY_ATTRIBUTES
from matcher.readers import parse_mentees
from matcher.settings import Settings
from service.models import SURVEY_RATINGS, Match, Mentee, Survey
from service.people import stored_table
from service.surveys import SCALE, SIDES, STAGES

BY = ("round", "cohort", "group")
GROUP_ATTRIBUTES = tuple(a for a in EQUITY_ATTRIBUTES if a != "cohort")
MIN_ANSWERS = 5
MIN_MENTEES = 5  # a mentee group's fewest members (``matcher.metrics.equity``'s min_group)
SUPPRESSED = f"fewer than {MIN_ANSWERS} answers"
NO_ROUND = "none"


@dataclass(frozen=True)
class RatingFigures:
    """One rating of a row: its mean and the answers of 1, 2, 3, 4 and 5."""

    rating: str
    mean: float
    counts: tuple[int, ...]


@dataclass(frozen=True)
class ExperienceRow:
    """The surveys of one group, stage and side; ``ratings`` empty when suppressed."""

    attribute: str  # round | cohort | gender | ethnicity | img
    group: str
    stage: str
    side: str
    sent: int
    answered: int
    ratings: tuple[RatingFigures, ...]

    @property
    def response_rate(self) -> float:
        """Answered over sent, to 4 decimals (a fraction)."""
        return round(self.answered / self.sent, 4) if self.sent else 0.0

    @property
    def suppressed(self) -> bool:
        return self.answered < MIN_ANSWERS


@dataclass
class _Tally:
    sent: int = 0
    answers: list[tuple[int, ...]] = field(default_factory=list)


def experience(session: Session, by: str, as_of: date | None = None) -> list[ExperienceRow]:
    """The figures per ``by`` group (``round``, ``cohort`` or ``group``), stage and side, in
    group order; as the records stand, or as they stood at the end of ``as_of``."""
    if by not in BY:
        raise ValueError(f"unknown grouping {by!r}: choose round, cohort or group")
    query = select(
        Survey.side,
        Survey.stage,
        Survey.answered_at,
        *(getattr(Survey, name) for name in SURVEY_RATINGS),
        Match.round_id,
        Match.mentee_id,
    ).join(Match, Match.id == Survey.match_id)
    end = None if as_of is None else datetime.combine(as_of + timedelta(days=1), time())
    if end is not None:
        query = query.where(Survey.created_at < end)
    rows = session.execute(query).all()
    groups = _groups(session, by, {row.mentee_id for row in rows})
    tallies: dict[tuple[str, str, str, str], _Tally] = defaultdict(_Tally)
    members: dict[tuple[str, str], set[str]] = defaultdict(set)
    for side, stage, answered_at, *ratings, round_id, mentee_id in rows:
        answered = answered_at is not None and (end is None or answered_at < end)
        for attribute, label in groups(round_id, mentee_id):
            members[attribute, label].add(mentee_id)
            tally = tallies[attribute, label, stage, side]
            tally.sent += 1
            if answered:
                tally.answers.append(tuple(ratings))
    shown = sorted(tallies, key=_order)
    if by == "group":
        # As in the equity measures: a value so rare that it could point at a person (these
        # are self-described) is left out.
        shown = [key for key in shown if len(members[key[0], key[1]]) >= MIN_MENTEES]
    return [_row(key, tallies[key]) for key in shown]


def _row(key: tuple[str, str, str, str], tally: _Tally) -> ExperienceRow:
    attribute, label, stage, side = key
    ratings: tuple[RatingFigures, ...] = ()
    if len(tally.answers) >= MIN_ANSWERS:
        ratings = tuple(
            _figures(name, [answer[n] for answer in tally.answers])
            for n, name in enumerate(SURVEY_RATINGS)
        )
    return ExperienceRow(attribute, label, stage, side, tally.sent, len(tally.answers), ratings)


def _figures(rating: str, values: Sequence[int]) -> RatingFigures:
    return RatingFigures(
        rating,
        round(sum(values) / len(values), 2),
        tuple(sum(1 for v in values if v == score) for score in SCALE),
    )


def _order(key: tuple[str, str, str, str]) -> tuple[int, tuple[int, int | str], int, int]:
    """Attributes in the equity measures' order; rounds by number (none last), other groups
    by their label; then stage and side in their lifecycle order."""
    attribute, label, stage, side = key
    place = ("round", "cohort", *GROUP_ATTRIBUTES).index(attribute)
    group: tuple[int, int | str] = (0, int(label)) if label.isdigit() else (1, label.lower())
    return place, group, STAGES.index(stage), SIDES.index(side)


# Which (attribute, group) pairs a survey counts in, from its match's round and mentee.
Grouper = Callable[[int | None, str], list[tuple[str, str]]]


def _groups(session: Session, by: str, mentee_ids: set[str]) -> Grouper:
    if by == "round":
        return lambda round_id, _mentee: [("round", str(round_id) if round_id else NO_ROUND)]
    attributes = ("cohort",) if by == "cohort" else GROUP_ATTRIBUTES
    members = mentee_groups(session, mentee_ids, attributes)
    return lambda _round, mentee_id: members.get(mentee_id, [])


def mentee_groups(
    session: Session, mentee_ids: set[str], attributes: Sequence[str]
) -> dict[str, list[tuple[str, str]]]:
    """Mentee id -> the (attribute, group label) pairs they are in, their records read as a
    round reads them; values grouped ignoring case, labelled with their first spelling."""
    if not mentee_ids:
        return {}
    people = list(
        session.scalars(
            select(Mentee).where(Mentee.mentee_id.in_(mentee_ids)).order_by(Mentee.mentee_id)
        )
    )
    labels: dict[tuple[str, str], str] = {}
    found: dict[str, list[tuple[str, str]]] = {}
    for mentee in parse_mentees(stored_table("mentees", people), Settings()):
        pairs = []
        for attribute in attributes:
            value = _value(getattr(mentee, attribute))
            if value is not None:
                label = labels.setdefault((attribute, value.lower()), value)
                pairs.append((attribute, label))
        found[mentee.mentee_id] = pairs
    return found


def _value(value: object) -> str | None:
    """A mentee's value as a group: yes/no for a yes/no answer, None when not stated."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or not str(value).strip():
        return None
    return str(value).strip()


def by_each(session: Session, as_of: date | None = None) -> dict[str, list[ExperienceRow]]:
    """The figures by round, by cohort and by group (the downloads hold all three)."""
    return {by: experience(session, by, as_of) for by in BY}


def totals(session: Session, as_of: date | None = None) -> tuple[int, int]:
    """Surveys sent and answered, in all (by the end of ``as_of``)."""
    rows = experience(session, "round", as_of)
    return sum(r.sent for r in rows), sum(r.answered for r in rows)
