"""Approval: a round's proposals become confirmed matches, all of them or none.

Approvals race: two rounds built over the same people, approved at the same moment, on one
server or several. The rules hold in the database, whatever the order: a partial unique
index allows one active match per mentee, and each approval first locks the rows of the
mentors and mentees it touches (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the
writer's lock serialises it), so that its checks of who is taken and of each mentor's load
see every approval that committed before it.

An approval can be undone while every one of its matches is still only confirmed, with no
mentoring session logged: the matches go and the round is proposed again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matcher.errors import InputError
from matcher.readers import mentors_file
from service import audit
from service.db import utcnow
from service.errors import Conflict, NotFound
from service.introductions import Introductions, introduce
from service.models import (
    Match,
    Mentee,
    Mentor,
    MentoringSession,
    OutboxMail,
    Proposal,
    Round,
    User,
)
from service.outbox import MailSetup
from service.people import active_match_counts, actively_matched_mentees, stored_table
from service.round_inputs import round_settings
from service.rounds import get_round


def _lock_people(session: Session, mentor_ids: list[str], mentee_ids: list[str]) -> None:
    """Hold the rows of these people until commit, in one order (mentors, then mentees, by
    id) so that two approvals cannot deadlock. SQLite ignores FOR UPDATE: there the
    approval's transaction began with the write lock, so approvals already run one by one."""
    session.execute(
        select(Mentor.mentor_id)
        .where(Mentor.mentor_id.in_(mentor_ids))
        .order_by(Mentor.mentor_id)
        .with_for_update()
    ).all()
    session.execute(
        select(Mentee.mentee_id)
        .where(Mentee.mentee_id.in_(mentee_ids))
        .order_by(Mentee.mentee_id)
        .with_for_update()
    ).all()


def _over_capacity(session: Session, round_: Round, load: dict[str, int]) -> list[str]:
    """Mentors whose active load here plus their record's other mentees would exceed the
    maximum of their band under the round's settings."""
    if not load:
        return []
    people = list(
        session.scalars(select(Mentor).where(Mentor.mentor_id.in_(load)).order_by(Mentor.mentor_id))
    )
    settings = round_settings(round_.settings)
    try:
        records = mentors_file(stored_table("mentors", people), settings).records
    except InputError:
        return sorted(load)
    return sorted(
        m.mentor_id for m in records if m.current_mentees + load[m.mentor_id] > m.band(settings)[1]
    )


@dataclass
class Approval:
    """What an approval did: the matches confirmed, and the introductions queued."""

    matches: list[Match]
    introductions: Introductions


def approve(session: Session, user: User, round_id: int, setup: MailSetup) -> Approval:
    """Confirm the round's proposals as matches and queue each pair's introductions (from
    ``setup``), in one transaction; a second approval gets 409."""
    now = utcnow()
    claimed = session.execute(
        update(Round)
        .where(Round.id == round_id, Round.status == "proposed", Round.active_job.is_(None))
        .values(status="approved", approved_at=now, approved_by=user.id)
    )
    if claimed.rowcount == 0:  # type: ignore[attr-defined]
        session.rollback()
        round_ = get_round(session, round_id)
        if round_.status == "approved":
            raise Conflict(f"round {round_id} is already approved")
        if round_.active_job:
            raise Conflict(f"round {round_id} is running (job {round_.active_job}): wait for it")
        raise Conflict(f"round {round_id} has no proposals to approve: run it first")
    round_ = get_round(session, round_id)
    chosen = list(session.scalars(select(Proposal).where(Proposal.round_id == round_id)))
    mentor_ids = sorted({p.mentor_id for p in chosen})
    mentee_ids = sorted({p.mentee_id for p in chosen})
    _lock_people(session, mentor_ids, mentee_ids)
    taken = actively_matched_mentees(session) & set(mentee_ids)
    if taken:
        raise Conflict(
            "since this round ran, these mentees were matched elsewhere: run it again",
            mentee_ids=sorted(taken),
        )
    before = (round_.inputs or {}).get("load", {})
    now_load = active_match_counts(session)
    busier = sorted(m for m in mentor_ids if now_load.get(m, 0) > before.get(m, 0))
    if busier:
        raise Conflict(
            "since this round ran, these mentors took matches elsewhere: run it again",
            mentor_ids=busier,
        )
    new_load = Counter(p.mentor_id for p in chosen)
    over = _over_capacity(session, round_, {m: now_load.get(m, 0) + new_load[m] for m in new_load})
    if over:
        raise Conflict(
            "these mentors would have more mentees than their maximum (their records changed "
            "since this round ran): run it again",
            mentor_ids=over,
        )
    matches = [
        Match(
            round_id=round_id,
            mentor_id=p.mentor_id,
            mentee_id=p.mentee_id,
            status="confirmed",
            score=p.score,
            confirmed_at=now,
        )
        for p in chosen
    ]
    session.add_all(matches)
    try:
        session.flush()
    except IntegrityError:
        # The partial unique index: another approval matched one of these mentees first,
        # past the checks above (it cannot on either database as written; this is the
        # database's own guarantee should a future writer skip them).
        raise Conflict(
            "another approval matched some of these mentees at the same moment: run it again",
            mentee_ids=mentee_ids,
        ) from None
    introduced = introduce(session, matches, round_settings(round_.settings), setup)
    audit.record(
        session,
        user,
        "rounds.approve",
        "round",
        round_id,
        matches=len(matches),
        introductions=introduced.queued,
        without_address=introduced.without_address,
    )
    return Approval(matches, introduced)


def unapprove(session: Session, user: User, round_id: int) -> int:
    """Undo the round's approval: delete its matches and make it ``proposed`` again; the
    number of matches removed. 409 naming the matches if one is registered or ended, or has
    a session logged.

    The round's row and its matches' rows stay locked until commit, in that order; logging a
    session and changing a match's status lock the match's row too, so neither can slip in
    between the checks and the delete (on SQLite the writer's lock serialises them)."""
    round_ = session.get(Round, round_id, with_for_update=True)
    if round_ is None:
        raise NotFound(f"no round with id {round_id}")
    if round_.status != "approved":
        raise Conflict(f"round {round_id} is not approved: there is nothing to undo")
    matches = list(
        session.scalars(
            select(Match).where(Match.round_id == round_id).order_by(Match.id).with_for_update()
        )
    )
    moved = [m.id for m in matches if m.status != "confirmed"]
    if moved:
        raise Conflict(
            f"match(es) {_ids(moved)} of round {round_id} are registered or ended: "
            "the approval can no longer be undone",
            match_ids=moved,
        )
    logged = sorted(
        set(
            session.scalars(
                select(MentoringSession.match_id).where(
                    MentoringSession.match_id.in_([m.id for m in matches])
                )
            )
        )
    )
    if logged:
        raise Conflict(
            f"match(es) {_ids(logged)} of round {round_id} have mentoring sessions logged: "
            "the approval can no longer be undone",
            match_ids=logged,
        )
    # Introductions not yet sent are withdrawn; those sent stay on record.
    withdrawn = session.execute(
        delete(OutboxMail).where(
            OutboxMail.about.in_([f"match:{m.id}" for m in matches]),
            OutboxMail.status == "queued",
        )
    ).rowcount  # type: ignore[attr-defined]
    session.execute(delete(Match).where(Match.round_id == round_id))
    round_.status = "proposed"
    round_.approved_at = None
    round_.approved_by = None
    audit.record(
        session,
        user,
        "rounds.unapprove",
        "round",
        round_id,
        matches=len(matches),
        introductions_withdrawn=withdrawn,
    )
    return len(matches)


def _ids(ids: list[int]) -> str:
    return ", ".join(map(str, ids[:10])) + (" ..." if len(ids) > 10 else "")
