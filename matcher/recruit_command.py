"""`matcher recruit`: read the round and the candidate profiles, plan, write, print.

Exit codes: 0 the plan meets the whole target; 1 it cannot (target mentees no current mentor
or profile can take, no plan that keeps every rule, or none found in the time limit), with the
files written and the reason on stderr; 2 bad input (``matcher.cli.main`` reports an
``InputError``, and nothing is written).

``--time-limit`` counts from the start of the command, reading included, like `matcher match`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from matcher.columns import MENTORS
from matcher.data import Mentor, ProblemData
from matcher.errors import InputError, Problem
from matcher.preview import FileRead
from matcher.readers import load_problem, mentors_file
from matcher.settings import Settings
from matcher.spreadsheet import read_table

EXIT_OK, EXIT_PROBLEMS, EXIT_BAD_INPUT = 0, 1, 2
# Kept out of the planning's share of the limit, for writing the three files.
WRITE_SECONDS = 0.5


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_recruit(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.time_limit <= 0:
        _err("--time-limit must be positive")
        return EXIT_BAD_INPUT
    from matcher.recruit_report import build_report, write_report
    from solver.recruit import PlanStatus, plan_recruitment, profiles_of

    problem, profile_rows, reads = _read(args)
    for read in reads:
        _tell(read, args.quiet)

    def progress(message: str) -> None:
        if not args.quiet:
            _err(f"[{time.perf_counter() - started:6.1f}s] {message}")

    from_file = args.profiles is not None
    profiles = profiles_of(
        profile_rows if from_file else problem.mentors, problem, from_register=not from_file
    )
    source = f"the profiles file {args.profiles.name}" if from_file else "the current mentors"
    budget = max(0.1, args.time_limit - (time.perf_counter() - started) - WRITE_SECONDS)
    plan = plan_recruitment(
        problem, profiles, args.target, time_limit=budget, seed=args.seed, progress=progress
    )
    report = build_report(problem, plan, source)
    written = write_report(report, args.out)
    print(report.summary)
    for path in written:
        print(f"wrote {path}")
    if plan.unreachable:
        _err(
            f"{len(plan.unreachable)} of the {plan.targets} target mentees cannot be matched by "
            f"any current mentor or candidate profile; the plan is for the other "
            f"{plan.reachable}:"
        )
        for mentee in plan.unreachable:
            _err(f"  - {mentee.mentee_id}: {mentee.reason}")
    if plan.status in (PlanStatus.INFEASIBLE, PlanStatus.UNKNOWN):
        _err(plan.status.advice)
        for conflict in plan.conflicts:
            _err(f"  - {conflict}")
    met = plan.status in (PlanStatus.OPTIMAL, PlanStatus.FEASIBLE) and not plan.unreachable
    return EXIT_OK if met else EXIT_PROBLEMS


def _read(args: argparse.Namespace) -> tuple[ProblemData, tuple[Mentor, ...], list[FileRead]]:
    """The round and the profiles file's rows; every problem of every file raised together."""
    problems: list[Problem] = []
    problem = profiles = None
    reads: list[FileRead] = []
    settings = Settings.from_toml(args.settings) if args.settings else Settings()
    try:
        problem = load_problem(args.mentors, args.mentees, args.exclusions, settings=settings)
        reads += problem.files
    except InputError as exc:
        problems += exc.problems
    if args.profiles is not None:
        try:
            profiles = _profiles_file(args.profiles, settings, reads)
        except InputError as exc:
            problems += exc.problems
    if problems or problem is None:
        raise InputError(problems)
    return problem, profiles or (), reads


def _profiles_file(path: Path, settings: Settings, reads: list[FileRead]) -> tuple[Mentor, ...]:
    """Every row of a mentors file, read by the same reader: each one a profile."""
    read = mentors_file(read_table(path, MENTORS), settings)
    table = read.table
    if not read.records:
        raise InputError(
            [Problem(table.file, None, None, None, "no profiles: the file has no mentor rows")]
        )
    reads.append(FileRead(table.file, "profiles", len(table), table.reading, read.notes))
    return read.records


def _tell(read: FileRead, quiet: bool) -> None:
    """How a file was read: warnings always, the other notes unless ``quiet``."""
    shown = [n for n in read.notes if n.warning or not quiet]
    if shown:
        _err(f"{read.file} ({read.where()}):")
        for note in shown:
            _err(f"  {note}")
