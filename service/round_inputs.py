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
from matcher.rules import RULE_CODES, allowed_pairs
from matcher.settings import LocationSettings, Settings
from service.errors import Invalid
from service.exclusions import standing
from service.models import Mentee, Mentor, Proposal, Round, RoundPair
from service.people import active_match_counts, actively_matched_mentees, stored_table

# The hard rules of ``matcher.rules.RULES`` in a person's words: the rule's name, and what
# breaks it for a pair.
RULE_WORDS: dict[str, tuple[str, str]] = {
    "inactive": ("active mentors only", "the mentor is not active"),
    "full": ("mentor capacity", "the mentor has no room for another mentee"),
    "excluded": ("exclusions", "the pair is excluded (e.g. supervisor or line manager)"),
    "same_practice": ("not the same practice", "they work in the same practice"),
    "same_pcn": ("not the same PCN", "they work in the same PCN"),
    "availability": ("a shared weekly slot", "they have no weekly slot in common"),
    "mode": ("shared meeting mode", "they have no meeting mode in common"),
    "distance": (
        "face-to-face distance",
        "they meet face to face only and live further apart than the mentee travels",
    ),
    "gender": ("the mentee's gender wish", "the mentor is not the gender the mentee requires"),
}


def pin_clashes(problem: ProblemData) -> list[str]:
    """The problem's pins (locks) that break a hard rule, in plain words, naming both ids."""
    if not problem.locks:
        return []
    blocked = allowed_pairs(problem).blocked_by
    mentor_index, mentee_index = problem.mentor_index, problem.mentee_index
    out = []
    for lock in dict.fromkeys((ref.mentor_id, ref.mentee_id) for ref in problem.locks):
        code = int(blocked[mentor_index[lock[0]], mentee_index[lock[1]]])
        if code >= 0:
            name, why = RULE_WORDS[RULE_CODES[code]]
            out.append(f"the pin {lock[0]}\u2013{lock[1]} breaks the rule '{name}': {why}")
    return out


def pair_problem(
    session: Session, round_: Round, mentor: Mentor, mentee: Mentee, postcode_lookup: str = ""
) -> ProblemData:
    """One mentor and one mentee as the round's run would read them (the round's settings,
    the server's ``postcode_lookup`` placing people given by postcode), with the mentor's
    load, and pinned to each other: ``pin_clashes`` of it says whether the pin keeps the hard
    rules, the distance rule among them."""
    settings = round_settings(round_.settings, postcode_lookup)
    load = active_match_counts(session).get(mentor.mentor_id, 0)
    try:
        mentor_file = mentors_file(stored_table("mentors", [mentor]), settings)
        mentee_file = mentees_file(stored_table("mentees", [mentee]), settings)
    except InputError as exc:
        raise _by_id(exc, [mentor], [mentee]) from None
    (record,) = mentor_file.records
    return ProblemData(
        mentors=(replace(record, current_mentees=record.current_mentees + load),),
        mentees=mentee_file.records,
        locks=(PairRef(mentor.mentor_id, mentee.mentee_id),),
        settings=settings,
    )


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
    session: Session,
    round_: Round,
    postcode_lookup: str = "",
    settings_mapping: dict[str, Any] | None = None,
) -> tuple[ProblemData, dict[str, Any]]:
    """The round's problem data from the stored records, and what went into it; read with
    ``settings_mapping`` instead of the round's own settings when given (a plan's scenario)."""
    mapping = round_.settings if settings_mapping is None else settings_mapping
    settings = round_settings(mapping, postcode_lookup)
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
    # The last proposals, so that a re-run changes as few pairs as it can (the penalty level).
    mentor_ids = {m.mentor_id for m in mentors}
    previous = tuple(
        PairRef(p.mentor_id, p.mentee_id)
        for p in session.scalars(
            select(Proposal).where(Proposal.round_id == round_.id).order_by(Proposal.mentee_id)
        )
        if p.mentor_id in mentor_ids and p.mentee_id in waiting
    )
    problem = ProblemData(
        mentors=tuple(
            replace(m, current_mentees=m.current_mentees + load.get(m.mentor_id, 0))
            for m in mentor_file.records
        ),
        mentees=mentee_file.records,
        exclusions=exclusions,
        locks=locks,
        previous=previous,
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
        "previous": len(previous),
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
