"""What `matcher recruit` writes: recruit.csv, plan.md and result.json, all or nothing.

**Cost per year** at the scheme's rates (guidance section 4 and the local scheme's page):

* £2,500 a mentor a year for training, peer networking and CPD (the guidance's budget per GP
  mentor per year);
* 35 mentoring sessions a year at £289: the mentor is paid one session a week for all their
  mentoring, "between 4-6 mentees at any time (not per session)", and the local contract is
  "12 months for 35 sessions" (up to £10,115), the service's ``annual_session_cap`` too. The
  session pays for the mentor's week, so it does not grow with the number of their mentees;
* in the first year only, up to four sessions for attending mentorship training (£1,156).

So each new mentor costs £12,615 a year, and up to £1,156 more in their first.

Mentees are named by id only, as everywhere for analysts: the plan is for a board paper.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.columns import MENTOR_COLUMNS
from matcher.data import ProblemData
from matcher.outputs import write_together
from matcher.safe_write import safe_cell, write_csv
from matcher.settings import Settings
from matcher.vocab import MODES, SLOTS, code_words
from matcher.writers import cell_value
from solver.diagnose import count
from solver.recruit import NewMentor, PlanStatus, RecruitPlan

CPD_GBP = 2500
SESSION_GBP = 289
SESSIONS_A_YEAR = 35
TRAINING_SESSIONS = 4
PER_MENTOR_GBP = CPD_GBP + SESSIONS_A_YEAR * SESSION_GBP
FIRST_YEAR_EXTRA_GBP = TRAINING_SESSIONS * SESSION_GBP
TARGET_WORDS = {"fellows": "GP Fellows", "priority": "priority mentees", "all": "mentees"}


@dataclass(frozen=True)
class RecruitReport:
    rows: list[dict[str, Any]]  # recruit.csv
    markdown: str  # plan.md
    document: dict[str, Any]  # result.json
    summary: str  # the paragraph the command prints


def yearly_cost(new_mentors: int, settings: Settings | None = None) -> int:
    """Pounds a year for ``new_mentors`` at the scheme's rates (the module's docstring). The
    settings hold no rates yet: every scheme pays the guidance's."""
    return new_mentors * PER_MENTOR_GBP


def gbp(amount: int) -> str:
    return f"£{amount:,}"


def build_report(problem: ProblemData, plan: RecruitPlan, profiles_from: str) -> RecruitReport:
    rows = [{c: cell_value(c, getattr(r.mentor, c)) for c in MENTOR_COLUMNS} for r in plan.recruits]
    # JSON exports too are often pasted into spreadsheets: neutralise formula-like text.
    document = _neutralised(_document(problem, plan, profiles_from))
    return RecruitReport(rows, _markdown(problem, plan, profiles_from), document, _summary(plan))


def _neutralised(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _neutralised(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_neutralised(v) for v in value]
    return safe_cell(value) if isinstance(value, str) else value


def write_report(report: RecruitReport, out_dir: str | Path) -> list[Path]:
    """Write the three files into ``out_dir``; on failure no file of this run is left."""
    return write_together(
        out_dir,
        {
            "recruit.csv": lambda path: write_csv(path, MENTOR_COLUMNS, report.rows),
            "plan.md": lambda path: path.write_text(report.markdown, encoding="utf-8"),
            "result.json": lambda path: path.write_text(
                json.dumps(report.document, indent=2, ensure_ascii=False) + "\n",
                encoding="utf-8",
            ),
        },
    )


def _who(plan: RecruitPlan, n: int | None = None) -> str:
    """The target in words, ``n`` of them (all by default): 400 GP Fellows, 1 mentee."""
    words = TARGET_WORDS[plan.target]
    n = plan.targets if n is None else n
    return f"{n} {words[:-1] if n == 1 and words.endswith('s') else words}"


def _headline(plan: RecruitPlan) -> str:
    """The answer in one sentence."""
    status, n = plan.status, len(plan.recruits)
    reach = _who(plan, plan.reachable)
    if status is PlanStatus.INFEASIBLE:
        return f"No plan matches all {reach} under the scheme's rules, whoever is recruited."
    if status is PlanStatus.UNKNOWN:
        at_least = "" if plan.bound is None else f" (at least {count(plan.bound, 'new mentor')})"
        return f"No plan was found within the time limit{at_least}."
    if n == 0:
        return f"No new mentor is needed: the current mentors can take all {reach} at once."
    proof = (
        "proven the fewest"
        if status is PlanStatus.OPTIMAL
        else f"no plan needs fewer than {plan.bound}; the time limit ended the proof"
    )
    let = "lets" if n == 1 else "let"
    return f"{count(n, 'new mentor')} {let} all {reach} be matched ({proof})."


def _summary(plan: RecruitPlan) -> str:
    parts = [f"{plan.status.value}: {_headline(plan)}"]
    if plan.before is not None and plan.recruits:
        parts.append(f"The current mentors can take {plan.before} of them at once.")
    if plan.recruits:
        taken = sum(len(r.mentees) for r in plan.recruits)
        cost = yearly_cost(len(plan.recruits))
        parts.append(f"The new mentors would take {taken} mentees; {gbp(cost)} a year.")
    if plan.unreachable:
        parts.append(
            f"{_who(plan, len(plan.unreachable))} cannot be matched by any current mentor or "
            f"profile (plan.md says why)."
        )
    parts.append(f"In {plan.seconds:.1f} s.")
    return " ".join(parts)


def _markdown(problem: ProblemData, plan: RecruitPlan, profiles_from: str) -> str:
    n = len(plan.recruits)
    lines = [
        f"# Recruitment plan: {TARGET_WORDS[plan.target]}",
        "",
        f"**In short.** {_headline(plan)}",
        "",
        f"- {_who(plan)} are waiting; "
        + (
            f"{len(plan.unreachable)} of them cannot be matched by anyone (below), so the "
            f"plan is for {plan.reachable}."
            if plan.unreachable
            else "each of them could be matched by some current mentor or profile."
        ),
        f"- Matchable now, with the {count(len(problem.mentors), 'current mentor')}: "
        f"{_count_or_bound(plan.before, plan.before_bound)}; with the plan: "
        f"{plan.after if plan.after is not None else 'no plan'}.",
        f"- Candidate profiles: {count(len(plan.profiles), 'profile')}, from {profiles_from}.",
    ]
    if n:
        lines += [
            f"- Cost: {gbp(n * PER_MENTOR_GBP)} a year ({n} x {gbp(PER_MENTOR_GBP)}), and up to "
            f"{gbp(n * FIRST_YEAR_EXTRA_GBP)} more in the first year for training sessions.",
            "",
            "## Who to recruit",
            "",
            "| new mentors | like | focus areas | weekly slots | modes | capacity | area | take |",
            "|---|---|---|---|---|---|---|---|",
            *_kinds(problem, plan),
            "",
            "## The mentees each new mentor would take",
            "",
            *(_recruit_mentees(problem, r) for r in plan.recruits),
        ]
    if plan.unreachable:
        lines += ["", "## Mentees no one can take", ""]
        lines += [
            f"- {u.mentee_id} ({code_words(u.cohort)}): {u.reason}." for u in plan.unreachable
        ]
    if plan.conflicts:
        lines += ["", "## What stands in the way", "", *(f"- {c}." for c in plan.conflicts)]
    lines += [
        "",
        *_cost_section(n),
        "",
        *_proof_section(plan, problem.settings.rules.priority_cohorts),
    ]
    return "\n".join(lines) + "\n"


def _count_or_bound(value: int | None, bound: int | None) -> str:
    if value is None:
        return "not known" if bound is None else f"at most {bound}"
    return str(value) if bound is None or bound == value else f"{value} (at most {bound})"


def _kinds(problem: ProblemData, plan: RecruitPlan) -> list[str]:
    """One row per profile recruited: its new mentors, what they are like, whom they take."""
    by_profile: dict[str, list[NewMentor]] = {}
    for recruit in plan.recruits:
        by_profile.setdefault(recruit.profile.mentor.mentor_id, []).append(recruit)
    return [_kind_row(problem, plan, group) for group in by_profile.values()]


def _kind_row(problem: ProblemData, plan: RecruitPlan, group: list[NewMentor]) -> str:
    m, profile = group[0].mentor, group[0].profile
    lo, hi = m.band(problem.settings)
    like = ", ".join(profile.origins[:3]) + (" …" if len(profile.origins) > 3 else "")
    area = [m.pcn or "", f"near {m.latitude}, {m.longitude}" if m.latitude is not None else ""]
    genders = sorted({r.mentor.gender for r in group if r.mentor.gender})
    area += [m.practice_code or ""] + [f"{g} (a mentee requires it)" for g in genders]
    ids = [r.mentor.mentor_id for r in group]
    cells = [
        f"{len(group)}: {ids[0]}" + (f" to {ids[-1]}" if len(ids) > 1 else ""),
        like,
        _words(m.focus_areas) or "any",
        _words(s for s in SLOTS if s in m.availability) or "any time",
        _words(mode for mode in MODES if mode in m.modes),
        f"{lo}–{hi}",
        "; ".join(a for a in area if a) or "anywhere",
        _takes(plan, problem, group),
    ]
    return "| " + " | ".join(c.replace("|", "/") for c in cells) + " |"


def _words(codes: Iterable[str]) -> str:
    return "; ".join(code_words(code) for code in codes)


def _takes(plan: RecruitPlan, problem: ProblemData, group: list[NewMentor]) -> str:
    cohorts: Counter[str] = Counter()
    for recruit in group:
        cohorts += _cohorts(problem, recruit)
    total = sum(cohorts.values())
    if plan.target == "fellows":
        return f"{total} mentees: {cohorts['fellow']} fellows, {total - cohorts['fellow']} others"
    return count(total, "mentee")


def _cohorts(problem: ProblemData, recruit: NewMentor) -> Counter[str]:
    index = problem.mentee_index
    return Counter(problem.mentees[index[m]].cohort for m in recruit.mentees)


def _recruit_mentees(problem: ProblemData, recruit: NewMentor) -> str:
    index = problem.mentee_index
    mentees = [problem.mentees[index[m]] for m in recruit.mentees]
    practices = sorted({m.practice_code for m in mentees if m.practice_code})
    line = f"- **{recruit.mentor.mentor_id}**: {', '.join(recruit.mentees)}"
    if practices and not recruit.mentor.practice_code:
        line += f". Must not work in their practices: {', '.join(practices)}"
    return line + "."


def _cost_section(n: int) -> list[str]:
    return [
        "## Cost per year",
        "",
        f"- Training, peer networking and CPD: {gbp(CPD_GBP)} a mentor a year (the guidance's "
        "budget per GP mentor).",
        f"- Mentoring sessions: {SESSIONS_A_YEAR} a year at {gbp(SESSION_GBP)} "
        f"({gbp(SESSIONS_A_YEAR * SESSION_GBP)}). A mentor is paid one session a week for all "
        "their mentees, so the cost does not grow with their number; 35 is the local "
        "contract's year (and the scheme's annual cap).",
        f"- Each new mentor: {gbp(PER_MENTOR_GBP)} a year; {n} new: "
        f"{gbp(n * PER_MENTOR_GBP)} a year.",
        f"- First year only: up to {TRAINING_SESSIONS} sessions for attending mentorship "
        f"training ({gbp(FIRST_YEAR_EXTRA_GBP)} a mentor; {gbp(n * FIRST_YEAR_EXTRA_GBP)} "
        "in all).",
    ]


def _proof_section(plan: RecruitPlan, priority: tuple[str, ...]) -> list[str]:
    lines = ["## How sure this is", "", f"- Status: {plan.status.value}. {plan.status.advice}"]
    if plan.bound is not None:
        lines.append(f"- No plan needs fewer than {count(plan.bound, 'new mentor')}.")
    lines += [
        "- Every plan keeps the scheme's rules (settings, exclusions, capacity bands, current "
        "mentees counted); a new mentor is a kind of mentor, to be found and trained.",
        f"- Worked out in {plan.seconds:.1f} s.",
    ]
    if plan.target == "fellows" and priority != ("fellow",):
        lines.append(
            "- `matcher match` puts the settings' priority cohorts first, and they are not "
            "the fellows alone: with these new mentors it may still match others first."
        )
    return lines


def _document(problem: ProblemData, plan: RecruitPlan, profiles_from: str) -> dict[str, Any]:
    n = len(plan.recruits)
    return {
        "status": plan.status.value,
        "advice": plan.status.advice,
        "target": plan.target,
        "target_mentees": plan.targets,
        "unreachable": [
            {"mentee_id": u.mentee_id, "cohort": u.cohort, "reason": u.reason}
            for u in plan.unreachable
        ],
        "reachable": plan.reachable,
        "matchable_before": plan.before,
        "matchable_before_bound": plan.before_bound,
        "matchable_after": plan.after,
        "new_mentors": n,
        "bound": plan.bound,
        "proven": plan.status is PlanStatus.OPTIMAL,
        "profiles": {"from": profiles_from, "count": len(plan.profiles)},
        "recruits": [
            {
                "mentor_id": r.mentor.mentor_id,
                "like": list(r.profile.origins),
                **{c: cell_value(c, getattr(r.mentor, c)) for c in _PROFILE_COLUMNS},
                "mentees": list(r.mentees),
                "cohorts": dict(sorted(_cohorts(problem, r).items())),
            }
            for r in plan.recruits
        ],
        "pairs": [
            {
                "mentor_id": p.mentor_id,
                "mentee_id": p.mentee_id,
                "score": p.score,
                "new_mentor": p.mentor_id in {r.mentor.mentor_id for r in plan.recruits},
            }
            for p in plan.pairs
        ],
        "pairs_proven": plan.pairs_proven,
        "mentees_matched": len(plan.pairs),
        "cost": {
            "per_mentor_per_year_gbp": PER_MENTOR_GBP,
            "cpd_per_year_gbp": CPD_GBP,
            "session_gbp": SESSION_GBP,
            "sessions_per_year": SESSIONS_A_YEAR,
            "per_year_gbp": yearly_cost(n),
            "first_year_training_gbp": n * FIRST_YEAR_EXTRA_GBP,
        },
        "conflicts": list(plan.conflicts),
        "seconds": plan.seconds,
        "timings": plan.timings,
        "input_notes": [note.as_row() for note in problem.notes],
    }


_PROFILE_COLUMNS = (
    "practice_code",
    "pcn",
    "capacity_max",
    "capacity_min",
    "focus_areas",
    "availability",
    "modes",
    "latitude",
    "longitude",
    "postcode",
    "gender",
)
