"""`matcher bench`: every method through the same checks, a report with its plots."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from benchmarks.quality import COLUMNS, named_instances
from matcher import metrics
from matcher.cli import main
from solver.baselines import METHODS, run_method

REQUIRED = (
    "instance",
    "method",
    "valid",
    "matched",
    "fellows_matched",
    "mean_score",
    "blocking_pairs",
    "load_std",
    "equity_gap",
    "seconds",
)


def test_bench_writes_metrics_report_and_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench"
    code = main(
        [
            "bench",
            "--instances",
            "gen-10x50-s1",
            "gen-12x80-s2-tight",
            "--time-limit",
            "20",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    with (out / "metrics.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert set(REQUIRED) <= set(rows[0]) and tuple(rows[0]) == COLUMNS
    # Five methods on each instance, and ours with the equity limit on the tight one.
    assert [(r["instance"], r["method"]) for r in rows] == [
        *(("gen-10x50-s1", m) for m in METHODS),
        *(("gen-12x80-s2-tight", m) for m in METHODS),
        ("gen-12x80-s2-tight", "cpsat_equity"),
    ]
    ours = [r for r in rows if r["method"].startswith("cpsat")]
    assert all(r["valid"] == "True" for r in ours)
    assert all(r["blocking_pairs"] == "0" for r in rows if r["method"] == "gale_shapley")
    tight = {r["method"]: r for r in rows if r["instance"] == "gen-12x80-s2-tight"}
    assert float(tight["cpsat_equity"]["equity_gap_limited"]) <= 0.02 + 1e-9

    # The CSV's numbers are the metrics of the method's own pairs, recomputed here.
    problem = named_instances(["gen-10x50-s1"])[0].load()
    pairs = run_method("greedy", problem, seed=0, time_limit=20)
    again = metrics.summary(problem, pairs)
    greedy = next(r for r in rows if r["method"] == "greedy")
    for key in ("matched", "fellows_matched", "blocking_pairs", "blocking_pairs_stated"):
        assert int(greedy[key]) == again[key]
    assert float(greedy["mean_score"]) == again["mean_score"]

    report = (out / "report.md").read_text()
    images = re.findall(r"!\[[^]]*\]\(([^)]+)\)", report)
    assert images == ["quality_by_method.png", "time_against_size.png", "equity_by_group.png"]
    for image in images:
        assert (out / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## The price of the equity limit" in report
    assert "### gen-12x80-s2-tight (12 mentors, 80 mentees)" in report


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--instances", "tiny"], "unknown instance 'tiny'"),
        (["--instances", "lmc", "--methods", "magic"], "unknown method"),
        (["--instances", "lmc", "--time-limit", "-1"], "--time-limit must be positive"),
    ],
)
def test_bench_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["bench", *argv, "--out", str(tmp_path / "b")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "b" / "report.md").exists()
