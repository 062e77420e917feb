"""Our whole ``matcher match`` command against a public peer: openreview-matcher's MinMax solver.

Each round is run by both sides in the same run, alternating (ours, peer, ours, peer, ...),
``--runs`` times each (once when a run takes over ``--long`` seconds: the peer needs minutes
on the national sample), after one unmeasured run of each on the first round (bytecode, page
cache). Both are subprocesses timed on the wall clock from launch to exit, with the peak
resident set of that child alone (``ru_maxrss`` from ``os.wait4``):

- **ours**: ``python -m matcher.cli match MENTORS MENTEES --exclusions ... --out ...
  --time-limit S --quiet``: start-up, reading the CSVs, solving, writing the three outputs.
  Solve-only time: ``seconds`` of its ``result.json``.
- **peer**: a driver run with the peer's own Python and only the peer's source on the path
  (its package is also called ``matcher``): imports ``matcher.solvers.MinMaxSolver``, loads the
  round's ``.npy`` inputs, builds and solves MinMax, saves the assignment. Solve-only time:
  ``MinMaxSolver(...)`` and ``solve()`` (both graph builds and both min-cost flows). The peer
  has no time limit.

Translation (built here from ``solver.instance.build_instance`` of the round read by our
readers): reviewers = mentors plus one *unassigned* reviewer; papers = mentees, each
demanding 1; cost = -(our pair score) on allowed pairs, constraint -1 (no arc) elsewhere;
the unassigned reviewer takes any mentee at a cost above any total score, so the flow
matches as many mentees as it can, then the most score. Maximum = ``Instance.most``; minimum
= ``Instance.least`` for mentors that must be used, else 0: MinMax cannot say "unused, or at
least the minimum", so the translation relaxes the band's minimum (which only helps the
peer). Priority (fellows first), waiting days and the balance penalty are not expressed.
Both answers go through ``matcher.checks``: levels recomputed from the pairs, and every
broken hard rule counted.

Rounds: the shipped samples (``lmc``, ``regional``, ``national``) and shapes of
``datasets.shapes`` named ``SHAPE-SIZE[-SEED]`` (seed 1 by default), written to CSV in a
temporary folder. Helpers that import numpy run as subprocesses, so this parent stays small
(a child's peak includes its parent's resident set until it execs).

Getting the peer (nothing of it is kept in this tree)::

    git clone https://github.com/openreview/openreview-matcher ../peer-src
    python3 -m venv ../peer-venv && ../peer-venv/bin/pip install ../peer-src
    python -m benchmarks.peer_matchers --peer-src ../peer-src \\
        --peer-python ../peer-venv/bin/python [--rounds lmc,national] [--runs 3] [--time-limit 60]

Results: ``results/peer_matchers.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks.command_start import cpu_name

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ("lmc", "regional", "national")
ROUNDS = "lmc,regional,national,oversupply-mid,sparse-regional,dense-regional"
RESULTS = ROOT / "benchmarks" / "results" / "peer_matchers.md"

# Run by the peer's Python with the peer's source first on the path, in a folder without a
# `matcher` of ours: argv = inputs folder, output stem, the peer's source folder.
PEER_DRIVER = """
import json, os, sys, time
started = time.perf_counter()
import numpy as np
import matcher
from matcher.solvers import MinMaxSolver
imported = time.perf_counter()
folder, out, source = sys.argv[1:4]
if not os.path.realpath(matcher.__file__).startswith(os.path.realpath(source) + os.sep):
    sys.exit(f"imported {matcher.__file__}, not the peer's source in {source}")
a = {k: np.load(os.path.join(folder, k + ".npy")) for k in ("cost", "constraint", "minimums", "maximums", "demands")}
loaded = time.perf_counter()
class Encoder:
    cost_matrix = a["cost"]
    constraint_matrix = a["constraint"]
solver = MinMaxSolver(a["minimums"], a["maximums"], a["demands"], Encoder,
                      allow_zero_score_assignments=True)
flow = solver.solve()
solved = time.perf_counter()
paper, reviewer = np.nonzero(flow)
np.save(out + ".npy", np.stack([reviewer, paper]).astype(np.int64))
from importlib.metadata import version
with open(out + ".json", "w") as f:
    json.dump({"import": imported - started, "load": loaded - imported, "solve": solved - loaded,
               "solved": bool(solver.solved), "numpy": np.__version__,
               "ortools": version("ortools")}, f)
"""


def round_files(name: str, folder: Path) -> list[Path]:
    """Mentors, mentees and exclusions files of a round; a shape's are written to ``folder``."""
    if name in SAMPLES:
        base = ROOT / "datasets" / "samples" / name
        return [base / "mentors.csv", base / "mentees.csv", base / "exclusions.csv"]
    from datasets.generator import write_dataset
    from datasets.shapes import SHAPES, SIZES
    from matcher.settings import Settings

    parts = name.split("-")
    if len(parts) not in (2, 3) or parts[0] not in SHAPES or parts[1] not in SIZES:
        raise SystemExit(f"unknown round {name!r}: {', '.join(SAMPLES)} or SHAPE-SIZE[-SEED]")
    problem = SHAPES[parts[0]](SIZES[parts[1]], int(parts[2]) if len(parts) == 3 else 1)
    if problem.settings != Settings() or problem.locks or problem.previous:
        raise SystemExit(f"{name}: needs settings or locks the CSV files cannot carry")
    return write_dataset(problem, folder / "round")


def prepare(name: str, folder: Path) -> None:
    """Helper process: write the round's files, the peer's arrays and ``round.json``."""
    import numpy as np

    from matcher.readers import load_problem
    from solver.instance import build_instance

    files = round_files(name, folder)
    inst = build_instance(load_problem(files[0], files[1], files[2]))
    m, n = inst.n_mentors, inst.n_mentees
    big = n * (int(np.abs(inst.score).max(initial=0)) + 1) + 1  # one more match beats any score
    cost = np.zeros((n, m + 1), dtype=np.int64)  # papers x reviewers, the last one "unassigned"
    constraint = np.full((n, m + 1), -1, dtype=np.int64)
    cost[inst.pairs.mentee, inst.pairs.mentor] = -inst.score
    constraint[inst.pairs.mentee, inst.pairs.mentor] = 0
    cost[:, m], constraint[:, m] = big, 0
    arrays = {
        "cost": cost,
        "constraint": constraint,
        "minimums": np.append(np.where(inst.must_use, inst.least, 0), 0).astype(np.int64),
        "maximums": np.append(inst.most, n).astype(np.int64),
        "demands": np.ones(n, dtype=np.int64),
    }
    (folder / "peer-in").mkdir(parents=True, exist_ok=True)
    for key, array in arrays.items():
        np.save(folder / "peer-in" / f"{key}.npy", array)
    info = {
        "files": [str(f) for f in files],
        "mentors": m,
        "mentees": n,
        "allowed": len(inst.pairs),
        "relaxed": int(((inst.least > 0) & ~inst.must_use).sum()),
    }
    (folder / "round.json").write_text(json.dumps(info), encoding="utf-8")


def judge(folder: Path, runs: int) -> None:
    """Helper process: levels and broken rules of each measured run's answer, JSON on stdout."""
    import numpy as np

    from matcher.checks import evaluate, violations
    from matcher.readers import load_problem

    problem = load_problem(*json.loads((folder / "round.json").read_text())["files"])
    mentor_ids = [m.mentor_id for m in problem.mentors]
    mentee_ids = [m.mentee_id for m in problem.mentees]
    answers: dict[str, list[list[tuple[str, str]]]] = {"ours": [], "peer": []}
    for k in range(runs):
        found = json.loads((folder / f"ours-{k}" / "result.json").read_text())["pairs"]
        answers["ours"].append([(p["mentor_id"], p["mentee_id"]) for p in found])
        flow = np.load(folder / f"peer-{k}.npy")
        answers["peer"].append(
            [(mentor_ids[r], mentee_ids[p]) for r, p in flow.T.tolist() if r < len(mentor_ids)]
        )
    out: dict[str, list[dict[str, Any]]] = {}
    for side, found_runs in answers.items():
        out[side] = []
        for pairs in found_runs:
            broken = Counter(v.split(":", 1)[0] for v in violations(problem, pairs))
            out[side].append({"levels": evaluate(problem, pairs), "broken": dict(broken)})
    print(json.dumps(out))


def spawn(argv: Sequence[str], cwd: Path, env: dict[str, str], log: Path) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one child; raises if it fails (see ``log``)."""
    with log.open("wb") as sink:
        actions = [(os.POSIX_SPAWN_DUP2, sink.fileno(), 1), (os.POSIX_SPAWN_DUP2, sink.fileno(), 2)]
        previous = os.getcwd()
        os.chdir(cwd)  # the child inherits the folder
        try:
            started = time.perf_counter()
            pid = os.posix_spawn(argv[0], list(argv), env, file_actions=actions)
        finally:
            os.chdir(previous)
        _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(argv[:4])} ... failed:\n{tail}")
    return wall, usage.ru_maxrss / 1024  # Linux reports kilobytes


def helper(*arguments: str) -> str:
    """Run this module's helper in a fresh process of our Python; its stdout."""
    argv = [sys.executable, "-m", "benchmarks.peer_matchers", *arguments]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


@dataclass
class Side:
    walls: list[float]
    rss_mb: float  # largest of the runs
    solve: list[float]  # solve-only seconds per run
    answers: list[dict[str, Any]]  # levels and broken rules per run

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    def level(self, name: str) -> int:
        return int(self.answers[-1]["levels"][name])

    def varied(self) -> bool:
        return len({json.dumps(a["levels"], sort_keys=True) for a in self.answers}) > 1

    def rules(self) -> str:
        broken: Counter[str] = Counter()
        for answer in self.answers:
            broken.update(answer["broken"])
        runs = len(self.answers)
        return (
            "all kept"
            if not broken
            else "; ".join(f"{n / runs:g} × {rule}" for rule, n in broken.most_common())
        )


@dataclass
class Row:
    name: str
    info: dict[str, Any]
    ours: Side
    peer: Side
    status: str
    peer_import: float


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args, self.tmp = args, tmp
        # Each side keeps its bytecode where Python puts it, as its users run it: a shared
        # PYTHONPYCACHEPREFIX made our LMC command take 1.1-1.6 s instead of 0.5-0.7 s.
        drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONPYCACHEPREFIX")
        base = {k: v for k, v in os.environ.items() if k not in drop}
        self.env_ours = base
        self.env_peer = {**base, "PYTHONPATH": str(args.peer_src)}
        self.versions: dict[str, str] = {}

    def ours(self, folder: Path, run: str) -> tuple[float, float]:
        info = json.loads((folder / "round.json").read_text())
        mentors, mentees, exclusions = info["files"]
        argv = [sys.executable, "-m", "matcher.cli", "match", mentors, mentees]
        argv += ["--exclusions", exclusions, "--out", str(folder / f"ours-{run}")]
        argv += ["--time-limit", f"{self.args.time_limit:g}", "--quiet"]
        return spawn(argv, ROOT, self.env_ours, folder / f"ours-{run}.log")

    def peer(self, folder: Path, run: str) -> tuple[float, float]:
        argv = [str(self.args.peer_python), "-c", PEER_DRIVER, str(folder / "peer-in")]
        argv += [str(folder / f"peer-{run}"), str(self.args.peer_src)]
        return spawn(argv, folder, self.env_peer, folder / f"peer-{run}.log")

    def round(self, name: str, warm_up: bool) -> Row:
        folder = self.tmp / name
        folder.mkdir()
        helper("_prepare", name, str(folder))
        if warm_up:
            self.ours(folder, "warm")
            self.peer(folder, "warm")
        walls: dict[str, list[float]] = {"ours": [], "peer": []}
        rss = {"ours": 0.0, "peer": 0.0}
        runs, k = self.args.runs, 0
        while k < runs:
            for side, run in (("ours", self.ours), ("peer", self.peer)):
                wall, mb = run(folder, str(k))
                walls[side].append(wall)
                rss[side] = max(rss[side], mb)
                print(f"  {name:18} {side} run {k + 1}: {wall:6.2f} s, {mb:5.0f} MB", flush=True)
                if wall > self.args.long:
                    runs = k + 1
            k += 1
        judged = json.loads(helper("_judge", str(folder), str(runs)))
        results = [json.loads((folder / f"ours-{k}/result.json").read_text()) for k in range(runs)]
        drivers = [json.loads((folder / f"peer-{k}.json").read_text()) for k in range(runs)]
        if not all(d["solved"] for d in drivers):
            raise RuntimeError(f"{name}: the peer reported no solution")
        self.versions = {"numpy": drivers[0]["numpy"], "ortools": drivers[0]["ortools"]}
        return Row(
            name=name,
            info=json.loads((folder / "round.json").read_text()),
            ours=Side(walls["ours"], rss["ours"], [r["seconds"] for r in results], judged["ours"]),
            peer=Side(walls["peer"], rss["peer"], [d["solve"] for d in drivers], judged["peer"]),
            status="/".join(sorted({r["status"] for r in results})),
            peer_import=statistics.median(d["import"] for d in drivers),
        )


def _peer_version(source: Path) -> str:
    found = re.search(r'version="([^"]+)"', (source / "setup.py").read_text(encoding="utf-8"))
    git = ["git", "-C", str(source), "rev-parse", "--short", "HEAD"]
    commit = ""
    if (source / ".git").exists():
        commit = subprocess.run(git, capture_output=True, text=True).stdout.strip()
    return (found.group(1) if found else "unknown") + (f" (commit {commit})" if commit else "")


def _pair(ours: float, peer: float, digits: int = 0) -> str:
    return f"{ours:,.{digits}f} / {peer:,.{digits}f}"


def report(rows: Sequence[Row], args: argparse.Namespace, header: dict[str, str]) -> str:
    cost = [
        "| round | mentors × mentees | allowed pairs | runs | ours s | peer s | ours/peer | "
        "ours solve s | peer solve s | ours/peer | ours MB | peer MB | ours/peer |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    answers = [
        "| round | our status | fellows matched ours / peer | matched ours / peer | "
        "quality ours / peer | ours/peer | waiting days ours / peer | rules: ours | rules: peer |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        o, p, i = r.ours, r.peer, r.info
        os_, ps = statistics.median(o.solve), statistics.median(p.solve)
        cost.append(
            f"| {r.name} | {i['mentors']} × {i['mentees']:,} | {i['allowed']:,} | {len(o.walls)} | "
            f"{o.wall:.2f} | {p.wall:.2f} | {o.wall / p.wall:.2f} | {os_:.2f} | {ps:.2f} | "
            f"{os_ / ps:.2f} | {o.rss_mb:.0f} | {p.rss_mb:.0f} | {o.rss_mb / p.rss_mb:.2f} |"
        )
        varied = " (runs differ)" if o.varied() or p.varied() else ""
        answers.append(
            f"| {r.name} | {r.status}{varied} | "
            f"{_pair(o.level('priority_matched'), p.level('priority_matched'))} | "
            f"{_pair(o.level('matched'), p.level('matched'))} | "
            f"{_pair(o.level('quality'), p.level('quality'))} | "
            f"{o.level('quality') / max(1, p.level('quality')):.3f} | "
            f"{_pair(o.level('waiting_days'), p.level('waiting_days'))} | {o.rules()} | "
            f"{p.rules()} |"
        )
    relaxed = ", ".join(f"{r.name} {r.info['relaxed']}" for r in rows)
    imports = ", ".join(f"{r.name} {r.peer_import:.2f}" for r in rows)
    return "\n".join(
        [
            "# Our command against a public peer: openreview-matcher's MinMax",
            "",
            f"`{header['command']}`; {header['date']}; {os.cpu_count()} cores ({cpu_name()}), "
            f"load average {header['load']}; Python {platform.python_version()}; ours: "
            f"matcher {header['ours']}, OR-Tools {version('ortools')}; peer: "
            f"openreview-matcher {header['peer']}, OR-Tools {header['peer_ortools']}, numpy "
            f"{header['peer_numpy']}.",
            "",
            f"Each side runs a round {args.runs} times (once where a run took over "
            f"{args.long:g} s), alternating ours and the peer's, each a "
            "subprocess timed from launch to exit (median); MB is the largest `ru_maxrss` of "
            f"the runs. Ours: the whole `matcher match` with `--time-limit {args.time_limit:g}`; "
            "solve s is `result.json`'s `seconds`. Peer: a driver in its own virtualenv that "
            "imports `matcher.solvers.MinMaxSolver`, loads `.npy` inputs built from our "
            "instance, solves (no time limit) and saves the assignment; solve s is MinMax's "
            f"construction and `solve()`. The peer's package import alone takes ({imports}) s "
            "of its wall time.",
            "",
            *cost,
            "",
            "Answers (the last run of each side; levels recomputed from the pairs by "
            "`matcher.checks.evaluate`, rules counted by `matcher.checks.violations`, per run). "
            "The peer maximises matched and then the total score; it is not told that fellows "
            "come first, nor waiting days or the balance penalty, which ours rank as levels 1, "
            "3 and 5 (quality is level 4). Its mentor minimums are 0 (no mentor must be used), "
            "so it may leave a mentor under the band's minimum; mentors with a minimum so "
            f"relaxed: {relaxed}.",
            "",
            *answers,
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_prepare"]:
        prepare(argv[1], Path(argv[2]))
        return 0
    if argv[:1] == ["_judge"]:
        judge(Path(argv[1]), int(argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--peer-src", type=Path, required=True, help="openreview-matcher source")
    parser.add_argument("--peer-python", type=Path, required=True, help="the peer venv's python")
    parser.add_argument("--rounds", default=ROUNDS, help=f"comma-separated (default {ROUNDS})")
    parser.add_argument("--runs", type=int, default=3, help="measured runs per side and round")
    parser.add_argument("--time-limit", type=float, default=60.0, help="our command's limit, s")
    parser.add_argument(
        "--long", type=float, default=120.0, help="a round with a run over this many s runs once"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not (args.peer_src / "matcher" / "solvers" / "minmax_solver.py").is_file():
        parser.error(f"{args.peer_src} holds no matcher/solvers/minmax_solver.py")
    if args.runs < 1 or args.time_limit <= 0:
        parser.error("--runs and --time-limit must be positive")
    args.peer_src, args.peer_python = args.peer_src.resolve(), args.peer_python.absolute()
    names = [n.strip() for n in args.rounds.split(",") if n.strip()]
    load = os.getloadavg()[0]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="peer-matchers-") as tmp:
        bench = Bench(args, Path(tmp))
        for k, name in enumerate(names):
            print(f"{name}: preparing", flush=True)
            rows.append(bench.round(name, warm_up=k == 0))
        shown = " ".join(argv)
        shown = shown.replace(str(args.peer_src), "PEER_SRC").replace(
            str(args.peer_python), "PEER_PYTHON"
        )
        header = {
            "command": f"python -m benchmarks.peer_matchers {shown}".strip(),
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "load": f"{load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end",
            "ours": version("gp-mentor-matcher"),
            "peer": _peer_version(args.peer_src),
            "peer_ortools": bench.versions.get("ortools", "?"),
            "peer_numpy": bench.versions.get("numpy", "?"),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(rows, args, header), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
