"""The `matcher` command: match, validate, generate, demo, speed-meeting, preferences, recruit,
compare, users, serve.

Exit codes: 0 success; 1 the rules cannot all hold (or validate found clashes); 2 bad input.

`match --time-limit S` bounds the whole command: the clock starts when `main` does, and the
solver gets what reading and checking left, less what writing the outputs will take.

Building the parser imports nothing heavy (no OR-Tools, pandas, numpy, SQLAlchemy, FastAPI,
solver or service modules), so `matcher --help` and `matcher --version` answer at once; each
command imports what it needs when it runs. tests/test_cli.py holds the parser to this.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matcher.data import ProblemData

DISTRIBUTION = "gp-mentor-matcher"
EXIT_OK, EXIT_PROBLEMS, EXIT_BAD_INPUT = 0, 1, 2
# A file with a problem on every row would bury the terminal; the first ones say enough.
MAX_PROBLEMS_SHOWN = 200


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def add_people_arguments(parser: argparse.ArgumentParser) -> None:
    """The round's files: mentors, mentees and, optionally, exclusions."""
    parser.add_argument("mentors", type=Path, help="mentor register (CSV or XLSX)")
    parser.add_argument("mentees", type=Path, help="mentees waiting (CSV or XLSX)")
    parser.add_argument(
        "--exclusions", type=Path, help="pairs never to match: mentor_id, mentee_id, reason"
    )


def _add_input_arguments(parser: argparse.ArgumentParser) -> None:
    add_people_arguments(parser)
    parser.add_argument("--locks", type=Path, help="pairs that must match: mentor_id, mentee_id")
    parser.add_argument(
        "--previous", type=Path, help="the last proposal, to keep changes few on a re-run"
    )
    parser.add_argument(
        "--settings",
        type=Path,
        help="scheme settings (TOML); defaults follow the national guidance",
    )


def version() -> str:
    """The installed distribution's version, or "unknown" when run from an uninstalled tree."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


class _VersionAction(argparse.Action):
    """`--version`: like argparse's own, but reads the version only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=kwargs.get("help")
        )

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any, **_kwargs: Any) -> None:
        print(f"{parser.prog} {version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="matcher", description="Match GP mentees to GP mentors.")
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    match = commands.add_parser(
        "match",
        help="find the best pair list for a round",
        description="Read the spreadsheets, solve, and write pairs.csv, unmatched.csv and result.json.",
    )
    _add_input_arguments(match)
    match.add_argument(
        "--out", type=Path, required=True, help="folder for pairs.csv, unmatched.csv, result.json"
    )
    match.add_argument(
        "--time-limit",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds for the whole command: reading, solving and writing (default 30)",
    )
    match.add_argument("--seed", type=int, default=0, help="random seed of the search (default 0)")
    match.add_argument(
        "--workers",
        type=int,
        default=None,
        help="search threads (default: one per core, at most 8)",
    )
    match.add_argument("--quiet", action="store_true", help="no progress on stderr")

    validate = commands.add_parser(
        "validate",
        help="check the files without solving",
        description="Show how every column of every file is read (and every value read in "
        "the contract's words), then supply against demand, mentees with no allowed mentor "
        "and locks that break a rule. Nothing is written.",
    )
    _add_input_arguments(validate)

    generate = commands.add_parser("generate", help="write a synthetic data set")
    generate.add_argument("--mentors", type=int, default=30, help="number of mentors (default 30)")
    generate.add_argument(
        "--mentees", type=int, default=200, help="number of mentees (default 200)"
    )
    generate.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    generate.add_argument(
        "--out",
        type=Path,
        required=True,
        help="folder to write mentors.csv, mentees.csv, exclusions.csv",
    )

    demo = commands.add_parser("demo", help="run a matching round on the shipped LMC sample")
    demo.add_argument(
        "--out", type=Path, default=Path("demo-output"), help="output folder (default demo-output)"
    )
    demo.add_argument("--time-limit", type=float, default=30.0, metavar="S")

    speed = commands.add_parser(
        "speed-meeting",
        help="plan a speed-meeting rotation",
        description="Mentors stay at tables, mentees rotate. Writes schedule.csv, breaks.csv "
        "and sheets.html (print-ready: one page per table and per person).",
    )
    speed.add_argument("mentors", type=Path, help="mentors attending (.csv or .xlsx)")
    speed.add_argument("mentees", type=Path, help="mentees attending (.csv or .xlsx)")
    speed.add_argument("--rounds", type=int, required=True, help="number of rounds")
    speed.add_argument("--minutes", type=int, default=10, help="minutes a round (default 10)")
    speed.add_argument("--start", default="18:30", help="start time HH:MM (default 18:30)")
    speed.add_argument(
        "--per-table", type=int, default=1, help="mentees at a table at once, 1 to 3 (default 1)"
    )
    speed.add_argument("--exclusions", type=Path, help="pairs who must not meet")
    speed.add_argument("--settings", type=Path, help="settings TOML (rules and weights)")
    speed.add_argument("--out", type=Path, required=True, help="folder for the three files")

    preferences = commands.add_parser(
        "preferences", help="feed speed-meeting choices into the people files"
    )
    preference_commands = preferences.add_subparsers(
        dest="preferences_command", required=True, metavar="ACTION"
    )
    choices = preference_commands.add_parser(
        "import",
        help="write choices into preferred_mentors / preferred_mentees",
        description="Read person_id, choice_1, choice_2, ... and write them, in order, into the "
        "choosing side's people file (in place, all or nothing): mentees' choices into "
        "preferred_mentors, mentors' into preferred_mentees. The next `matcher match` rewards "
        "higher and mutual choices.",
    )
    choices.add_argument("choices", type=Path, help="the choices file (.csv or .xlsx)")
    choices.add_argument("--side", required=True, choices=("mentee", "mentor"), help="who chose")
    choices.add_argument("--mentors", type=Path, required=True, help="the mentors file")
    choices.add_argument("--mentees", type=Path, required=True, help="the mentees file")

    bench = commands.add_parser(
        "bench",
        help="compare match quality of our matcher and the usual alternatives",
        description="Run random, greedy, min_cost_flow, gale_shapley and cpsat (ours) on each "
        "instance; check every answer against the rules; write metrics.csv, equity.csv, "
        "report.md and plots into --out.",
    )
    bench.add_argument(
        "--quick",
        action="store_true",
        help="the shipped samples and two small generated instances (a few minutes)",
    )
    bench.add_argument(
        "--instances",
        nargs="+",
        metavar="NAME",
        help="lmc, regional, national or gen-MxN-sS[-tight] (default: the full set)",
    )
    bench.add_argument("--methods", nargs="+", metavar="METHOD", help="default: all five")
    bench.add_argument("--seed", type=int, default=0, help="seed of random and cpsat (default 0)")
    bench.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="S",
        help="seconds for cpsat per instance (default 30, or 20 with --quick)",
    )
    bench.add_argument("--out", type=Path, required=True, help="folder for the report")

    from matcher import planning_cli
    from service.cli import add_commands

    planning_cli.add_commands(commands)
    add_commands(commands)
    return parser


def _load(args: argparse.Namespace) -> ProblemData:
    from matcher.readers import load_problem
    from matcher.settings import Settings

    settings = Settings.from_toml(args.settings) if args.settings else Settings()
    return load_problem(
        args.mentors, args.mentees, args.exclusions, args.locks, args.previous, settings
    )


def _tell_notes(problem: ProblemData, quiet: bool) -> None:
    """How the files were read: warnings always, the other notes unless ``quiet``."""
    for read in problem.files:
        shown = [n for n in read.notes if n.warning or not quiet]
        if shown:
            _err(f"{read.file} ({read.where()}):")
            for note in shown:
                _err(f"  {note}")


def run_match(
    problem: ProblemData,
    out: Path,
    time_limit: float,
    seed: int,
    workers: int | None,
    quiet: bool,
    started: float | None = None,
) -> int:
    """Solve and write the outputs; ``time_limit`` counts from ``started`` (a
    ``time.perf_counter()`` reading, by default now), so it bounds reading too."""
    from matcher.export import build_report, solve_seconds, work_limit, write_report
    from solver.result import Status
    from solver.solve import solve  # OR-Tools only where a command solves: `serve` never does

    clock = time.perf_counter() if started is None else started
    _tell_notes(problem, quiet)

    def progress(message: str) -> None:
        if not quiet:
            _err(f"[{time.perf_counter() - clock:6.1f}s] {message}")

    elapsed = time.perf_counter() - clock
    budget = solve_seconds(time_limit, elapsed, problem)
    progress(
        f"{budget:.1f} s of the {time_limit:g} s limit for the search (read in {elapsed:.1f} s)"
    )
    result = solve(
        problem,
        time_limit=budget,
        work_limit=work_limit(time_limit, problem),
        seed=seed,
        num_workers=workers,
        progress=progress,
    )
    report = build_report(problem, result)
    written = write_report(report, out)
    summary = report.summary
    if result.status is Status.INFEASIBLE:
        _err("The rules cannot all hold:")
        for conflict in result.conflicts:
            _err(f"  - {conflict}")
        _err(f"Details: {written[-1]}")
        return EXIT_PROBLEMS
    print(
        f"{summary['status']}: matched {summary['mentees_matched']} of {summary['mentees']} mentees "
        f"({summary['fellows_matched']} of {summary['fellows']} fellows) with {summary['mentors_used']} mentors; "
        f"quality {summary['objective']} (bound {summary['best_bound']}, gap {100 * summary['gap']:.2f}%) "
        f"in {summary['seconds']:.1f} s"
    )
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()  # `match --time-limit` counts from here
    args = build_parser().parse_args(argv)
    from matcher.errors import InputError

    try:
        if args.command == "match":
            if args.time_limit <= 0:
                _err("--time-limit must be positive")
                return EXIT_BAD_INPUT
            return run_match(
                _load(args),
                args.out,
                args.time_limit,
                args.seed,
                args.workers,
                args.quiet,
                started=started,
            )
        if args.command == "validate":
            return run_validate(_load(args))
        if args.command == "generate":
            return run_generate(args.mentors, args.mentees, args.seed, args.out)
        if args.command == "demo":
            return run_demo(args.out, args.time_limit)
        if args.command == "speed-meeting":
            return run_speed_meeting(args)
        if args.command == "preferences":
            return run_preferences(args)
        if args.command == "bench":
            return run_bench(args)
        if args.command in ("recruit", "compare"):
            from matcher import planning_cli

            return planning_cli.run(args)
        if args.command in ("users", "serve", "worker"):
            from service.cli import run

            return run(args)
    except InputError as exc:
        _err(exc.report(MAX_PROBLEMS_SHOWN))
        _err("Nothing was written. Correct the files and run again.")
        return EXIT_BAD_INPUT
    raise AssertionError(f"unhandled command {args.command}")


def run_speed_meeting(args: argparse.Namespace) -> int:
    from matcher.event_sheets import write_event
    from matcher.readers import load_problem
    from matcher.settings import Settings
    from solver.speed_meeting import MAX_PER_TABLE, schedule

    for bad, message in (
        (args.rounds < 1, "--rounds must be at least 1"),
        (args.minutes < 1, "--minutes must be at least 1"),
        (not 1 <= args.per_table <= MAX_PER_TABLE, f"--per-table must be 1 to {MAX_PER_TABLE}"),
    ):
        if bad:
            _err(message)
            return EXIT_BAD_INPUT
    settings = Settings.from_toml(args.settings) if args.settings else Settings()
    problem = load_problem(args.mentors, args.mentees, args.exclusions, settings=settings)
    _tell_notes(problem, quiet=False)
    try:
        plan = schedule(
            problem,
            rounds=args.rounds,
            minutes=args.minutes,
            start=args.start,
            per_table=args.per_table,
        )
    except ValueError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    written = write_event(problem, plan, args.out)
    stats = plan.stats
    print(
        f"{stats['meetings']} meetings over {args.rounds} rounds at {len(plan.tables)} tables "
        f"({100 * stats['share_of_seats']:.0f}% of the {plan.seats_bound} seats; "
        f"{100 * stats['share_of_degree_bound']:.0f}% of what the rules allow); each mentee meets "
        f"{stats['min_meetings_per_mentee']} to {stats['max_meetings_per_mentee']} mentors"
    )
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def run_preferences(args: argparse.Namespace) -> int:
    from matcher.preferences import import_choices

    target, people, changed = import_choices(args.choices, args.side, args.mentors, args.mentees)
    column = "preferred_mentors" if args.side == "mentee" else "preferred_mentees"
    print(f"{people} {args.side}s' choices read; {column} changed for {changed}; wrote {target}")
    return EXIT_OK


def run_bench(args: argparse.Namespace) -> int:
    from benchmarks.quality import full_instances, named_instances, quick_instances, run
    from benchmarks.report import write_report
    from solver.baselines import METHODS

    try:
        if args.instances:
            instances = named_instances(args.instances)
        else:
            instances = quick_instances() if args.quick else full_instances()
        methods = args.methods or list(METHODS)
        time_limit = args.time_limit or (20.0 if args.quick else 30.0)
        if time_limit <= 0:
            raise ValueError("--time-limit must be positive")
        run(instances, args.out, methods=methods, seed=args.seed, time_limit=time_limit)
    except ValueError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    command = "matcher bench " + " ".join(sys.argv[2:] if len(sys.argv) > 2 else [])
    report = write_report(args.out, command.strip())
    print(f"wrote {args.out / 'metrics.csv'}, {args.out / 'equity.csv'} and {report}")
    return EXIT_OK


def run_validate(problem: ProblemData) -> int:
    """How each file was read (every column, every note), then what stands in the way."""
    for read in problem.files:
        for line in read.lines():
            print(line)
    from solver.diagnose import diagnose
    from solver.instance import build_instance

    diagnosis = diagnose(build_instance(problem))
    print(f"Files are valid: {len(problem.mentors)} mentors, {len(problem.mentees)} mentees.")
    for line in diagnosis.summary():
        print(line)
    for mentee_id, why in diagnosis.without_mentor:
        print(f"  mentee {mentee_id}: {why}")
    for clash in diagnosis.clashes:
        print(f"  clash: {clash}")
    return EXIT_PROBLEMS if diagnosis.clashes else EXIT_OK


def run_generate(n_mentors: int, n_mentees: int, seed: int, out: Path) -> int:
    from datasets.generator import generate, write_dataset

    if n_mentors < 1 or n_mentees < 1:
        _err("--mentors and --mentees must be at least 1")
        return EXIT_BAD_INPUT
    for path in write_dataset(generate(n_mentors, n_mentees, seed=seed), out):
        print(f"wrote {path}")
    return EXIT_OK


def run_demo(out: Path, time_limit: float) -> int:
    started = time.perf_counter()
    from datasets.generator import sample_dir
    from matcher.readers import load_problem

    folder = sample_dir("lmc")
    print(
        f"Demo: a matching round on the shipped LMC sample ({folder.name}: 30 mentors, 200 mentees)."
    )
    problem = load_problem(
        folder / "mentors.csv", folder / "mentees.csv", folder / "exclusions.csv"
    )
    code = run_match(problem, out, time_limit, seed=0, workers=None, quiet=False, started=started)
    print(
        f"Open {out / 'pairs.csv'} for the pair list and {out / 'unmatched.csv'} for who is still waiting."
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
