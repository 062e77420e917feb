"""A round's runs: one at a time, solved in a child process, the answer stored whole.

A run reads the round's inputs (``service.round_inputs``), solves in a child process
(``service.solving``) and replaces the round's proposals in one transaction; a run that
finds no pair list keeps the last good proposals and says which pins clash.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from matcher.data import ProblemData
from matcher.export import build_report
from matcher.scoring import pair_parts
from service import audit
from service.db import transaction
from service.errors import Conflict, NotFound
from service.jobs import JobCancelled, JobKind, JobReporter, JobRunner, Work
from service.models import Job, Proposal, Round, User
from service.round_inputs import build_problem, pin_clashes
from service.rounds import get_round
from service.solving import SolveCancelled, solve_in_child
from solver.diagnose import PINNED_PAIR


def start_run(
    session: Session, user: User, round_id: int, runner: JobRunner, max_time_limit: float = 3600.0
) -> Job:
    """Queue a run of the round; one run at a time, none after approval. The job carries its
    time limit: the round's, cut to the scheme's most (``max_time_limit``), for a round
    stored before the scheme lowered it."""
    # Locked until commit: a delete of the round at the same moment waits, or this finds
    # the round gone (404), rather than the job's row losing its round.
    round_ = session.get(Round, round_id, with_for_update=True)
    if round_ is None:
        raise NotFound(f"no round with id {round_id}")
    job = runner.new_job(session, "round", user, round_.id)
    job.time_limit = min(round_.time_limit, max_time_limit)
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
    session: Session, user: User, round_id: int, runner: JobRunner, max_time_limit: float = 3600.0
) -> Job:
    """Queue a run and put it on the job queue; commits first, as a worker (perhaps in
    another process) reads the job row."""
    job = start_run(session, user, round_id, runner, max_time_limit)
    session.commit()
    runner.dispatch(job.id, job.kind, round_id)
    return job


def round_kind(
    sessions: sessionmaker[Session], postcode_lookup: str = "", max_time_limit: float = 3600.0
) -> JobKind:
    """Runs of rounds, as a kind of job for ``JobRunner``."""

    def make(job_id: str, round_id: int | None) -> tuple[Work, Callable[[], None]]:
        if round_id is None:
            raise ValueError(f"job {job_id} runs a round but names none")
        return run_job(
            sessions,
            round_id,
            job_id,
            postcode_lookup=postcode_lookup,
            max_time_limit=max_time_limit,
        )

    return make


def run_job(
    sessions: sessionmaker[Session],
    round_id: int,
    job_id: str,
    seed: int = 0,
    postcode_lookup: str = "",
    max_time_limit: float = 3600.0,
) -> tuple[Work, Callable[[], None]]:
    """The job's work and its clean-up after a failure."""

    def work(reporter: JobReporter) -> str:
        started = time.monotonic()  # the round's time limit bounds the job from here
        with transaction(sessions) as session:
            round_ = get_round(session, round_id)
            job = session.get(Job, job_id)
            # The job's own limit (fixed when it was queued), and never above this worker's
            # most: a worker whose scheme lowered it since runs with the lower.
            asked = job.time_limit if job is not None and job.time_limit else round_.time_limit
            time_limit = min(asked, max_time_limit)
            problem, inputs = build_problem(session, round_, postcode_lookup)
        reporter.progress(0.01, "solving", force=True)

        def on_progress(line: str) -> None:
            reporter.progress((time.monotonic() - started) / time_limit * 0.95, line)

        try:
            result = solve_in_child(
                problem,
                time_limit=time_limit,
                seed=seed,
                on_progress=on_progress,
                started=started,
                cancelled=reporter.cancelled,
            )
        except SolveCancelled:
            raise JobCancelled() from None
        if reporter.cancelled.is_set():
            raise JobCancelled()
        return _store_result(sessions, round_id, job_id, reporter.worker, problem, inputs, result)

    def tidy() -> None:
        with transaction(sessions) as session:
            session.execute(
                update(Round)
                .where(Round.id == round_id, Round.active_job == job_id)
                .values(active_job=None)
            )

    return work, tidy


class RunLost(RuntimeError):
    """The round is no longer this run's: nothing of the run is stored."""


def _still_ours(session: Session, round_id: int, job_id: str, worker: str | None) -> Round:
    """The round, locked, if this run still holds it; else RunLost. A run whose lease ran out
    (its job queued again or failed, its round perhaps run again or approved since) must not
    store its answer."""
    # The job's row first, then the round's: the order every other writer locks them in.
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.status != "running" or (worker is not None and job.worker != worker):
        raise RunLost(f"job {job_id} is no longer this worker's: nothing was stored")
    round_ = session.get(Round, round_id, with_for_update=True)
    if round_ is None:
        raise NotFound(f"no round with id {round_id}")
    if round_.active_job != job_id or round_.status == "approved":
        raise RunLost(
            f"round {round_id} was freed while this run worked (its lease ran out or it was "
            "stopped): nothing was stored"
        )
    return round_


def _store_result(
    sessions: sessionmaker[Session],
    round_id: int,
    job_id: str,
    worker: str | None,
    problem: ProblemData,
    inputs: dict[str, Any],
    result: Any,
) -> str:
    report = build_report(problem, result)
    mentors = {m.mentor_id: m for m in problem.mentors}
    mentees = {m.mentee_id: m for m in problem.mentees}
    # Each proposal's score parts, by mentee (a round proposes one mentor per mentee), kept in
    # the run's inputs: a JSON column, so no new column or table. Computed here from the records
    # the solver read, they add up to the stored score even after the records change, and need
    # no postcode lookup when a view is made.
    score_parts = {
        p.mentee_id: pair_parts(problem, mentors[p.mentor_id], mentees[p.mentee_id])
        for p in result.pairs
    }
    solved = result.status.value in ("optimal", "feasible")
    if not solved:
        return _store_failure(
            sessions, round_id, job_id, worker, problem, inputs, result, report.summary
        )
    with transaction(sessions) as session:
        round_ = _still_ours(session, round_id, job_id, worker)
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
        round_.status = "proposed"
        round_.runs += 1
        round_.inputs = {**inputs, "score_parts": score_parts}
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
    return (
        f"{result.status.value}: {summary['mentees_matched']} of {summary['mentees']} mentees "
        f"matched ({summary['fellows_matched']} of {summary['fellows']} fellows)"
    )


def _store_failure(
    sessions: sessionmaker[Session],
    round_id: int,
    job_id: str,
    worker: str | None,
    problem: ProblemData,
    inputs: dict[str, Any],
    result: Any,
    summary: dict[str, Any],
) -> str:
    """A run that found no pair list: the last good proposals stay, with their summary, and
    the round says which pins clash (the service's words for pins that break a hard rule,
    the solver's for the other clashes)."""
    clashes = pin_clashes(problem)
    # The solver's own sentence for such a pin starts with PINNED_PAIR; ours replaces it.
    clashes += [c for c in result.conflicts if not (clashes and c.startswith(PINNED_PAIR))]
    with transaction(sessions) as session:
        round_ = _still_ours(session, round_id, job_id, worker)
        round_.runs += 1
        kept = round_.status == "proposed" and round_.summary is not None
        found, reason = (
            ("found that no pair list keeps every rule", "no pair list keeps every rule")
            if result.status.value == "infeasible"
            else ("found no pair list in its time limit", "no pair list was found in time")
        )
        headline = f"Run {round_.runs} {found}" + (
            ": the proposals of the run before are kept" if kept else ": nobody is proposed"
        )
        failure = {"status": result.status.value, "run": round_.runs, "clashes": clashes}
        if kept:
            round_.summary = {
                **(round_.summary or {}),
                "conflicts": [headline, *clashes],
                "last_run": failure,
            }
        else:
            round_.status = "draft"
            round_.inputs = {**inputs, "score_parts": {}}
            round_.summary = {**summary, "conflicts": [headline, *clashes], "last_run": failure}
            round_.unmatched = [
                {"mentee_id": m.mentee_id, "cohort": m.cohort, "reason": reason}
                for m in problem.mentees
            ]
        round_.active_job = None
        audit.record(
            session,
            None,
            "rounds.failed",
            "round",
            round_id,
            job_id=job_id,
            status=result.status.value,
            kept=kept,
        )
    # Every role may read a job: the clashes themselves (one can quote a strict gender
    # wish) are in the round's summary, which shows them to staff.
    why = f"{len(clashes)} clash(es) among pins and rules: see the round" if clashes else ""
    return f"{result.status.value}: {headline}; {why or summary['advice']}"
