"""How long the `matcher` command takes to start, and how much memory it holds, on small work.

Four commands, each run as a subprocess (``python -m matcher.cli ...``), ``--runs`` times,
alternating (help, version, validate, match, help, ...) so that a change in the machine's load
falls on all of them alike:

- ``matcher --help`` and ``matcher --version``: start-up alone;
- ``matcher validate`` and ``matcher match --quiet`` on the shipped LMC sample (30 mentors,
  200 mentees): start-up, reading the files, the checks and, for ``match``, solving and
  writing the three outputs.

For each it reports the median wall time (launch to exit) and the largest resident set of
any run (``ru_maxrss`` of that child alone, from ``os.wait4``). The children keep compiled
bytecode, as an installed command does, in a temporary folder (``PYTHONPYCACHEPREFIX``) that
an unmeasured first run of each command fills: the source trees are left as they were. Targets (issue 13): ``match``
on the LMC sample under 0.5 s and under 120 MB.

``--baseline DIR`` runs the same commands from another source tree as well (e.g. the last
commit, ``git archive HEAD | tar -x -C DIR``), interleaved with this one's, and reports the
ratios of the two from the same run. Results: ``results/command_start.md``.

    python -m benchmarks.command_start [--runs 11] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# This process stays small (no numpy, no OR-Tools): Linux counts the parent's resident set in a
# child's peak until the child replaces it with the command, so a heavy parent would set the
# floor of every figure.
ROOT = Path(__file__).resolve().parents[1]
LMC = ROOT / "datasets" / "samples" / "lmc"
RESULTS = ROOT / "benchmarks" / "results" / "command_start.md"
TARGETS = {"match": (0.5, 120.0)}  # seconds, MB


@dataclass(frozen=True)
class Measure:
    tree: str  # "this tree" or "baseline"
    name: str
    wall: float  # median seconds
    rss_mb: float  # largest of the runs
    runs: int


def commands(out: Path) -> dict[str, list[str]]:
    files = [str(LMC / "mentors.csv"), str(LMC / "mentees.csv")]
    exclusions = ["--exclusions", str(LMC / "exclusions.csv")]
    return {
        "help": ["--help"],
        "version": ["--version"],
        "validate": ["validate", *files, *exclusions],
        "match": ["match", *files, *exclusions, "--out", str(out), "--quiet"],
    }


def run_once(tree: Path, arguments: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one run from ``tree``; raises if it fails."""
    quiet = [
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
    ]
    argv = [sys.executable, "-m", "matcher.cli", *arguments]
    # `python -m` puts the working folder first on the path: `tree`'s packages are the ones
    # run. The child inherits the folder (posix_spawn has no portable way to set its own).
    previous = os.getcwd()
    os.chdir(tree)
    try:
        started = time.perf_counter()
        pid = os.posix_spawn(sys.executable, argv, env, file_actions=quiet)
    finally:
        os.chdir(previous)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"matcher {' '.join(arguments)} in {tree} exited with {code}")
    return wall, usage.ru_maxrss / 1024  # Linux reports kilobytes


def measure(trees: dict[str, Path], runs: int) -> list[Measure]:
    with tempfile.TemporaryDirectory() as tmp:
        todo = commands(Path(tmp) / "out")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "bytecode")
        walls: dict[tuple[str, str], list[float]] = {(t, n): [] for t in trees for n in todo}
        rss: dict[tuple[str, str], float] = dict.fromkeys(walls, 0.0)
        for tree in trees.values():  # one unmeasured run each: bytecode and page cache
            for arguments in todo.values():
                run_once(tree, arguments, env)
        for _ in range(runs):
            for name, arguments in todo.items():
                for label, tree in trees.items():
                    wall, mb = run_once(tree, arguments, env)
                    walls[label, name].append(wall)
                    rss[label, name] = max(rss[label, name], mb)
    return [
        Measure(label, name, statistics.median(walls[label, name]), rss[label, name], runs)
        for label, name in walls
    ]


def cpu_name() -> str:
    """The processor's model name, as the results files print it."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _target(m: Measure) -> str:
    target = TARGETS.get(m.name)
    if target is None:
        return ""
    met = m.wall < target[0] and m.rss_mb < target[1]
    return f"< {target[0]} s, < {target[1]:.0f} MB ({'met' if met else 'missed'})"


def report(measures: Sequence[Measure], command: str, load: tuple[float, float]) -> str:
    lines = [
        "# Command start-up",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores ({cpu_name()}), Python "
        f"{platform.python_version()}; load average {load[0]:.2f} at the start, "
        f"{load[1]:.2f} at the end (other work shares the machine). Each command is "
        "`python -m matcher.cli ...`, a subprocess timed from launch to exit.",
        "",
        f"Reproduce: `{command}`",
        "",
        "| source | command | runs | median wall s | max RSS MB | target |",
        "|---|---|---:|---:|---:|---|",
    ]
    for m in measures:
        lines.append(
            f"| {m.tree} | {m.name} | {m.runs} | {m.wall:.3f} | {m.rss_mb:.0f} | {_target(m)} |"
        )
    by = {(m.tree, m.name): m for m in measures}
    if any(m.tree == "baseline" for m in measures):
        lines += ["", "| command | wall: this tree / baseline | RSS: this tree / baseline |"]
        lines.append("|---|---:|---:|")
        for name in dict.fromkeys(m.name for m in measures):
            new, old = by["this tree", name], by["baseline", name]
            lines.append(f"| {name} | {new.wall / old.wall:.2f} | {new.rss_mb / old.rss_mb:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="measured runs of each command")
    parser.add_argument(
        "--baseline", type=Path, help="another source tree to measure in the same run"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    trees = {"this tree": ROOT}
    if args.baseline:
        if not (args.baseline / "matcher" / "cli.py").is_file():
            parser.error(f"{args.baseline} holds no matcher/cli.py")
        trees["baseline"] = args.baseline.resolve()
    load_start = os.getloadavg()[0]
    measures = measure(trees, args.runs)
    shown = " ".join(argv if argv is not None else sys.argv[1:])
    shown = shown.replace(str(args.baseline), "DIR") if args.baseline else shown
    command = f"python -m benchmarks.command_start {shown}".strip()
    for m in measures:
        print(f"{m.tree:9} {m.name:9} median {m.wall:.3f} s, max RSS {m.rss_mb:.0f} MB")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        report(measures, command, (load_start, os.getloadavg()[0])), encoding="utf-8"
    )
    print(f"wrote {RESULTS}")
    match = next(m for m in measures if m.tree == "this tree" and m.name == "match")
    target_wall, target_mb = TARGETS["match"]
    return 0 if match.wall < target_wall and match.rss_mb < target_mb else 1


if __name__ == "__main__":
    sys.exit(main())
