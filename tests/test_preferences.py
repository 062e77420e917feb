"""`matcher preferences import`: speed-meeting choices written into the people files.

The people files are a generated scheme (4 mentors, 10 mentees, seed 5: mentors MR0001-4
with MR0002 paused, mentees ME0001-10, longitudes west of Greenwich, so negative).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from helpers import write
from openpyxl import load_workbook

from datasets.generator import generate, write_dataset
from matcher.checks import pair_allowed
from matcher.cli import main
from matcher.data import ProblemData
from matcher.readers import load_problem, read_mentees, read_mentors
from matcher.writers import write_mentees, write_mentors

SEED = 5


def _scheme(folder: Path, suffix: str = ".csv") -> tuple[ProblemData, Path, Path]:
    prob = generate(4, 10, seed=SEED)
    if suffix == ".csv":
        write_dataset(prob, folder)
    else:
        write_mentors(folder / f"mentors{suffix}", prob.mentors)
        write_mentees(folder / f"mentees{suffix}", prob.mentees)
    return prob, folder / f"mentors{suffix}", folder / f"mentees{suffix}"


def _import(choices: Path, side: str, mentors: Path, mentees: Path) -> int:
    argv = ["preferences", "import", str(choices), "--side", side]
    return main([*argv, "--mentors", str(mentors), "--mentees", str(mentees)])


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_mutual_first_choices_reach_the_pair_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prob, mentors, mentees = _scheme(tmp_path)
    # The first allowed pair (by the independent rules): the mentee and the mentor put each
    # other first. The mentee's second choice and another mentee's only choice are one-sided.
    (m, e) = next((m, e) for e in prob.mentees for m in prob.mentors if pair_allowed(prob, m, e))
    other = next(x.mentor_id for x in prob.mentors if x.mentor_id != m.mentor_id)
    lonely = next(x.mentee_id for x in prob.mentees if x.mentee_id != e.mentee_id)
    mentee_choices = write(
        tmp_path / "mentee_choices.csv",
        "person_id,choice_1,choice_2",
        f"{e.mentee_id},{m.mentor_id},{other}",
        f"{lonely},{other},",
    )
    mentor_choices = write(
        tmp_path / "mentor_choices.csv", "person_id,choice_1", f"{m.mentor_id},{e.mentee_id}"
    )
    assert _import(mentee_choices, "mentee", mentors, mentees) == 0
    assert "2 mentees' choices read; preferred_mentors changed for 2" in capsys.readouterr().out
    assert _import(mentor_choices, "mentor", mentors, mentees) == 0
    assert "1 mentors' choices read; preferred_mentees changed for 1" in capsys.readouterr().out

    wanted = {x.mentee_id: x.preferred_mentors for x in read_mentees(mentees)}
    assert wanted[e.mentee_id] == (m.mentor_id, other)
    assert wanted[lonely] == (other,)
    assert {x.mentor_id: x.preferred_mentees for x in read_mentors(mentors)}[m.mentor_id] == (
        e.mentee_id,
    )

    out = tmp_path / "round"
    argv = ["match", str(mentors), str(mentees), "--exclusions", str(tmp_path / "exclusions.csv")]
    assert main([*argv, "--out", str(out), "--time-limit", "10", "--quiet"]) == 0
    _, pairs = _read(out / "pairs.csv")
    reasons = {(row["mentor_id"], row["mentee_id"]): row["reasons"] for row in pairs}
    assert "mutual 1st choice at the speed-meeting" in reasons[(m.mentor_id, e.mentee_id)]
    # One-sided choices are not mutual.
    assert all(
        "mutual" not in text for pair, text in reasons.items() if pair != (m.mentor_id, e.mentee_id)
    )


def test_bad_choices_exit_2_naming_each_cell_and_leave_the_file_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, mentors, mentees = _scheme(tmp_path)
    before = mentees.read_bytes()
    choices = write(
        tmp_path / "choices.csv",
        "person_id,choice_1,choice_2,choice_3",
        "ME0001,MR0001,MR0003,",  # fine
        "ME0999,MR0001,,",  # no such mentee
        "ME0002,MR0001,MR0099,",  # no such mentor
        "ME0003,MR0003,MR0004,MR0003",  # MR0003 twice
    )
    assert _import(choices, "mentee", mentors, mentees) == 2
    err = capsys.readouterr().err
    assert "choices.csv, row 3, column person_id, value 'ME0999': no mentee has this id" in err
    assert "choices.csv, row 4, column choice_2, value 'MR0099': no mentor has this id" in err
    assert "choices.csv, row 5, column choice_3, value 'MR0003': chosen twice in this row" in err
    assert "3 problem(s)" in err
    assert mentees.read_bytes() == before


def test_a_mentor_choosing_an_unknown_mentee_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, mentors, mentees = _scheme(tmp_path)
    before = mentors.read_bytes()
    choices = write(tmp_path / "picks.csv", "person_id,choice_1", "MR0001,MR0003")
    assert _import(choices, "mentor", mentors, mentees) == 2
    assert "picks.csv, row 2, column choice_1, value 'MR0003': no mentee has this id" in (
        capsys.readouterr().err
    )
    assert mentors.read_bytes() == before


def test_unknown_columns_are_kept_and_longitudes_stay_numbers(tmp_path: Path) -> None:
    prob, mentors, mentees = _scheme(tmp_path)
    # A column the matcher does not know (a coordinator's notes) added to the mentees file.
    header, rows = _read(mentees)
    with mentees.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, [*header, "notes"])
        writer.writeheader()
        writer.writerows({**row, "notes": f"note {row['mentee_id']}"} for row in rows)
    choices = write(tmp_path / "choices.csv", "person_id,choice_1", "ME0004,MR0003")
    assert _import(choices, "mentee", mentors, mentees) == 0

    new_header, new_rows = _read(mentees)
    assert new_header == [*header, "notes"]
    assert [row["notes"] for row in new_rows] == [f"note {row['mentee_id']}" for row in rows]
    # West of Greenwich: written as plain negative numbers, not as '-0.37 text.
    assert [row["longitude"] for row in new_rows] == [row["longitude"] for row in rows]
    assert all(row["longitude"].startswith("-") for row in new_rows)
    changed = {row["mentee_id"]: row for row in new_rows}
    assert changed["ME0004"]["preferred_mentors"] == "MR0003"
    reread = load_problem(mentors, mentees)
    assert [e.longitude for e in reread.mentees] == [e.longitude for e in prob.mentees]


def test_xlsx_people_files(tmp_path: Path) -> None:
    prob, mentors, mentees = _scheme(tmp_path, ".xlsx")
    choices = write(tmp_path / "choices.csv", "person_id,choice_1,choice_2", "MR0001,ME0002,ME0005")
    assert _import(choices, "mentor", mentors, mentees) == 0
    reread = read_mentors(mentors)
    assert {m.mentor_id: m.preferred_mentees for m in reread}["MR0001"] == ("ME0002", "ME0005")
    assert [m.longitude for m in reread] == [m.longitude for m in prob.mentors]
    # The longitudes are number cells in the rewritten workbook.
    book = load_workbook(mentors, read_only=True)
    sheet_rows = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    column = sheet_rows[0].index("longitude")
    assert all(isinstance(row[column], float) and row[column] < 0 for row in sheet_rows[1:])
    # So are the other number columns; ids and GMC numbers stay text.
    types = {name: {type(row[k]) for row in sheet_rows[1:]} for k, name in enumerate(sheet_rows[0])}
    assert types["latitude"] == {float}
    assert types["current_mentees"] == {int}
    assert types["mentor_id"] == {str}
