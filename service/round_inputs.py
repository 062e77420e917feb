"""What a round's run reads: its settings, and the problem data built from the stored records.

The stored people go through ``matcher.readers`` with the round's settings, exactly as
``matcher match`` would read their files; the matches this service holds are added to the
mentors' loads, and the round's pins and forbids and the standing exclusions become locks and
exclusions. Problems with stored records name people by id.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.data import Mentee as MenteeRecord
from matcher.data import Mentor as MentorRecord
from matcher.data import PairRef, ProblemData
from matcher.errors import InputError, Problem
from matcher.preview import FileRead
from matcher.readers import PeopleFile, mentees_file, mentors_file
from matcher.rules import allowed_pairs
from matcher.settings import LocationSettings, Settings
from service.errors import Invalid
from service.exclusions import standing
from service.models import Mentee, Mentor, Round, RoundPair
from service.people import active_match_counts, actively_matched_mentees, stored_table


def round_settings(mapping: dict[str, Any], postcode_lookup: str = "") -> Settings:
    """The round's settings: the scheme defaults changed by ``mapping`` (as in a TOML file).

    The postcode lookup is a file on the server, so it is the server's setting
    (``MATCHER_POSTCODE_LOOKUP``), never a round's.
    """
    if "locations" in mapping:
        raise InputError(
            [
                Problem(
                    "round settings",
                    None,
                    "locations",
                    None,
                    "the postcode lookup is set on the server (MATCHER_POSTCODE_LOOKUP), "
                    "not in a round",
                )
            ]
        )
    settings = Settings.from_mapping(mapping, source="round settings")
    return replace(settings, locations=LocationSettings(postcode_lookup=postcode_lookup))


def round_pairs(session: Session, round_id: int) -> list[RoundPair]:
    query = select(RoundPair).where(RoundPair.round_id == round_id).order_by(RoundPair.id)
    return list(session.scalars(query))


def build_problem(
    session: Session, round_: Round, postcode_lookup: str = ""
) -> tuple[ProblemData, dict[str, Any]]:
    """The round's problem data from the stored records, and what went into it."""
    settings = round_settings(round_.settings, postcode_lookup)
    mentors = list(session.scalars(select(Mentor).order_by(Mentor.mentor_id)))
    query = select(Mentee).order_by(Mentee.mentee_id)
    if round_.mentee_ids is not None:
        query = query.where(Mentee.mentee_id.in_(round_.mentee_ids))
    taken = actively_matched_mentees(session)
    mentees = [m for m in session.scalars(query) if m.mentee_id not in taken]
    if not mentors or not mentees:
        raise Invalid(
            "nothing to match: "
            + ("import mentors first" if not mentors else "every mentee of this round is matched")
        )
    load = active_match_counts(session)
    try:
        mentor_file = mentors_file(stored_table("mentors", mentors), settings)
        mentee_file = mentees_file(stored_table("mentees", mentees), settings)
    except InputError as exc:
        raise _by_id(exc, mentors, mentees) from None
    pairs = round_pairs(session, round_.id)
    waiting = {m.mentee_id for m in mentees}
    locks = tuple(
        PairRef(p.mentor_id, p.mentee_id)
        for p in pairs
        if p.kind == "pin" and p.mentee_id in waiting
    )
    forbidden = {
        (e.mentor_id, e.mentee_id): e
        for e in [
            *standing(session),
            *(
                PairRef(p.mentor_id, p.mentee_id, p.reason or "forbidden in this round")
                for p in pairs
                if p.kind == "forbid"
            ),
        ]
        if e.mentee_id in waiting
    }
    exclusions = tuple(forbidden.values())
    problem = ProblemData(
        mentors=tuple(
            replace(m, current_mentees=m.current_mentees + load.get(m.mentor_id, 0))
            for m in mentor_file.records
        ),
        mentees=mentee_file.records,
        exclusions=exclusions,
        locks=locks,
        settings=settings,
        files=(_stored_read(mentor_file, "mentors"), _stored_read(mentee_file, "mentees")),
    )
    people: list[MentorRecord | MenteeRecord] = [*problem.mentors, *problem.mentees]
    if any(p.postcode and p.latitude is None for p in people):
        try:
            allowed_pairs(problem)  # a postcode with no place may leave a rule without a distance
        except InputError as exc:
            raise _by_id(exc, mentors, mentees) from None
    inputs = {
        "mentors": {m.mentor_id: m.version for m in mentors},
        "mentees": {m.mentee_id: m.version for m in mentees},
        "load": load,
        "pins": len(locks),
        "forbids": len(exclusions),
    }
    return problem, inputs


def _by_id(exc: InputError, mentors: list[Mentor], mentees: list[Mentee]) -> Invalid:
    """Problems of stored records, naming people by id (stored rows are numbered from 2)."""
    ids = {"mentors": [m.mentor_id for m in mentors], "mentees": [m.mentee_id for m in mentees]}
    shown = []
    for p in exc.problems[:5]:
        kind = p.file.split()[0]
        people = ", ".join(ids[kind][row - 2] for row in p.all_rows[:5]) if kind in ids else "-"
        more = f" and {len(p.all_rows) - 5} more" if len(p.all_rows) > 5 else ""
        shown.append(f"{kind[:-1]} {people}{more}, {p.column or '-'}: {p.message}")
    return Invalid("the stored records do not pass this round's settings: " + "; ".join(shown))


def _stored_read(read: PeopleFile[Any], kind: str) -> FileRead:
    """The notes of reading stored records: they name people by id, so row numbers go."""
    notes = tuple(replace(note, rows=()) for note in read.notes)
    return FileRead(read.table.file, kind, len(read.table), None, notes)
