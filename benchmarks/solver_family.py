"""Which levels the solver proves, and how fast, on a family of differently shaped rounds.

For each shape (``datasets.shapes``) x size x seed it builds the round, runs ``solver.solve``
in-process with the time limit, and records per level (priority_matched, matched,
waiting_days, quality, penalty) the value, the bound, whether it is proven, and the time at
which the solver reported it, plus the whole solve's time and the strategy that answered (the
relaxation's optimal face, branching on which mentors are used, or CP-SAT level by level).
Every answer goes through the independent checks (``matcher.checks``): no broken rule, and
levels recomputed from the pairs equal to the reported ones.

    python -m benchmarks.solver_family [--sizes lmc,mid] [--shapes oversupply,sparse]
        [--seeds 2] [--time-limit 60] [--out FILE]

The table is rewritten after every round, so a run stopped early keeps what it measured.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from datasets.shapes import SHAPES, SIZES, Shape, Size, pick
from matcher.checks import evaluate, violations
from matcher.data import ProblemData
from solver.result import LEVEL_MAXIMIZE, LEVEL_NAMES, Level, Pair, Result, Status
from solver.solve import solve

RESULTS = Path(__file__).resolve().parent / "results" / "solver_family.md"
# Progress messages that name the strategy at work (see ``solver.solve``).
STRATEGY_MESSAGES = (
    ("optimal face of the relaxation", "face"),
    ("branching on which mentors are used", "branching"),
    ("quality over", "MIP quality"),
    ("searching level by level", "levels"),
    (", MIP)", "MIP levels"),
)
LEVEL_MESSAGE = re.compile(r"^level (\w+): (?!searching)")


@dataclass(frozen=True)
class LevelRun:
    name: str
    value: int
    bound: int
    proven: bool
    seconds: float  # when the solver reported the level, from the start of the solve

    @property
    def trivial(self) -> bool:
        """Unproven with a bound of 0: the bound says nothing."""
        return not self.proven and self.bound == 0 and self.value != 0

    def cell(self) -> str:
        if self.proven:
            return f"{self.value:,} ✓ {self.seconds:.1f}s"
        side = "≤" if LEVEL_MAXIMIZE[self.name] else "≥"
        mark = " **trivial**" if self.trivial else ""
        return f"{self.value:,} ({side} {self.bound:,}{mark}) {self.seconds:.1f}s"


@dataclass(frozen=True)
class RoundRun:
    shape: str
    size: str
    seed: int
    n_mentors: int
    n_mentees: int
    allowed_pairs: int
    status: str
    strategy: str
    levels: tuple[LevelRun, ...]
    seconds: float
    checks: str  # "ok", or what the independent checks found

    @property
    def all_proven(self) -> bool:
        return self.status == Status.OPTIMAL.value

    def unproven(self) -> list[str]:
        return [level.name for level in self.levels if not level.proven]


def level_times(messages: list[tuple[float, str]], end: float) -> dict[str, float]:
    """When each level was reported: its own "level <name>: ..." message, else that of the
    next level reported after it (a strategy settles some levels together), else the end."""
    own: dict[str, float] = {}
    for at, message in messages:
        found = LEVEL_MESSAGE.match(message)
        if found and found.group(1) in LEVEL_NAMES:
            own.setdefault(found.group(1), at)
    times: dict[str, float] = {}
    later = end
    for name in reversed(LEVEL_NAMES):
        later = own.get(name, later)
        times[name] = later
    return times


def strategy_of(messages: list[tuple[float, str]], result: Result) -> str:
    if result.status == Status.INFEASIBLE:
        return "infeasible"
    tried = [label for _, m in messages for key, label in STRATEGY_MESSAGES if key in m]
    return " → ".join(dict.fromkeys(tried))  # each once, in order


def check(problem: ProblemData, result: Result) -> str:
    """ "ok" when the pairs break no rule and their levels, recomputed, are the reported ones."""
    if result.status == Status.INFEASIBLE:
        return "infeasible"
    return checked(problem, result.pairs, result.levels)


def checked(problem: ProblemData, found: Iterable[Pair], levels: Iterable[Level]) -> str:
    """ "ok" when ``found`` breaks no rule and its levels, recomputed, are ``levels``."""
    pairs = [(p.mentor_id, p.mentee_id) for p in found]
    broken = violations(problem, pairs)
    if broken:
        return f"{len(broken)} broken rules: {broken[0]}"
    recomputed = evaluate(problem, pairs)
    differ = [
        f"{lv.name} reported {lv.value:,}, from the pairs {recomputed[lv.name]:,}"
        for lv in levels
        if recomputed.get(lv.name, lv.value) != lv.value
    ]
    return f"levels differ: {'; '.join(differ)}" if differ else "ok"


def run_round(
    shape: Shape, size: Size, seed: int, time_limit: float, workers: int | None
) -> RoundRun:
    problem = shape(size, seed)
    messages: list[tuple[float, str]] = []
    started = time.perf_counter()

    def progress(message: str) -> None:
        messages.append((time.perf_counter() - started, message))

    result = solve(problem, time_limit=time_limit, seed=0, num_workers=workers, progress=progress)
    seconds = time.perf_counter() - started
    times = level_times(messages, seconds)
    levels = tuple(
        LevelRun(lv.name, lv.value, lv.bound, lv.proven, times.get(lv.name, seconds))
        for lv in result.levels
    )
    return RoundRun(
        shape=shape.name,
        size=size.name,
        seed=seed,
        n_mentors=len(problem.mentors),
        n_mentees=len(problem.mentees),
        allowed_pairs=result.allowed_pairs,
        status=result.status.value,
        strategy=strategy_of(messages, result),
        levels=levels,
        seconds=seconds,
        checks=check(problem, result),
    )


def summary(runs: Sequence[RoundRun]) -> str:
    proven = sum(run.all_proven for run in runs)
    by_shape: dict[str, Counter[str]] = {}
    trivial: Counter[str] = Counter()
    for run in runs:
        for level in run.levels:
            if not level.proven:
                by_shape.setdefault(run.shape, Counter())[level.name] += 1
            if level.trivial:
                trivial[level.name] += 1
    infeasible = [f"{r.shape}/{r.size}/s{r.seed}" for r in runs if r.status == "infeasible"]
    parts = [
        f"{shape}: " + ", ".join(f"{name} ×{n}" for name, n in counts.items())
        for shape, counts in by_shape.items()
    ]
    line = (
        f"**{proven} of {len(runs)} rounds have every level proven; unproven levels by shape: "
        f"{'; '.join(parts) or 'none'}.**"
    )
    if trivial:
        line += " Unproven with a trivial bound of 0: " + ", ".join(
            f"{name} ×{n}" for name, n in trivial.items()
        )
        line += "."
    if infeasible:
        line += f" Infeasible: {', '.join(infeasible)}."
    bad = [r for r in runs if r.checks not in ("ok", "infeasible")]
    line += (
        f" Independent checks: {len(runs) - len(bad)} of {len(runs)} rounds pass"
        + (f" (failing: {', '.join(f'{r.shape}/{r.size}/s{r.seed}' for r in bad)})" if bad else "")
        + "."
    )
    return line


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def render(runs: Sequence[RoundRun], args: argparse.Namespace, complete: bool) -> str:
    head = (
        "| shape | size | seed | mentors × mentees | allowed pairs | status | strategy | "
        + " | ".join(LEVEL_NAMES)
        + " | total s | checks |"
    )
    rows = [head, "|" + "---|" * (9 + len(LEVEL_NAMES))]
    for run in runs:
        cells = {level.name: level.cell() for level in run.levels}
        rows.append(
            f"| {run.shape} | {run.size} | {run.seed} | {run.n_mentors} × {run.n_mentees} | "
            f"{run.allowed_pairs:,} | {run.status} | {run.strategy} | "
            + " | ".join(cells.get(name, "–") for name in LEVEL_NAMES)
            + f" | {run.seconds:.1f} | {run.checks} |"
        )
    command = (
        f"python -m benchmarks.solver_family --sizes {','.join(args.sizes)} "
        f"--shapes {','.join(args.shapes)} --seeds {args.seeds} --time-limit {args.time_limit:g}"
    )
    note = "" if complete else "\n**Partial: the run was still going when this was written.**\n"
    return "\n".join(
        [
            "# Solver on the family of round shapes",
            "",
            f"`{command}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores "
            f"({_cpu()}), shared; Python {platform.python_version()}, OR-Tools "
            f"{version('ortools')}; solver workers: {args.workers or 'default'}.",
            note,
            summary(runs),
            "",
            "Each level cell: value, ✓ when proven (else the bound, ≤ for a level maximised, "
            "≥ for the penalty; **trivial** marks an unproven bound of 0), and the seconds from "
            "the start of the solve to when the solver reported the level (levels a strategy "
            "settles together share the time of its report). Strategy, as far as the solver "
            "went: the relaxation's optimal face; branching on which mentors are used; the "
            "MIP's quality over the pairs near the bound (*MIP quality*); level by level, by "
            "the MIP over every pair (*MIP levels*) or CP-SAT. With the equity limit the face "
            "and branching first solve the round without it. Checks: `matcher.checks` finds no broken rule "
            "and recomputes every level as reported. Shapes: `datasets/shapes.py`.",
            "",
            *rows,
            "",
        ]
    )


def names(value: str) -> list[str]:
    """A comma-separated option's names."""
    return [v.strip() for v in value.split(",") if v.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.solver_family", description=__doc__)
    parser.add_argument(
        "--sizes", type=names, default=["lmc", "mid"], help="of " + ", ".join(SIZES)
    )
    parser.add_argument(
        "--shapes", type=names, default=list(SHAPES), help="of " + ", ".join(SHAPES)
    )
    parser.add_argument("--seeds", type=int, default=2, help="seeds 1..N of every shape and size")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve")
    parser.add_argument("--workers", type=int, default=None, help="CP-SAT workers")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    try:
        sizes: list[Size] = pick(args.sizes, SIZES, "size")
        shapes: list[Shape] = pick(args.shapes, SHAPES, "shape")
    except ValueError as exc:
        parser.error(str(exc))
    if args.seeds < 1 or args.time_limit <= 0:
        parser.error("--seeds and --time-limit must be positive")
    runs: list[RoundRun] = []
    for size in sizes:
        for shape in shapes:
            for seed in range(1, args.seeds + 1):
                run = run_round(shape, size, seed, args.time_limit, args.workers)
                runs.append(run)
                unproven = ", ".join(run.unproven()) or "none"
                print(
                    f"{run.shape:16} {run.size:8} s{run.seed} {run.status:10} "
                    f"{run.seconds:6.1f}s unproven: {unproven}; checks: {run.checks}",
                    flush=True,
                )
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(render(runs, args, complete=False), encoding="utf-8")
    args.out.write_text(render(runs, args, complete=True), encoding="utf-8")
    print(summary(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
