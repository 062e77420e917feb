"""`matcher compare`: one round under several settings, run, tabled and plotted.

Every scenario is checked before anything runs: its name and settings file, then the round
read with its settings (a capacity band or a rule may change how the files read). Then each
runs in turn, and the outputs are written together, all or nothing: compare.csv, compare.md,
result.json, compare.png and, per scenario, scenarios/NAME/ with what `matcher match` writes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matcher.compare import (
    CSV_COLUMNS,
    FIGURES,
    Outcome,
    Scenario,
    board_paper,
    run_all,
    settings_changes,
    table_lines,
    table_rows,
)
from matcher.data import ProblemData
from matcher.errors import InputError, Problem
from matcher.export import write_report
from matcher.readers import load_problem
from matcher.safe_write import write_csv
from matcher.settings import Settings

EXIT_OK, EXIT_PROBLEMS, EXIT_BAD_INPUT = 0, 1, 2
NAME = re.compile(r"[A-Za-z0-9_-]+")
SCENARIOS_FOLDER = "scenarios"


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_scenarios(texts: list[str]) -> list[tuple[str, Path]]:
    """``NAME=PATH`` of each ``--scenario``, in order; ValueError names the first bad one."""
    named: list[tuple[str, Path]] = []
    for text in texts:
        name, equals, path = text.partition("=")
        name = name.strip()
        if not equals or not path.strip():
            raise ValueError(f"--scenario {text!r}: expected NAME=SETTINGS.toml")
        if not NAME.fullmatch(name):
            raise ValueError(
                f"--scenario {text!r}: a name is letters, digits, - and _ (at least one)"
            )
        if any(name == seen for seen, _ in named):
            raise ValueError(f"--scenario {text!r}: the name {name} is given twice")
        named.append((name, Path(path.strip())))
    if not named:
        raise ValueError("at least one --scenario is needed")
    return named


def _in_scenario(
    problems: tuple[Problem, ...], name: str, file: str | None = None
) -> list[Problem]:
    """The problems, each saying which scenario they came from (and, for its settings, which
    file)."""
    return [
        Problem(f"{file or p.file} (scenario {name})", p.row, p.column, p.value, p.message, p.rows)
        for p in problems
    ]


def read_settings(named: list[tuple[str, Path]]) -> list[Scenario]:
    """Every scenario's settings; the problems of all the files in one InputError."""
    scenarios, problems = [], []
    for name, path in named:
        if path.is_dir():
            problems.append(
                Problem(
                    f"{path} (scenario {name})", None, None, None, "a folder, not a settings file"
                )
            )
            continue
        try:
            scenarios.append(Scenario(name, path, Settings.from_toml(path)))
        except InputError as exc:
            problems += _in_scenario(exc.problems, name, str(path))
    if problems:
        raise InputError(problems)
    return scenarios


def read_round(
    args: argparse.Namespace, scenarios: list[Scenario]
) -> tuple[list[ProblemData], list[float]]:
    """The round read once per scenario, with its settings, and the seconds each took."""
    problems, seconds = [], []
    for scenario in scenarios:
        started = time.perf_counter()
        try:
            problem = load_problem(
                args.mentors, args.mentees, args.exclusions, settings=scenario.settings
            )
        except InputError as exc:
            raise InputError(_in_scenario(exc.problems, scenario.name)) from None
        problems.append(problem)
        seconds.append(time.perf_counter() - started)
    return problems, seconds


def _tell_notes(problems: list[ProblemData], names: list[str], quiet: bool) -> None:
    """How the files were read: warnings always, other notes unless ``quiet``; a note is
    told once, under the first scenario that reads it."""
    told: set[str] = set()
    for problem, name in zip(problems, names, strict=True):
        for note in problem.notes:
            text = str(note)
            if text not in told and (note.warning or not quiet):
                told.add(text)
                _err(f"scenario {name}: {text}")


def _document(
    outcomes: list[Outcome], rows: list[dict[str, Any]], args: argparse.Namespace
) -> dict[str, Any]:
    base = outcomes[0].scenario.settings
    return {
        "mentors": str(args.mentors),
        "mentees": str(args.mentees),
        "exclusions": None if args.exclusions is None else str(args.exclusions),
        "time_limit": args.time_limit,
        "seed": args.seed,
        "base": outcomes[0].scenario.name,
        "equity_attributes": list(base.rules.equity_attributes),
        "equity_min_group": base.rules.equity_min_group,
        "figures": FIGURES,
        "scenarios": [
            {
                "name": o.scenario.name,
                "settings": str(o.scenario.path),
                "changes": settings_changes(base, o.scenario.settings),
                "figures": o.figures,
                "differences": {f: row[f"{f}_diff"] for f in FIGURES},
            }
            for o, row in zip(outcomes, rows, strict=True)
        ],
    }


def _stage(
    staging: Path, outcomes: list[Outcome], rows: list[dict[str, Any]], args: argparse.Namespace
) -> list[str]:
    """Write every output into ``staging``; the names of its top-level files."""
    from matcher.compare_plots import plot_compare  # matplotlib only when writing

    write_csv(staging / "compare.csv", CSV_COLUMNS, rows)
    paper = board_paper(
        rows,
        mentors=len(outcomes[0].problem.mentors),
        time_limit=args.time_limit,
        seed=args.seed,
        measure=outcomes[0].scenario.settings,
    )
    (staging / "compare.md").write_text(paper, encoding="utf-8")
    document = _document(outcomes, rows, args)
    (staging / "result.json").write_text(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    plot_compare(rows, staging / "compare.png")
    for outcome in outcomes:
        write_report(outcome.report, staging / SCENARIOS_FOLDER / outcome.scenario.name)
    return ["compare.csv", "compare.md", "result.json", "compare.png"]


def write_outputs(
    out: Path, outcomes: list[Outcome], rows: list[dict[str, Any]], args: argparse.Namespace
) -> list[Path]:
    """Write everything into a staging folder inside ``out``, then move it into place: on a
    failure nothing of this run is left. The scenarios folder is replaced whole, so it never
    holds a scenario of an earlier run."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-compare-", dir=out))
    try:
        files = _stage(staging, outcomes, rows, args)
        if (out / SCENARIOS_FOLDER).is_dir():
            os.replace(out / SCENARIOS_FOLDER, staging / "earlier-scenarios")
        os.replace(staging / SCENARIOS_FOLDER, out / SCENARIOS_FOLDER)
        for name in files:
            os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    written = [out / name for name in files]
    for outcome in outcomes:
        folder = out / SCENARIOS_FOLDER / outcome.scenario.name
        written += [folder / n for n in ("pairs.csv", "unmatched.csv", "result.json")]
    return written


def _progress(quiet: bool) -> Callable[[str], None]:
    clock = time.perf_counter()

    def say(message: str) -> None:
        if not quiet:
            _err(f"[{time.perf_counter() - clock:6.1f}s] {message}")

    return say


def run_compare(args: argparse.Namespace) -> int:
    """The command: exit 0 when every scenario keeps its rules, 1 when some scenario's rules
    cannot all hold (its row says so), 2 on bad input (nothing written)."""
    if args.time_limit <= 0:
        _err("--time-limit must be positive")
        return EXIT_BAD_INPUT
    try:
        named = parse_scenarios(args.scenario)
    except ValueError as exc:
        _err(str(exc))
        _err("Nothing was written.")
        return EXIT_BAD_INPUT
    say = _progress(args.quiet)
    scenarios = read_settings(named)  # an InputError is reported by matcher.cli.main
    problems, read_seconds = read_round(args, scenarios)
    _tell_notes(problems, [s.name for s in scenarios], args.quiet)
    say(f"{len(scenarios)} scenarios of {len(problems[0].mentees)} mentees, read")
    outcomes = run_all(
        scenarios,
        problems,
        read_seconds,
        time_limit=args.time_limit,
        seed=args.seed,
        say=say,
    )
    rows = table_rows(outcomes)
    written = write_outputs(args.out, outcomes, rows, args)
    first = outcomes[0].figures
    print(
        f"{len(rows)} scenarios of one round of {first['mentees']} mentees ({first['fellows']} "
        f"fellows) and {len(problems[0].mentors)} mentors; differences against "
        f"{rows[0]['scenario']} in brackets:"
    )
    for line in table_lines(rows):
        print(line)
    infeasible = [o for o in outcomes if o.figures["status"] == "infeasible"]
    for outcome in infeasible:
        _err(f"scenario {outcome.scenario.name}: the rules cannot all hold:")
        for conflict in outcome.report.summary["conflicts"]:
            _err(f"  - {conflict}")
    for path in written:
        print(f"wrote {path}")
    return EXIT_PROBLEMS if infeasible else EXIT_OK
