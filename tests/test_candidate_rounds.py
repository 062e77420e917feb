"""Rounds with more allowed pairs than one model takes (``full_model_pairs``; the national
sample's 1.8 million) branch over each person's best pairs only, and still prove the quality
by the MIP over every pair near the bound: forced here on small rounds by a low
``full_model_pairs``, and compared with the same rounds solved whole."""

from __future__ import annotations

import pytest

from datasets.shapes import SHAPES, SIZES, Size
from matcher.checks import evaluate, violations
from solver.solve import solve

ROUNDS = [
    ("oversupply", Size("larger", 20, 80), 4),
    ("narrow_band_pcn", Size("wider", 40, 140), 4),
    ("oversupply", SIZES["mid"], 1),
]


@pytest.mark.parametrize(
    ("shape", "size", "seed"), ROUNDS, ids=lambda v: v.name if isinstance(v, Size) else str(v)
)
def test_the_candidates_path_proves_the_same_quality_as_the_whole_round(
    shape: str, size: Size, seed: int
) -> None:
    prob = SHAPES[shape](size, seed)
    whole = solve(prob, time_limit=30)
    said: list[str] = []
    part = solve(prob, time_limit=30, full_model_pairs=100, progress=said.append)
    assert any(line.startswith("quality over ") for line in said), said
    for name in ("priority_matched", "matched", "waiting_days", "quality"):
        assert part.level(name).proven, name
        assert part.level(name).value == whole.level(name).value, name
    pairs = [(p.mentor_id, p.mentee_id) for p in part.pairs]
    assert violations(prob, pairs) == []
    recomputed = evaluate(prob, pairs)
    assert {level.name: level.value for level in part.levels} == recomputed
    assert part.level("penalty").value >= whole.level("penalty").value
