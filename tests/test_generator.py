"""The synthetic data generator: deterministic, realistic in the ways the solver cares about,
and written in the exact input format (read back through the real reader)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from datasets.generator import COHORT_MIX, SAMPLES, generate, sample_dir, write_dataset
from matcher.data import ProblemData
from matcher.readers import load_problem
from matcher.settings import CapacitySettings, Settings

FILES = ("mentors.csv", "mentees.csv", "exclusions.csv")


def _files(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in FILES}


def _spare(problem: ProblemData) -> int:
    """Places the active mentors can still offer: personal maximum minus current mentees."""
    return sum(
        m.band(problem.settings)[1] - m.current_mentees for m in problem.mentors if m.is_active
    )


@pytest.fixture(scope="module")
def lmc() -> ProblemData:
    return generate(30, 200, seed=1)


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first = write_dataset(generate(40, 250, seed=7), tmp_path / "a")
    write_dataset(generate(40, 250, seed=7), tmp_path / "b")
    assert [p.name for p in first] == list(FILES)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_different_seeds_give_different_schemes(tmp_path: Path) -> None:
    write_dataset(generate(40, 250, seed=7), tmp_path / "a")
    write_dataset(generate(40, 250, seed=8), tmp_path / "b")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a["mentors.csv"] != b["mentors.csv"]
    assert a["mentees.csv"] != b["mentees.csv"]


@pytest.mark.parametrize("name", list(SAMPLES))
def test_shipped_samples_are_what_their_seed_generates(name: str, tmp_path: Path) -> None:
    # The shipped files were written by another process: this catches stale samples and any
    # output that depends on set order (string hashing differs from process to process).
    spec = SAMPLES[name]
    write_dataset(generate(spec.n_mentors, spec.n_mentees, seed=spec.seed), tmp_path)
    assert _files(tmp_path) == _files(sample_dir(name))


def test_counts_are_exact() -> None:
    problem = generate(17, 333, seed=4, exclusion_rate=0.03)
    assert len(problem.mentors) == 17
    assert len(problem.mentees) == 333
    assert len(problem.exclusions) == round(0.03 * 333)  # 10
    assert len({(e.mentor_id, e.mentee_id) for e in problem.exclusions}) == 10
    assert problem.locks == () and problem.previous == ()


def test_cohort_mix_matches_the_target_on_1000_mentees() -> None:
    counts = Counter(m.cohort for m in generate(150, 1000, seed=2).mentees)
    # Quotas by largest remainder: 1000 mentees give exactly 400 fellows, 150 mid-career, ...
    for cohort, share in COHORT_MIX.items():
        assert abs(counts[cohort] / 1000 - share) <= 0.01, cohort
    assert counts["fellow"] == 400


def test_written_files_read_back_as_the_same_records(lmc: ProblemData, tmp_path: Path) -> None:
    mentors, mentees, exclusions = write_dataset(lmc, tmp_path)
    loaded = load_problem(mentors, mentees, exclusions=exclusions)
    assert loaded.mentors == lmc.mentors
    assert loaded.mentees == lmc.mentees
    assert loaded.exclusions == lmc.exclusions


@pytest.mark.parametrize("name", list(SAMPLES))
def test_shipped_samples_load_without_problems(name: str) -> None:
    folder = sample_dir(name)
    problem = load_problem(
        folder / "mentors.csv", folder / "mentees.csv", exclusions=folder / "exclusions.csv"
    )
    assert len(problem.mentors) == SAMPLES[name].n_mentors
    assert len(problem.mentees) == SAMPLES[name].n_mentees


@pytest.mark.parametrize(
    "settings", [Settings(), Settings(capacity=CapacitySettings(min=2, max=6))], ids=str
)
def test_no_mentor_starts_above_their_capacity(settings: Settings) -> None:
    problem = generate(120, 600, seed=5, settings=settings, supply_ratio=0.7)
    for mentor in problem.mentors:
        lo, hi = mentor.band(settings)
        assert lo <= hi
        assert mentor.current_mentees < hi, mentor.mentor_id  # always room for one more
        assert mentor.capacity_max is None or mentor.capacity_max < settings.capacity.max


def test_supply_is_fitted_to_the_ratio() -> None:
    # Default: 5% more places than mentees. The lmc sample is tight (30 mentors at most 8
    # each = 240 places for 200 mentees), yet still meets it.
    assert _spare(generate(30, 200, seed=1)) / 200 == pytest.approx(1.05, abs=0.05)
    # A generous scheme: 100 mentors for 300 mentees, asked for 1.5 places per mentee.
    assert _spare(generate(100, 300, seed=3, supply_ratio=1.5)) / 300 == pytest.approx(
        1.5, abs=0.05
    )


def test_same_practice_conflicts_occur(lmc: ProblemData) -> None:
    practices = {m.practice_code for m in lmc.mentors if m.is_active}
    clashing = [e for e in lmc.mentees if e.practice_code in practices]
    assert len(clashing) >= 20  # most mentees work where some mentor works


def test_mentee_details_are_plausible(lmc: ProblemData) -> None:
    reference = date(2026, 9, 1)
    mentors = {m.mentor_id: m for m in lmc.mentors}
    for mentee in lmc.mentees:
        assert 1 <= len(mentee.needs) <= 3
        assert mentee.waiting_since is not None
        assert reference - timedelta(days=548) <= mentee.waiting_since <= reference
        if mentee.modes == frozenset({"face_to_face"}):
            assert mentee.max_distance_km is not None and 10 <= mentee.max_distance_km <= 40
        if mentee.cohort == "international_induction":
            assert mentee.img is True
        for mentor_id in mentee.preferred_mentors:
            assert mentors[mentor_id].is_active
            assert mentors[mentor_id].practice_code != mentee.practice_code
    assert all(1 <= len(m.focus_areas) <= 4 for m in lmc.mentors)


def test_reference_date_moves_waiting_dates() -> None:
    early = generate(10, 50, seed=9, reference_date=date(2025, 1, 1))
    late = generate(10, 50, seed=9)
    shift = date(2026, 9, 1) - date(2025, 1, 1)
    assert [replace(m, waiting_since=m.waiting_since + shift) for m in early.mentees] == list(
        late.mentees
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_mentors": 0},
        {"n_mentees": 0},
        {"supply_ratio": 0.0},
        {"exclusion_rate": 1.5},
        {"preference_rate": -0.1},
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, float]) -> None:
    args = {"n_mentors": 5, "n_mentees": 20, **kwargs}
    with pytest.raises(ValueError):
        generate(int(args.pop("n_mentors")), int(args.pop("n_mentees")), seed=0, **args)


def test_unknown_sample_is_refused() -> None:
    assert sample_dir("lmc").name == "lmc"
    with pytest.raises(ValueError, match="regional"):
        sample_dir("county")
