"""Reading mentors, mentees and pair files: good files, every kind of bad cell, round trips."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook

from matcher.data import Mentee, Mentor, PairRef, Source
from matcher.errors import InputError, Problem
from matcher.readers import load_problem, read_mentees, read_mentors, read_pairs
from matcher.settings import CapacitySettings, Settings
from matcher.writers import write_mentees, write_mentors, write_pairs

DATA = Path(__file__).parent / "data" / "readers"


def write(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def problems_of(read: Callable[[], object]) -> tuple[Problem, ...]:
    with pytest.raises(InputError) as caught:
        read()
    return caught.value.problems


def mentor_cell(tmp_path: Path, column: str, value: str) -> tuple[Problem, ...]:
    """Problems of a mentors file whose only row has ``value`` in ``column``."""
    path = tmp_path / "mentors.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["mentor_id", "name", column], ["M1", "Ann", value]])
    return problems_of(lambda: read_mentors(path, Settings()))


def mentee_cell(tmp_path: Path, column: str, value: str) -> tuple[Problem, ...]:
    path = tmp_path / "mentees.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        rows = [["mentee_id", "name", "cohort", column], ["E1", "Bo", "fellow", value]]
        csv.writer(handle).writerows(rows)
    return problems_of(lambda: read_mentees(path, Settings()))


def one(problems: tuple[Problem, ...], file: str, row: int | None, column: str) -> str:
    """Check there is exactly one problem, at file/row/column; return its message."""
    (problem,) = problems
    assert (problem.file, problem.row, problem.column) == (file, row, column)
    return problem.message


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
    found = "required column is missing (found: mentee_id, notes)"
    assert problems_of(lambda: read_mentees(path, Settings())) == (
        Problem("mentees.csv", None, "name", None, found),
        Problem("mentees.csv", None, "cohort", None, found),
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


# --- bad cells, one test per kind ------------------------------------------------------------


def test_gmc_number_must_be_seven_digits(tmp_path: Path) -> None:
    problems = mentor_cell(tmp_path, "gmc_number", "123456")
    assert problems == (
        Problem("mentors.csv", 2, "gmc_number", "123456", "a GMC number must be exactly 7 digits"),
    )


def test_email_must_look_like_an_address(tmp_path: Path) -> None:
    message = one(mentor_cell(tmp_path, "email", "ann-at-nhs"), "mentors.csv", 2, "email")
    assert message == "not an email address (expected name@example.org)"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("six", "not a whole number (expected 1 or more)"),
        ("2.5", "not a whole number (expected 1 or more)"),
        ("0", "must be 1 or more"),
        ("9", "above the scheme's maximum (8)"),
    ],
)
def test_capacity_max(tmp_path: Path, value: str, message: str) -> None:
    assert one(mentor_cell(tmp_path, "capacity_max", value), "mentors.csv", 2, "capacity_max") == (
        message
    )


def test_capacity_max_follows_the_scheme_setting(tmp_path: Path) -> None:
    path = write(tmp_path / "mentors.csv", "mentor_id,name,capacity_max", "M1,Ann,7")
    settings = Settings(capacity=CapacitySettings(min=2, max=6))
    problems = problems_of(lambda: read_mentors(path, settings))
    assert one(problems, "mentors.csv", 2, "capacity_max") == "above the scheme's maximum (6)"


def test_capacity_min_above_capacity_max_in_the_same_row(tmp_path: Path) -> None:
    path = write(tmp_path / "mentors.csv", "mentor_id,name,capacity_max,capacity_min", "M1,Ann,5,6")
    assert problems_of(lambda: read_mentors(path, Settings())) == (
        Problem("mentors.csv", 2, "capacity_min", "6", "above capacity_max (5) in the same row"),
    )


def test_current_mentees_negative(tmp_path: Path) -> None:
    problems = mentor_cell(tmp_path, "current_mentees", "-1")
    assert one(problems, "mentors.csv", 2, "current_mentees") == "must be 0 or more"


def test_unknown_focus_area_lists_the_vocabulary(tmp_path: Path) -> None:
    problems = mentor_cell(tmp_path, "focus_areas", "leadership; golf")
    message = one(problems, "mentors.csv", 2, "focus_areas")
    assert message.startswith("not a known focus area: golf (expected career_planning, ")
    assert "wellbeing" in message


def test_focus_areas_separated_by_commas_gets_a_hint(tmp_path: Path) -> None:
    message = one(
        mentor_cell(tmp_path, "focus_areas", "leadership, research"),
        "mentors.csv",
        2,
        "focus_areas",
    )
    assert "separate items with ';'" in message


def test_repeated_need(tmp_path: Path) -> None:
    problems = mentee_cell(tmp_path, "needs", "leadership;Leadership ;research")
    assert one(problems, "mentees.csv", 2, "needs") == "listed more than once: leadership"


def test_unknown_slot(tmp_path: Path) -> None:
    message = one(
        mentor_cell(tmp_path, "availability", "Mon AM; monday"), "mentors.csv", 2, "availability"
    )
    assert message.startswith("not a known slot: monday (expected day_part")


def test_slot_spellings_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.csv", "mentor_id,name,availability", "M1,Ann,Mon AM;tue-pm; SUN_EVE;"
    )
    assert read_mentors(path, Settings())[0].availability == {"mon_am", "tue_pm", "sun_eve"}


def test_unknown_mode(tmp_path: Path) -> None:
    message = one(mentor_cell(tmp_path, "modes", "f2f"), "mentors.csv", 2, "modes")
    assert message == "not a known mode: f2f (expected virtual, face_to_face)"


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("latitude", "91", "out of range (expected between -90 and 90)"),
        ("longitude", "-180.5", "out of range (expected between -180 and 180)"),
        ("latitude", "north", "not a number (expected between -90 and 90)"),
    ],
)
def test_coordinates_out_of_range(tmp_path: Path, column: str, value: str, message: str) -> None:
    other = "longitude" if column == "latitude" else "latitude"
    path = write(tmp_path / "mentors.csv", f"mentor_id,name,{column},{other}", f"M1,Ann,{value},1")
    assert problems_of(lambda: read_mentors(path, Settings())) == (
        Problem("mentors.csv", 2, column, value, message),
    )


def test_latitude_without_longitude(tmp_path: Path) -> None:
    path = write(
        tmp_path / "mentees.csv", "mentee_id,name,cohort,latitude,longitude", "E1,Bo,fellow,51.5,"
    )
    assert problems_of(lambda: read_mentees(path, Settings())) == (
        Problem(
            "mentees.csv", 2, "longitude", "", "empty, but latitude is given (give both or neither)"
        ),
    )


def test_img_must_be_yes_or_no(tmp_path: Path) -> None:
    message = one(mentor_cell(tmp_path, "img", "maybe"), "mentors.csv", 2, "img")
    assert message == "expected yes or no (or leave it empty)"


def test_preference_flags_default_false_and_reject_other_words(tmp_path: Path) -> None:
    header = "mentee_id,name,cohort,mentor_gender_strict,same_ethnicity,same_img"
    good = write(tmp_path / "good.csv", header, "E1,Bo,fellow,Y,true,")
    mentee = read_mentees(good, Settings())[0]
    assert (mentee.mentor_gender_strict, mentee.same_ethnicity, mentee.same_img) == (
        True,
        True,
        False,
    )
    problems = mentee_cell(tmp_path, "same_img", "sometimes")
    assert one(problems, "mentees.csv", 2, "same_img") == "expected yes or no (or leave it empty)"


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("years_post_cct", "-1", "out of range (expected 0 or more)"),
        ("clinical_sessions_per_week", "lots", "not a number (expected 0 or more)"),
    ],
)
def test_mentor_numbers(tmp_path: Path, column: str, value: str, message: str) -> None:
    assert one(mentor_cell(tmp_path, column, value), "mentors.csv", 2, column) == message


def test_max_distance_must_be_positive(tmp_path: Path) -> None:
    problems = mentee_cell(tmp_path, "max_distance_km", "0")
    assert one(problems, "mentees.csv", 2, "max_distance_km") == "out of range (expected above 0)"


def test_unknown_status(tmp_path: Path) -> None:
    message = one(mentor_cell(tmp_path, "status", "retired"), "mentors.csv", 2, "status")
    assert message == "not a known status (expected one of active, paused, withdrawn)"


def test_unknown_cohort_lists_the_cohorts(tmp_path: Path) -> None:
    path = write(tmp_path / "mentees.csv", "mentee_id,name,cohort", "E1,Bo,GP Fellow")
    problems = problems_of(lambda: read_mentees(path, Settings()))
    assert problems == (
        Problem(
            "mentees.csv",
            2,
            "cohort",
            "GP Fellow",
            "not a known cohort (expected one of fellow, mid_career, new_partner, "
            "retention_scheme, locum_to_salaried, returner, international_induction, other)",
        ),
    )


def test_repeated_preferred_mentor(tmp_path: Path) -> None:
    problems = mentee_cell(tmp_path, "preferred_mentors", "M1;M2;M1")
    assert one(problems, "mentees.csv", 2, "preferred_mentors") == "listed more than once: M1"


@pytest.mark.parametrize("value", ["2024-13-01", "31/02/2024", "March 2024", "05/03/24"])
def test_waiting_since_not_a_date(tmp_path: Path, value: str) -> None:
    message = one(mentee_cell(tmp_path, "waiting_since", value), "mentees.csv", 2, "waiting_since")
    assert message == "not a date (expected YYYY-MM-DD, or DD/MM/YYYY)"


def test_waiting_since_in_the_future(tmp_path: Path) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    message = one(
        mentee_cell(tmp_path, "waiting_since", tomorrow), "mentees.csv", 2, "waiting_since"
    )
    assert message.startswith("is in the future")


def test_every_problem_of_a_file_is_reported_in_row_and_column_order(tmp_path: Path) -> None:
    path = write(
        tmp_path / "mentors.csv",
        "mentor_id,name,capacity_max,status",
        "M1,Ann,x,gone",
        "M1,,3,active",
    )
    got = [(p.row, p.column) for p in problems_of(lambda: read_mentors(path, Settings()))]
    assert got == [(2, "capacity_max"), (2, "status"), (3, "mentor_id"), (3, "name")]


def test_sensitive_values_never_shown(tmp_path: Path) -> None:
    path = write(
        tmp_path / "mentors.csv", "mentor_id,name,email,gmc_number", "M1,Ann,ann.at.nhs,98765"
    )
    with pytest.raises(InputError) as caught:
        read_mentors(path, Settings())
    assert [p.column for p in caught.value.problems] == ["email", "gmc_number"]
    text = str(caught.value) + "".join(str(p) for p in caught.value.problems)
    assert "ann.at.nhs" not in text
    assert "98765" not in text
    assert "(hidden, 10 characters)" in text


# --- pair files ------------------------------------------------------------------------------


def test_duplicate_pair_and_empty_ids(tmp_path: Path) -> None:
    path = write(tmp_path / "locks.csv", "mentor_id,mentee_id", "M1,E1", ",E2", "M1,E1", "M3,")
    assert problems_of(lambda: read_pairs(path, "locks")) == (
        Problem("locks.csv", 3, "mentor_id", "", "required, but empty"),
        Problem("locks.csv", 4, "mentee_id", "E1", "the same pair is already in row 2"),
        Problem("locks.csv", 5, "mentee_id", "", "required, but empty"),
    )


def test_pairs_missing_column(tmp_path: Path) -> None:
    path = write(tmp_path / "previous.csv", "mentor_id,mentee", "M1,E1")
    assert problems_of(lambda: read_pairs(path, "previous")) == (
        Problem(
            "previous.csv",
            None,
            "mentee_id",
            None,
            "required column is missing (found: mentor_id, mentee)",
        ),
    )


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


# --- writers: reading back gives equal records ------------------------------------------------

MENTORS = (
    Mentor(
        "M1",
        "Zoë O’Brien",
        email="zoe@example.org",
        gmc_number="0123456",
        practice_code="A81001",
        pcn="North",
        capacity_max=6,
        capacity_min=4,
        current_mentees=1,
        focus_areas=("wellbeing", "leadership"),
        availability=frozenset({"tue_pm", "mon_am"}),
        modes=frozenset({"virtual", "face_to_face"}),
        latitude=51.5072,
        longitude=-0.1276,
        gender="female",
        ethnicity="Irish",
        img=True,
        years_post_cct=10.0,
        clinical_sessions_per_week=6.5,
        status="paused",
        preferred_mentees=("E1",),
    ),
    Mentor("M2", "=HYPERLINK(x)", img=False),
)
MENTEES = (
    Mentee(
        "E1",
        "Bo",
        "fellow",
        needs=("leadership", "research"),
        availability=frozenset({"sun_eve"}),
        modes=frozenset({"face_to_face"}),
        latitude=-33.9,
        longitude=151.2,
        max_distance_km=12.5,
        mentor_gender="male",
        mentor_gender_strict=True,
        same_ethnicity=True,
        preferred_mentors=("M2", "M1"),
        waiting_since=date(2024, 3, 5),
        img=False,
    ),
    Mentee("E2", "Cy", "other"),
)
PAIRS = (PairRef("M1", "E1", "line manager"), PairRef("M2", "E2"))


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_writers_round_trip(tmp_path: Path, suffix: str) -> None:
    write_mentors(tmp_path / f"mentors{suffix}", MENTORS)
    write_mentees(tmp_path / f"mentees{suffix}", MENTEES)
    for kind in ("exclusions", "locks", "previous"):
        write_pairs(tmp_path / f"{kind}{suffix}", PAIRS, kind)
    assert read_mentors(tmp_path / f"mentors{suffix}", Settings()) == MENTORS
    assert read_mentees(tmp_path / f"mentees{suffix}", Settings()) == MENTEES
    assert read_pairs(tmp_path / f"exclusions{suffix}", "exclusions") == PAIRS
    # Locks and previous pairs have no reason column.
    plain = tuple(PairRef(p.mentor_id, p.mentee_id) for p in PAIRS)
    assert read_pairs(tmp_path / f"locks{suffix}", "locks") == plain
    assert read_pairs(tmp_path / f"previous{suffix}", "previous") == plain


def test_written_mentors_csv_text(tmp_path: Path) -> None:
    path = tmp_path / "mentors.csv"
    write_mentors(path, MENTORS)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[1] == (
        "M1,Zoë O’Brien,zoe@example.org,0123456,A81001,North,6,4,1,wellbeing;leadership,"
        "mon_am;tue_pm,virtual;face_to_face,51.5072,-0.1276,female,Irish,yes,10,6.5,paused,E1"
    )
    assert lines[2] == "M2,'=HYPERLINK(x),,,,,,,0,,,virtual,,,,,no,,,active,"
