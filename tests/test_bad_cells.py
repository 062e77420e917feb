"""Every kind of bad cell in a mentors or mentees file, one test each, with the exact problem."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from helpers import mentee_cell, mentor_cell, one, problems_of, write

from matcher.columns import MENTORS
from matcher.errors import InputError, Problem
from matcher.notes import Note
from matcher.readers import mentors_file, read_mentees, read_mentors
from matcher.settings import CapacitySettings, Settings
from matcher.spreadsheet import read_table

DATA = Path(__file__).parent / "data" / "readers"


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
    ],
)
def test_capacity_max(tmp_path: Path, value: str, message: str) -> None:
    assert one(mentor_cell(tmp_path, "capacity_max", value), "mentors.csv", 2, "capacity_max") == (
        message
    )


@pytest.mark.parametrize(
    ("column", "value", "read", "side"),
    [
        ("capacity_max", "8", 6, "above the scheme's maximum (6)"),
        ("capacity_max", "1", 2, "below the scheme's minimum (2)"),
        ("capacity_min", "7", 6, "above the scheme's maximum (6)"),
    ],
)
def test_personal_capacity_outside_a_narrower_band_is_read_at_its_edge(
    tmp_path: Path, column: str, value: str, read: int, side: str
) -> None:
    # A local band of 2-6: a mentor's 8 (fine nationally) is read as 6, with a warning
    # naming the mentor; the file is not refused, and what was written is what is stored.
    path = write(tmp_path / "mentors.csv", f"mentor_id,name,{column}", f"M1,Ann,{value}")
    settings = Settings(capacity=CapacitySettings(min=2, max=6))
    people = mentors_file(read_table(path, MENTORS), settings)
    assert getattr(people.records[0], column) == read
    assert dict(zip(people.table.header, people.stored[0], strict=True))[column] == value
    (note,) = [n for n in people.notes if n.warning]
    assert note == Note(
        "mentors.csv", (2,), column, f"{column} {value} is {side}: read as {read} for M1", True
    )


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
        mentor_cell(tmp_path, "availability", "Mon AM; monday; noon"),
        "mentors.csv",
        2,
        "availability",
    )
    # "Mon AM" is read; "noon" is unknown; "monday" is a day without a part of the day.
    assert message == (
        "not a known slot: noon (expected day_part with day mon … sun and part am, pm or eve, "
        "e.g. tue_pm; separate slots with ';'). 'monday' is not a weekly slot: add a part of "
        "the day, e.g. mon_am, mon_pm or mon_eve"
    )


def test_slot_spellings_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.csv", "mentor_id,name,availability", "M1,Ann,Mon AM;tue-pm; SUN_EVE;"
    )
    assert read_mentors(path, Settings())[0].availability == {"mon_am", "tue_pm", "sun_eve"}


def test_unknown_mode(tmp_path: Path) -> None:
    message = one(mentor_cell(tmp_path, "modes", "carrier pigeon"), "mentors.csv", 2, "modes")
    assert message == "not a known mode: carrier_pigeon (expected virtual, face_to_face or both)"


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
    # "GP Fellow" is read as fellow; the plural is not, but it is close enough to suggest.
    path = write(tmp_path / "mentees.csv", "mentee_id,name,cohort", "E1,Bo,GP Fellows")
    problems = problems_of(lambda: read_mentees(path, Settings()))
    assert problems == (
        Problem(
            "mentees.csv",
            2,
            "cohort",
            "GP Fellows",
            "not a known cohort: did you mean fellow? (expected one of fellow, mid_career, "
            "new_partner, retention_scheme, locum_to_salaried, returner, "
            "international_induction, other)",
        ),
    )


def test_repeated_preferred_mentor(tmp_path: Path) -> None:
    problems = mentee_cell(tmp_path, "preferred_mentors", "M1;M2;M1")
    assert one(problems, "mentees.csv", 2, "preferred_mentors") == "listed more than once: M1"


@pytest.mark.parametrize("value", ["2024-13-01", "31/02/2024", "March 2024", "5 Marhc 2024"])
def test_waiting_since_not_a_date(tmp_path: Path, value: str) -> None:
    message = one(mentee_cell(tmp_path, "waiting_since", value), "mentees.csv", 2, "waiting_since")
    assert message == "not a date (expected a date such as 18/04/2026, 18 Apr 2026 or 2026-04-18)"


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


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("mentor_id", "M" * 65, "an id may have at most 64 characters"),
        ("name", "N" * 256, "a name may have at most 255 characters"),
    ],
)
def test_ids_and_names_longer_than_the_records_keep(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    # The database keeps ids of 64 and names of 255 characters: longer is refused on reading.
    cells = {"mentor_id": "M1", "name": "Ann", column: value}
    path = write(
        tmp_path / "mentors.csv", "mentor_id,name", f"{cells['mentor_id']},{cells['name']}"
    )
    assert one(problems_of(lambda: read_mentors(path, Settings())), "mentors.csv", 2, column) == (
        message
    )
