"""The groups the equity setting protects, and how far each one's match rate falls behind.

A group is one value of one mentee column in ``rules.equity_attributes`` (gender, ethnicity,
IMG, cohort) held by at least ``rules.equity_min_group`` mentees; missing values form no
group. The limit ``rules.equity_max_gap`` asks, for every group g of n_g mentees with m_g
matched, out of N mentees with M matched: m_g / n_g >= M / N - gap, i.e. the linear
``N * m_g - n_g * M >= -gap * N * n_g``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from matcher.data import Mentee, ProblemData


@dataclass(frozen=True)
class Group:
    attribute: str
    value: str
    members: tuple[int, ...]  # mentee positions in problem.mentees


def value_of(mentee: Mentee, attribute: str) -> str | None:
    value = getattr(mentee, attribute)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip().lower()


def groups(problem: ProblemData, attributes: Iterable[str] | None = None) -> list[Group]:
    rules = problem.settings.rules
    found: list[Group] = []
    for attribute in rules.equity_attributes if attributes is None else attributes:
        by_value: dict[str, list[int]] = {}
        for j, mentee in enumerate(problem.mentees):
            value = value_of(mentee, attribute)
            if value is not None:
                by_value.setdefault(value, []).append(j)
        found.extend(
            Group(attribute, value, tuple(members))
            for value, members in sorted(by_value.items())
            if len(members) >= rules.equity_min_group
        )
    return found


def active(problem: ProblemData) -> bool:
    return problem.settings.rules.equity_max_gap < 1.0


def slack(problem: ProblemData, group_size: int) -> int:
    """The largest whole amount N * m_g - n_g * M may fall below zero."""
    n = len(problem.mentees)
    return math.floor(problem.settings.rules.equity_max_gap * n * group_size + 1e-9)


def shortfalls(problem: ProblemData, matched: set[str]) -> list[str]:
    """Groups whose match rate falls further behind than the limit allows (none when off)."""
    if not active(problem):
        return []
    n, m = len(problem.mentees), sum(1 for e in problem.mentees if e.mentee_id in matched)
    out = []
    for group in groups(problem):
        m_g = sum(1 for j in group.members if problem.mentees[j].mentee_id in matched)
        n_g = len(group.members)
        if n * m_g - n_g * m < -slack(problem, n_g):
            out.append(
                f"{group.attribute} {group.value}: {m_g} of {n_g} matched "
                f"({m_g / n_g:.0%}) against {m / n:.0%} overall, more than "
                f"{problem.settings.rules.equity_max_gap:.0%} behind"
            )
    return out
