"""The `matcher` command: match, validate, generate, demo, users, serve.

Exit codes: 0 success; 1 the rules cannot all hold (or validate found clashes); 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from matcher.data import ProblemData
from matcher.errors import InputError
from matcher.export import build_report, write_report
from matcher.readers import load_problem
from matcher.settings import Settings
from solver.diagnose import diagnose
from solver.instance import build_instance
from solver.result import Status
from solver.solve import solve

EXIT_OK, EXIT_PROBLEMS, EXIT_BAD_INPUT = 0, 1, 2


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("mentors", type=Path, help="mentor register (CSV or XLSX)")
    parser.add_argument("mentees", type=Path, help="mentees waiting (CSV or XLSX)")
    parser.add_argument(
        "--exclusions", type=Path, help="pairs never to match: mentor_id, mentee_id, reason"
    )
    parser.add_argument("--locks", type=Path, help="pairs that must match: mentor_id, mentee_id")
    parser.add_argument(
        "--previous", type=Path, help="the last proposal, to keep changes few on a re-run"
    )
    parser.add_argument(
        "--settings",
        type=Path,
        help="scheme settings (TOML); defaults follow the national guidance",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="matcher", description="Match GP mentees to GP mentors.")
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
        help="seconds for the search (default 30)",
    )
    match.add_argument("--seed", type=int, default=0, help="random seed of the search (default 0)")
    match.add_argument(
        "--workers",
        type=int,
        default=None,
        help="search threads (default: one per core, at most 8)",
    )
    match.add_argument("--quiet", action="store_true", help="no progress on stderr")

    validate = commands.add_parser("validate", help="check the files without solving")
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

    from service.cli import add_commands

    add_commands(commands)
    return parser


def _load(args: argparse.Namespace) -> ProblemData:
    settings = Settings.from_toml(args.settings) if args.settings else Settings()
    return load_problem(
        args.mentors, args.mentees, args.exclusions, args.locks, args.previous, settings
    )


def run_match(
    problem: ProblemData, out: Path, time_limit: float, seed: int, workers: int | None, quiet: bool
) -> int:
    started = time.perf_counter()

    def progress(message: str) -> None:
        if not quiet:
            _err(f"[{time.perf_counter() - started:6.1f}s] {message}")

    result = solve(
        problem, time_limit=time_limit, seed=seed, num_workers=workers, progress=progress
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
    args = build_parser().parse_args(argv)
    try:
        if args.command == "match":
            if args.time_limit <= 0:
                _err("--time-limit must be positive")
                return EXIT_BAD_INPUT
            return run_match(
                _load(args), args.out, args.time_limit, args.seed, args.workers, args.quiet
            )
        if args.command == "validate":
            return run_validate(_load(args))
        if args.command == "generate":
            return run_generate(args.mentors, args.mentees, args.seed, args.out)
        if args.command == "demo":
            return run_demo(args.out, args.time_limit)
        if args.command in ("users", "serve"):
            from service.cli import run

            return run(args)
    except InputError as exc:
        _err(str(exc))
        _err("Nothing was written. Correct the files and run again.")
        return EXIT_BAD_INPUT
    raise AssertionError(f"unhandled command {args.command}")


def run_validate(problem: ProblemData) -> int:
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
    from datasets.generator import sample_dir

    folder = sample_dir("lmc")
    print(
        f"Demo: a matching round on the shipped LMC sample ({folder.name}: 30 mentors, 200 mentees)."
    )
    problem = load_problem(
        folder / "mentors.csv", folder / "mentees.csv", folder / "exclusions.csv"
    )
    code = run_match(problem, out, time_limit, seed=0, workers=None, quiet=False)
    print(
        f"Open {out / 'pairs.csv'} for the pair list and {out / 'unmatched.csv'} for who is still waiting."
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
