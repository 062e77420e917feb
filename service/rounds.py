"""Matching rounds: settings and people, pins and forbids, proposals and the unmatched;
renaming, and deleting a round that is neither approved nor running.

Runs are in ``service.round_runs``, approval in ``service.approval``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from matcher.errors import SENSITIVE_COLUMNS, InputError
from matcher.scoring import neutral_parts
from service import audit
from service.errors import Conflict, Invalid, NotFound
from service.exclusions import is_excluded
from service.models import (
    ACTIVE_MATCH_STATUSES,
    Job,
    Match,
    Mentee,
    Mentor,
    Proposal,
    Round,
    RoundPair,
    User,
)
from service.round_inputs import pair_problem, pin_clashes, round_settings
from service.search import contains, count

PAIR_KINDS = ("pin", "forbid")
# What an analyst reads for an unmatched mentee: fixed sentences for the causes that the
# solver's reason names (found by its phrases), never the reason itself. That reason counts the
# mentors each rule ruled out, a mentee's strict gender wish among them; an infeasible round's
# quotes the pins that clash. A reason either is one of the first two causes, or lists some of
# the others.
NO_SOLUTION = ("no pair list keeps every rule", "the round had no solution: nobody was matched")
NO_MENTOR = ("no allowed mentor", "no allowed mentor under the hard rules")
LEFT_OUT = (
    ("full with mentees of higher priority", "allowed mentors were full"),
    ("unused this round", "allowed mentors were unused: too few mentees for their minimum"),
    ("not chosen before the time limit", "allowed mentors with room were not chosen in time"),
)
UNMATCHED_OTHER = "not shown to analysts"


def create_round(
    session: Session,
    user: User,
    name: str,
    settings: dict[str, Any],
    time_limit: float,
    mentee_ids: list[str] | None,
    max_time_limit: float = 3600.0,
) -> Round:
    """A new round in draft; Invalid (422) for a time limit above the scheme's most."""
    if time_limit > max_time_limit:
        raise Invalid(
            f"time_limit {time_limit:g} s is above this scheme's most, {max_time_limit:g} s "
            "(MATCHER_MAX_TIME_LIMIT): ask for less"
        )
    round_settings(settings)  # InputError (422) before anything is stored
    if mentee_ids is not None:
        _require_people(session, [], mentee_ids)
    round_ = Round(
        name=name, settings=settings, time_limit=time_limit, mentee_ids=mentee_ids, status="draft"
    )
    round_.created_by = user.id
    session.add(round_)
    session.flush()
    audit.record(session, user, "rounds.create", "round", round_.id, time_limit=time_limit)
    return round_


def get_round(session: Session, round_id: int) -> Round:
    round_ = session.get(Round, round_id)
    if round_ is None:
        raise NotFound(f"no round with id {round_id}")
    return round_


def rename_round(session: Session, user: User, round_id: int, name: str) -> Round:
    """Give the round a new name, whatever its state."""
    round_ = get_round(session, round_id)
    round_.name = name
    audit.record(session, user, "rounds.rename", "round", round_id)
    return round_


def delete_round(session: Session, user: User, round_id: int) -> None:
    """Delete a round that is neither approved nor running, with its proposals, pins and
    forbids and jobs. The round's row stays locked until commit (PostgreSQL; SQLite's writer
    holds the database), so a run or an approval starting at the same moment finds it gone."""
    round_ = session.get(Round, round_id, with_for_update=True)
    if round_ is None:
        raise NotFound(f"no round with id {round_id}")
    if round_.status == "approved":
        raise Conflict(f"round {round_id} is approved: undo the approval before deleting it")
    if round_.active_job:
        raise Conflict(f"round {round_id} is running (job {round_.active_job}): wait for it")
    session.execute(delete(Proposal).where(Proposal.round_id == round_id))
    session.execute(delete(RoundPair).where(RoundPair.round_id == round_id))
    session.execute(delete(Job).where(Job.round_id == round_id))
    session.delete(round_)
    audit.record(session, user, "rounds.delete", "round", round_id, runs=round_.runs)


def all_rounds(session: Session) -> list[Round]:
    return list(session.scalars(select(Round).order_by(Round.id.desc())))


def count_rounds(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Round)) or 0


def rounds_page(session: Session, offset: int, limit: int) -> list[Round]:
    """``limit`` rounds from ``offset``, newest first (as ``all_rounds`` lists them)."""
    query = select(Round).order_by(Round.id.desc()).offset(offset).limit(limit)
    return list(session.scalars(query))


def round_view(round_: Round, *, named: bool = True) -> dict[str, Any]:
    """The round; ``named=False`` (analysts): its summary counts the clashes without saying
    them (a clash can quote a strict gender wish) and has no notes on personal columns."""
    summary = round_.summary
    if summary and not named:
        last_run = summary.get("last_run") or {}
        clashes = len(last_run["clashes"] if last_run else summary.get("conflicts") or [])
        counted = [f"{clashes} clash(es) among pins and rules"] if clashes else []
        summary = {
            **summary,
            "conflicts": counted,
            **({"last_run": {**last_run, "clashes": counted}} if last_run else {}),
            "input_notes": [
                note
                for note in summary.get("input_notes") or []
                if note.get("column") not in SENSITIVE_COLUMNS
            ],
        }
    return {
        "id": round_.id,
        "name": round_.name,
        "status": round_.status,
        "settings": round_.settings,
        "time_limit": round_.time_limit,
        "mentee_ids": round_.mentee_ids,
        "runs": round_.runs,
        "active_job": round_.active_job,
        "summary": summary,
        "created_at": round_.created_at.isoformat(),
        "approved_at": round_.approved_at.isoformat() if round_.approved_at else None,
    }


def add_pair(
    session: Session,
    user: User,
    round_id: int,
    kind: str,
    mentor_id: str,
    mentee_id: str,
    reason: str,
    *,
    postcode_lookup: str = "",
) -> RoundPair:
    """Pin (must be made) or forbid (must not be made) a pair for the round's next run.

    A pin is checked against the hard rules as the run reads the pair: ``postcode_lookup`` is
    the server's (``MATCHER_POSTCODE_LOOKUP``), which places people given by postcode only."""
    round_ = _open_round(session, round_id)
    _require_people(session, [mentor_id], [mentee_id])
    clash = session.scalar(
        select(RoundPair).where(
            RoundPair.round_id == round_.id,
            RoundPair.mentor_id == mentor_id,
            RoundPair.mentee_id == mentee_id,
        )
    )
    if kind == "pin" and is_excluded(session, mentor_id, mentee_id):
        raise Conflict(f"{mentor_id}-{mentee_id} is a standing exclusion (conflict of interest)")
    if clash is not None:
        raise Conflict(
            f"{mentor_id}-{mentee_id} is already {'pinned' if clash.kind == 'pin' else 'forbidden'}"
            f" in round {round_.id} (pair {clash.id}): delete it first"
        )
    if kind == "pin":
        _check_pin(session, round_, mentor_id, mentee_id, postcode_lookup)
    pair = RoundPair(
        round_id=round_.id, kind=kind, mentor_id=mentor_id, mentee_id=mentee_id, reason=reason
    )
    session.add(pair)
    session.flush()
    audit.record(
        session,
        user,
        f"rounds.{kind}",
        "round",
        round_.id,
        mentor_id=mentor_id,
        mentee_id=mentee_id,
    )
    return pair


def _check_pin(
    session: Session, round_: Round, mentor_id: str, mentee_id: str, postcode_lookup: str
) -> None:
    """Refuse a pin that breaks a hard rule under the round's settings (with the postcode
    lookup its run uses, so the distance rule counts too), or that pins a mentee already
    pinned in the round (a mentee gets one mentor)."""
    other = session.scalar(
        select(RoundPair).where(
            RoundPair.round_id == round_.id,
            RoundPair.kind == "pin",
            RoundPair.mentee_id == mentee_id,
        )
    )
    if other is not None:
        raise Conflict(
            f"mentee {mentee_id} is already pinned to mentor {other.mentor_id} in round "
            f"{round_.id} (pair {other.id}): a mentee gets one mentor, so delete that pin first"
        )
    mentor = session.get(Mentor, mentor_id)
    mentee = session.get(Mentee, mentee_id)
    assert mentor is not None and mentee is not None  # checked by _require_people
    try:
        clashes = pin_clashes(pair_problem(session, round_, mentor, mentee, postcode_lookup))
    except InputError:
        # A postcode with no place (the server has no lookup): the run refuses the round
        # with the same problem, naming the people, so the pin is left to it.
        return
    if clashes:
        raise Conflict(f"{clashes[0]}, so it cannot be pinned")


# How many people a search for a pin or forbid lists, at most: type more to narrow it.
FOUND_AT_MOST = 10


def find_people(
    session: Session, round_: Round, kind: str, text: str, *, limit: int = FOUND_AT_MOST
) -> tuple[list[tuple[str, str]], int]:
    """Who a pin or forbid of the round may name, for a search: mentors (``kind``
    "mentor"), or the round's mentees without an active match ("mentee"), whose id or name
    holds ``text`` (case-insensitive); the first ``limit`` as (id, name) in id order, and how
    many there are. An id typed whole comes first. Staff only: it searches names."""
    model, column = (Mentor, Mentor.mentor_id) if kind == "mentor" else (Mentee, Mentee.mentee_id)
    wanted = text.strip().lower()
    if not wanted:
        return [], 0
    query = select(column, model.name).where(contains(wanted, column, model.name))
    if kind == "mentee":
        matched = select(Match.mentee_id).where(Match.status.in_(ACTIVE_MATCH_STATUSES))
        query = query.where(column.not_in(matched))
        if round_.mentee_ids is not None:
            query = query.where(column.in_(round_.mentee_ids))
    total = count(session, query)
    exact = func.lower(column) == wanted
    rows = session.execute(query.order_by(exact.desc(), column).limit(limit)).all()
    return [(str(i), str(name)) for i, name in rows], total


def remove_pair(session: Session, user: User, round_id: int, pair_id: int) -> RoundPair:
    """Remove a pin or forbid of the round; the pair removed."""
    round_ = _open_round(session, round_id)
    pair = session.get(RoundPair, pair_id)
    if pair is None or pair.round_id != round_.id:
        raise NotFound(f"round {round_id} has no pin or forbid with id {pair_id}")
    session.delete(pair)
    audit.record(
        session,
        user,
        f"rounds.un{pair.kind}",
        "round",
        round_.id,
        mentor_id=pair.mentor_id,
        mentee_id=pair.mentee_id,
    )
    return pair


def pair_view(pair: RoundPair, *, named: bool = True) -> dict[str, Any]:
    """A pin or forbid; ``named=False`` (analysts): without the reason staff typed."""
    view: dict[str, Any] = {
        "id": pair.id,
        "kind": pair.kind,
        "mentor_id": pair.mentor_id,
        "mentee_id": pair.mentee_id,
    }
    if named:
        view["reason"] = pair.reason
    return view


def proposals(session: Session, round_id: int, *, named: bool) -> list[dict[str, Any]]:
    """The last run's pairs, each with its score in parts (``matcher.scoring.NEUTRAL_PARTS``,
    summing to the score; none for rounds run before parts were kept); ``named=False``
    (analysts) gives ids and no reasons: a reason can say which diversity wish a mentor meets."""
    stored = (get_round(session, round_id).inputs or {}).get("score_parts", {})
    # Columns, not rows of the ORM, and the cohort alone of each mentee's record: a national
    # round has 4,000 pairs, read whole for every page of them.
    rows = session.execute(
        select(
            Proposal.mentor_id,
            Proposal.mentee_id,
            Proposal.score,
            Proposal.reasons,
            Mentor.name,
            Mentee.name,
            Mentee.record["cohort"].as_string(),
        )
        .join(Mentor, Mentor.mentor_id == Proposal.mentor_id)
        .join(Mentee, Mentee.mentee_id == Proposal.mentee_id)
        .where(Proposal.round_id == round_id)
        .order_by(Proposal.mentor_id, Proposal.mentee_id)
    ).all()
    out = []
    for mentor_id, mentee_id, score, reasons, mentor_name, mentee_name, cohort in rows:
        item: dict[str, Any] = {
            "mentor_id": mentor_id,
            "mentee_id": mentee_id,
            "cohort": str(cohort or "").strip().lower(),
            "score": score,
            "score_parts": neutral_parts(stored[mentee_id]) if mentee_id in stored else {},
        }
        if named:
            item["reasons"] = reasons
            item["mentor_name"] = mentor_name
            item["mentee_name"] = mentee_name
        out.append(item)
    return out


def analyst_reason(reason: str) -> str:
    """Why a mentee was left unmatched, in fixed sentences only (see ``NO_SOLUTION``)."""
    if not reason:
        return ""
    for phrase, sentence in (NO_SOLUTION, NO_MENTOR):
        if reason.startswith(phrase):
            return sentence
    return "; ".join(sentence for phrase, sentence in LEFT_OUT if phrase in reason) or (
        UNMATCHED_OTHER
    )


def unmatched(session: Session, round_: Round, *, named: bool) -> list[dict[str, Any]]:
    """The mentees the last run left waiting; ``named=False`` (analysts): ids, and the reason
    in fixed sentences (``analyst_reason``)."""
    rows = list(round_.unmatched or [])
    if not named:
        return [
            {
                "mentee_id": r["mentee_id"],
                "cohort": r["cohort"],
                "reason": analyst_reason(r["reason"]),
            }
            for r in rows
        ]
    if rows:
        names = dict(
            session.execute(
                select(Mentee.mentee_id, Mentee.name).where(
                    Mentee.mentee_id.in_([r["mentee_id"] for r in rows])
                )
            ).all()
        )
        rows = [{**r, "mentee_name": names.get(r["mentee_id"], "")} for r in rows]
    return rows


def _open_round(session: Session, round_id: int) -> Round:
    round_ = get_round(session, round_id)
    if round_.status == "approved":
        raise Conflict(f"round {round_id} is approved: its pairs can no longer change")
    return round_


def _require_people(session: Session, mentor_ids: list[str], mentee_ids: list[str]) -> None:
    for column, ids, what in (
        (Mentor.mentor_id, mentor_ids, "mentor"),
        (Mentee.mentee_id, mentee_ids, "mentee"),
    ):
        if not ids:
            continue
        known = set(session.scalars(select(column).where(column.in_(ids))))
        unknown = sorted(set(ids) - known)
        if unknown:
            shown = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            raise NotFound(f"unknown {what} id(s): {shown}", **{f"unknown_{what}_ids": unknown})
