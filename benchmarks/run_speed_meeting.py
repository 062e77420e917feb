"""Time the speed-meeting scheduler on a large event against a greedy rotation.

The event: a generated scheme of 60 mentors and 300 mentees (seed 11), 6 rounds, 2 mentees
a table. From the same run:

(a) ``solver.speed_meeting.schedule``: wall time (median of a few runs; target under 10 s),
    meetings as a share of the seat bound and of the degree bound, meetings per mentee;
(b) the whole ``matcher speed-meeting`` command as a subprocess, wall clock from launch to
    exit (start-up, reading, scheduling, writing the three files);
(c) the baseline, a greedy rotation over the same allowed pairs and scores: round by round,
    each table in turn takes the best-scoring allowed mentee it has not met who is not yet
    seated this round, until its seats are full or nobody fits.

    python -m benchmarks.run_speed_meeting [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.run_matching import machine
from datasets.generator import generate, write_dataset
from matcher.data import ProblemData
from matcher.rules import allowed_pairs
from matcher.scoring import score_pairs
from solver.speed_meeting import Schedule, schedule

RESULTS = Path(__file__).resolve().parent / "results" / "speed_meeting.md"
MENTORS, MENTEES, SEED = 60, 300, 11
ROUNDS, PER_TABLE = 6, 2
TARGET_SECONDS = 10.0


@dataclass(frozen=True)
class Rotation:
    """What a rotation achieves, whoever made it."""

    seconds: float
    meetings: int
    mean_score: float
    least: int  # fewest meetings of a mentee
    most: int


def _summary(seconds: float, meetings: int, scores: list[int], per_mentee: np.ndarray) -> Rotation:
    return Rotation(
        seconds=seconds,
        meetings=meetings,
        mean_score=float(np.mean(scores)) if scores else 0.0,
        least=int(per_mentee.min()),
        most=int(per_mentee.max()),
    )


def greedy(problem: ProblemData, rounds: int, per_table: int) -> Rotation:
    """The baseline rotation (module docstring, (c)); the allowed pairs and scores are timed."""
    started = time.perf_counter()
    pairs = allowed_pairs(problem)
    total = score_pairs(problem, pairs).total
    n_mentors, n_mentees = len(problem.mentors), len(problem.mentees)
    score = np.zeros((n_mentors, n_mentees), dtype=np.int64)
    score[pairs.mentor, pairs.mentee] = total
    allowed = np.zeros((n_mentors, n_mentees), dtype=bool)
    allowed[pairs.mentor, pairs.mentee] = True
    met = np.zeros((n_mentors, n_mentees), dtype=bool)
    per_mentee = np.zeros(n_mentees, dtype=np.int64)
    chosen: list[int] = []
    for _ in range(rounds):
        seated = np.zeros(n_mentees, dtype=bool)
        # Seats are filled one pass at a time, so every table gets a first mentee before any
        # table gets a second.
        for _seat in range(per_table):
            for i in range(n_mentors):
                free = allowed[i] & ~met[i] & ~seated
                if not free.any():
                    continue
                j = int(np.argmax(np.where(free, score[i], np.iinfo(np.int64).min)))
                met[i, j] = seated[j] = True
                per_mentee[j] += 1
                chosen.append(int(score[i, j]))
    seconds = time.perf_counter() - started
    return _summary(seconds, len(chosen), chosen, per_mentee)


def ours(problem: ProblemData, repeat: int) -> tuple[Rotation, Schedule, list[float]]:
    """``schedule(...)`` run ``repeat`` times; the median wall time."""
    times = []
    plan = None
    for _ in range(repeat):
        started = time.perf_counter()
        plan = schedule(problem, rounds=ROUNDS, per_table=PER_TABLE)
        times.append(time.perf_counter() - started)
    assert plan is not None
    _check(problem, plan)
    index = {e.mentee_id: j for j, e in enumerate(problem.mentees)}
    per_mentee = np.bincount(
        [index[m.mentee_id] for m in plan.meetings], minlength=len(problem.mentees)
    )
    scores = [m.score for m in plan.meetings]
    return _summary(statistics.median(times), len(plan.meetings), scores, per_mentee), plan, times


def _check(problem: ProblemData, plan: Schedule) -> None:
    """A benchmark of a wrong rotation is worthless: the basic rules must hold."""
    pairs = {(m.mentor_id, m.mentee_id) for m in plan.meetings}
    seats = {(m.round, m.mentee_id) for m in plan.meetings}
    tables: dict[tuple[int, int], int] = {}
    for m in plan.meetings:
        tables[(m.round, m.table)] = tables.get((m.round, m.table), 0) + 1
    if len(pairs) != len(plan.meetings) or len(seats) != len(plan.meetings):
        raise AssertionError("a pair meets twice or a mentee sits at two tables at once")
    if max(tables.values(), default=0) > PER_TABLE:
        raise AssertionError("a table holds too many mentees")


def run_command(folder: Path) -> tuple[float, int]:
    """The whole ``matcher speed-meeting`` as a person runs it: wall seconds and exit code."""
    script = Path(sys.executable).parent / "matcher"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "matcher.cli"]
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as out:
        argv = [
            *command,
            "speed-meeting",
            str(folder / "mentors.csv"),
            str(folder / "mentees.csv"),
            "--exclusions",
            str(folder / "exclusions.csv"),
            "--rounds",
            str(ROUNDS),
            "--per-table",
            str(PER_TABLE),
            "--out",
            out,
        ]
        started = time.perf_counter()
        completed = subprocess.run(argv, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        if completed.returncode != 0 or not (Path(out) / "sheets.html").exists():
            sys.stderr.write(completed.stderr)
    return wall, completed.returncode


def report(
    plan: Schedule,
    mine: Rotation,
    times: list[float],
    base: Rotation,
    command: tuple[float, int],
    info: dict[str, str],
) -> str:
    s = plan.stats
    wall, code = command
    passed = mine.seconds < TARGET_SECONDS and code == 0
    rows = [
        ("allowed pairs", f"{plan.allowed_pairs}", ""),
        ("seat bound (seats x rounds)", f"{plan.seats_bound}", ""),
        ("degree bound", f"{int(s['degree_bound'])}", ""),
        ("wall s, schedule()", f"{mine.seconds:.2f}", f"{base.seconds:.3f}"),
        ("wall s, `matcher speed-meeting` (subprocess)", f"{wall:.2f} (exit {code})", ""),
        ("meetings", f"{mine.meetings}", f"{base.meetings}"),
        (
            "share of the seat bound",
            f"{mine.meetings / plan.seats_bound:.1%}",
            f"{base.meetings / plan.seats_bound:.1%}",
        ),
        (
            "share of the degree bound",
            f"{mine.meetings / s['degree_bound']:.1%}",
            f"{base.meetings / s['degree_bound']:.1%}",
        ),
        ("meetings per mentee, min-max", f"{mine.least}-{mine.most}", f"{base.least}-{base.most}"),
        ("mean score of a meeting", f"{mine.mean_score:.2f}", f"{base.mean_score:.2f}"),
    ]
    lines = [
        "# Speed-meeting benchmark",
        "",
        f"Machine: nproc {info['cores']}, {info['cpu']}; Python {info['python']}, "
        f"OR-Tools {info['ortools']}; run {info['date']}.",
        "",
        f"Event: `generate({MENTORS}, {MENTEES}, seed={SEED})` with its exclusions, "
        f"{ROUNDS} rounds, {PER_TABLE} mentees a table. Scheduler times: median of "
        f"{len(times)} runs ({', '.join(f'{t:.2f}' for t in times)} s). Greedy: round by "
        "round, each table takes the best-scoring allowed mentee it has not met and who is "
        "not yet seated. Reproduce with `python -m benchmarks.run_speed_meeting`.",
        "",
        "| | scheduler (flow + colouring) | greedy rotation |",
        "|---|---:|---:|",
        *(f"| {name} | {a} | {b} |" for name, a, b in rows),
        "",
        f"Meetings, ours / greedy: {mine.meetings / max(base.meetings, 1):.3f}; "
        f"mean score, ours / greedy: {mine.mean_score / base.mean_score:.3f}. "
        f"Target: schedule() under {TARGET_SECONDS:g} s: {'pass' if passed else 'FAIL'}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run_speed_meeting",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of schedule() (default 3)")
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help="Markdown file to write (default benchmarks/results/speed_meeting.md)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    problem = generate(MENTORS, MENTEES, seed=SEED)
    mine, plan, times = ours(problem, args.repeat)
    base = greedy(problem, ROUNDS, PER_TABLE)
    with tempfile.TemporaryDirectory(prefix="bench-speed-data-") as folder:
        write_dataset(problem, folder)
        command = run_command(Path(folder))
    info = machine()
    # What `nproc` prints: the cores this process may use, not all the machine has.
    if hasattr(os, "sched_getaffinity"):
        info["cores"] = str(len(os.sched_getaffinity(0)))
    text = report(plan, mine, times, base, command, info)
    print(text)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(text, encoding="utf-8")
    print(f"wrote {args.results}", file=sys.stderr)
    return 0 if mine.seconds < TARGET_SECONDS and command[1] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
