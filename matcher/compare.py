"""One round under several settings: run each scenario and table what it changes.

A scenario is a name and a settings file. Each is run exactly as `matcher match --settings
FILE --time-limit T --seed S` runs it (the same search seconds and work limit), so its figures
are those of that command. The figures of a scenario:

- ``matched``, ``fellows_matched``, ``priority_matched`` and ``mentors_used``: from
  ``matcher.export.build_report``'s summary;
- ``mean_score``: the mean pair score (``matcher.metrics.score_stats``, to 2 decimals), in the
  scenario's own weights;
- ``equity_gap``: the largest gap between the share of all mentees matched and the share of a
  group's (``matcher.metrics.equity_gap``), and its group as ``attribute=value``; measured on
  one scale for every scenario: the first scenario's ``equity_attributes`` and
  ``equity_min_group``;
- ``waiting_days_mean`` and ``waiting_days_max``: the days the unmatched have waited
  (``matcher.checks.waiting_days``); 0 when nobody is left waiting.

Each figure's difference is the scenario's value less the first scenario's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from matcher.checks import violations, waiting_days
from matcher.data import ProblemData
from matcher.export import RoundReport, build_report, solve_seconds, work_limit
from matcher.metrics import equity_gap, score_stats
from matcher.settings import Settings

# The figures compared, in table order, with the words a board paper uses for them.
FIGURES: dict[str, str] = {
    "matched": "mentees matched",
    "fellows_matched": "fellows matched",
    "mean_score": "mean pair score",
    "mentors_used": "mentors used",
    "equity_gap": "equity gap",
    "waiting_days_mean": "mean days the unmatched waited",
    "waiting_days_max": "most days an unmatched mentee waited",
}
COUNTS = frozenset({"matched", "fellows_matched", "mentors_used"})
# Decimal places of each figure (and of its difference); the others are whole numbers.
DECIMALS: dict[str, int] = {"mean_score": 2, "equity_gap": 3, "waiting_days_mean": 1}


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    settings: Settings


@dataclass(frozen=True)
class Outcome:
    """One scenario's round: its problem (read with its settings), report and figures."""

    scenario: Scenario
    problem: ProblemData
    report: RoundReport
    figures: dict[str, Any]


def run_scenario(
    scenario: Scenario,
    problem: ProblemData,
    *,
    time_limit: float,
    seed: int,
    read_seconds: float,
    measure: Settings,
    progress: Callable[[str], None] | None = None,
) -> Outcome:
    """Solve ``problem`` as `matcher match` would, with ``read_seconds`` already spent of
    ``time_limit``; check every hard rule on the pairs; measure equity with ``measure``'s
    attributes. A broken rule is a bug of the solver, not of the input: it raises."""
    from solver.result import Status
    from solver.solve import solve  # OR-Tools only once a scenario runs

    result = solve(
        problem,
        time_limit=solve_seconds(time_limit, read_seconds, problem),
        work_limit=work_limit(time_limit, problem),
        seed=seed,
        progress=progress,
    )
    # An infeasible round has no pairs to check (and an empty list may break a band).
    pairs = [(p.mentor_id, p.mentee_id) for p in result.pairs]
    broken = [] if result.status is Status.INFEASIBLE else violations(problem, pairs)
    if broken:
        raise RuntimeError(
            f"scenario {scenario.name}: the pairs break a hard rule: " + "; ".join(broken[:5])
        )
    report = build_report(problem, result)
    return Outcome(scenario, problem, report, figures(problem, report, measure))


def figures(problem: ProblemData, report: RoundReport, measure: Settings) -> dict[str, Any]:
    """The compared figures of a round, and the counts they are read against."""
    summary = report.summary
    pairs = [(p["mentor_id"], p["mentee_id"]) for p in report.pairs]
    mean = score_stats(problem, pairs)["mean_score"]
    rules = measure.rules
    gap, group = equity_gap(problem, pairs, rules.equity_attributes, rules.equity_min_group)
    waited = waiting_days(problem)
    still = [waited[row["mentee_id"]] for row in report.unmatched]
    return {
        "status": summary["status"],
        "mentees": summary["mentees"],
        "matched": summary["mentees_matched"],
        "fellows": summary["fellows"],
        "fellows_matched": summary["fellows_matched"],
        "priority": summary["priority_mentees"],
        "priority_matched": summary["priority_matched"],
        "mean_score": None if mean is None else round(mean, DECIMALS["mean_score"]),
        "mentors_used": summary["mentors_used"],
        "equity_gap": round(gap, DECIMALS["equity_gap"]),
        "equity_gap_group": group or "",
        # Nobody left waiting counts as no wait, so that every difference is defined.
        "waiting_days_mean": round(sum(still) / len(still), 1) if still else 0.0,
        "waiting_days_max": max(still, default=0),
        "objective": summary["objective"],
        "gap": summary["gap"],
        "seconds": summary["seconds"],
        "wall_limit_fired": summary["wall_limit_fired"],
    }


def difference(figure: str, value: Any, base: Any) -> float | int | None:
    """``value`` less ``base``, at the figure's decimals; None when either is undefined."""
    if value is None or base is None:
        return None
    places = DECIMALS.get(figure)
    return value - base if places is None else round(value - base, places)


def differences(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """Per scenario, each figure's difference from the first scenario's."""
    base = outcomes[0].figures
    return [{f: difference(f, o.figures[f], base[f]) for f in FIGURES} for o in outcomes]


def settings_changes(base: Settings, other: Settings) -> list[str]:
    """The settings ``other`` changes from ``base``, as ``section.key: old -> new``."""
    changes = []
    for section in fields(Settings):
        old, new = getattr(base, section.name), getattr(other, section.name)
        if old == new:
            continue
        if not hasattr(old, "__dataclass_fields__"):
            changes.append(f"{section.name}: {_shown(old)} -> {_shown(new)}")
            continue
        for key in fields(old):
            a, b = getattr(old, key.name), getattr(new, key.name)
            if a != b:
                changes.append(f"{section.name}.{key.name}: {_shown(a)} -> {_shown(b)}")
    return changes


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return f"{value:g}" if isinstance(value, float) else str(value)


def run_all(
    scenarios: list[Scenario],
    problems: list[ProblemData],
    read_seconds: list[float],
    *,
    time_limit: float,
    seed: int,
    say: Callable[[str], None],
) -> list[Outcome]:
    """Run every scenario in order; ``say`` hears one line as each starts and ends."""
    measure = scenarios[0].settings
    outcomes = []
    for scenario, problem, read in zip(scenarios, problems, read_seconds, strict=True):
        say(f"scenario {scenario.name} ({scenario.path.name}): solving")
        started = time.perf_counter()

        def progress(message: str, name: str = scenario.name) -> None:
            say(f"  {name}: {message}")

        outcome = run_scenario(
            scenario,
            problem,
            time_limit=time_limit,
            seed=seed,
            read_seconds=read,
            measure=measure,
            progress=progress,
        )
        f = outcome.figures
        say(
            f"scenario {scenario.name}: {f['status']}, matched {f['matched']} of {f['mentees']} "
            f"({f['fellows_matched']} of {f['fellows']} fellows) with {f['mentors_used']} "
            f"mentors in {time.perf_counter() - started:.1f} s"
        )
        outcomes.append(outcome)
    return outcomes


# --- the table --------------------------------------------------------------------------------

FIGURE_COLUMNS = (
    "status",
    "mentees",
    "matched",
    "fellows",
    "fellows_matched",
    "priority",
    "priority_matched",
    "mean_score",
    "mentors_used",
    "equity_gap",
    "equity_gap_group",
    "waiting_days_mean",
    "waiting_days_max",
    "objective",
    "gap",
    "seconds",
    "wall_limit_fired",
)
CSV_COLUMNS = (
    "scenario",
    "settings",
    *FIGURE_COLUMNS,
    *(f"{f}_diff" for f in FIGURES),
    "changes",
)


def table_rows(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """One row per scenario: its figures, their differences from the first, what it changes."""
    base = outcomes[0].scenario.settings
    return [
        {
            "scenario": o.scenario.name,
            "settings": o.scenario.path.name,
            **{c: o.figures[c] for c in FIGURE_COLUMNS},
            **{f"{f}_diff": d[f] for f in FIGURES},
            "changes": "; ".join(settings_changes(base, o.scenario.settings)),
        }
        for o, d in zip(outcomes, differences(outcomes), strict=True)
    ]


def cell(figure: str, value: Any) -> str:
    """A figure as a person reads it: its decimals, and a dash when undefined."""
    if value is None:
        return "-"
    places = DECIMALS.get(figure)
    return str(value) if places is None else f"{value:.{places}f}"


def cell_with_difference(figure: str, value: Any, diff: Any, base: bool) -> str:
    if base or diff is None:
        return cell(figure, value)
    sign = "+" if diff > 0 else ""
    return f"{cell(figure, value)} ({sign}{cell(figure, diff)})" if diff else cell(figure, value)


TERMINAL_HEADINGS = {
    "matched": "matched",
    "fellows_matched": "fellows",
    "mean_score": "mean score",
    "mentors_used": "mentors",
    "equity_gap": "equity gap",
    "waiting_days_mean": "wait mean",
    "waiting_days_max": "wait max",
}


def table_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The table as printed: a scenario a line, differences from the first in brackets."""
    header = ["scenario", "status", *TERMINAL_HEADINGS.values(), "worst group", "priority"]
    lines = [header]
    for k, row in enumerate(rows):
        lines.append(
            [
                row["scenario"],
                row["status"],
                *(
                    cell_with_difference(f, row[f], row[f"{f}_diff"], k == 0)
                    for f in TERMINAL_HEADINGS
                ),
                row["equity_gap_group"] or "-",
                f"{row['priority_matched']} of {row['priority']}",
            ]
        )
    widths = [max(len(line[c]) for line in lines) for c in range(len(header))]
    return [
        "  ".join(text.ljust(w) for text, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]


def board_paper(
    rows: list[dict[str, Any]], *, mentors: int, time_limit: float, seed: int, measure: Settings
) -> str:
    """compare.md: the scenarios, the figures side by side, and what each changes, in words."""
    base = rows[0]
    names = [r["scenario"] for r in rows]
    lines = [
        f"# What each rule costs: {len(rows)} scenarios of one round",
        "",
        f"One round of {base['mentees']} mentees ({base['fellows']} of them fellows) and "
        f"{mentors} mentors, matched once per scenario with the same search (a limit of "
        f"{time_limit:g} s and seed {seed}). Every pair list keeps every rule of its scenario. "
        f"Differences are against the first scenario, **{base['scenario']}**.",
        "",
        "## The scenarios",
        "",
    ]
    for row in rows:
        what = row["changes"] or ("the base" if row is base else "the same settings as the base")
        lines.append(f"- **{row['scenario']}** ({row['settings']}): {what}.")
    lines += ["", "## The figures", ""]
    lines.append("| | " + " | ".join(names) + " |")
    lines.append("|---|" + "---:|" * len(rows))
    lines.append("| status | " + " | ".join(r["status"] for r in rows) + " |")
    for figure, label in FIGURES.items():
        cells = [
            cell_with_difference(figure, r[figure], r[f"{figure}_diff"], k == 0)
            for k, r in enumerate(rows)
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append(
        "| priority mentees matched (each scenario's priority cohorts) | "
        + " | ".join(f"{r['priority_matched']} of {r['priority']}" for r in rows)
        + " |"
    )
    lines.append(
        "| group furthest behind | " + " | ".join(r["equity_gap_group"] or "-" for r in rows) + " |"
    )
    lines += ["", "## What each scenario changes", ""]
    for row in rows[1:]:
        lines.append(f"- **{row['scenario']}**: {_in_words(row)}.")
    if len(rows) == 1:
        lines.append("- One scenario only: nothing to compare it with.")
    attributes = ", ".join(measure.rules.equity_attributes)
    lines += [
        "",
        "## How the figures are read",
        "",
        "- Equity gap: the share of all mentees matched less the share matched of the group "
        f"that does worst, over the groups of {attributes} with at least "
        f"{measure.rules.equity_min_group} mentees (the same groups in every scenario).",
        "- Waiting days: how long the mentees left unmatched have waited, counted up to the "
        "latest join date of the round (0 when nobody is left waiting).",
        "- Mean pair score: in each scenario's own weights, so it compares like with like "
        "only where the weights are the same.",
        "- A status of feasible means the time limit ended the search before every level was "
        "proven best; a longer limit may improve that scenario's figures.",
        "",
    ]
    return "\n".join(lines)


def _in_words(row: dict[str, Any]) -> str:
    parts = []
    for figure, label in FIGURES.items():
        diff = row[f"{figure}_diff"]
        if diff is None:
            parts.append(f"{label} {cell(figure, row[figure])}")
        elif not diff:
            parts.append(f"{label} unchanged ({cell(figure, row[figure])})")
        else:
            words = ("more", "fewer") if figure in COUNTS else ("higher", "lower")
            word = words[0] if diff > 0 else words[1]
            parts.append(f"{label} {cell(figure, row[figure])}, {cell(figure, abs(diff))} {word}")
    return "; ".join(parts)
