"""Reading mentors, mentees and pair files: good files, headers, pair files, whole rounds."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from helpers import one, problems_of, write
from openpyxl import Workbook

from matcher.data import Mentee, Mentor, PairRef, Source
from matcher.errors import Problem
from matcher.readers import load_problem, read_mentees, read_mentors, read_pairs
from matcher.settings import Settings

DATA = Path(__file__).parent / "data" / "readers"


# --- good files -----------------------------------------------------------------------------


def test_mentors_fixture_messy_header_lists_and_unknown_column() -> None:
    # The header has odd case and spaces and an unknown "Notes" column; row 3 is blank.
    mentors = read_mentors(DATA / "mentors.csv", Settings())
    assert mentors == (
        Mentor(
            mentor_id="M1",
            name="Dr Asha Patel",
            email="asha.patel@nhs.net",
            gmc_number="1234567",
            practice_code="A81001",
            pcn="North Tees PCN",
            capacity_max=6,
            capacity_min=4,
            current_mentees=1,
            focus_areas=("leadership", "career_planning"),
            availability=frozenset({"mon_am", "tue_pm"}),
            modes=frozenset({"virtual", "face_to_face"}),
            latitude=54.57,
            longitude=-1.23,
            gender="female",
            ethnicity="British Indian",
            img=False,
            years_post_cct=12.0,
            clinical_sessions_per_week=6.5,
            status="active",
        ),
        Mentor(mentor_id="M2", name="Dr Tom Reid", practice_code="B82002"),
    )
    assert [m.source for m in mentors] == [Source("mentors.csv", 2), Source("mentors.csv", 4)]


def test_mentees_fixture_defaults_and_uk_date() -> None:
    mentees = read_mentees(DATA / "mentees.csv", Settings())
    assert mentees == (
        Mentee(
            mentee_id="E1",
            name="Dr Chloe Smith",
            cohort="fellow",
            practice_code="C83003",
            pcn="South PCN",
            needs=("partnership", "leadership"),
            availability=frozenset({"wed_eve"}),
            modes=frozenset({"face_to_face"}),
            latitude=54.6,
            longitude=-1.3,
            max_distance_km=25.0,
            mentor_gender="female",
            mentor_gender_strict=True,
            same_ethnicity=False,
            same_img=False,
            preferred_mentors=("M2", "M1"),
            waiting_since=date(2024, 1, 15),
            gender="female",
            img=True,
        ),
        # "Mid-Career" is read as mid_career; 05/03/2024 is 5 March (UK order).
        Mentee("E2", "Dr Ben Okafor", "mid_career", waiting_since=date(2024, 3, 5)),
    )


def test_exclusions_fixture_keeps_reason() -> None:
    pairs = read_pairs(DATA / "exclusions.csv", "exclusions")
    assert pairs == (PairRef("M1", "E2", "educational supervisor"),)
    assert pairs[0].source == Source("exclusions.csv", 2)


def test_cp1252_mentors_file(tmp_path: Path) -> None:
    path = tmp_path / "mentors.csv"
    path.write_bytes("mentor_id,name\nM1,Zoë O’Brien\n".encode("cp1252"))
    assert read_mentors(path, Settings()) == (Mentor("M1", "Zoë O’Brien"),)


def test_utf8_bom_mentors_file(tmp_path: Path) -> None:
    path = tmp_path / "mentors.csv"
    path.write_bytes("mentor_id,name\nM1,Zoë\n".encode("utf-8-sig"))
    assert read_mentors(path, Settings()) == (Mentor("M1", "Zoë"),)


def test_xlsx_mentees_file(tmp_path: Path) -> None:
    path = tmp_path / "mentees.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Mentee_ID ", "Name", "Cohort", "waiting_since", "max_distance_km", "Extra"])
    sheet.append(["E1", "Bo", "New Partner", date(2024, 2, 1), 20, "ignored"])
    book.save(path)
    (mentee,) = read_mentees(path, Settings())
    assert mentee == Mentee(
        "E1", "Bo", "new_partner", waiting_since=date(2024, 2, 1), max_distance_km=20.0
    )
    assert mentee.source == Source("mentees.xlsx", 2)


def test_extra_focus_areas_from_settings(tmp_path: Path) -> None:
    path = write(tmp_path / "mentors.csv", "mentor_id,name,focus_areas", "M1,Ann,Prescribing")
    settings = Settings(extra_focus_areas=("prescribing",))
    assert read_mentors(path, settings)[0].focus_areas == ("prescribing",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("virtual", {"virtual"}),
        ("face to face", {"face_to_face"}),
        ("Face-to-Face; Virtual", {"face_to_face", "virtual"}),
        ("", {"virtual"}),
    ],
)
def test_modes_spellings(tmp_path: Path, text: str, expected: set[str]) -> None:
    path = tmp_path / "mentors.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["mentor_id", "name", "modes"], ["M1", "Ann", text]])
    assert read_mentors(path, Settings())[0].modes == frozenset(expected)


def test_status_case_insensitive_and_default(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", "mentor_id,name,status", "M1,Ann,Paused", "M2,Bo,")
    assert [m.status for m in read_mentors(path, Settings())] == ["paused", "active"]


# --- bad headers and required cells ---------------------------------------------------------


def test_missing_required_columns_one_problem_each(tmp_path: Path) -> None:
    path = write(tmp_path / "mentees.csv", "Mentee_ID,notes", "E1,x")
    found = "required column is missing (found in row 1: Mentee_ID, notes): add a column headed {}"
    assert problems_of(lambda: read_mentees(path, Settings())) == (
        Problem("mentees.csv", None, "name", None, found.format("name")),
        Problem("mentees.csv", None, "cohort", None, found.format("cohort")),
    )


def test_required_cell_empty(tmp_path: Path) -> None:
    path = write(tmp_path / "mentees.csv", "mentee_id,name,cohort", "E1,,fellow", ",Bo,")
    assert problems_of(lambda: read_mentees(path, Settings())) == (
        Problem("mentees.csv", 2, "name", "", "required, but empty"),
        Problem("mentees.csv", 3, "mentee_id", "", "required, but empty"),
        Problem("mentees.csv", 3, "cohort", "", "required, but empty"),
    )


def test_duplicate_ids_name_both_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "mentors.csv", "mentor_id,name", "M1,Ann", "M2,Bo", "M1,Cy")
    assert problems_of(lambda: read_mentors(path, Settings())) == (
        Problem(
            "mentors.csv", 4, "mentor_id", "M1", "duplicate mentor_id: the same id is in row 2"
        ),
    )


def test_id_with_list_separator(tmp_path: Path) -> None:
    path = write(tmp_path / "mentors.csv", "mentor_id,name", "M1;M2,Ann")
    problems = problems_of(lambda: read_mentors(path, Settings()))
    message = one(problems, "mentors.csv", 2, "mentor_id")
    assert message == "an id must not contain ';' (it separates the items of a list)"


# --- pair files ------------------------------------------------------------------------------


def test_duplicate_pair_and_empty_ids(tmp_path: Path) -> None:
    path = write(tmp_path / "locks.csv", "mentor_id,mentee_id", "M1,E1", ",E2", "M1,E1", "M3,")
    assert problems_of(lambda: read_pairs(path, "locks")) == (
        Problem("locks.csv", 3, "mentor_id", "", "required, but empty"),
        Problem("locks.csv", 4, "mentee_id", "E1", "the same pair is already in row 2"),
        Problem("locks.csv", 5, "mentee_id", "", "required, but empty"),
    )


def test_pairs_missing_column(tmp_path: Path) -> None:
    path = write(tmp_path / "previous.csv", "mentor_id,person", "M1,E1")
    assert problems_of(lambda: read_pairs(path, "previous")) == (
        Problem(
            "previous.csv",
            None,
            "mentee_id",
            None,
            "required column is missing (found in row 1: mentor_id, person): "
            "add a column headed mentee_id",
        ),
    )


def test_pairs_heading_mentee_is_read_as_mentee_id(tmp_path: Path) -> None:
    path = write(tmp_path / "previous.csv", "Mentor,Mentee", "M1,E1")
    assert read_pairs(path, "previous") == (PairRef("M1", "E1"),)


def test_reason_read_only_for_exclusions(tmp_path: Path) -> None:
    path = write(tmp_path / "locks.csv", "mentor_id,mentee_id,reason", "M1,E1,agreed")
    assert read_pairs(path, "locks") == (PairRef("M1", "E1"),)
    assert read_pairs(path, "exclusions") == (PairRef("M1", "E1", "agreed"),)


def test_unknown_pair_kind_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown kind of pairs file 'lock'"):
        read_pairs(DATA / "exclusions.csv", "lock")


# --- whole rounds ----------------------------------------------------------------------------


def test_load_problem_from_fixtures() -> None:
    problem = load_problem(
        DATA / "mentors.csv", DATA / "mentees.csv", exclusions=DATA / "exclusions.csv"
    )
    assert [m.mentor_id for m in problem.mentors] == ["M1", "M2"]
    assert [m.mentee_id for m in problem.mentees] == ["E1", "E2"]
    assert problem.exclusions == (PairRef("M1", "E2", "educational supervisor"),)
    assert problem.locks == problem.previous == ()


def test_load_problem_reports_every_file_at_once(tmp_path: Path) -> None:
    mentors = write(tmp_path / "mentors.csv", "mentor_id,name,status", "M1,Ann,retired")
    mentees = write(tmp_path / "mentees.csv", "mentee_id,name,cohort", "E1,Bo,alien")
    locks = write(tmp_path / "locks.csv", "mentor_id,mentee_id", "M1,")
    problems = problems_of(
        lambda: load_problem(mentors, mentees, locks=locks, previous=tmp_path / "gone.csv")
    )
    assert [(p.file, p.row, p.column) for p in problems] == [
        ("mentors.csv", 2, "status"),
        ("mentees.csv", 2, "cohort"),
        ("locks.csv", 2, "mentee_id"),
        ("gone.csv", None, None),
    ]


def test_load_problem_cross_file_check(tmp_path: Path) -> None:
    exclusions = write(tmp_path / "exclusions.csv", "mentor_id,mentee_id", "M9,E1")
    problems = problems_of(
        lambda: load_problem(DATA / "mentors.csv", DATA / "mentees.csv", exclusions)
    )
    assert problems == (
        Problem(
            "exclusions.csv", 2, "mentor_id", "M9", "no mentor with this id in the mentors file"
        ),
    )
