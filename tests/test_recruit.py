"""`matcher recruit`: the fewest new mentors that let every target mentee be matched.

Each answer is held to an independent calculation: the count to a MIP written from the rules
alone (``recruit_reference``, SCIP), the plan to `matcher match` run on the mentors file with
the suggested mentors added (every target mentee matched, every hard rule kept by
``matcher.checks``), and its minimality to the same MIP without each suggested mentor in turn
(no pair list then matches every target mentee).
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import mentee, mentor, problem
from recruit_reference import fewest_new_mentors

from datasets.generator import generate, write_dataset
from matcher.checks import violations
from matcher.cli import main
from matcher.columns import MENTOR_COLUMNS
from matcher.data import Mentor, ProblemData
from matcher.readers import load_problem
from matcher.settings import CapacitySettings, RuleSettings, Settings
from matcher.writers import write_mentors
from solver import recruit_model
from solver.recruit import PlanStatus, plan_recruitment, profiles_of, target_mask

TIME_LIMIT = 20.0


def _settings(lo: int, hi: int, **rules: object) -> Settings:
    base = Settings()
    return replace(
        base,
        capacity=CapacitySettings(min=lo, max=hi),
        rules=replace(RuleSettings(), **rules),  # type: ignore[arg-type]
    )


def _placed(mentors: tuple[Mentor, ...]) -> list[Mentor]:
    """Profiles with places already at the two decimals a profile keeps."""
    return [
        replace(
            m,
            latitude=None if m.latitude is None else round(m.latitude, 2),
            longitude=None if m.longitude is None else round(m.longitude, 2),
        )
        for m in mentors
    ]


def _goal(prob: ProblemData, target: str, unreachable: set[str]) -> set[str]:
    wanted = target_mask(prob, target)
    return {e.mentee_id for e, w in zip(prob.mentees, wanted, strict=True) if w} - unreachable


# (seed, scheme band, current mentors, mentees, supply ratio, target). Few mentors and many
# mentees, so that new ones are needed; the last round's flows leave a gap the MIP settles.
ROUNDS = [
    (3, (4, 8), 3, 30, 0.4, "fellows"),
    (5, (3, 5), 2, 10, 0.4, "all"),
    (14, (1, 3), 1, 12, 0.8, "all"),
    (72, (3, 5), 2, 7, 0.28, "fellows"),
]


@pytest.mark.parametrize(("seed", "band", "n_mentors", "n_mentees", "supply", "target"), ROUNDS)
def test_fewest_equals_independent_mip(
    seed: int,
    band: tuple[int, int],
    n_mentors: int,
    n_mentees: int,
    supply: float,
    target: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _settings(*band, forbid_same_pcn=seed % 2 == 1)
    prob = generate(n_mentors, n_mentees, seed=seed, settings=settings, supply_ratio=supply)
    rows = _placed(generate(3, 1, seed=seed + 1000, settings=settings).mentors)
    built = []
    monkeypatch.setattr(recruit_model.RecruitModel, "__init__", _spy(built))
    plan = plan_recruitment(
        prob, profiles_of(rows, prob, from_register=False), target, time_limit=TIME_LIMIT
    )
    goal = _goal(prob, target, {u.mentee_id for u in plan.unreachable})
    fresh = [replace(r, current_mentees=0, status="active") for r in rows]
    expected = fewest_new_mentors(prob, fresh, goal)
    assert expected is not None and expected > 0
    assert plan.status is PlanStatus.OPTIMAL
    assert len(plan.recruits) == plan.bound == expected
    assert bool(built) == (seed == 72)
    # The plan's own pairs keep every rule and match every reachable target mentee.
    extended = replace(prob, mentors=prob.mentors + tuple(r.mentor for r in plan.recruits))
    pairs = [(p.mentor_id, p.mentee_id) for p in plan.pairs]
    assert violations(extended, pairs) == []
    assert goal <= {b for _, b in pairs}


def _spy(built: list[object]):  # type: ignore[no-untyped-def]
    original = recruit_model.RecruitModel.__init__

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(self)
        original(self, *args, **kwargs)

    return init


def _recruit(folder: Path, target: str, out: Path, *extra: str) -> int:
    return main(
        [
            "recruit",
            str(folder / "mentors.csv"),
            str(folder / "mentees.csv"),
            "--exclusions",
            str(folder / "exclusions.csv"),
            "--target",
            target,
            "--out",
            str(out),
            "--quiet",
            "--time-limit",
            str(TIME_LIMIT),
            *extra,
        ]
    )


def _with_recruits(folder: Path, recruit_csv: Path, out: Path) -> Path:
    """The mentors file with the suggested mentors added, their names filled in."""
    with recruit_csv.open(encoding="utf-8-sig", newline="") as handle:
        new = list(csv.DictReader(handle))
    for k, row in enumerate(new, start=1):
        assert row["name"] == "" and row["email"] == "" and row["gmc_number"] == ""
        row["name"] = f"Dr New {k}"
    with (folder / "mentors.csv").open(encoding="utf-8-sig", newline="") as handle:
        old = list(csv.DictReader(handle))
    out.mkdir(parents=True, exist_ok=True)
    path = out / "mentors.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(MENTOR_COLUMNS))
        writer.writeheader()
        writer.writerows(old + new)
    return path


@pytest.mark.parametrize(
    ("seed", "n_mentees", "supply", "target"), [(1, 50, 0.25, "fellows"), (8, 30, 0.3, "all")]
)
def test_suggested_mentors_meet_the_target_and_none_can_go(
    tmp_path: Path, seed: int, n_mentees: int, supply: float, target: str
) -> None:
    prob = generate(3, n_mentees, seed=seed, supply_ratio=supply)
    folder = tmp_path / "round"
    write_dataset(prob, folder)
    assert _recruit(folder, target, tmp_path / "plan") == 0
    result = json.loads((tmp_path / "plan" / "result.json").read_text(encoding="utf-8"))
    goal = _goal(prob, target, {u["mentee_id"] for u in result["unreachable"]})
    assert result["status"] == "optimal" and result["proven"]
    assert result["new_mentors"] == result["bound"] >= 2
    assert result["matchable_after"] == len(goal) > result["matchable_before"]

    mentors = _with_recruits(folder, tmp_path / "plan" / "recruit.csv", tmp_path / "more")
    exclusions = folder / "exclusions.csv"
    match = tmp_path / "match"
    mentees = str(folder / "mentees.csv")
    command = ["match", str(mentors), mentees, "--exclusions", str(exclusions), "--quiet"]
    assert main([*command, "--out", str(match), "--time-limit", "10"]) == 0
    with (match / "pairs.csv").open(encoding="utf-8-sig", newline="") as handle:
        pairs = [(row["mentor_id"], row["mentee_id"]) for row in csv.DictReader(handle)]
    extended = load_problem(mentors, folder / "mentees.csv", exclusions)
    assert violations(extended, pairs) == []
    assert goal <= {b for _, b in pairs}

    # Exactly: with every suggested mentor the target can be met; without any one, not.
    assert fewest_new_mentors(extended, [], goal) == 0
    new_ids = [r["mentor_id"] for r in result["recruits"]]
    for gone in new_ids:
        fewer = replace(extended, mentors=tuple(m for m in extended.mentors if m.mentor_id != gone))
        assert fewest_new_mentors(fewer, [], goal) is None, gone


def test_no_one_needed_when_the_target_is_met(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    prob = generate(8, 20, seed=1, supply_ratio=3.0)
    write_dataset(prob, tmp_path / "round")
    assert _recruit(tmp_path / "round", "fellows", tmp_path / "plan") == 0
    result = json.loads((tmp_path / "plan" / "result.json").read_text(encoding="utf-8"))
    fellows = sum(e.cohort == "fellow" for e in prob.mentees)
    assert (result["status"], result["new_mentors"], result["bound"]) == ("optimal", 0, 0)
    assert result["matchable_before"] == result["matchable_after"] == fellows
    assert result["cost"]["per_year_gbp"] == 0
    lines = (tmp_path / "plan" / "recruit.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines == [",".join(MENTOR_COLUMNS)]
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        f"optimal: No new mentor is needed: the current mentors can take all {fellows} GP "
        "Fellows at once."
    )


def _tiny(tmp_path: Path) -> Path:
    """One mentor free on Monday mornings, taking 1 or 2 mentees; four fellows, one of whom is
    free only on Sunday evenings, and a mid-career GP."""
    folder = tmp_path / "tiny"
    prob = problem(
        [mentor("M1", availability=["mon_am"], practice_code="P1")],
        [
            mentee("E1", "fellow", availability=["sun_eve"]),
            mentee("E2", "fellow", availability=["mon_am"], practice_code="P2"),
            mentee("E3", "fellow", availability=["mon_am"], practice_code="P3"),
            mentee("E4", "fellow", availability=["mon_am"], practice_code="P1"),
            mentee("E5", "mid_career", availability=["mon_am"]),
        ],
    )
    write_dataset(prob, folder)
    (folder / "settings.toml").write_text("[capacity]\nmin = 1\nmax = 2\n", encoding="utf-8")
    return folder


def test_unreachable_mentees_are_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = _tiny(tmp_path)
    settings = ("--settings", str(folder / "settings.toml"))
    assert _recruit(folder, "fellows", tmp_path / "plan", *settings) == 1
    why = (
        "no current mentor or candidate profile can take them: of 1 current mentor, 1 with no "
        "shared weekly slot; of 1 profile, 1 with no shared weekly slot"
    )
    assert capsys.readouterr().err.splitlines() == [
        "1 of the 4 target mentees cannot be matched by any current mentor or candidate "
        "profile; the plan is for the other 3:",
        f"  - E1: {why}",
    ]
    result = json.loads((tmp_path / "plan" / "result.json").read_text(encoding="utf-8"))
    assert result["unreachable"] == [{"mentee_id": "E1", "cohort": "fellow", "reason": why}]
    # M1 takes two of E2-E4 (not E4, of M1's practice); one new mentor like M1 takes the
    # third: the profile has no practice, and the plan says which practices to avoid.
    assert (result["status"], result["new_mentors"], result["reachable"]) == ("optimal", 1, 3)
    (recruit,) = result["recruits"]
    assert recruit["like"] == ["M1"] and recruit["availability"] == "mon_am"
    assert recruit["practice_code"] is None
    plan = (tmp_path / "plan" / "plan.md").read_text(encoding="utf-8")
    assert f"- E1 (GP Fellow): {why}." in plan
    assert "£12,615 a year (1 x £12,615)" in plan


def test_no_plan_when_the_bands_cannot_hold(tmp_path: Path) -> None:
    # Every copy of the one profile takes exactly two mentees: three fellows cannot be split.
    folder = tmp_path / "odd"
    prob = problem(
        [mentor("M1", status="paused")],
        [mentee(f"E{j}", "fellow") for j in range(1, 4)],
    )
    write_dataset(prob, folder)
    (folder / "settings.toml").write_text("[capacity]\nmin = 2\nmax = 2\n", encoding="utf-8")
    profiles = tmp_path / "profiles.csv"
    write_mentors(profiles, [mentor("P1")])
    extra = ("--settings", str(folder / "settings.toml"), "--profiles", str(profiles))
    assert _recruit(folder, "fellows", tmp_path / "plan", *extra) == 1
    result = json.loads((tmp_path / "plan" / "result.json").read_text(encoding="utf-8"))
    assert (result["status"], result["new_mentors"], result["recruits"]) == ("infeasible", 0, [])
    assert result["conflicts"] == [
        "even with every candidate profile recruited as often as it could be used, the "
        "capacity bands cannot all hold"
    ]


def test_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = _tiny(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        _recruit(folder, "everyone", tmp_path / "plan")
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "matcher recruit: error: argument --target: invalid choice: 'everyone' "
        "(choose from 'fellows', 'priority', 'all')"
    )
    profiles = tmp_path / "profiles.csv"
    profiles.write_text(
        "mentor_id,name,availability,capacity_max\nP1,Kind one,someday,lots\n", encoding="utf-8"
    )
    assert _recruit(folder, "all", tmp_path / "plan", "--profiles", str(profiles)) == 2
    assert capsys.readouterr().err.splitlines() == [
        "2 problem(s) in the input:",
        "  profiles.csv, row 2, column availability, value 'someday': not a known slot: someday "
        "(expected day_part with day mon … sun and part am, pm or eve, e.g. tue_pm; separate "
        "slots with ';')",
        "  profiles.csv, row 2, column capacity_max, value 'lots': not a whole number "
        "(expected 1 or more)",
        "Nothing was written. Correct the files and run again.",
    ]
    profiles.write_text("mentor_id,name\n", encoding="utf-8")
    assert _recruit(folder, "all", tmp_path / "plan", "--profiles", str(profiles)) == 2
    assert capsys.readouterr().err.splitlines() == [
        "1 problem(s) in the input:",
        "  profiles.csv, row -, column -, value '': no profiles: the file has no mentor rows",
        "Nothing was written. Correct the files and run again.",
    ]
    assert not (tmp_path / "plan").exists()
    assert _recruit(folder, "all", tmp_path / "plan", "--time-limit", "0") == 2
    assert capsys.readouterr().err.splitlines() == ["--time-limit must be positive"]


def test_plans_keep_the_equity_limit() -> None:
    # No group (gender, ethnicity, IMG) of 3 or more may fall more than 10 points behind the
    # whole round: the flows know nothing of it, so a plan is checked, or found by the MIP.
    settings = _settings(2, 4, equity_max_gap=0.1, equity_min_group=3)
    prob = generate(3, 24, seed=6, settings=settings, supply_ratio=0.4)
    plan = plan_recruitment(
        prob, profiles_of(prob.mentors, prob, from_register=True), "all", time_limit=TIME_LIMIT
    )
    assert plan.status is PlanStatus.OPTIMAL and plan.recruits
    extended = replace(prob, mentors=prob.mentors + tuple(r.mentor for r in plan.recruits))
    pairs = [(p.mentor_id, p.mentee_id) for p in plan.pairs]
    assert violations(extended, pairs) == []
    assert _goal(prob, "all", {u.mentee_id for u in plan.unreachable}) <= {b for _, b in pairs}
