"""Write a speed-meeting schedule: schedule.csv, breaks.csv and print-ready sheets.html."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from matcher.data import ProblemData
from matcher.outputs import write_together
from matcher.safe_write import write_csv
from solver.speed_meeting import Schedule

SCHEDULE_COLUMNS = (
    "round",
    "start",
    "table",
    "mentor_id",
    "mentor_name",
    "mentee_id",
    "mentee_name",
)
BREAK_COLUMNS = ("round", "person_id", "name")
_templates = Environment(
    loader=PackageLoader("matcher", "templates"), autoescape=select_autoescape(["html"])
)


def schedule_rows(problem: ProblemData, plan: Schedule) -> list[dict[str, Any]]:
    names = _names(problem)
    return [
        {
            "round": m.round,
            "start": plan.starts[m.round - 1],
            "table": m.table,
            "mentor_id": m.mentor_id,
            "mentor_name": names[m.mentor_id],
            "mentee_id": m.mentee_id,
            "mentee_name": names[m.mentee_id],
        }
        for m in plan.meetings
    ]


def break_rows(problem: ProblemData, plan: Schedule) -> list[dict[str, Any]]:
    names = _names(problem)
    return [{"round": r, "person_id": p, "name": names[p]} for r, p in plan.breaks]


def sheets_html(problem: ProblemData, plan: Schedule, title: str = "Speed-meeting") -> str:
    """One printed page per table, then one per person, each round with its time."""
    names = _names(problem)
    rounds = range(1, plan.rounds + 1)
    at_table: dict[tuple[int, int], list[str]] = {}
    where: dict[tuple[int, str], tuple[int, str]] = {}
    for m in plan.meetings:
        at_table.setdefault((m.round, m.table), []).append(names[m.mentee_id])
        where[(m.round, m.mentee_id)] = (m.table, names[m.mentor_id])
    tables = [
        {
            "table": number,
            "mentor": names[mentor_id],
            "rows": [(plan.starts[r - 1], at_table.get((r, number), [])) for r in rounds],
        }
        for mentor_id, number in sorted(plan.tables.items(), key=lambda item: item[1])
    ]
    people = [
        {
            "name": mentee.name,
            "id": mentee.mentee_id,
            "rows": [(plan.starts[r - 1], where.get((r, mentee.mentee_id))) for r in rounds],
        }
        for mentee in problem.mentees
    ]
    return _templates.get_template("speed_meeting_sheets.html").render(
        title=title, tables=tables, people=people, minutes=_minutes(plan)
    )


def write_event(problem: ProblemData, plan: Schedule, out_dir: str | Path) -> list[Path]:
    """Write the three files into ``out_dir``; on failure none of them is left half-written."""
    return write_together(
        out_dir,
        {
            "schedule.csv": lambda path: write_csv(
                path, SCHEDULE_COLUMNS, schedule_rows(problem, plan)
            ),
            "breaks.csv": lambda path: write_csv(path, BREAK_COLUMNS, break_rows(problem, plan)),
            "sheets.html": lambda path: path.write_text(
                sheets_html(problem, plan), encoding="utf-8"
            ),
        },
    )


def _names(problem: ProblemData) -> dict[str, str]:
    return {m.mentor_id: m.name for m in problem.mentors} | {
        m.mentee_id: m.name for m in problem.mentees
    }


def _minutes(plan: Schedule) -> int | None:
    if len(plan.starts) < 2:
        return None
    h1, m1 = map(int, plan.starts[0].split(":"))
    h2, m2 = map(int, plan.starts[1].split(":"))
    return ((h2 * 60 + m2) - (h1 * 60 + m1)) % (24 * 60)
