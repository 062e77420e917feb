"""Single cells in the scheme's own words: every accepted spelling and every refusal, exactly."""

from __future__ import annotations

from datetime import date

import pytest

from matcher import cells
from matcher.cells import CellError
from matcher.vocab import COHORT_NAMES, COHORTS, MENTOR_STATUSES, STATUS_NAMES

COHORT_LIST = (
    "(expected one of fellow, mid_career, new_partner, retention_scheme, locum_to_salaried, "
    "returner, international_induction, other)"
)
SLOT_FORM = (
    "(expected day_part with day mon … sun and part am, pm or eve, e.g. tue_pm; "
    "separate slots with ';')"
)
MODE_FORM = "(expected virtual, face_to_face or both)"
DISTANCE_FORM = "(expected a number of km, e.g. 16, 16 km or 10 miles)"
DATE_FORM = "not a date (expected a date such as 18/04/2026, 18 Apr 2026 or 2026-04-18)"
TODAY = date(2026, 4, 18)


def refusal(parse: object, text: str) -> str:
    assert callable(parse)
    with pytest.raises(CellError) as caught:
        parse(text)
    return str(caught.value)


# --- cohorts -------------------------------------------------------------------------------


def test_cohort_names_cover_the_cohorts_in_order() -> None:
    assert tuple(COHORT_NAMES) == COHORTS
    assert tuple(STATUS_NAMES) == MENTOR_STATUSES


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *[(key, key) for key in COHORTS],
        ("GP Fellow", "fellow"),
        ("gp-fellow", "fellow"),
        ("GP  FELLOW", "fellow"),
        ("Fellow", "fellow"),
        ("New to Practice Fellow", "fellow"),
        ("New to Practice Fellowship", "fellow"),
        ("New to Practice Fellowship Programme", "fellow"),
        ("New to Practice", "fellow"),
        ("NTP Fellow", "fellow"),
        ("NTP", "fellow"),
        ("Fellowship", "fellow"),
        ("GP Fellowship", "fellow"),
        ("Newly qualified GP", "fellow"),
        ("Newly qualified", "fellow"),
        ("First5", "fellow"),
        ("First 5 GP", "fellow"),
        ("Mid-career GP", "mid_career"),
        ("Mid career", "mid_career"),
        ("MID-CAREER", "mid_career"),
        ("New GP partner", "new_partner"),
        ("New partner", "new_partner"),
        ("New to Partnership", "new_partner"),
        ("New to Partnership Payment Scheme", "new_partner"),
        ("NTPP", "new_partner"),
        ("GP Retention Scheme", "retention_scheme"),
        ("National GP Retention Scheme", "retention_scheme"),
        ("Retained GP", "retention_scheme"),
        ("Retention scheme", "retention_scheme"),
        ("Locum to salaried", "locum_to_salaried"),
        ("Locum moving to salaried", "locum_to_salaried"),
        ("Locum into salaried", "locum_to_salaried"),
        ("Locum", "locum_to_salaried"),
        ("Returner", "returner"),
        ("GP returner", "returner"),
        ("Returning GP", "returner"),
        ("Return to Practice", "returner"),
        ("Induction and Refresher", "returner"),
        ("Induction and Refresher Scheme", "returner"),
        ("I&R", "returner"),
        ("i & r", "returner"),
        ("International Induction", "international_induction"),
        ("International Induction Programme", "international_induction"),
        ("IIP", "international_induction"),
        ("International GP Recruitment", "international_induction"),
        ("International GP Recruitment Programme", "international_induction"),
        ("OTHER", "other"),
    ],
)
def test_cohort_read_from_the_schemes_words(text: str, expected: str) -> None:
    assert cells.cohort(text) == expected


@pytest.mark.parametrize(
    ("text", "guess"),
    [
        # Plurals are not in the table: refused, with the canonical key as the guess.
        ("GP Fellows", "fellow"),
        ("Returners", "returner"),
        ("Mid career GPs", "mid_career"),
        ("Locums", "locum_to_salaried"),
        ("Partner", "new_partner"),
        ("Retained", "retention_scheme"),
        ("new to practise", "fellow"),
    ],
)
def test_cohort_close_to_a_name_is_refused_with_a_guess(text: str, guess: str) -> None:
    assert refusal(cells.cohort, text) == f"not a known cohort: did you mean {guess}? {COHORT_LIST}"


@pytest.mark.parametrize("text", ["student", "astronaut", "GP", "Early career GP"])
def test_cohort_far_from_every_name_is_refused(text: str) -> None:
    assert refusal(cells.cohort, text) == f"not a known cohort {COHORT_LIST}"


# --- statuses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("active", "active"),
        ("Active", "active"),
        ("ACTIVE", "active"),
        ("paused", "paused"),
        ("on hold", "paused"),
        ("On-Hold", "paused"),
        ("withdrawn", "withdrawn"),
        ("Withdrawn", "withdrawn"),
    ],
)
def test_status_read(text: str, expected: str) -> None:
    assert cells.status(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # "left" could mean withdrawn or only paused: never guessed.
        ("left", "not a known status (expected one of active, paused, withdrawn)"),
        ("left the scheme", "not a known status (expected one of active, paused, withdrawn)"),
        ("retired", "not a known status (expected one of active, paused, withdrawn)"),
        ("pause", "not a known status: did you mean paused? (expected one of active, paused, withdrawn)"),
        ("withdrawen", "not a known status: did you mean withdrawn? (expected one of active, paused, withdrawn)"),
    ],
)  # fmt: skip
def test_status_refused(text: str, message: str) -> None:
    assert refusal(cells.status, text) == message


# --- weekly slots --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon_am", {"mon_am"}),
        ("Mon AM", {"mon_am"}),
        ("SUN_EVE", {"sun_eve"}),
        ("tue-pm", {"tue_pm"}),
        ("Monday morning", {"mon_am"}),
        ("Mondays mornings", {"mon_am"}),
        ("morning Mon", {"mon_am"}),
        ("mon a.m.", {"mon_am"}),
        ("Tues afternoon", {"tue_pm"}),
        ("Wednesday p.m.", {"wed_pm"}),
        ("weds afternoons", {"wed_pm"}),
        ("Thu evening", {"thu_eve"}),
        ("thur eve", {"thu_eve"}),
        ("Thurs night", {"thu_eve"}),
        ("thursday evenings", {"thu_eve"}),
        ("Friday AM", {"fri_am"}),
        ("Saturday morning", {"sat_am"}),
        ("sat pm", {"sat_pm"}),
        ("Sunday evening", {"sun_eve"}),
        ("Mon AM; Monday morning; tue-pm;", {"mon_am", "tue_pm"}),
    ],
)
def test_slots_read_from_words(text: str, expected: set[str]) -> None:
    assert cells.slots(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "weekday evenings",
            "'weekday evenings' is not a weekly slot: name each one, "
            "e.g. mon_eve; tue_eve; wed_eve; thu_eve; fri_eve",
        ),
        (
            "Mon-Fri evenings",
            "'Mon-Fri evenings' is not a weekly slot: name each one, "
            "e.g. mon_eve; tue_eve; wed_eve; thu_eve; fri_eve",
        ),
        (
            "Fri to Mon pm",
            "'Fri to Mon pm' is not a weekly slot: name each one, e.g. fri_pm; sat_pm; sun_pm; mon_pm",
        ),
        (
            "weekends",
            "'weekends' is not a weekly slot: name each one, "
            "e.g. sat_am; sat_pm; sat_eve; sun_am; sun_pm; sun_eve",
        ),
        (
            "evenings",
            "'evenings' is not a weekly slot: name each one, "
            "e.g. mon_eve; tue_eve; wed_eve; thu_eve; fri_eve; sat_eve; sun_eve",
        ),
        (
            "Monday",
            "'Monday' is not a weekly slot: add a part of the day, e.g. mon_am, mon_pm or mon_eve",
        ),
        (
            "Mon AM; thurs",
            "'thurs' is not a weekly slot: add a part of the day, e.g. thu_am, thu_pm or thu_eve",
        ),
        ("any", "'any' is not a weekly slot: an empty cell means any slot"),
        ("Any time", "'Any time' is not a weekly slot: an empty cell means any slot"),
        ("anytime", "'anytime' is not a weekly slot: an empty cell means any slot"),
        ("Flexible", "'Flexible' is not a weekly slot: an empty cell means any slot"),
        ("noon", f"not a known slot: noon {SLOT_FORM}"),
        ("golf; noon", f"not a known slot: golf, noon {SLOT_FORM}"),
        ("monam", f"not a known slot: monam - did you mean mon_am? {SLOT_FORM}"),
        ("Mnoday morning", f"not a known slot: mnoday_morning - did you mean mon_am? {SLOT_FORM}"),
        (
            "Mon AM, Tue PM",
            f"not a known slot: mon_am,_tue_pm - did you mean mon_am; tue_pm? {SLOT_FORM}",
        ),
        # Two days in one item: no single slot to suggest.
        ("Mon AM Tue PM", f"not a known slot: mon_am_tue_pm {SLOT_FORM}"),
        (
            "Monday; golf; Monday",
            f"not a known slot: golf {SLOT_FORM}. 'Monday' is not a weekly slot: add a part of "
            "the day, e.g. mon_am, mon_pm or mon_eve",
        ),
    ],
)
def test_slots_refused_with_what_to_write(text: str, message: str) -> None:
    assert refusal(cells.slots, text) == message


# --- modes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("virtual", {"virtual"}),
        ("Online", {"virtual"}),
        ("video", {"virtual"}),
        ("Remote", {"virtual"}),
        ("face_to_face", {"face_to_face"}),
        ("face to face", {"face_to_face"}),
        ("Face-to-face", {"face_to_face"}),
        ("F2F", {"face_to_face"}),
        ("f2f", {"face_to_face"}),
        ("in person", {"face_to_face"}),
        ("In-person", {"face_to_face"}),
        ("both", {"virtual", "face_to_face"}),
        ("Either", {"virtual", "face_to_face"}),
        ("virtual; F2F", {"virtual", "face_to_face"}),
        (";", {"virtual"}),
    ],
)
def test_modes_read(text: str, expected: set[str]) -> None:
    assert cells.modes(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("carrier pigeon", f"not a known mode: carrier_pigeon {MODE_FORM}"),
        ("virtaul", f"not a known mode: virtaul - did you mean virtual? {MODE_FORM}"),
        ("face 2 face", f"not a known mode: face_2_face - did you mean face_to_face? {MODE_FORM}"),
        ("online; phone", f"not a known mode: phone {MODE_FORM}"),
    ],
)
def test_modes_refused(text: str, message: str) -> None:
    assert refusal(cells.modes, text) == message


# --- distances -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "km"),
    [
        ("16", 16.0),
        ("16.5", 16.5),
        ("16 km", 16.0),
        ("16km", 16.0),
        ("16 KM", 16.0),
        ("16 kilometres", 16.0),
        ("16 kilometers", 16.0),
        # 10 miles = 16.09344 km, rounded to the metre
        ("10 miles", 16.093),
        ("10 mile", 16.093),
        ("10mi", 16.093),
        ("10 mi", 16.093),
        ("3.5 Miles", 5.633),  # 5.632704
    ],
)
def test_distance_read(text: str, km: float) -> None:
    assert cells.distance_km(text) == km


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "out of range (expected above 0)"),
        ("0 km", "out of range (expected above 0)"),
        ("-5 mi", "out of range (expected above 0)"),
        ("0.0001 miles", "out of range (expected above 0)"),  # 0.00016 km rounds to 0
        ("inf", "out of range (expected above 0)"),
        ("nan", "out of range (expected above 0)"),
        ("far", f"not a distance {DISTANCE_FORM}"),
        ("10-15 km", f"not a distance {DISTANCE_FORM}"),
        ("10 furlongs", f"not a known unit: furlongs {DISTANCE_FORM}"),
        ("10 mils", f"not a known unit: mils - did you mean miles? {DISTANCE_FORM}"),
    ],
)
def test_distance_refused(text: str, message: str) -> None:
    assert refusal(cells.distance_km, text) == message


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2026-04-18",
        "2026-4-18",
        "2026-04-18 00:00:00",
        "2026-04-18T00:00:00",
        "18/4/26",
        "18/04/26",
        "18/4/2026",
        "18/04/2026",
        "18/04/2026 00:00",
        "18-04-2026",
        "18-4-26",
        "18.04.2026",
        "18.4.26",
        "18 April 2026",
        "18 april 2026",
        "18 Apr 2026",
        "18 Apr 26",
        "18-Apr-26",
        "18th April 2026",
    ],
)
def test_date_read_in_every_form(text: str) -> None:
    assert cells.past_date(TODAY)(text) == date(2026, 4, 18)


def test_dates_are_day_first_and_two_digit_years_are_this_century() -> None:
    parse = cells.past_date(TODAY)
    assert parse("05/03/24") == date(2024, 3, 5)
    assert parse("1 Sept 2025") == date(2025, 9, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2024-13-01", DATE_FORM),
        ("31/02/2024", DATE_FORM),
        ("March 2024", DATE_FORM),
        ("18 Aprl 2026", DATE_FORM),
        ("18/04/2026 25:00", DATE_FORM),
        ("12345", DATE_FORM),
        ("2/30/2026", DATE_FORM),  # month/day order, but 30 February does not exist either
        (
            "4/18/2026",
            "not a date: looks like month/day order, but dates must be day/month "
            "- did you mean 18/04/2026?",
        ),
        (
            "4/18/26",
            "not a date: looks like month/day order, but dates must be day/month "
            "- did you mean 18/04/2026?",
        ),
        (
            "46130",
            "not a date: looks like an Excel date serial number "
            "(format the column as a date in the spreadsheet)",
        ),
        ("19/04/2026", "is in the future (today is 2026-04-18)"),
        ("2026-04-19T00:00:00", "is in the future (today is 2026-04-18)"),
        ("18/04/99", "is in the future (today is 2026-04-18)"),  # 2099, not 1999
    ],
)
def test_date_refused(text: str, message: str) -> None:
    assert refusal(cells.past_date(TODAY), text) == message


# --- yes / no ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("Yes", True),
        ("Y", True),
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("no", False),
        ("n", False),
        ("False", False),
        ("0", False),
    ],
)
def test_yes_no_read(text: str, expected: bool) -> None:
    assert cells.yes_no(text) is expected


@pytest.mark.parametrize("text", ["maybe", "yep", "x"])
def test_yes_no_refused(text: str) -> None:
    assert refusal(cells.yes_no, text) == "expected yes or no (or leave it empty)"


# --- focus areas ---------------------------------------------------------------------------

FOCUS = cells.focus_list(["leadership", "wellbeing", "career_planning"])
FOCUS_FORM = "(expected career_planning, leadership, wellbeing)"


def test_focus_areas_read_whatever_the_spacing_and_case() -> None:
    assert FOCUS("Leadership; Well-being; career planning") == (
        "leadership",
        "wellbeing",
        "career_planning",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("leadershp", f"not a known focus area: leadershp - did you mean leadership? {FOCUS_FORM}"),
        ("golf", f"not a known focus area: golf {FOCUS_FORM}"),
        (
            "leadership, wellbeing",
            f"not a known focus area: leadership,_wellbeing - separate items with ';' {FOCUS_FORM}",
        ),
        ("Career planning; careerplanning", "listed more than once: career_planning"),
    ],
)
def test_focus_areas_refused(text: str, message: str) -> None:
    assert refusal(FOCUS, text) == message
