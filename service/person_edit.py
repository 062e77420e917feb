"""One kind of people at a time: a page of the list found in SQL, one person's page in words,
and the one-person edit, which is an import of a one-row table.

The list searches and filters on columns and on the stored record's JSON in the database, so
a page of a national scheme (4,000 mentees) reads and parses only its own rows. The edit
builds the row from the form, reads it with ``matcher.readers`` and stores it with
``service.people.import_people``: the same validation, the same new version, Import batch and
audit entry as a spreadsheet. A column the form does not send keeps its stored value, as a
column a file does not have does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from matcher.columns import MENTEES, MENTORS, Schema
from matcher.readers import PeopleFile, mentees_file, mentors_file, parse_mentees, parse_mentors
from matcher.settings import Settings
from matcher.spreadsheet import Table
from matcher.vocab import COHORTS, MENTOR_STATUSES, code_words
from service import audit
from service.errors import Conflict, Invalid, NotFound
from service.models import (
    ACTIVE_MATCH_STATUSES,
    Import,
    Match,
    Mentee,
    MenteeVersion,
    Mentor,
    MentorVersion,
    PersonRow,
    PersonVersionRow,
    User,
)
from service.people import import_people, stored_table
from service.search import contains

# Self-described diversity data: only admins read it back (the API shows it to them alone,
# in a person's history); other staff may still send it in a file, never see it on a page.
DIVERSITY = ("gender", "ethnicity", "img")
# Columns whose stored value is a ";" list of codes: the form shows them in words, which the
# readers read back to the same codes.
WORD_LISTS = frozenset({"focus_areas", "needs", "availability", "modes"})
YES_NO = frozenset({"img", "mentor_gender_strict", "same_ethnicity", "same_img"})
CHOICES: dict[str, tuple[str, ...]] = {"cohort": COHORTS, "status": MENTOR_STATUSES}
# The longest value a form field may send: far above any real cell.
MAX_FIELD = 2000

# Each column as a page names it, and what it means (SPEC section 3).
LABELS: dict[str, tuple[str, str]] = {
    "name": ("Name", "the display name"),
    "email": ("E-mail", "for introductions"),
    "gmc_number": ("GMC number", "7 digits"),
    "cohort": ("Cohort", ""),
    "practice_code": ("Practice (ODS code)", "used for conflicts of interest"),
    "pcn": ("Primary care network", "used for conflicts and mix"),
    "capacity_max": ("Most mentees", "empty: the scheme's maximum; never above it"),
    "capacity_min": ("Fewest mentees", "empty: the scheme's minimum"),
    "current_mentees": ("Mentees already", "mentored outside this service; empty: 0"),
    "focus_areas": ("Focus areas", "separated by ';', e.g. leadership; wellbeing"),
    "needs": ("Needs", "separated by ';', most important first"),
    "availability": (
        "Weekly slots",
        "separated by ';', e.g. Monday morning; Tuesday evening; empty: any",
    ),
    "modes": ("Meeting modes", "virtual; face to face; empty: virtual"),
    "latitude": ("Latitude", "for face-to-face distance; give both or neither"),
    "longitude": ("Longitude", "for face-to-face distance; give both or neither"),
    "postcode": ("Postcode", "placed by the scheme's postcode lookup"),
    "max_distance_km": ("Farthest travel (km)", "for face-to-face; empty: the scheme's"),
    "mentor_gender": ("Wanted gender of mentor", "empty: no wish"),
    "mentor_gender_strict": ("Gender wish is a hard rule", "empty: no (a soft wish)"),
    "same_ethnicity": ("Would value a mentor of the same ethnicity", ""),
    "same_img": ("Would value a mentor who is also an IMG", ""),
    "preferred_mentors": ("Preferred mentors", "mentor ids separated by ';', most wanted first"),
    "preferred_mentees": ("Preferred mentees", "mentee ids separated by ';'"),
    "waiting_since": ("Waiting since", "a date such as 18/04/2026 or 2026-04-18, not after today"),
    "years_post_cct": ("Years since CCT", ""),
    "clinical_sessions_per_week": ("Clinical sessions a week", ""),
    "status": ("Status", "only active mentors are matched"),
    "gender": ("Gender", "self-described, optional"),
    "ethnicity": ("Ethnicity", "self-described, optional"),
    "img": ("International medical graduate", "optional"),
}


@dataclass(frozen=True)
class Kind:
    """Mentors or mentees: their tables, id column, schema and reader."""

    name: str
    model: type[PersonRow]
    version_model: type[PersonVersionRow]
    id_column: str
    schema: Schema
    read: Callable[..., PeopleFile[Any]]

    @property
    def singular(self) -> str:
        return self.name[:-1]

    def id_of(self, model: type[Any]) -> Any:
        return getattr(model, self.id_column)


KINDS: dict[str, Kind] = {
    "mentors": Kind("mentors", Mentor, MentorVersion, "mentor_id", MENTORS, mentors_file),
    "mentees": Kind("mentees", Mentee, MenteeVersion, "mentee_id", MENTEES, mentees_file),
}
# The list's filter (``status``) per kind: value -> words.
SHOWN: dict[str, dict[str, str]] = {
    "mentees": {"waiting": "waiting for a mentor", "matched": "matched"},
    "mentors": {s: code_words(s) for s in MENTOR_STATUSES},
}


class StaleVersion(Conflict):
    """The record was saved again after the form was read: the edit would undo that change."""

    def __init__(self, kind: Kind, person_id: str, read: int, stored: int):
        super().__init__(
            f"Not saved: {kind.singular} {person_id} was changed (now version {stored}) after "
            f"you opened version {read}. The form now shows version {stored}: make your "
            "change again."
        )
        self.stored = stored


def find_people(kind: Kind, search: str, status: str, cohort: str) -> Select[Any]:
    """The people of ``kind`` whose id or name holds ``search`` (case-insensitive), of one
    ``status`` (mentees: waiting or matched; mentors: active, paused or withdrawn) and, for
    mentees, one ``cohort``: all in SQL, on the id and name columns and the stored record
    (whose values are the readers' codes, so equality means what a person means)."""
    model = kind.model
    query = select(model)
    text = search.strip().lower()
    if text:
        query = query.where(contains(text, kind.id_of(model), model.name))
    if kind.name == "mentees":
        active = exists().where(
            and_(Match.mentee_id == Mentee.mentee_id, Match.status.in_(ACTIVE_MATCH_STATUSES))
        )
        if status == "matched":
            query = query.where(active)
        elif status == "waiting":
            query = query.where(~active)
        if cohort:
            query = query.where(Mentee.record["cohort"].as_string() == cohort)
    elif status:
        stated: ColumnElement[Any] = Mentor.record["status"].as_string()
        # No status (the column empty or absent) reads as active.
        query = query.where(
            or_(stated == status, stated.is_(None)) if status == "active" else stated == status
        )
    return query


def page(
    session: Session, kind: Kind, query: Select[Any], offset: int, limit: int
) -> list[dict[str, Any]]:
    """``limit`` people from ``offset`` in id order, each read through ``matcher.readers``
    (only these rows are parsed) and summed up as the API's list shows them."""
    rows = list(session.scalars(query.order_by(kind.id_of(kind.model)).offset(offset).limit(limit)))
    return summaries(session, kind, rows)


def summaries(session: Session, kind: Kind, rows: Sequence[PersonRow]) -> list[dict[str, Any]]:
    """What the API's list says of each of ``rows`` (no diversity data)."""
    if not rows:
        return []
    ids = [getattr(p, kind.id_column) for p in rows]
    table = stored_table(kind.name, rows)
    if kind.name == "mentees":
        matched = set(
            session.scalars(
                select(Match.mentee_id).where(
                    Match.mentee_id.in_(ids), Match.status.in_(ACTIVE_MATCH_STATUSES)
                )
            )
        )
        return [
            {
                "id": m.mentee_id,
                "name": m.name,
                "cohort": m.cohort,
                "practice_code": m.practice_code,
                "pcn": m.pcn,
                "needs": list(m.needs),
                "waiting_since": m.waiting_since.isoformat() if m.waiting_since else None,
                "matched": m.mentee_id in matched,
            }
            for m in parse_mentees(table, Settings())
        ]
    loads = dict(
        session.execute(
            select(Match.mentor_id, func.count())
            .where(Match.mentor_id.in_(ids), Match.status.in_(ACTIVE_MATCH_STATUSES))
            .group_by(Match.mentor_id)
        ).all()
    )
    default_max = Settings().capacity.max
    out = []
    for m in parse_mentors(table, Settings()):
        capacity = m.capacity_max if m.capacity_max is not None else default_max
        load = m.current_mentees + loads.get(m.mentor_id, 0)
        out.append(
            {
                "id": m.mentor_id,
                "name": m.name,
                "email": m.email,
                "practice_code": m.practice_code,
                "pcn": m.pcn,
                "status": m.status,
                "focus_areas": list(m.focus_areas),
                "capacity_max": capacity,
                "current_mentees": load,
                "remaining_capacity": max(0, capacity - load) if m.status == "active" else 0,
            }
        )
    return out


def get_person(session: Session, kind: Kind, person_id: str) -> PersonRow:
    person = session.get(kind.model, person_id)
    if person is None:
        raise NotFound(f"no {kind.singular} with id {person_id!r}")
    return person


def matches_of(session: Session, kind: Kind, person_id: str) -> list[Match]:
    """Every match of the person, whatever its status, oldest first."""
    column = Match.mentee_id if kind.name == "mentees" else Match.mentor_id
    return list(session.scalars(select(Match).where(column == person_id).order_by(Match.id)))


def editable_columns(kind: Kind, *, diversity: bool) -> tuple[str, ...]:
    """The form's fields: every column of the kind but the id (which never changes), and the
    diversity columns only for those who may read them."""
    return tuple(
        c for c in kind.schema.columns if c != kind.id_column and (diversity or c not in DIVERSITY)
    )


def form_value(column: str, stored: str) -> str:
    """A stored value as the form shows it: lists of codes in words, which read back the same."""
    if column in WORD_LISTS and stored:
        return "; ".join(code_words(code) for code in stored.split(";"))
    return stored


def shown_value(column: str, stored: str) -> str:
    """A stored value as a page shows it."""
    if column in CHOICES:
        return code_words(stored)
    if column in WORD_LISTS:
        return ", ".join(code_words(code) for code in stored.split(";") if code)
    return stored.replace(";", ", ") if column.startswith("preferred_") else stored


@dataclass(frozen=True)
class VersionView:
    version: int
    at: datetime
    by: str
    source: str
    changes: tuple[tuple[str, str, str], ...]  # column label, before, after (in words)


def history(session: Session, kind: Kind, person_id: str) -> list[VersionView]:
    """Every version of the person, newest first, each with what it changed, who stored it
    and from which file (or the person page's form)."""
    model = kind.version_model
    query = (
        select(model, Import.filename, User.name)
        .outerjoin(Import, Import.id == model.import_id)
        .outerjoin(User, User.id == Import.user_id)
        .where(kind.id_of(model) == person_id)
        .order_by(model.version)
    )
    views: list[VersionView] = []
    before: dict[str, Any] = {}
    for version, filename, user in session.execute(query).all():
        record = version.record
        columns = [c for c in dict.fromkeys((*before, *record)) if c != kind.id_column]
        changes = tuple(
            (
                LABELS.get(c, (c, ""))[0],
                shown_value(c, str(before.get(c, ""))),
                shown_value(c, str(record.get(c, ""))),
            )
            for c in columns
            if before.get(c) != record.get(c)
        )
        views.append(VersionView(version.version, version.at, user or "", filename or "", changes))
        before = record
    return views[::-1]


def edit_person(
    session: Session,
    user: User,
    kind: Kind,
    person_id: str,
    read_version: int,
    cells: Mapping[str, str],
) -> int | None:
    """Store the person's ``cells`` (column -> text as typed) as an import of one row would:
    the new version's number, or None when nothing changed (the caller then rolls back, so no
    empty Import batch is kept). The caller commits.

    The person's row is locked and its version compared with ``read_version`` (the one the
    form was read at) in this transaction: if another change came first, ``StaleVersion``,
    so nobody's change is undone unseen. Bad cells raise ``InputError`` with every problem.
    """
    unknown = set(cells) - set(kind.schema.columns)
    if kind.id_column in cells or unknown:
        raise Invalid(f"the form may not change: {', '.join(sorted(unknown)) or kind.id_column}")
    too_long = [c for c, text in cells.items() if len(text) > MAX_FIELD]
    if too_long:
        raise Invalid(f"at most {MAX_FIELD} characters in: {', '.join(too_long)}")
    id_column = kind.id_of(kind.model)
    person = session.scalar(select(kind.model).where(id_column == person_id).with_for_update())
    if person is None:
        raise NotFound(f"no {kind.singular} with id {person_id!r}")
    if person.version != read_version:
        raise StaleVersion(kind, person_id, read_version, person.version)
    row = {kind.id_column: person_id, **{c: text.strip() for c, text in cells.items()}}
    table = Table.from_rows(f"{kind.singular} {person_id} (form)", tuple(row), [(2, row)])
    read = kind.read(table, Settings(), keep_records=False)
    outcome = import_people(session, user, kind.name, read)
    if not outcome.updated:
        return None
    version = read_version + 1
    audit.record(session, user, f"{kind.name}.edit", kind.singular, person_id, version=version)
    return version
