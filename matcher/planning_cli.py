"""`matcher recruit` and `matcher compare`: the analysts' planning commands (parsers and
dispatch; the work is in ``matcher.recruit_command`` and ``matcher.compare_command``).

Like ``matcher.cli``, building these parsers imports nothing heavy."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from matcher.cli import add_people_arguments

TARGETS = ("fellows", "priority", "all")


def add_commands(commands: Any) -> None:
    recruit = commands.add_parser(
        "recruit",
        help="the fewest new mentors that let the target mentees all be matched",
        description="Find the fewest additional mentors, each a profile (focus areas, weekly "
        "slots, modes, area, capacity) from --profiles or from the current mentors, with which "
        "every target mentee can be matched under the scheme's rules; proven minimal, or "
        "reported with its bound when the time limit ends the search. Writes recruit.csv "
        "(mentor rows to fill in with real people), plan.md and result.json.",
    )
    add_people_arguments(recruit)
    recruit.add_argument("--settings", type=Path, help="scheme settings (TOML)")
    recruit.add_argument(
        "--target",
        required=True,
        choices=TARGETS,
        help="who must all be matched: the fellows, the priority mentees, or every mentee",
    )
    recruit.add_argument(
        "--profiles",
        type=Path,
        help="mentor profiles to recruit from (a mentors file); default: the current mentors'",
    )
    recruit.add_argument(
        "--out", type=Path, required=True, help="folder for recruit.csv, plan.md, result.json"
    )
    recruit.add_argument(
        "--time-limit", type=float, default=60.0, metavar="S", help="seconds (default 60)"
    )
    recruit.add_argument("--seed", type=int, default=0, help="random seed of the search")
    recruit.add_argument("--quiet", action="store_true", help="no progress on stderr")

    compare = commands.add_parser(
        "compare",
        help="run one round under several settings and compare the outcomes",
        description="Run the same round once per scenario (NAME=SETTINGS.toml) and write one "
        "table (compare.csv, compare.md) and plots: matched, fellows matched, mean score, "
        "mentors used, equity gap and waiting days, with each scenario's difference from the "
        "first.",
    )
    add_people_arguments(compare)
    compare.add_argument(
        "--scenario",
        action="append",
        required=True,
        metavar="NAME=SETTINGS.toml",
        help="a scenario: its name and settings file; repeat for each (the first is the base)",
    )
    compare.add_argument("--out", type=Path, required=True, help="folder for the table and plots")
    compare.add_argument(
        "--time-limit",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds for each scenario's round (default 30)",
    )
    compare.add_argument("--seed", type=int, default=0, help="random seed of the search")
    compare.add_argument("--quiet", action="store_true", help="no progress on stderr")


def run(args: argparse.Namespace) -> int:
    if args.command == "recruit":
        from matcher.recruit_command import run_recruit

        return run_recruit(args)
    from matcher.compare_command import run_compare

    return run_compare(args)
