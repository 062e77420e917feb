"""Matching rounds: settings and people, pins and forbids, runs, proposals, approval.

A run reads the round's inputs (``service.round_inputs``), solves in a child process
(``service.solving``) and replaces the round's proposals in one transaction. Approval turns
proposals into confirmed matches; it claims the round with one conditional UPDATE, so two
approvals at once cannot both succeed.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from matcher.data import ProblemData
from matcher.export import build_report
from service import audit
from service.db import transaction
from service.errors import Conflict, NotFound
from service.exclusions import is_excluded
from service.jobs import JobReporter, JobRunner
from service.models import Job, Mentee, Mentor, Proposal, Round, RoundPair, User
from service.round_inputs import build_problem, round_settings
from service.solving import solve_in_child

PAIR_KINDS = ("pin", "forbid")


def create_round(
    session: Session,
    user: User,
    name: str,
    settings: dict[str, Any],
    time_limit: float,
    mentee_ids: list[str] | None,
) -> Round:
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


def all_rounds(session: Session) -> list[Round]:
    return list(session.scalars(select(Round).order_by(Round.id.desc())))


def round_view(round_: Round) -> dict[str, Any]:
    return {
        "id": round_.id,
        "name": round_.name,
        "status": round_.status,
        "settings": round_.settings,
        "time_limit": round_.time_limit,
        "mentee_ids": round_.mentee_ids,
        "runs": round_.runs,
        "active_job": round_.active_job,
        "summary": round_.summary,
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
) -> RoundPair:
    """Pin (must be made) or forbid (must not be made) a pair for the round's next run."""
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


def remove_pair(session: Session, user: User, round_id: int, pair_id: int) -> None:
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


def pair_view(pair: RoundPair) -> dict[str, Any]:
    return {
        "id": pair.id,
        "kind": pair.kind,
        "mentor_id": pair.mentor_id,
        "mentee_id": pair.mentee_id,
        "reason": pair.reason,
    }


def start_run(session: Session, user: User, round_id: int, runner: JobRunner) -> Job:
    """Queue a run of the round; one run at a time, none after approval."""
    round_ = get_round(session, round_id)
    job = runner.new_job(session, "round", user, round_.id)
    claimed = session.execute(
        update(Round)
        .where(Round.id == round_id, Round.active_job.is_(None), Round.status != "approved")
        .values(active_job=job.id)
    )
    if claimed.rowcount == 0:  # type: ignore[attr-defined]
        session.rollback()
        round_ = get_round(session, round_id)
        if round_.status == "approved":
            raise Conflict(f"round {round_id} is approved: start a new round")
        raise Conflict(f"round {round_id} is already running (job {round_.active_job})")
    audit.record(session, user, "rounds.run", "round", round_id, job_id=job.id)
    return job


def run_in_background(
    session: Session,
    user: User,
    round_id: int,
    runner: JobRunner,
    sessions: sessionmaker[Session],
    postcode_lookup: str = "",
) -> Job:
    """Queue a run and hand it to the runner; commits, because the worker reads the job row."""
    job = start_run(session, user, round_id, runner)
    session.commit()
    work, tidy = run_job(sessions, round_id, job.id, postcode_lookup=postcode_lookup)
    runner.submit(job.id, work, tidy)
    return job


def run_job(
    sessions: sessionmaker[Session],
    round_id: int,
    job_id: str,
    seed: int = 0,
    postcode_lookup: str = "",
) -> tuple[Any, Any]:
    """The job's work and its clean-up, for ``JobRunner.submit``."""

    def work(reporter: JobReporter) -> str:
        with transaction(sessions) as session:
            round_ = get_round(session, round_id)
            time_limit = round_.time_limit
            problem, inputs = build_problem(session, round_, postcode_lookup)
        started = time.monotonic()
        reporter.progress(0.01, "solving", force=True)

        def on_progress(line: str) -> None:
            reporter.progress((time.monotonic() - started) / time_limit * 0.95, line)

        result = solve_in_child(problem, time_limit=time_limit, seed=seed, on_progress=on_progress)
        return _store_result(sessions, round_id, job_id, problem, inputs, result)

    def tidy() -> None:
        with transaction(sessions) as session:
            session.execute(
                update(Round)
                .where(Round.id == round_id, Round.active_job == job_id)
                .values(active_job=None)
            )

    return work, tidy


def _store_result(
    sessions: sessionmaker[Session],
    round_id: int,
    job_id: str,
    problem: ProblemData,
    inputs: dict[str, Any],
    result: Any,
) -> str:
    report = build_report(problem, result)
    with transaction(sessions) as session:
        round_ = get_round(session, round_id)
        session.execute(delete(Proposal).where(Proposal.round_id == round_id))
        session.add_all(
            Proposal(
                round_id=round_id,
                mentor_id=p["mentor_id"],
                mentee_id=p["mentee_id"],
                score=p["score"],
                reasons=p["reasons"],
            )
            for p in report.pairs
        )
        solved = result.status.value in ("optimal", "feasible")
        round_.status = "proposed" if solved else "draft"
        round_.runs += 1
        round_.inputs = inputs
        round_.summary = report.summary
        round_.unmatched = [
            {"mentee_id": u["mentee_id"], "cohort": u["cohort"], "reason": u["reason"]}
            for u in report.unmatched
        ]
        round_.active_job = None
        audit.record(
            session,
            None,
            "rounds.proposed",
            "round",
            round_id,
            job_id=job_id,
            status=result.status.value,
            pairs=len(report.pairs),
        )
    summary = report.summary
    if not solved:
        return f"{result.status.value}: {'; '.join(result.conflicts) or summary['advice']}"
    return (
        f"{result.status.value}: {summary['mentees_matched']} of {summary['mentees']} mentees "
        f"matched ({summary['fellows_matched']} of {summary['fellows']} fellows)"
    )


def proposals(session: Session, round_id: int, *, named: bool) -> list[dict[str, Any]]:
    """The last run's pairs; ``named=False`` (analysts) gives ids only."""
    rows = session.execute(
        select(Proposal, Mentor.name, Mentee.name, Mentee.record)
        .join(Mentor, Mentor.mentor_id == Proposal.mentor_id)
        .join(Mentee, Mentee.mentee_id == Proposal.mentee_id)
        .where(Proposal.round_id == round_id)
        .order_by(Proposal.mentor_id, Proposal.mentee_id)
    ).all()
    out = []
    for proposal, mentor_name, mentee_name, mentee_record in rows:
        item: dict[str, Any] = {
            "mentor_id": proposal.mentor_id,
            "mentee_id": proposal.mentee_id,
            "cohort": str(mentee_record.get("cohort", "")).strip().lower(),
            "score": proposal.score,
            "reasons": proposal.reasons,
        }
        if named:
            item["mentor_name"] = mentor_name
            item["mentee_name"] = mentee_name
        out.append(item)
    return out


def unmatched(session: Session, round_: Round, *, named: bool) -> list[dict[str, Any]]:
    rows = list(round_.unmatched or [])
    if named and rows:
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
