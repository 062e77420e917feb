"""Levels 1-4 by the MIP (``solver.mip``, HiGHS) against the current solver, on the rounds of
the shape family where the current solver leaves levels unproven.

Per round, in an order that alternates from round to round, three runs in this process:

- **solver**: ``solver.solve`` with the time limit (every level, as ``matcher match``);
- **mip**: build the allowed pairs, then ``solve_levels`` over all of them, no help;
- **mip+flow**: build the allowed pairs, the flow relaxation and its warm start, then
  ``solve_levels`` with the relaxation's levels 1-3 as known bounds and the warm start as the
  first hint (what a strategy in ``solver.strategies`` would do).

Per level: value, proven or its bound, and the seconds from the start of the run to when the
level was settled (the MIP's times include building the pairs). Every pair list goes through
``matcher.checks``: no broken rule, and levels 1-4 recomputed equal to the reported ones.

    python -m benchmarks.mip_levels [--rounds oversupply/mid/2,sparse/regional/4]
        [--time-limit 60] [--out FILE]

The table is rewritten after every round, so a run stopped early keeps what it measured.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from benchmarks.solver_family import LevelRun, _cpu, checked, names, run_round
from datasets.shapes import SHAPES, SIZES, pick
from matcher.data import ProblemData
from solver.flow import relax, warm_start
from solver.instance import build_instance
from solver.mip import MIP_LEVELS, MipLevels, solve_levels

RESULTS = Path(__file__).resolve().parent / "results" / "mip_levels.md"
# The rounds of benchmarks/results/solver_family.md with a level of 1-4 or the penalty
# unproven at 60 s, or proven only after 30 s (the equity limit aside); then, for contrast,
# rounds the branching proves in seconds, and two with the equity limit.
DEFAULT_ROUNDS = (
    "oversupply/mid/2",
    "oversupply/mid/3",
    "oversupply/mid/4",
    "oversupply/regional/2",
    "oversupply/regional/3",
    "oversupply/regional/4",
    "sparse/regional/1",
    "sparse/regional/4",
    "oversupply/mid/1",
    "f2f_heavy/regional/3",
    "equity_limit/lmc/1",
    "equity_limit/regional/4",
)
RUNS = ("solver", "mip", "mip+flow")


@dataclass(frozen=True)
class Run:
    name: str
    status: str
    levels: tuple[LevelRun, ...]  # levels 1-4
    seconds: float  # to the last of levels 1-4 (the solver: to its whole answer)
    checks: str

    def cell(self, level: str) -> str:
        found = [lv for lv in self.levels if lv.name == level]
        return found[0].cell() if found else "–"

    @property
    def quality(self) -> LevelRun | None:
        return next((lv for lv in self.levels if lv.name == "quality"), None)


@dataclass(frozen=True)
class RoundRuns:
    label: str
    mentors_mentees: str
    allowed_pairs: int
    runs: dict[str, Run]


def _mip_check(problem: ProblemData, result: MipLevels) -> str:
    if not result.pairs:
        return result.status.value
    return checked(problem, result.pairs, result.levels)


def run_mip(label: str, time_limit: float, with_flow: bool) -> tuple[Run, int]:
    shape, size, seed = _parse(label)
    problem = SHAPES[shape](SIZES[size], seed)
    started = time.perf_counter()
    inst = build_instance(problem)
    bounds, start = None, None
    if with_flow:
        relaxation = relax(inst)
        bounds = {
            "priority_matched": relaxation.priority_matched,
            "matched": relaxation.matched,
            "waiting_days": relaxation.waiting_days,
        }
        start = warm_start(inst, relaxation.chosen)
    before = time.perf_counter() - started
    result = solve_levels(
        inst, time_limit=max(time_limit - before, 0.01), seed=0, bounds=bounds, start=start
    )
    at = before + result.seconds["build"]
    levels = []
    for level in result.levels:
        at += result.seconds[level.name]
        levels.append(LevelRun(level.name, level.value, level.bound, level.proven, at))
    return (
        Run(
            "mip+flow" if with_flow else "mip",
            result.status.value,
            tuple(levels),
            time.perf_counter() - started,
            _mip_check(problem, result),
        ),
        len(inst.pairs),
    )


def run_solver(label: str, time_limit: float) -> tuple[Run, str, int]:
    shape, size, seed = _parse(label)
    done = run_round(SHAPES[shape], SIZES[size], seed, time_limit, None)
    levels = tuple(lv for lv in done.levels if lv.name in MIP_LEVELS)
    run = Run("solver", done.status, levels, done.seconds, done.checks)
    return run, f"{done.n_mentors} × {done.n_mentees}", done.allowed_pairs


def _parse(label: str) -> tuple[str, str, int]:
    shape, size, seed = label.split("/")
    pick([shape], SHAPES, "shape")
    pick([size], SIZES, "size")
    return shape, size, int(seed)


def _ratio(solver: Run, mip: Run) -> str:
    """Seconds to a proven level 1-4 answer: the solver's over the MIP's, and the quality the
    solver returned against the MIP's."""
    q_solver, q_mip = solver.quality, mip.quality
    if q_solver is None or q_mip is None or not q_mip.proven:
        return "–"
    gain = q_mip.value - q_solver.value
    speed = (
        f"{q_solver.seconds:.1f} s / {q_mip.seconds:.1f} s = "
        f"{q_solver.seconds / max(q_mip.seconds, 0.01):.2f}×"
        if q_solver.proven
        else f"unproven at {solver.seconds:.0f} s vs {q_mip.seconds:.1f} s"
    )
    return f"{speed}; quality {'+' if gain >= 0 else ''}{gain:,}"


def render(rounds: Sequence[RoundRuns], args: argparse.Namespace, complete: bool) -> str:
    head = (
        "| round | mentors × mentees | allowed pairs | run | status | "
        + " | ".join(MIP_LEVELS)
        + " | s to levels 1-4 | checks | solver vs this run |"
    )
    rows = [head, "|" + "---|" * (8 + len(MIP_LEVELS))]
    for r in rounds:
        for name in RUNS:
            run = r.runs.get(name)
            if run is None:
                continue
            seconds = run.quality.seconds if run.quality else run.seconds
            ratio = "" if name == "solver" else _ratio(r.runs["solver"], run)
            rows.append(
                f"| {r.label} | {r.mentors_mentees} | {r.allowed_pairs:,} | {name} | "
                f"{run.status} | "
                + " | ".join(run.cell(level) for level in MIP_LEVELS)
                + f" | {seconds:.1f} | {run.checks} | {ratio} |"
            )
    command = (
        f"python -m benchmarks.mip_levels --rounds {','.join(args.rounds)} "
        f"--time-limit {args.time_limit:g}"
    )
    note = "" if complete else "\n**Partial: the run was still going when this was written.**\n"
    return "\n".join(
        [
            "# Levels 1-4 by a MIP (HiGHS) against the current solver",
            "",
            f"`{command}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores "
            f"({_cpu()}), shared; Python {platform.python_version()}, OR-Tools "
            f"{version('ortools')} (HiGHS through MathOpt, one thread).",
            note,
            "Runs, in an order that alternates from round to round: **solver** is "
            "`solver.solve` with the time limit (all five levels; the penalty is not shown); "
            "**mip** is `solver.mip.solve_levels` over every allowed pair with no help; "
            "**mip+flow** gives it the flow relaxation's levels 1-3 as known bounds and its "
            "warm start as the first hint. Each level cell: value, ✓ when proven (else ≤ its "
            "bound), and the seconds from the start of the run to when the level was settled "
            "(the MIP's include building the allowed pairs and, for mip+flow, the flow). "
            "*s to levels 1-4*: to the quality level. The last column: the solver's seconds to "
            "a proven quality over this run's, and the quality this run gains over the "
            "solver's pairs. Checks: `matcher.checks` finds no broken rule and recomputes "
            "each level as reported.",
            "",
            *rows,
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mip_levels", description=__doc__)
    parser.add_argument("--rounds", type=names, default=list(DEFAULT_ROUNDS))
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    try:
        for label in args.rounds:
            _parse(label)
    except ValueError as exc:
        parser.error(f"{exc} (a round is shape/size/seed)")
    if args.time_limit <= 0:
        parser.error("--time-limit must be positive")
    done: list[RoundRuns] = []
    for index, label in enumerate(args.rounds):
        order = RUNS[index % len(RUNS) :] + RUNS[: index % len(RUNS)]
        runs: dict[str, Run] = {}
        shape_size, n_pairs = "", 0
        for name in order:
            if name == "solver":
                runs[name], shape_size, n_pairs = run_solver(label, args.time_limit)
            else:
                runs[name], n_pairs = run_mip(label, args.time_limit, name == "mip+flow")
            print(
                f"{label:24} {name:9} {runs[name].status:10} {runs[name].seconds:6.1f}s "
                f"{runs[name].checks}",
                flush=True,
            )
        done.append(RoundRuns(label, shape_size, n_pairs, runs))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(render(done, args, complete=False), encoding="utf-8")
    args.out.write_text(render(done, args, complete=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
