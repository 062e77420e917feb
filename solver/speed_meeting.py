"""Speed-meeting rotations: mentors stay at tables, mentees move round by round.

Two exact steps, no search:

1. **Who meets whom.** A min-cost flow over the pairs the hard rules allow (source → mentee →
   mentor → sink). A mentee can meet at most ``rounds`` mentors and a mentor host at most
   ``per_table × rounds`` meetings. The flow is maximal (as many meetings as rounds and
   tables allow); among maximal flows its costs are, in strict order of weight: convex in
   each mentee's number of meetings (so counts differ as little as the rules permit: nobody
   sits out twice while another never does), convex in each mentor's (even table loads),
   and smaller for higher matching scores (the most promising pairs meet).
2. **When.** Each mentor's meetings are dealt round-robin to ``per_table`` seats, giving a
   bipartite graph of mentees and seats in which no vertex has more than ``rounds`` edges.
   König's theorem says such a graph's edges can be coloured with ``rounds`` colours; the
   alternating-path algorithm does it, so every chosen meeting gets a round, a mentee sits
   at one table a round and a table holds at most ``per_table`` mentees. Rounds are then
   ordered best first by their mean score.

The flow is solved by OR-Tools' ``SimpleMinCostFlow`` (``SolveMaxFlowWithMinCost``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from matcher.data import ProblemData
from matcher.rules import allowed_pairs
from matcher.scoring import score_pairs

MAX_PER_TABLE = 3


@dataclass(frozen=True)
class Meeting:
    round: int  # 1-based
    table: int  # 1-based, the mentor's table
    mentor_id: str
    mentee_id: str
    score: int


@dataclass(frozen=True)
class Schedule:
    """A rotation: the meetings, each round's start time, who rests when, and the bounds."""

    rounds: int
    per_table: int
    starts: tuple[str, ...]  # "HH:MM" per round
    tables: dict[str, int]  # mentor_id -> table number
    meetings: tuple[Meeting, ...]
    breaks: tuple[tuple[int, str], ...]  # (round, person_id) with no meeting that round
    seats_bound: int  # min(mentees x rounds, tables x per_table x rounds)
    allowed_pairs: int
    stats: dict[str, float] = field(default_factory=dict)

    def meetings_of(self, person_id: str) -> list[Meeting]:
        return [m for m in self.meetings if person_id in (m.mentor_id, m.mentee_id)]


def round_starts(start: str, rounds: int, minutes: int) -> tuple[str, ...]:
    """``start`` as HH:MM, then every ``minutes``."""
    try:
        first = datetime.strptime(start, "%H:%M")
    except ValueError:
        raise ValueError(f"start time {start!r} must be HH:MM, e.g. 18:30") from None
    return tuple((first + timedelta(minutes=minutes * r)).strftime("%H:%M") for r in range(rounds))


def schedule(
    problem: ProblemData,
    *,
    rounds: int,
    minutes: int = 10,
    start: str = "18:30",
    per_table: int = 1,
) -> Schedule:
    """The best rotation for the people of ``problem`` (see the module docstring)."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    if minutes < 1:
        raise ValueError("minutes must be at least 1")
    if not 1 <= per_table <= MAX_PER_TABLE:
        raise ValueError(f"per_table must be between 1 and {MAX_PER_TABLE}")
    starts = round_starts(start, rounds, minutes)
    mentors = [m.mentor_id for m in problem.mentors]
    mentees = [m.mentee_id for m in problem.mentees]
    pairs = allowed_pairs(problem)
    scores = score_pairs(problem, pairs).total if len(pairs) else np.zeros(0, dtype=np.int64)
    chosen = _choose_pairs(
        pairs.mentor, pairs.mentee, scores, len(mentors), len(mentees), rounds, per_table
    )
    colours = _colour(pairs.mentor[chosen], pairs.mentee[chosen], len(mentors), per_table, rounds)
    order = _rounds_best_first(colours, scores[chosen], rounds)
    tables = {mentor_id: number for number, mentor_id in enumerate(mentors, start=1)}
    meetings = sorted(
        (
            Meeting(
                round=order[int(colour)],
                table=int(i) + 1,
                mentor_id=mentors[int(i)],
                mentee_id=mentees[int(j)],
                score=int(s),
            )
            for i, j, s, colour in zip(
                pairs.mentor[chosen], pairs.mentee[chosen], scores[chosen], colours, strict=True
            )
        ),
        key=lambda m: (m.round, m.table, m.mentee_id),
    )
    busy = {(m.round, m.mentee_id) for m in meetings} | {(m.round, m.mentor_id) for m in meetings}
    breaks = tuple(
        (r, person)
        for r in range(1, rounds + 1)
        for person in [*mentees, *mentors]
        if (r, person) not in busy
    )
    seats_bound = min(len(mentees), len(mentors) * per_table) * rounds
    # Tighter: nobody can have more meetings than allowed partners.
    mentor_degree = np.bincount(pairs.mentor, minlength=len(mentors))
    mentee_degree = np.bincount(pairs.mentee, minlength=len(mentees))
    degree_bound = min(
        int(np.minimum(mentor_degree, rounds * per_table).sum()),
        int(np.minimum(mentee_degree, rounds).sum()),
    )
    counts = np.bincount(pairs.mentee[chosen], minlength=len(mentees)) if mentees else np.zeros(0)
    stats = {
        "meetings": len(meetings),
        "seats_bound": seats_bound,
        "share_of_seats": round(len(meetings) / seats_bound, 4) if seats_bound else 1.0,
        "degree_bound": degree_bound,
        "share_of_degree_bound": round(len(meetings) / degree_bound, 4) if degree_bound else 1.0,
        "min_meetings_per_mentee": int(counts.min()) if len(counts) else 0,
        "max_meetings_per_mentee": int(counts.max()) if len(counts) else 0,
        "mean_score": round(float(scores[chosen].mean()), 2) if len(meetings) else 0.0,
    }
    return Schedule(
        rounds=rounds,
        per_table=per_table,
        starts=starts,
        tables=tables,
        meetings=tuple(meetings),
        breaks=breaks,
        seats_bound=seats_bound,
        allowed_pairs=len(pairs),
        stats=stats,
    )


def _choose_pairs(
    mentor: np.ndarray,
    mentee: np.ndarray,
    scores: np.ndarray,
    n_mentors: int,
    n_mentees: int,
    rounds: int,
    per_table: int,
) -> np.ndarray:
    """Indices of the pairs that meet: a maximal flow of least lexicographic cost."""
    n_pairs = len(mentor)
    if n_pairs == 0:
        return np.zeros(0, dtype=np.int64)
    top = int(scores.max()) if n_pairs else 0
    mentor_cap = rounds * per_table
    # Lexicographic weights: each level's whole range stays below one step of the level above.
    pair_range = n_pairs * (top - int(scores.min()) + 1) + 1
    mentor_step = pair_range
    mentor_range = mentor_step * (n_mentors * mentor_cap * (mentor_cap + 1) // 2) + pair_range
    mentee_step = mentor_range
    source, sink = n_mentees + n_mentors, n_mentees + n_mentors + 1
    tails: list[np.ndarray] = []
    heads: list[np.ndarray] = []
    costs: list[np.ndarray] = []
    # Source -> mentee, one unit arc per possible meeting: the k-th costs k steps (convex).
    k = np.arange(1, rounds + 1)
    tails.append(np.full(n_mentees * rounds, source))
    heads.append(np.repeat(np.arange(n_mentees), rounds))
    costs.append(np.tile(k, n_mentees) * mentee_step)
    # Mentee -> mentor, one arc per allowed pair: a lower score costs more.
    tails.append(mentee.astype(np.int64))
    heads.append(n_mentees + mentor.astype(np.int64))
    costs.append(top - scores.astype(np.int64))
    # Mentor -> sink, one unit arc per seat-round: the k-th costs k steps (convex).
    k = np.arange(1, mentor_cap + 1)
    tails.append(n_mentees + np.repeat(np.arange(n_mentors), mentor_cap))
    heads.append(np.full(n_mentors * mentor_cap, sink))
    costs.append(np.tile(k, n_mentors) * mentor_step)
    tail = np.concatenate(tails)
    head = np.concatenate(heads)
    cost = np.concatenate(costs)
    if int(cost.max()) * (n_mentees * rounds) >= 2**62:
        raise ValueError("the event is too large to weigh exactly")
    # Imported here: the web service reads schedules without planning one, and spares 20 MB.
    from ortools.graph.python import min_cost_flow

    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        tail, head, np.ones(len(tail), dtype=np.int64), cost
    )
    supplies = np.zeros(n_mentees + n_mentors + 2, dtype=np.int64)
    # As much as could ever flow; the solver sends the most it can, at least cost.
    supplies[source], supplies[sink] = n_mentees * rounds, -n_mentees * rounds
    flow.set_nodes_supplies(np.arange(len(supplies)), supplies)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"the meeting flow did not solve (status {status})")
    first_pair = n_mentees * rounds
    used = flow.flows(arcs[first_pair : first_pair + n_pairs])
    return np.flatnonzero(used > 0)


def _colour(
    mentor: np.ndarray, mentee: np.ndarray, n_mentors: int, per_table: int, rounds: int
) -> np.ndarray:
    """A round (0-based colour) for each meeting; see step 2 of the module docstring."""
    n = len(mentor)
    colour = np.full(n, -1, dtype=np.int64)
    seat = np.zeros(n, dtype=np.int64)
    dealt = np.zeros(n_mentors, dtype=np.int64)
    for e in range(n):
        i = int(mentor[e])
        seat[e] = i * per_table + dealt[i] % per_table
        dealt[i] += 1
    # at[side][vertex][colour] -> edge index or -1; side 0 mentees, side 1 seats.
    n_mentees = int(mentee.max()) + 1 if n else 0
    at = (
        np.full((n_mentees, rounds), -1, dtype=np.int64),
        np.full((n_mentors * per_table, rounds), -1, dtype=np.int64),
    )
    ends = (mentee.astype(np.int64), seat)
    for e in range(n):
        u, v = int(ends[0][e]), int(ends[1][e])
        a = _free(at[0][u])
        b = _free(at[1][v])
        if at[1][v][a] != -1:
            # a is taken at v: swap colours a and b along the path from v, then a is free.
            _flip(at, ends, colour, side=1, vertex=v, a=a, b=b)
        colour[e] = a
        at[0][u][a] = e
        at[1][v][a] = e
    return colour


def _free(row: np.ndarray) -> int:
    return int(np.flatnonzero(row == -1)[0])


def _flip(
    at: tuple[np.ndarray, np.ndarray],
    ends: tuple[np.ndarray, np.ndarray],
    colour: np.ndarray,
    *,
    side: int,
    vertex: int,
    a: int,
    b: int,
) -> None:
    """Swap colours a and b on the a/b alternating path that starts at ``vertex``."""
    path = []
    want, other = a, b
    while True:
        e = int(at[side][vertex][want])
        if e == -1:
            break
        path.append(e)
        side = 1 - side
        vertex = int(ends[side][e])
        want, other = other, want
    for e in path:
        for s in (0, 1):
            row = at[s][int(ends[s][e])]
            if row[colour[e]] == e:
                row[colour[e]] = -1
    for e in path:
        colour[e] = b if colour[e] == a else a
    for e in path:
        for s in (0, 1):
            at[s][int(ends[s][e])][colour[e]] = e


def _rounds_best_first(colours: np.ndarray, scores: np.ndarray, rounds: int) -> dict[int, int]:
    """Colour -> round number (1-based), the round with the best mean score first."""
    means = []
    for c in range(rounds):
        mask = colours == c
        means.append(float(scores[mask].mean()) if mask.any() else -1.0)
    ranked = sorted(range(rounds), key=lambda c: (-means[c], c))
    return {c: r for r, c in enumerate(ranked, start=1)}
