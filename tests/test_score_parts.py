"""The neutral score parts (what analysts see) add up to the score, pair by pair."""

from __future__ import annotations

from pathlib import Path

from matcher.readers import load_problem
from matcher.rules import allowed_pairs
from matcher.scoring import NEUTRAL_PARTS, neutral_parts, pair_parts, score_pairs

LMC = Path(__file__).resolve().parents[1] / "datasets" / "samples" / "lmc"


def test_neutral_parts_sum_to_the_score_of_every_allowed_pair_of_the_lmc_sample() -> None:
    problem = load_problem(LMC / "mentors.csv", LMC / "mentees.csv", LMC / "exclusions.csv")
    pairs = allowed_pairs(problem)
    totals = score_pairs(problem, pairs).total
    assert len(pairs) > 4000
    diverse = 0
    for k in range(len(pairs)):
        mentor = problem.mentors[pairs.mentor[k]]
        mentee = problem.mentees[pairs.mentee[k]]
        parts = pair_parts(problem, mentor, mentee)
        neutral = neutral_parts(parts)
        assert tuple(neutral) == NEUTRAL_PARTS
        assert sum(neutral.values()) == sum(parts.values()) == totals[k], (mentor, mentee)
        diverse += neutral["diversity"] > 0
    assert diverse > 100  # the sample's wishes are met by many pairs: the sum was tested


def test_the_diversity_part_is_the_three_wishes_together() -> None:
    # Weights as in a scheme: a met gender wish (5) and a met IMG wish (3), no ethnicity wish.
    parts = {"needs": 20, "preference": 8, "mutual": 0, "gender": 5, "ethnicity": 0, "img": 3}
    neutral = neutral_parts({**parts, "travel": -4})
    assert neutral == {"needs": 20, "preference": 8, "mutual": 0, "diversity": 8, "travel": -4}
