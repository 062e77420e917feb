"""Time `matcher match` on the shipped samples against a plain min-cost-flow floor.

For each sample (lmc, regional, national) two numbers come from the same run:

(a) the command: ``matcher match ...`` as a subprocess, wall clock including Python start-up,
    reading the files and writing the outputs; status, gap and the solver's own seconds come
    from its result.json;
(b) the floor: one OR-Tools ``SimpleMinCostFlow`` over the same allowed pairs (most mentees
    matched, then best total score, no minimums, no levels, no penalty), timing only the
    flow's build and solve.

The ratio command / floor says what the full lexicographic model, its proofs and the
start-up cost on top of the fastest possible assignment. Targets (SPEC): LMC optimal in
under 3 s, regional optimal under 10 s, national with a gap of at most 1% under 60 s.

    python -m benchmarks.run_matching [--only lmc] [--time-limit S]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
from ortools.graph.python import min_cost_flow

from datasets.generator import SAMPLES, sample_dir
from matcher.data import ProblemData
from matcher.readers import load_problem
from matcher.rules import allowed_pairs
from matcher.scoring import score_pairs

RESULTS = Path(__file__).resolve().parent / "results" / "matching.md"
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Target:
    seconds: float
    max_gap: float  # 0 = proven optimal required
    time_limit: float  # the command's --time-limit unless one is given

    def describe(self) -> str:
        what = "optimal" if self.max_gap == 0 else f"gap <= {self.max_gap:.0%}"
        return f"{what}, < {self.seconds:g} s"


TARGETS: dict[str, Target] = {
    "lmc": Target(3.0, 0.0, 30.0),
    "regional": Target(10.0, 0.0, 30.0),
    # The limit leaves room for start-up, reading and writing within the 60 s.
    "national": Target(60.0, 0.01, 50.0),
}


@dataclass(frozen=True)
class CommandRun:
    wall: float
    exit_code: int
    status: str
    gap: float
    solver_seconds: float
    matched: int
    objective: int


@dataclass(frozen=True)
class FloorRun:
    seconds: float
    matched: int
    quality: int


@dataclass(frozen=True)
class Row:
    name: str
    mentors: int
    mentees: int
    allowed: int
    time_limit: float
    command: CommandRun
    floor: FloorRun
    target: Target

    @property
    def ratio(self) -> float:
        return self.command.wall / max(self.floor.seconds, 1e-6)

    @property
    def passed(self) -> bool:
        c, t = self.command, self.target
        quality_ok = (
            c.status == "optimal"
            if t.max_gap == 0
            else (c.status in ("optimal", "feasible") and c.gap <= t.max_gap)
        )
        return c.exit_code == 0 and quality_ok and c.wall < t.seconds


def _matcher_command() -> list[str]:
    script = Path(sys.executable).parent / "matcher"
    return [str(script)] if script.exists() else [sys.executable, "-m", "matcher.cli"]


def _inputs(name: str) -> list[Path]:
    folder = sample_dir(name)
    return [folder / "mentors.csv", folder / "mentees.csv", folder / "exclusions.csv"]


def run_command(name: str, time_limit: float) -> CommandRun:
    """The whole `matcher match` as a person runs it; wall clock from launch to exit."""
    mentors, mentees, exclusions = _inputs(name)
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as out:
        argv = [
            *_matcher_command(),
            "match",
            str(mentors),
            str(mentees),
            "--exclusions",
            str(exclusions),
            "--out",
            out,
            "--time-limit",
            f"{time_limit:g}",
            "--quiet",
        ]
        started = time.perf_counter()
        completed = subprocess.run(argv, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        result_file = Path(out) / "result.json"
        if completed.returncode != 0 or not result_file.exists():
            sys.stderr.write(completed.stderr)
            return CommandRun(wall, completed.returncode, "error", 1.0, 0.0, 0, 0)
        summary = json.loads(result_file.read_text(encoding="utf-8"))
    return CommandRun(
        wall=wall,
        exit_code=completed.returncode,
        status=summary["status"],
        gap=float(summary["gap"]),
        solver_seconds=float(summary["seconds"]),
        matched=int(summary["mentees_matched"]),
        objective=int(summary["objective"]),
    )


def flow_floor(problem: ProblemData) -> tuple[int, FloorRun]:
    """Most mentees, then best total score, by one min-cost flow over the allowed pairs.

    The allowed pairs and their scores are computed first and not timed (the command
    computes them too); the timer covers building the flow network and solving it.
    """
    pairs = allowed_pairs(problem)
    score = score_pairs(problem, pairs).total
    most = np.array([m.new_range(problem.settings)[1] for m in problem.mentors], dtype=np.int64)
    n_mentees, n_mentors = len(problem.mentees), len(problem.mentors)
    # Matching one more mentee must outweigh any difference in score.
    big = int(np.abs(score).max(initial=0)) * 2 + 1
    source, sink = 0, 1
    mentee_node = 2 + np.arange(n_mentees)
    mentor_node = 2 + n_mentees + np.arange(n_mentors)

    started = time.perf_counter()
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.full(n_mentees, source),
        mentee_node,
        np.ones(n_mentees, np.int64),
        np.zeros(n_mentees, np.int64),
    )
    first_pair = n_mentees
    flow.add_arcs_with_capacity_and_unit_cost(
        mentee_node[pairs.mentee],
        mentor_node[pairs.mentor],
        np.ones(len(pairs), np.int64),
        -(big + score),
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        mentor_node, np.full(n_mentors, sink), most, np.zeros(n_mentors, np.int64)
    )
    flow.add_arc_with_capacity_and_unit_cost(source, sink, n_mentees, 0)
    flow.set_node_supply(source, n_mentees)
    flow.set_node_supply(sink, -n_mentees)
    status = flow.solve()
    seconds = time.perf_counter() - started
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}")
    used = flow.flows(np.arange(first_pair, first_pair + len(pairs))) > 0
    return len(pairs), FloorRun(seconds, int(used.sum()), int(score[used].sum()))


def machine() -> dict[str, str]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "ortools": version("ortools"),
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
    }


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| sample | mentors | mentees | allowed pairs | time limit | command wall s | solver s "
        "| status | gap | matched | floor s | floor matched | command / floor | target | pass |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        c, f = r.command, r.floor
        lines.append(
            f"| {r.name} | {r.mentors} | {r.mentees} | {r.allowed} | {r.time_limit:g} "
            f"| {c.wall:.2f} | {c.solver_seconds:.2f} | {c.status} | {100 * c.gap:.2f}% "
            f"| {c.matched} | {f.seconds:.3f} | {f.matched} | {r.ratio:.0f}x "
            f"| {r.target.describe()} | {'pass' if r.passed else 'FAIL'} |"
        )
    return "\n".join(lines)


def report(rows: Sequence[Row], info: dict[str, str]) -> str:
    return "\n".join(
        [
            "# Matching benchmark",
            "",
            f"Machine: {info['cores']} cores, {info['cpu']}; Python {info['python']}, "
            f"OR-Tools {info['ortools']}; run {info['date']}.",
            "",
            "Command: `matcher match` on the shipped sample as a subprocess, wall clock including "
            "start-up, reading and writing. Floor: one min-cost flow over the same allowed pairs "
            "(build and solve only). Reproduce with `make bench` "
            "(`python -m benchmarks.run_matching`).",
            "",
            table(rows),
            "",
        ]
    )


def run(names: Sequence[str], time_limit: float | None) -> list[Row]:
    rows = []
    for name in names:
        folder = sample_dir(name)
        mentors, mentees, exclusions = _inputs(name)
        problem = load_problem(mentors, mentees, exclusions)
        target = TARGETS[name]
        limit = time_limit or target.time_limit
        print(
            f"{name}: {len(problem.mentors)} mentors, {len(problem.mentees)} mentees "
            f"({folder.relative_to(REPO)}) ...",
            file=sys.stderr,
            flush=True,
        )
        n_allowed, floor = flow_floor(problem)
        command = run_command(name, limit)
        rows.append(
            Row(
                name,
                len(problem.mentors),
                len(problem.mentees),
                n_allowed,
                limit,
                command,
                floor,
                target,
            )
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run_matching",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument(
        "--only",
        choices=list(SAMPLES),
        action="append",
        help="run only this sample (repeatable); default: all",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="S",
        help="the command's --time-limit for every sample "
        "(default: 30 s for lmc and regional, 50 s for national)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help="Markdown file to write (default benchmarks/results/matching.md)",
    )
    args = parser.parse_args(argv)
    if args.time_limit is not None and args.time_limit <= 0:
        parser.error("--time-limit must be positive")
    rows = run(args.only or list(SAMPLES), args.time_limit)
    text = report(rows, machine())
    print(text)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(text, encoding="utf-8")
    print(f"wrote {args.results}", file=sys.stderr)
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
