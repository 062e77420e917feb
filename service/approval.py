"""Approval: a round's proposals become confirmed matches, all of them or none.

Approvals race: two rounds built over the same people, approved at the same moment, on one
server or several. The rules hold in the database, whatever the order: a partial unique
index allows one active match per mentee, and each approval first locks the rows of the
mentors and mentees it touches (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the
writer's lock serialises it), so that its checks of who is taken and of each mentor's load
see every approval that committed before it.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service import audit
from service.db import utcnow
from service.errors import Conflict
from service.models import Match, Proposal, Round, User
from service.people import active_match_counts, actively_matched_mentees
from service.rounds import get_round


def approve(session: Session, user: User, round_id: int) -> list[Match]:
    """Confirm the round's proposals as matches; a second approval gets 409."""
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
    taken = actively_matched_mentees(session) & {p.mentee_id for p in chosen}
    if taken:
        raise Conflict(
            "since this round ran, these mentees were matched elsewhere: run it again",
            mentee_ids=sorted(taken),
        )
    before = (round_.inputs or {}).get("load", {})
    now_load = active_match_counts(session)
    busier = sorted(
        m for m in {p.mentor_id for p in chosen} if now_load.get(m, 0) > before.get(m, 0)
    )
    if busier:
        raise Conflict(
            "since this round ran, these mentors took matches elsewhere: run it again",
            mentor_ids=busier,
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
    session.flush()
    audit.record(session, user, "rounds.approve", "round", round_id, matches=len(matches))
    return matches
