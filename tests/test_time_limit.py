"""`--time-limit` bounds the whole command: reading, checking, solving and writing.

The round: generate(150, 1000, seed=1), regional size, with the equity limit at 0.05. The
flow relaxation cannot express that limit, so CP-SAT searches it level by level over all
114,649 allowed pairs, and no level is proven within a few seconds: the limit is sure to end
the search, and the command must still end within a second of it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from datasets.generator import generate, write_dataset
from matcher.data import ProblemData
from matcher.export import MIN_SOLVE_SECONDS, report_seconds, solve_seconds
from matcher.readers import load_problem
from matcher.settings import Settings
from solver.result import Status
from solver.solve import finish_reserve, solve

TIME_LIMIT = 3.0
EQUITY = "[rules]\nequity_max_gap = 0.05\n"


@dataclass(frozen=True)
class RoundFiles:
    mentors: Path
    mentees: Path
    exclusions: Path
    settings: Path

    def arguments(self) -> list[str]:
        return [
            *map(str, (self.mentors, self.mentees)),
            *("--exclusions", str(self.exclusions), "--settings", str(self.settings)),
        ]

    def problem(self) -> ProblemData:
        return load_problem(
            self.mentors,
            self.mentees,
            self.exclusions,
            settings=Settings.from_toml(self.settings),
        )


@pytest.fixture(scope="module")
def round_files(tmp_path_factory: pytest.TempPathFactory) -> RoundFiles:
    folder = tmp_path_factory.mktemp("regional")
    settings = folder / "settings.toml"
    settings.write_text(EQUITY, encoding="utf-8")
    problem = generate(150, 1000, seed=1, settings=Settings.from_toml(settings))
    mentors, mentees, exclusions = write_dataset(problem, folder)
    return RoundFiles(mentors, mentees, exclusions, settings)


def test_the_command_ends_within_a_second_of_its_time_limit(
    round_files: RoundFiles, tmp_path: Path
) -> None:
    # A subprocess, timed from launch to exit: Python's start-up counts too.
    command = [sys.executable, "-m", "matcher.cli", "match", *round_files.arguments()]
    command += ["--out", str(tmp_path)]
    started = time.perf_counter()
    completed = subprocess.run(
        [*command, "--time-limit", str(TIME_LIMIT), "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    wall = time.perf_counter() - started
    assert completed.returncode == 0, completed.stderr
    assert wall <= TIME_LIMIT + 1.0
    result = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    # The limit, not a proof, ended the search, and the result says so.
    assert result["status"] == "feasible"
    assert result["advice"] == Status.FEASIBLE.advice
    assert "time limit ended the search" in result["advice"]
    assert not all(level["proven"] for level in result["levels"])
    # The solver was given less than the whole limit: reading and writing had their share.
    assert result["seconds"] < TIME_LIMIT


def test_the_solver_keeps_its_own_limit(round_files: RoundFiles) -> None:
    problem = round_files.problem()
    started = time.perf_counter()
    result = solve(problem, time_limit=2.0, seed=0)
    wall = time.perf_counter() - started
    assert result.status is Status.FEASIBLE
    assert wall <= 2.0 + 0.5
    assert result.seconds <= wall


def test_the_solver_is_given_what_reading_and_writing_leave() -> None:
    problem = generate(10, 4000, seed=2)
    # Writing 4,000 mentees' report is reserved at 0.05 + 4,000 x 0.00015 = 0.65 s; reading
    # took 2 s of the 60: the search gets 60 - 2 - 0.65 = 57.35 s.
    assert report_seconds(problem) == pytest.approx(0.65)
    assert solve_seconds(60.0, 2.0, problem) == pytest.approx(57.35)
    # With a 1 s limit writing keeps at most a quarter of it: 1 - 0.1 - 0.25 = 0.65 s.
    assert solve_seconds(1.0, 0.1, problem) == pytest.approx(0.65)
    # Reading took the whole limit: the solver still gets its minimum, to return a pair list.
    assert solve_seconds(3.0, 3.5, problem) == MIN_SOLVE_SECONDS


def test_the_search_leaves_time_for_its_last_steps() -> None:
    # The national sample's 1,837,183 allowed pairs: 0.05 + 1.837183 = 1.887 s of a 60 s limit.
    assert finish_reserve(1_837_183, 60.0) == pytest.approx(1.887183)
    # At most a quarter of a short limit.
    assert finish_reserve(1_837_183, 2.0) == pytest.approx(0.5)
    # The LMC sample's 4,364 pairs: 0.05 + 0.004364.
    assert finish_reserve(4_364, 30.0) == pytest.approx(0.054364)


def test_a_service_job_keeps_the_limit_from_its_start(round_files: RoundFiles) -> None:
    from service.solving import solve_in_child

    problem = round_files.problem()
    # The job began 1 s ago (reading the round from the database, say): of its 3 s, the
    # solver in the child has under 2 s, and the answer comes back within the 3 s.
    started = time.monotonic() - 1.0
    result = solve_in_child(problem, time_limit=TIME_LIMIT, started=started)
    assert time.monotonic() - started <= TIME_LIMIT + 1.0
    assert result.status is Status.FEASIBLE
    assert result.seconds < TIME_LIMIT - 1.0
