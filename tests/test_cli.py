"""The `matcher` command end to end, on the small round in tests/data/solver.

The round (scheme band 1-3, from settings.toml): M1 takes up to 3, M2 (1 current) up to 2
new, M3 is paused; exclusions.csv keeps M4 from E3. E1 is named "=1+2" to test that exports
are safe to open in Excel. E5 has no allowed mentor (free only on Sunday evenings); E6 (face
to face only) can only have M2.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SOLVER_DATA

from datasets.generator import generate, sample_dir
from matcher.checks import evaluate, violations
from matcher.cli import main
from matcher.readers import load_problem
from matcher.settings import Settings

PAIR_COLUMNS = [
    "mentor_id",
    "mentor_name",
    "mentee_id",
    "mentee_name",
    "cohort",
    "score",
    "reasons",
]
UNMATCHED_COLUMNS = ["mentee_id", "mentee_name", "cohort", "reason"]
SUMMARY_KEYS = {
    "status",
    "objective",
    "best_bound",
    "gap",
    "seconds",
    "mentees_matched",
    "fellows_matched",
}
SETTINGS = SOLVER_DATA / "settings.toml"


def _files(*names: str) -> list[str]:
    return [str(SOLVER_DATA / name) for name in names]


def _match(out: Path, *extra: str, mentees: str = "mentees.csv") -> int:
    return main(
        [
            "match",
            *_files("mentors.csv", mentees),
            "--settings",
            str(SETTINGS),
            "--out",
            str(out),
            "--time-limit",
            "10",
            "--quiet",
            *extra,
        ]
    )


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_match_writes_pairs_unmatched_and_result(tmp_path: Path) -> None:
    out = tmp_path / "round"
    assert _match(out, "--exclusions", *_files("exclusions.csv")) == 0
    header, pairs = _read_csv(out / "pairs.csv")
    assert header == PAIR_COLUMNS
    assert pairs and all(row["reasons"].strip() for row in pairs)
    header, unmatched = _read_csv(out / "unmatched.csv")
    assert header == UNMATCHED_COLUMNS
    assert all(row["reason"].strip() for row in unmatched)
    assert {row["mentee_id"] for row in pairs} | {row["mentee_id"] for row in unmatched} == {
        f"E{j}" for j in range(1, 9)
    }
    # E5 is free only on Sunday evenings: no active mentor meets then.
    reasons = {row["mentee_id"]: row["reason"] for row in unmatched}
    assert "no shared weekly slot" in reasons["E5"]
    assert "excluded" in reasons["E3"]

    summary = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert set(summary) >= SUMMARY_KEYS
    assert summary["status"] == "optimal"
    assert summary["gap"] == 0
    assert summary["mentees_matched"] == len(pairs)
    assert summary["fellows_matched"] == sum(row["cohort"] == "fellow" for row in pairs) == 2
    # The written pairs keep every rule, and the objective is their recomputed quality.
    problem = load_problem(
        SOLVER_DATA / "mentors.csv",
        SOLVER_DATA / "mentees.csv",
        SOLVER_DATA / "exclusions.csv",
        settings=Settings.from_toml(SETTINGS),
    )
    written = [(row["mentor_id"], row["mentee_id"]) for row in pairs]
    assert violations(problem, written) == []
    assert summary["objective"] == evaluate(problem, written)["quality"]
    assert sum(int(row["score"]) for row in pairs) == summary["objective"]


def test_a_formula_like_name_is_neutralised(tmp_path: Path) -> None:
    assert _match(tmp_path) == 0
    _, pairs = _read_csv(tmp_path / "pairs.csv")
    names = {row["mentee_id"]: row["mentee_name"] for row in pairs}
    assert names["E1"] == "'=1+2"
    document = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert {p["mentee_id"]: p["mentee_name"] for p in document["pairs"]}["E1"] == "'=1+2"


def test_locks_are_kept(tmp_path: Path) -> None:
    # Unlocked, M2's second place goes to E6 (the only mentor E6 can have) and E8 to M4.
    def pairs_of(out: Path) -> set[tuple[str, str]]:
        _, rows = _read_csv(out / "pairs.csv")
        return {(row["mentor_id"], row["mentee_id"]) for row in rows}

    assert _match(tmp_path / "free") == 0
    assert ("M2", "E8") not in pairs_of(tmp_path / "free")
    assert _match(tmp_path / "locked", "--locks", *_files("locks.csv")) == 0
    assert ("M2", "E8") in pairs_of(tmp_path / "locked")


def test_a_bad_file_exits_2_naming_file_row_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "round"
    assert _match(out, mentees="mentees_bad.csv") == 2
    err = capsys.readouterr().err
    assert "mentees_bad.csv, row 3, column cohort, value 'student'" in err
    assert "mentees_bad.csv, row 4, column availability, value 'noon'" in err
    assert "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


def test_clashing_locks_exit_1_with_the_explanation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # M1 and E1 work in the same practice (A81001): the lock cannot hold.
    assert _match(tmp_path, "--locks", *_files("locks_clash.csv")) == 1
    err = capsys.readouterr().err
    assert "The pinned pair M1 and E1 cannot be kept: they work in the same practice." in err
    # Nobody is matched, and every mentee's row says why rather than staying blank.
    with (tmp_path / "unmatched.csv").open(encoding="utf-8-sig") as handle:
        reasons = [row["reason"] for row in csv.DictReader(handle)]
    assert reasons
    assert all(r.startswith("no pair list keeps every rule in this round: ") for r in reasons)
    assert all("M1 and E1" in r for r in reasons)


@pytest.mark.parametrize(
    ("extra", "mentees", "code"),
    [
        ([], "mentees.csv", 0),
        ([], "mentees_bad.csv", 2),
        (["--locks", str(SOLVER_DATA / "locks_clash.csv")], "mentees.csv", 1),
    ],
)
def test_validate_exit_codes(
    extra: list[str], mentees: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["validate", *_files("mentors.csv", mentees), "--settings", str(SETTINGS), *extra]
    assert main(argv) == code
    captured = capsys.readouterr()
    if code == 1:
        assert "The pinned pair M1 and E1" in captured.out
    if code == 2:
        assert "mentees_bad.csv" in captured.err


def test_validate_warns_of_a_personal_maximum_below_the_scheme_band(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Without settings.toml the scheme's minimum is 4, above M1's personal maximum of 3:
    # M1 is read at the band's edge, and the warning names the mentor.
    assert main(["validate", *_files("mentors.csv", "mentees.csv")]) == 0
    out = capsys.readouterr().out
    assert (
        "warning: mentors.csv, row 2, column capacity_max: capacity_max 3 is below the "
        "scheme's minimum (4): read as 4 for M1"
    ) in out


def test_generate_writes_readable_files(tmp_path: Path) -> None:
    assert (
        main(
            ["generate", "--mentors", "6", "--mentees", "25", "--seed", "4", "--out", str(tmp_path)]
        )
        == 0
    )
    problem = load_problem(
        tmp_path / "mentors.csv", tmp_path / "mentees.csv", tmp_path / "exclusions.csv"
    )
    assert (len(problem.mentors), len(problem.mentees)) == (6, 25)
    assert problem == generate(6, 25, seed=4)


def test_the_console_script_runs_a_round(tmp_path: Path) -> None:
    # The installed entry point, as a person would run it.
    script = Path(sys.executable).parent / "matcher"
    assert script.exists(), "the package is not installed with its console script"
    completed = subprocess.run(
        [
            str(script),
            "match",
            *_files("mentors.csv", "mentees.csv"),
            "--settings",
            str(SETTINGS),
            "--out",
            str(tmp_path),
            "--time-limit",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "optimal: matched" in completed.stdout
    assert (tmp_path / "pairs.csv").exists()
    assert json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))["status"] == (
        "optimal"
    )


def test_version_prints_the_installed_distribution_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"matcher {version('gp-mentor-matcher')}\n"


# Building the parser and printing every command's help must load none of these: they take
# seconds to import, and only the commands that solve or serve need them.
HEAVY = ("ortools", "pandas", "numpy", "sqlalchemy", "fastapi", "solver")
HELP_IMPORTS = f"""
import contextlib, io, sys
import matcher.cli as cli

parser = cli.build_parser()
for command in ([], ["match"], ["users"], ["users", "add"], ["serve"], ["bench"]):
    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
        parser.parse_args([*command, "--help"])
print(sorted(m for m in sys.modules if m.split(".")[0] in {set(HEAVY)!r}))
"""


def test_help_imports_nothing_heavy() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", HELP_IMPORTS],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert completed.stdout.strip() == "[]"


# What `validate` and `match` load on the shipped LMC sample. Neither needs the service or
# openpyxl (CSV in, CSV out); `match` reaches CP-SAT through solver.cpsat, never through
# ortools' cp_model, which loads pandas; `validate` solves nothing, so loads no OR-Tools.
SLOW_TO_LOAD = {"pandas", "openpyxl", "scipy", "sqlalchemy", "fastapi", "pydantic", "ortools"}
# Prints the exit code, which of SLOW_TO_LOAD the command loaded, and whether cp_model was.
COMMAND_IMPORTS = f"""
import contextlib, io, sys
from matcher.cli import main

with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main(sys.argv[1:])
loaded = {{m.split(".")[0] for m in sys.modules}} & {SLOW_TO_LOAD!r}
print(code, sorted(loaded), "ortools.sat.python.cp_model" in sys.modules)
"""


@pytest.mark.parametrize(
    ("command", "loaded"),
    [("validate", "0 [] False"), ("match", "0 ['ortools'] False")],
)
def test_validate_and_match_load_only_what_they_use(
    tmp_path: Path, command: str, loaded: str
) -> None:
    lmc = sample_dir("lmc")
    files = [str(lmc / name) for name in ("mentors.csv", "mentees.csv")]
    files += ["--exclusions", str(lmc / "exclusions.csv")]
    extra = ["--out", str(tmp_path), "--quiet"] if command == "match" else []
    completed = subprocess.run(
        [sys.executable, "-c", COMMAND_IMPORTS, command, *files, *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert completed.stdout.strip() == loaded
