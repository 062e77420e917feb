"""Match quality by method: our matcher against the alternatives people use.

`matcher bench` runs every method (``solver.baselines.METHODS``) on each instance, puts every
answer through the same rule check and the same metrics (``matcher.metrics``), and writes
``metrics.csv``, ``equity.csv``, ``report.md`` and the plots beside it. On tight instances it
also runs our matcher with the equity limit (``rules.equity_max_gap``) to show its cost.
"""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from datasets.generator import generate, sample_dir
from matcher import metrics
from matcher.checks import evaluate
from matcher.data import ProblemData
from matcher.readers import load_problem
from solver.baselines import METHODS, run_method

EQUITY_METHOD = "cpsat_equity"
EQUITY_GAP = 0.02
EQUITY_ATTRIBUTES = ("gender", "ethnicity", "img", "cohort")
COLUMNS = (
    "instance",
    "mentors",
    "mentees",
    "method",
    "seed",
    "valid",
    "violations",
    "matched",
    "fellows",
    "fellows_matched",
    "mean_score",
    "score_std",
    "total_score",
    "first_choice_share",
    "top3_share",
    "blocking_pairs",
    "blocking_pairs_stated",
    "load_std",
    "mix_practice",
    "mix_pcn",
    "mix_cohort",
    "equity_gap",
    "equity_gap_group",
    "equity_gap_limited",
    "waiting_days",
    "churn",
    "seconds",
)


@dataclass(frozen=True)
class Instance:
    name: str
    load: Callable[[], ProblemData]
    tight: bool = False  # fewer places than mentees: where equity has a price


def sample(name: str) -> Instance:
    folder = sample_dir(name)
    return Instance(
        name,
        lambda: load_problem(
            folder / "mentors.csv", folder / "mentees.csv", folder / "exclusions.csv"
        ),
    )


def generated(n_mentors: int, n_mentees: int, seed: int, supply: float = 1.05) -> Instance:
    tight = supply < 1.0
    name = f"gen-{n_mentors}x{n_mentees}-s{seed}" + ("-tight" if tight else "")
    return Instance(
        name, lambda: generate(n_mentors, n_mentees, seed=seed, supply_ratio=supply), tight
    )


def quick_instances() -> list[Instance]:
    return [
        sample("lmc"),
        sample("regional"),
        sample("national"),
        generated(20, 120, seed=2, supply=0.8),
        generated(30, 260, seed=3, supply=0.6),
    ]


def full_instances() -> list[Instance]:
    found = [sample("lmc"), sample("regional"), sample("national")]
    for seed in (11, 12, 13):
        found += [generated(30, 200, seed), generated(150, 1000, seed), generated(600, 4000, seed)]
        found += [generated(30, 260, seed, supply=0.6), generated(150, 1300, seed, supply=0.7)]
    return found


def named_instances(names: Sequence[str]) -> list[Instance]:
    """Shipped samples by name, or generated ``gen-MxN-sS`` (add ``-tight`` for 60% supply)."""
    out = []
    for name in names:
        if name in ("lmc", "regional", "national"):
            out.append(sample(name))
            continue
        parts = name.split("-")
        try:
            assert parts[0] == "gen" and parts[2].startswith("s")
            n_mentors, n_mentees = (int(v) for v in parts[1].split("x"))
            seed = int(parts[2][1:])
            tight = parts[3:] == ["tight"]
            assert parts[3:] in ([], ["tight"])
        except (AssertionError, IndexError, ValueError):
            raise ValueError(
                f"unknown instance {name!r}: use lmc, regional, national or gen-MxN-sS[-tight] "
                "(e.g. gen-30x200-s1)"
            ) from None
        out.append(generated(n_mentors, n_mentees, seed, supply=0.6 if tight else 1.05))
    return out


def with_equity_limit(problem: ProblemData) -> ProblemData:
    rules = replace(problem.settings.rules, equity_max_gap=EQUITY_GAP)
    return replace(problem, settings=replace(problem.settings, rules=rules))


def runs(instances: Sequence[Instance], methods: Sequence[str]) -> list[tuple[Instance, str]]:
    out = []
    for instance in instances:
        out += [(instance, m) for m in methods]
        if instance.tight and "cpsat" in methods:
            out.append((instance, EQUITY_METHOD))
    return out


def run(
    instances: Sequence[Instance],
    out_dir: Path,
    *,
    methods: Sequence[str] = tuple(METHODS),
    seed: int = 0,
    time_limit: float = 30.0,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run, measure and write ``metrics.csv`` and ``equity.csv``; return the metric rows."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}: choose from {', '.join(METHODS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    equity_rows: list[dict[str, Any]] = []
    loaded: dict[str, ProblemData] = {}
    plan = runs(instances, methods)
    bar = tqdm(plan, desc="bench", unit="run", disable=not progress, file=sys.stderr)
    for instance, method in bar:
        bar.set_postfix_str(f"{instance.name} {method}")
        if instance.name not in loaded:
            loaded = {instance.name: instance.load()}  # keep one instance in memory
        problem = loaded[instance.name]
        measured = with_equity_limit(problem) if method == EQUITY_METHOD else problem
        started = time.perf_counter()
        pairs = run_method(
            "cpsat" if method == EQUITY_METHOD else method,
            measured,
            seed=seed,
            time_limit=time_limit,
        )
        seconds = time.perf_counter() - started
        summary = metrics.summary(measured, pairs, seconds=seconds)
        # The gap over the groups the equity limit covers (cohort gaps are by design).
        limited, _group = metrics.equity_gap(
            problem, pairs, measured.settings.rules.equity_attributes
        )
        rows.append(
            {
                "instance": instance.name,
                "mentors": len(problem.mentors),
                "mentees": len(problem.mentees),
                "method": method,
                "seed": seed,
                **{k: summary.get(k) for k in COLUMNS if k in summary},
                "equity_gap_limited": round(limited, 3),
                # Level 3 of our objective: the days matched mentees had waited, in all.
                "waiting_days": evaluate(measured, pairs)["waiting_days"],
                "seconds": round(seconds, 3),
            }
        )
        for group in metrics.equity(problem, pairs, attributes=EQUITY_ATTRIBUTES):
            equity_rows.append({"instance": instance.name, "method": method, **asdict(group)})
    _write_csv(out_dir / "metrics.csv", rows, COLUMNS)
    if equity_rows:
        _write_csv(out_dir / "equity.csv", equity_rows, tuple(equity_rows[0]))
    return rows


def _write_csv(path: Path, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def read_csv(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)
