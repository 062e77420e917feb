"""`matcher compare` on a small generated round (10 mentors, 60 mentees) under three settings:

- base: the national band 4-8;
- narrow: band 4-5, which also changes how the mentors file reads (two mentors' personal
  maximum of 6 is read as 5);
- strict: the same PCN forbidden and an equity limit of 5 points over gender, ethnicity, IMG
  and cohort.

Each scenario's figures must be those of a separate `matcher match --settings FILE` run with
the same limit and seed: the search stops on a work limit, so the same round gives the same
pairs.
"""

from __future__ import annotations

import csv
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from datasets.generator import generate, write_dataset
from matcher.checks import violations, waiting_days
from matcher.cli import main
from matcher.compare import FIGURES
from matcher.metrics import equity_gap
from matcher.readers import load_problem
from matcher.settings import Settings

TIME_LIMIT = "5"
SCENARIOS = {
    "base": "[capacity]\nmin = 4\nmax = 8\n",
    "narrow": "[capacity]\nmin = 4\nmax = 5\n",
    "strict": "[rules]\nforbid_same_pcn = true\nequity_max_gap = 0.05\n"
    'equity_attributes = ["gender", "ethnicity", "img", "cohort"]\n',
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def round_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("round")
    write_dataset(generate(10, 60, seed=4), folder)
    for name, text in SCENARIOS.items():
        (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    return folder


def _inputs(folder: Path) -> list[str]:
    return [
        str(folder / "mentors.csv"),
        str(folder / "mentees.csv"),
        "--exclusions",
        str(folder / "exclusions.csv"),
    ]


def _compare(folder: Path, out: Path, *scenarios: str) -> int:
    flags = [f for s in scenarios for f in ("--scenario", s)]
    limits = ["--time-limit", TIME_LIMIT, "--out", str(out), "--quiet"]
    return main(["compare", *_inputs(folder), *flags, *limits])


def _all(folder: Path) -> list[str]:
    return [f"{name}={folder / f'{name}.toml'}" for name in SCENARIOS]


@pytest.fixture(scope="module")
def compared(round_dir: Path) -> Path:
    out = round_dir / "compared"
    assert _compare(round_dir, out, *_all(round_dir)) == 0
    return out


@pytest.fixture(scope="module")
def matched(round_dir: Path) -> dict[str, Path]:
    """A separate `matcher match` run per scenario."""
    outs = {}
    for name in SCENARIOS:
        out = round_dir / f"match-{name}"
        settings = ["--settings", str(round_dir / f"{name}.toml")]
        limits = ["--time-limit", TIME_LIMIT, "--seed", "0", "--out", str(out), "--quiet"]
        code = main(["match", *_inputs(round_dir), *settings, *limits])
        assert code == 0
        outs[name] = out
    return outs


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _document(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_each_scenario_has_the_figures_of_a_separate_match_run(
    round_dir: Path, compared: Path, matched: dict[str, Path]
) -> None:
    scenarios = {s["name"]: s for s in _document(compared / "result.json")["scenarios"]}
    assert list(scenarios) == list(SCENARIOS)
    base = Settings.from_toml(round_dir / "base.toml").rules
    for name, out in matched.items():
        summary = _document(out / "result.json")
        assert not summary["wall_limit_fired"]  # else no run need repeat another
        problem = load_problem(
            *_inputs(round_dir)[:2],
            round_dir / "exclusions.csv",
            settings=Settings.from_toml(round_dir / f"{name}.toml"),
        )
        pairs = [(p["mentor_id"], p["mentee_id"]) for p in summary["pairs"]]
        waited = [waiting_days(problem)[u["mentee_id"]] for u in summary["unmatched"]]
        gap, group = equity_gap(problem, pairs, base.equity_attributes, base.equity_min_group)
        expected = {
            "status": summary["status"],
            "mentees": summary["mentees"],
            "matched": summary["mentees_matched"],
            "fellows": summary["fellows"],
            "fellows_matched": summary["fellows_matched"],
            "priority": summary["priority_mentees"],
            "priority_matched": summary["priority_matched"],
            "mean_score": round(sum(p["score"] for p in summary["pairs"]) / len(pairs), 2),
            "mentors_used": summary["mentors_used"],
            "equity_gap": round(gap, 3),
            "equity_gap_group": group or "",
            "waiting_days_mean": round(sum(waited) / len(waited), 1),
            "waiting_days_max": max(waited),
            "objective": summary["objective"],
            "gap": summary["gap"],
            "wall_limit_fired": False,
        }
        figures = scenarios[name]["figures"]
        assert {k: figures[k] for k in expected} == expected
        # The scenario's own files are that run's files, pair for pair.
        mine = compared / "scenarios" / name
        assert _rows(mine / "pairs.csv") == _rows(out / "pairs.csv")
        assert _rows(mine / "unmatched.csv") == _rows(out / "unmatched.csv")
        assert not violations(problem, pairs)
    # The rules do bite: the narrow band and the strict rules each match fewer mentees.
    counts = {name: scenarios[name]["figures"]["matched"] for name in SCENARIOS}
    assert counts["narrow"] < counts["base"] and counts["strict"] < counts["base"]


def test_the_table_holds_each_figure_and_its_difference_from_the_first(compared: Path) -> None:
    rows = _rows(compared / "compare.csv")
    document = _document(compared / "result.json")["scenarios"]
    assert [r["scenario"] for r in rows] == list(SCENARIOS)
    base = document[0]["figures"]
    for row, scenario in zip(rows, document, strict=True):
        for figure in FIGURES:
            value = scenario["figures"][figure]
            expected = round(value - base[figure], 3)
            assert scenario["differences"][figure] == pytest.approx(expected, abs=1e-9)
            assert float(row[figure]) == value
            assert float(row[f"{figure}_diff"]) == pytest.approx(expected, abs=1e-9)
    assert all(float(rows[0][f"{f}_diff"]) == 0 for f in FIGURES)
    assert rows[1]["changes"] == "capacity.max: 8 -> 5"
    assert rows[2]["changes"] == (
        "rules.forbid_same_pcn: false -> true; rules.equity_max_gap: 1 -> 0.05; "
        'rules.equity_attributes: ["gender", "ethnicity", "img"] -> '
        '["gender", "ethnicity", "img", "cohort"]'
    )
    paper = (compared / "compare.md").read_text(encoding="utf-8")
    narrow = document[1]["figures"]
    assert f"| mentees matched | {base['matched']} | {narrow['matched']} (" in paper


def test_the_plot_is_a_png(compared: Path) -> None:
    data = (compared / "compare.png").read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 600 and height > 300


def _refused(capsys: pytest.CaptureFixture[str], out: Path, *argv: str) -> str:
    assert main(["compare", *argv, "--out", str(out), "--quiet"]) == 2
    assert not out.exists()
    return capsys.readouterr().err


def test_bad_scenarios_are_refused_and_nothing_is_written(
    round_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _inputs(round_dir)
    out = tmp_path / "out"
    base = f"base={round_dir / 'base.toml'}"
    err = _refused(capsys, out, *files, "--scenario", base, "--scenario", base)
    assert err == f"--scenario {base!r}: the name base is given twice\nNothing was written.\n"

    err = _refused(capsys, out, *files, "--scenario", str(round_dir / "base.toml"))
    assert err == (
        f"--scenario {str(round_dir / 'base.toml')!r}: expected NAME=SETTINGS.toml\n"
        "Nothing was written.\n"
    )
    err = _refused(capsys, out, *files, "--scenario", f"a b={round_dir / 'base.toml'}")
    assert "a name is letters, digits, - and _ (at least one)" in err

    missing = tmp_path / "nowhere.toml"
    err = _refused(capsys, out, *files, "--scenario", base, "--scenario", f"wide={missing}")
    assert err == (
        "1 problem(s) in the input:\n"
        f"  {missing} (scenario wide), row -, column -, value '': file not found\n"
        "Nothing was written. Correct the files and run again.\n"
    )

    bad = tmp_path / "bad.toml"
    bad.write_text("[capacity]\nmaximum = 6\n", encoding="utf-8")
    err = _refused(capsys, out, *files, "--scenario", base, "--scenario", f"odd={bad}")
    assert err == (
        "1 problem(s) in the input:\n"
        f"  {bad} (scenario odd), row -, column capacity.maximum, value '': unknown setting "
        "(expected one of min, max, allow_unused_mentors)\n"
        "Nothing was written. Correct the files and run again.\n"
    )


def _written(out: Path, scenario: str) -> list[Path]:
    folder = out / "scenarios" / scenario
    return [
        *(out / name for name in ("compare.csv", "compare.md", "result.json", "compare.png")),
        *(folder / name for name in ("pairs.csv", "unmatched.csv", "result.json")),
    ]


def test_outputs_are_written_all_or_nothing(
    round_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    assert _compare(round_dir, out, f"first={round_dir / 'base.toml'}") == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("1 scenarios of one round of 60 mentees")
    assert printed[2].split()[:2] == ["first", "optimal"]
    assert printed[3:] == [f"wrote {p}" for p in _written(out, "first")]
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("matcher.compare_plots.plot_compare", broken)
    with pytest.raises(OSError, match="disk full"):
        _compare(round_dir, out, f"second={round_dir / 'narrow.toml'}")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    monkeypatch.undo()

    # A later run replaces the scenarios folder whole: no scenario of the last run is left.
    assert _compare(round_dir, out, f"second={round_dir / 'narrow.toml'}") == 0
    assert sorted(p.name for p in (out / "scenarios").iterdir()) == ["second"]
    assert sorted(p.name for p in out.iterdir()) == [
        "compare.csv",
        "compare.md",
        "compare.png",
        "result.json",
        "scenarios",
    ]


def test_a_scenario_whose_rules_cannot_hold_is_a_row_and_exit_1(
    round_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every active mentor must end with 8 mentees, current and new: they would need 67 new
    # mentees between them, and the round has 60.
    full = tmp_path / "full.toml"
    full.write_text("[capacity]\nmin = 8\nmax = 8\nallow_unused_mentors = false\n", "utf-8")
    out = tmp_path / "out"
    assert _compare(round_dir, out, f"base={round_dir / 'base.toml'}", f"full={full}") == 1
    assert "scenario full: the rules cannot all hold:" in capsys.readouterr().err
    base, row = _rows(out / "compare.csv")
    assert (row["status"], row["matched"], row["mean_score"]) == ("infeasible", "0", "")
    assert int(row["matched_diff"]) == -int(base["matched"])
    assert row["mean_score_diff"] == ""
    assert _rows(out / "scenarios" / "full" / "pairs.csv") == []
