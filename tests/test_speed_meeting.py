"""Speed-meeting rotations as worked examples, and the `matcher speed-meeting` command.

Every event is small enough to count by hand: the expected number of meetings is the seat
bound min(mentees, tables x per_table) x rounds, cut down where a mentee cannot meet a mentor
twice or the rules forbid a pair. Mentors with no focus area in common with anyone score 0,
so only the examples that give a pair a shared need have a preferred pair.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from helpers import mentee, mentor, problem, write

from matcher.cli import main
from matcher.data import ProblemData
from matcher.readers import load_problem
from matcher.writers import write_mentees, write_mentors
from solver.speed_meeting import Schedule, round_starts, schedule

SCHEDULE_COLUMNS = [
    "round",
    "start",
    "table",
    "mentor_id",
    "mentor_name",
    "mentee_id",
    "mentee_name",
]
BREAK_COLUMNS = ["round", "person_id", "name"]


def _event(n_mentors: int, n_mentees: int) -> ProblemData:
    return problem(
        [mentor(f"M{i}") for i in range(1, n_mentors + 1)],
        [mentee(f"E{j}") for j in range(1, n_mentees + 1)],
    )


def _per_mentee(prob: ProblemData, plan: Schedule) -> dict[str, int]:
    counts = Counter(m.mentee_id for m in plan.meetings)
    return {e.mentee_id: counts[e.mentee_id] for e in prob.mentees}


def _per_mentor(prob: ProblemData, plan: Schedule) -> dict[str, int]:
    counts = Counter(m.mentor_id for m in plan.meetings)
    return {m.mentor_id: counts[m.mentor_id] for m in prob.mentors}


def _free(prob: ProblemData, plan: Schedule) -> set[tuple[int, str]]:
    """(round, person) with no meeting, from the meetings alone."""
    busy = {(m.round, m.mentee_id) for m in plan.meetings}
    busy |= {(m.round, m.mentor_id) for m in plan.meetings}
    people = [m.mentor_id for m in prob.mentors] + [e.mentee_id for e in prob.mentees]
    return {(r, p) for r in range(1, plan.rounds + 1) for p in people} - busy


def _assert_rotation(prob: ProblemData, plan: Schedule) -> None:
    """The rules every rotation keeps, whatever the example."""
    pairs = [(m.mentor_id, m.mentee_id) for m in plan.meetings]
    assert len(pairs) == len(set(pairs)), "someone met the same person twice"
    seated = Counter((m.round, m.mentee_id) for m in plan.meetings)
    assert max(seated.values(), default=0) <= 1, "a mentee sat at two tables at once"
    at_table = Counter((m.round, m.table) for m in plan.meetings)
    assert max(at_table.values(), default=0) <= plan.per_table
    assert all(plan.tables[m.mentor_id] == m.table for m in plan.meetings)
    assert set(plan.breaks) == _free(prob, plan)
    assert len(plan.breaks) == len(set(plan.breaks))


# --- who meets whom ---------------------------------------------------------------------------


def test_two_mentors_three_mentees_two_rounds() -> None:
    # Seats: 2 tables x 1 x 2 rounds = 4 < 3 mentees x 2 rounds = 6, so 4 meetings. Shared as
    # evenly as possible over 3 mentees: 2 + 1 + 1. Both mentors host both rounds (2 each), so
    # each round exactly one mentee, and no mentor, is on a break.
    prob = _event(2, 3)
    plan = schedule(prob, rounds=2)
    _assert_rotation(prob, plan)
    assert len(plan.meetings) == 4
    assert sorted(_per_mentee(prob, plan).values()) == [1, 1, 2]
    assert _per_mentor(prob, plan) == {"M1": 2, "M2": 2}
    for r in (1, 2):
        seated = {m.mentee_id for m in plan.meetings if m.round == r}
        assert len(seated) == 2
        assert {p for q, p in plan.breaks if q == r} == {"E1", "E2", "E3"} - seated
    assert plan.seats_bound == 4
    assert plan.stats["share_of_seats"] == 1.0


def test_the_higher_scoring_mentee_gets_the_only_seat() -> None:
    # M1 offers leadership. E2 lists it first (30 points), E1 needs wellbeing only (0 points).
    # One table, one round, one seat: E2 meets M1 and E1 has the break.
    prob = problem(
        [mentor("M1", focus_areas=["leadership"])],
        [mentee("E1", needs=["wellbeing"]), mentee("E2", needs=["leadership"])],
    )
    plan = schedule(prob, rounds=1)
    _assert_rotation(prob, plan)
    assert [(m.round, m.table, m.mentor_id, m.mentee_id, m.score) for m in plan.meetings] == [
        (1, 1, "M1", "E2", 30)
    ]
    assert plan.breaks == ((1, "E1"),)


def test_the_most_promising_round_comes_first() -> None:
    # Same people over two rounds: both mentees meet M1, E2 (30 points) before E1 (0 points),
    # and each rests while the other is at the table.
    prob = problem(
        [mentor("M1", focus_areas=["leadership"])],
        [mentee("E1", needs=["wellbeing"]), mentee("E2", needs=["leadership"])],
    )
    plan = schedule(prob, rounds=2)
    assert [(m.round, m.mentee_id) for m in plan.meetings] == [(1, "E2"), (2, "E1")]
    assert plan.breaks == ((1, "E1"), (2, "E2"))


def test_an_excluded_pair_never_meets() -> None:
    # M1-E1 is excluded: the allowed pairs are M1-E2, M2-E1, M2-E2, so at most 3 meetings in
    # 2 rounds. E2 meets both mentors, E1 only M2; M2 hosts both rounds, M1 one round (the
    # round E2 is not at M2's table), so M1 and E1 rest in the same round.
    prob = problem(
        [mentor("M1"), mentor("M2")], [mentee("E1"), mentee("E2")], exclusions=[("M1", "E1")]
    )
    plan = schedule(prob, rounds=2)
    _assert_rotation(prob, plan)
    assert {(m.mentor_id, m.mentee_id) for m in plan.meetings} == {
        ("M1", "E2"),
        ("M2", "E1"),
        ("M2", "E2"),
    }
    (rest,) = {r for r, p in plan.breaks if p == "M1"}
    assert sorted(plan.breaks) == [(rest, "E1"), (rest, "M1")]
    assert plan.allowed_pairs == 3
    assert plan.stats["degree_bound"] == 3
    assert plan.stats["share_of_degree_bound"] == 1.0


def test_more_mentees_than_seats() -> None:
    # 2 tables x 3 rounds = 6 meetings for 5 mentees: 2 + 1 + 1 + 1 + 1, three mentees on a
    # break each round, both mentors busy every round.
    prob = _event(2, 5)
    plan = schedule(prob, rounds=3)
    _assert_rotation(prob, plan)
    assert len(plan.meetings) == 6
    assert sorted(_per_mentee(prob, plan).values()) == [1, 1, 1, 1, 2]
    assert _per_mentor(prob, plan) == {"M1": 3, "M2": 3}
    assert Counter(r for r, _ in plan.breaks) == {1: 3, 2: 3, 3: 3}
    assert all(p.startswith("E") for _, p in plan.breaks)


def test_fewer_mentees_than_mentors_each_mentee_meets_every_round() -> None:
    # 4 tables, 2 mentees, 3 rounds: each mentee meets 3 different mentors (6 meetings), and
    # 6 meetings over 4 mentors as evenly as possible is 2 + 2 + 1 + 1. Mentors rest
    # 4 x 3 - 6 = 6 table-rounds; mentees never rest.
    prob = _event(4, 2)
    plan = schedule(prob, rounds=3)
    _assert_rotation(prob, plan)
    assert _per_mentee(prob, plan) == {"E1": 3, "E2": 3}
    assert sorted(_per_mentor(prob, plan).values()) == [1, 1, 2, 2]
    assert len(plan.breaks) == 6
    assert all(p.startswith("M") for _, p in plan.breaks)
    assert plan.stats["min_meetings_per_mentee"] == plan.stats["max_meetings_per_mentee"] == 3


def test_one_mentor_two_per_table() -> None:
    # One table for 2 mentees at a time, 2 rounds: 4 seats, but 3 mentees can each meet the one
    # mentor only once, so 3 meetings (2 in one round, 1 in the other) and 3 mentee breaks.
    prob = _event(1, 3)
    plan = schedule(prob, rounds=2, per_table=2)
    _assert_rotation(prob, plan)
    assert _per_mentee(prob, plan) == {"E1": 1, "E2": 1, "E3": 1}
    assert sorted(Counter(m.round for m in plan.meetings).values()) == [1, 2]
    assert len(plan.breaks) == 3
    assert all(p.startswith("E") for _, p in plan.breaks)
    assert plan.seats_bound == 4
    assert plan.stats["degree_bound"] == 3


def test_nobody_allowed_everyone_rests() -> None:
    # Mentors free only on Monday mornings, mentees only on Tuesday afternoons: no pair.
    prob = problem(
        [mentor(f"M{i}", availability=["mon_am"]) for i in (1, 2)],
        [mentee(f"E{j}", availability=["tue_pm"]) for j in (1, 2, 3)],
    )
    plan = schedule(prob, rounds=2)
    assert plan.meetings == ()
    assert plan.allowed_pairs == 0
    people = ["E1", "E2", "E3", "M1", "M2"]
    assert sorted(plan.breaks) == sorted((r, p) for r in (1, 2) for p in people)
    assert plan.stats["meetings"] == 0
    assert plan.stats["min_meetings_per_mentee"] == plan.stats["max_meetings_per_mentee"] == 0


def test_three_per_table() -> None:
    # 2 tables x 3 seats x 2 rounds = 12 meetings for 7 mentees who can each have 2:
    # 12 = 2 x 5 + 1 x 2. Every table is full every round (3 mentees), so one mentee rests
    # each round, and each mentor hosts 6.
    prob = _event(2, 7)
    plan = schedule(prob, rounds=2, per_table=3)
    _assert_rotation(prob, plan)
    assert len(plan.meetings) == 12
    assert sorted(_per_mentee(prob, plan).values()) == [1, 1, 2, 2, 2, 2, 2]
    assert Counter((m.round, m.table) for m in plan.meetings) == {
        (1, 1): 3,
        (1, 2): 3,
        (2, 1): 3,
        (2, 2): 3,
    }
    assert Counter(r for r, _ in plan.breaks) == {1: 1, 2: 1}


# --- when --------------------------------------------------------------------------------------


def test_rounds_are_numbered_from_one_with_their_start_times() -> None:
    # 09:50 then every 15 minutes: 09:50, 10:05, 10:20, 10:35.
    plan = schedule(_event(3, 3), rounds=4, minutes=15, start="09:50")
    assert plan.starts == ("09:50", "10:05", "10:20", "10:35")
    assert {m.round for m in plan.meetings} == {1, 2, 3}  # 3 mentors each meet everyone once
    assert all(1 <= m.round <= 4 for m in plan.meetings)


def test_start_times_run_past_midnight() -> None:
    assert round_starts("23:50", 3, 10) == ("23:50", "00:00", "00:10")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rounds": 0}, "rounds must be at least 1"),
        ({"rounds": 2, "per_table": 4}, "per_table must be between 1 and 3"),
        ({"rounds": 2, "per_table": 0}, "per_table must be between 1 and 3"),
        ({"rounds": 2, "minutes": 0}, "minutes must be at least 1"),
        ({"rounds": 2, "start": "25:00"}, "start time '25:00' must be HH:MM"),
        ({"rounds": 2, "start": "6pm"}, "start time '6pm' must be HH:MM"),
    ],
)
def test_bad_arguments_say_what_is_wrong(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        schedule(_event(2, 3), **kwargs)  # type: ignore[arg-type]


# --- the command -------------------------------------------------------------------------------


def _files(tmp_path: Path, prob: ProblemData) -> list[str]:
    write_mentors(tmp_path / "mentors.csv", prob.mentors)
    write_mentees(tmp_path / "mentees.csv", prob.mentees)
    return [str(tmp_path / "mentors.csv"), str(tmp_path / "mentees.csv")]


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_the_command_writes_schedule_breaks_and_sheets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 2 tables, 3 mentees, 2 rounds of 12 minutes from 19:00: 4 meetings, one mentee resting
    # each round (as in the first worked example).
    prob = _event(2, 3)
    out = tmp_path / "event"
    argv = ["speed-meeting", *_files(tmp_path, prob), "--rounds", "2", "--minutes", "12"]
    assert main([*argv, "--start", "19:00", "--out", str(out)]) == 0
    assert "4 meetings over 2 rounds at 2 tables" in capsys.readouterr().out

    header, rows = _read(out / "schedule.csv")
    assert header == SCHEDULE_COLUMNS
    loaded = load_problem(tmp_path / "mentors.csv", tmp_path / "mentees.csv")
    plan = schedule(loaded, rounds=2, minutes=12, start="19:00")
    names = {m.mentor_id: m.name for m in prob.mentors} | {
        e.mentee_id: e.name for e in prob.mentees
    }
    assert rows == [
        {
            "round": str(m.round),
            "start": plan.starts[m.round - 1],
            "table": str(m.table),
            "mentor_id": m.mentor_id,
            "mentor_name": names[m.mentor_id],
            "mentee_id": m.mentee_id,
            "mentee_name": names[m.mentee_id],
        }
        for m in plan.meetings
    ]
    assert {row["start"] for row in rows} == {"19:00", "19:12"}

    header, rests = _read(out / "breaks.csv")
    assert header == BREAK_COLUMNS
    assert [(int(b["round"]), b["person_id"]) for b in rests] == list(plan.breaks)
    assert len(rests) == 2 and all(b["name"] == names[b["person_id"]] for b in rests)

    html = (out / "sheets.html").read_text(encoding="utf-8")
    sections = html.split('<section class="sheet">')[1:]
    assert html.count('class="sheet"') == len(sections) == 2 + 3  # tables, then mentees
    # Both tables are busy every round; each mentee's sheet shows one Break per round off.
    assert all("Break" not in s for s in sections[:2])
    rests_of = Counter(b["person_id"] for b in rests)
    for e, section in zip(prob.mentees, sections[2:], strict=True):
        assert e.name in section
        assert section.count(">Break<") == rests_of[e.mentee_id]
    assert "12 minutes" in html


def test_the_sheets_show_a_table_break(tmp_path: Path) -> None:
    # 2 tables, 1 mentee, 2 rounds: the mentee meets both mentors, each table rests a round.
    out = tmp_path / "event"
    assert (
        main(["speed-meeting", *_files(tmp_path, _event(2, 1)), "--rounds", "2", "--out", str(out)])
        == 0
    )
    sections = (
        (out / "sheets.html").read_text(encoding="utf-8").split('<section class="sheet">')[1:]
    )
    assert [s.count(">Break<") for s in sections] == [1, 1, 0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--per-table", "4"], "--per-table must be 1 to 3"),
        (["--rounds", "0"], "--rounds must be at least 1"),
        (["--start", "25:00"], "start time '25:00' must be HH:MM"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    out = tmp_path / "event"
    argv = ["speed-meeting", *_files(tmp_path, _event(2, 3)), "--rounds", "2", *extra]
    assert main([*argv, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_bad_people_file_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _files(tmp_path, _event(2, 3))
    bad = write(tmp_path / "mentees.csv", "mentee_id,name,cohort", "E1,Bo,fellow", "E2,Cy,student")
    out = tmp_path / "event"
    assert main(["speed-meeting", files[0], str(bad), "--rounds", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "mentees.csv, row 3, column cohort, value 'student'" in err
    assert "Traceback" not in err
    assert not out.exists()
