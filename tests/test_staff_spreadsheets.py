"""Spreadsheets as staff keep them: the LMC sample re-saved with each quirk LMC offices have.

Every quirk either reads as the clean file does (equal records, so equal pairs and quality)
with a note saying how it was read, or is refused with the exact message. Never an accepted
file whose data differs from the clean one.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from helpers import problems_of
from resaved import LMC, Sheet

from matcher.cli import main
from matcher.data import ProblemData
from matcher.errors import Problem
from matcher.notes import Note
from matcher.readers import load_problem

EXCLUSIONS = LMC / "exclusions.csv"


@pytest.fixture(scope="module")
def clean() -> ProblemData:
    return load_problem(LMC / "mentors.csv", LMC / "mentees.csv", EXCLUSIONS)


def _load(mentors: Path | None = None, mentees: Path | None = None, **kw: object) -> ProblemData:
    files = (mentors or LMC / "mentors.csv", mentees or LMC / "mentees.csv", EXCLUSIONS)
    return load_problem(*files, **kw)  # type: ignore[arg-type]


def _same_people(read: ProblemData, clean: ProblemData) -> None:
    assert read.mentors == clean.mentors
    assert read.mentees == clean.mentees
    assert read.exclusions == clean.exclusions


def _notes(read: ProblemData, file: str) -> list[Note]:
    return [n for n in read.notes if n.file == file]


# --- headings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "column", "heading"),
    [
        ("mentors", "focus_areas", "Focus areas"),
        ("mentors", "focus_areas", "focus area"),
        ("mentors", "gmc_number", "GMC No."),
        ("mentors", "email", "E-mail address"),
        ("mentors", "current_mentees", "Current Mentees"),
        ("mentees", "waiting_since", "Waiting since"),
        ("mentees", "waiting_since", "waitingsince"),
        ("mentees", "needs", "Areas of need"),
        ("mentees", "max_distance_km", "Max distance (km)"),
        ("mentees", "mentor_gender_strict", "Mentor-Gender-Strict"),
    ],
)
def test_a_heading_written_another_way_is_read_as_its_column_with_a_note(
    tmp_path: Path, clean: ProblemData, kind: str, column: str, heading: str
) -> None:
    path = Sheet.of(kind).renamed(**{column: heading}).save(tmp_path / f"{kind}.csv")
    read = _load(**{kind: path})  # type: ignore[arg-type]
    _same_people(read, clean)
    letter = "ABCDEFGHIJKLMNOPQRSTUV"[Sheet.of(kind).header.index(column)]
    assert Note(f"{kind}.csv", (), column, f"read '{heading}' (column {letter}) as {column}") in (
        read.notes
    )


def test_a_mistyped_heading_is_refused_naming_the_column_it_probably_is(tmp_path: Path) -> None:
    path = Sheet.of("mentors").renamed(focus_areas="focus aeras").save(tmp_path / "mentors.csv")
    assert problems_of(lambda: _load(mentors=path)) == (
        Problem(
            "mentors.csv",
            1,
            None,
            "focus aeras",
            "column J is not a column of a mentor file: did you mean focus_areas? Rename the "
            "heading (or delete the column)",
        ),
    )


def test_a_shortened_heading_that_could_be_two_columns_is_refused(tmp_path: Path) -> None:
    path = Sheet.of("mentors").renamed(capacity_max="Capacity").save(tmp_path / "mentors.csv")
    (problem,) = problems_of(lambda: _load(mentors=path))
    assert problem.message == (
        "column G is not a column of a mentor file: did you mean capacity_max or "
        "capacity_min? Rename the heading (or delete the column)"
    )


def test_an_unknown_column_is_ignored_with_a_warning(tmp_path: Path, clean: ProblemData) -> None:
    sheet = Sheet.of("mentees").with_column("Notes", lambda i: f"phoned {i}")
    read = _load(mentees=sheet.save(tmp_path / "mentees.csv"))
    _same_people(read, clean)
    assert _notes(read, "mentees.csv") == [
        Note(
            "mentees.csv",
            (),
            None,
            "column W 'Notes' is not a column of a mentees file: ignored, not stored",
            warning=True,
        )
    ]


def test_two_headings_for_one_column_are_refused(tmp_path: Path) -> None:
    sheet = Sheet.of("mentors").with_column("Focus areas", lambda i: "research")
    (problem,) = problems_of(lambda: _load(mentors=sheet.save(tmp_path / "mentors.csv")))
    assert problem.message == (
        "columns J ('focus_areas') and W ('Focus areas') are both focus_areas: keep one of them"
    )


# --- where the table is ---------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_title_rows_above_the_header_are_skipped_and_said(
    tmp_path: Path, clean: ProblemData, suffix: str
) -> None:
    title = ("Supporting Mentors Scheme - mentor register", "Exported 01/11/2026")
    path = Sheet.of("mentors").save(tmp_path / f"mentors{suffix}", title=title)
    read = _load(mentors=path)
    _same_people(read, clean)
    assert [m.source.row for m in read.mentors[:2] if m.source] == [5, 6]
    assert Note(
        f"mentors{suffix}", (1, 2), None, "above the header (row 4): not read, taken for a title"
    ) in _notes(read, f"mentors{suffix}")


def test_the_table_on_a_later_sheet_is_found_and_the_sheet_named(
    tmp_path: Path, clean: ProblemData
) -> None:
    path = Sheet.of("mentees").save(
        tmp_path / "mentees.xlsx", sheet="Waiting list", before=("Cover", "Guidance")
    )
    read = _load(mentees=path)
    _same_people(read, clean)
    assert (
        Note("mentees.xlsx", (), None, "read sheet 'Waiting list' (not read: 'Cover', 'Guidance')")
        in read.notes
    )


def test_a_sheet_named_like_the_kind_is_read_before_an_earlier_one(tmp_path: Path) -> None:
    # Both sheets hold a mentors table: the one named Mentors wins, and the other is named.
    path = Sheet.of("mentors").save(tmp_path / "mentors.xlsx", sheet="Mentors")
    from openpyxl import load_workbook

    book = load_workbook(path)
    old = book.create_sheet("Old register", 0)
    old.append(["mentor_id", "name"])
    old.append(["X1", "Dr Gone"])
    book.save(path)
    read = _load(mentors=path)
    assert len(read.mentors) == 30
    assert (
        Note(
            "mentors.xlsx",
            (),
            None,
            "sheet 'Old register' also has the headings of a mentors file and was not read: if "
            "it holds people too, import it as a file of its own",
            warning=True,
        )
        in read.notes
    )


def test_no_sheet_with_the_headings_names_the_sheets_and_what_to_do(tmp_path: Path) -> None:
    sheet = Sheet(("Surname", "Remarks"), (("Kaur", "keen"),))
    path = sheet.save(tmp_path / "mentors.xlsx", sheet="Data", before=("Cover",))
    (problem,) = problems_of(lambda: _load(mentors=path))
    assert problem.message == (
        "no row among the first 30 has the headings of a mentor file (mentor_id, name) "
        "(sheets: 'Cover', 'Data'): put the column names in one row above the data"
    )


def test_missing_required_columns_name_where_the_header_was_looked_for(tmp_path: Path) -> None:
    path = (
        Sheet.of("mentors")
        .without("mentor_id")
        .save(tmp_path / "mentors.xlsx", sheet="Data", before=("Cover",))
    )
    (problem,) = problems_of(lambda: _load(mentors=path))
    assert problem.column == "mentor_id"
    assert problem.message.startswith("required column is missing (found in sheet 'Data', row 1: ")
    assert problem.message.endswith("(sheets: 'Cover', 'Data'): add a column headed mentor_id")


def test_headings_differing_only_in_case_and_spaces_are_the_column_itself(
    tmp_path: Path, clean: ProblemData
) -> None:
    path = Sheet.of("mentees").renamed(needs=" Needs ", cohort="COHORT").save(tmp_path / "m.csv")
    read = _load(mentees=path)
    _same_people(read, clean)
    assert _notes(read, "m.csv") == []


def test_the_mentees_file_given_as_mentors_is_named(tmp_path: Path) -> None:
    (problem,) = problems_of(lambda: _load(mentors=LMC / "mentees.csv"))
    assert problem.message == (
        "required column is missing (found in row 1: mentee_id, name, email, cohort, "
        "practice_code, pcn, needs, availability, modes, latitude, longitude, postcode, "
        "max_distance_km, mentor_gender, mentor_gender_strict, same_ethnicity, same_img, "
        "preferred_mentors, waiting_since, gender, ethnicity, img): add a column headed "
        "mentor_id (this looks like a mentee file: is it the right file?)"
    )


# --- the scheme's own words -----------------------------------------------------------------

COHORT_WORDS = {
    "fellow": "GP Fellow",
    "mid_career": "Mid-career GP",
    "new_partner": "New GP partner",
    "retention_scheme": "GP Retention Scheme",
    "locum_to_salaried": "Locum to salaried",
    "returner": "Induction and Refresher",
    "international_induction": "International Induction Programme",
    "other": "Other",
}
DAYS = {
    "mon": "Monday",
    "tue": "Tue",
    "wed": "Wednesday",
    "thu": "Thu",
    "fri": "Friday",
    "sat": "Sat",
    "sun": "Sunday",
}
PARTS = {"am": "morning", "pm": "afternoon", "eve": "evening"}


def _slot_words(cell: str) -> str:
    return "; ".join(f"{DAYS[s[:3]]} {PARTS[s[4:]]}" for s in cell.split(";"))


def _uk_date(cell: str) -> str:
    day = date.fromisoformat(cell)
    return f"{day.day}/{day.month}/{day.year % 100:02d}"  # 18/4/26


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_schemes_own_words_read_as_the_contract_words(
    tmp_path: Path, clean: ProblemData, suffix: str
) -> None:
    sheet = (
        Sheet.of("mentees")
        .rewritten("cohort", COHORT_WORDS.__getitem__)
        .rewritten("availability", _slot_words)
        .rewritten("max_distance_km", lambda km: f"{km} km")
        .rewritten("waiting_since", _uk_date)
        .rewritten("modes", lambda m: {"virtual;face_to_face": "both"}.get(m, m.replace("_", " ")))
        .rewritten("same_img", str.title)
    )
    read = _load(mentees=sheet.save(tmp_path / f"mentees{suffix}"))
    _same_people(read, clean)
    said = {n.column: n.message for n in _notes(read, f"mentees{suffix}")}
    assert said["cohort"] == (
        "read in the contract's words (e.g. 'Mid-career GP' as 'mid_career', 'GP Fellow' as "
        "'fellow')"
    )
    assert "'18/4/26' as '2026-04-18'" in said["waiting_since"]


def test_real_excel_date_cells_read_as_dates(tmp_path: Path, clean: ProblemData) -> None:
    path = Sheet.of("mentees").save(tmp_path / "mentees.xlsx", dates=("waiting_since",))
    _same_people(_load(mentees=path), clean)


def test_miles_are_turned_into_km(tmp_path: Path, clean: ProblemData) -> None:
    sheet = Sheet.of("mentees").rewritten("max_distance_km", lambda km: "10 miles")
    read = _load(mentees=sheet.save(tmp_path / "mentees.csv"))
    assert {m.max_distance_km for m in read.mentees} == {None, 16.093}


def test_one_wrong_cohort_on_many_rows_is_one_line_naming_the_rows(tmp_path: Path) -> None:
    sheet = Sheet.of("mentees").rewritten("cohort", lambda c: "GP Fellows" if c == "fellow" else c)
    rows = [i + 2 for i, c in enumerate(Sheet.of("mentees").column("cohort")) if c == "fellow"]
    (problem,) = problems_of(lambda: _load(mentees=sheet.save(tmp_path / "mentees.csv")))
    assert problem.all_rows == tuple(rows) and len(rows) == 80
    assert problem.message == (
        "not a known cohort: did you mean fellow? (expected one of fellow, mid_career, "
        "new_partner, retention_scheme, locum_to_salaried, returner, international_induction, "
        "other)"
    )
    assert str(problem).startswith("mentees.csv, rows ")


def test_weekday_evenings_is_not_a_slot_and_says_so(tmp_path: Path) -> None:
    sheet = Sheet.of("mentors").rewritten("availability", lambda _: "weekday evenings")
    (problem,) = problems_of(lambda: _load(mentors=sheet.save(tmp_path / "mentors.csv")))
    assert problem.message == (
        "'weekday evenings' is not a weekly slot: name each one, e.g. mon_eve; tue_eve; "
        "wed_eve; thu_eve; fri_eve"
    )


# --- the band, and a whole round ------------------------------------------------------------


def test_a_personal_capacity_above_a_local_band_is_read_at_its_edge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text("[capacity]\nmin = 4\nmax = 6\n")
    sheet = Sheet.of("mentors").rewritten("capacity_max", lambda _: "8")
    eights = [
        m for m, c in zip(sheet.column("mentor_id"), sheet.column("capacity_max"), strict=True) if c
    ]
    path = sheet.save(tmp_path / "mentors.csv")
    argv = ["validate", str(path), str(LMC / "mentees.csv"), "--settings", str(settings)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    for mentor_id in eights:
        assert f"capacity_max 8 is above the scheme's maximum (6): read as 6 for {mentor_id}" in out


def test_a_resaved_register_gives_the_clean_rounds_pairs_and_quality(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mentors = (
        Sheet.of("mentors")
        .renamed(focus_areas="Focus areas", gmc_number="GMC number")
        .with_column("Notes", lambda i: "")
        .save(
            tmp_path / "mentors.xlsx",
            title=("Mentor register",),
            sheet="Register",
            before=("Cover",),
        )
    )
    mentees = (
        Sheet.of("mentees")
        .renamed(waiting_since="Waiting since")
        .rewritten("cohort", COHORT_WORDS.__getitem__)
        .rewritten("availability", _slot_words)
        .save(tmp_path / "mentees.csv", title=("Waiting list",))
    )
    outputs = {}
    for name, files in (
        ("clean", (LMC / "mentors.csv", LMC / "mentees.csv")),
        ("resaved", (mentors, mentees)),
    ):
        out = tmp_path / name
        argv = ["match", *map(str, files), "--exclusions", str(EXCLUSIONS), "--out", str(out)]
        assert main([*argv, "--time-limit", "20", "--quiet"]) == 0
        result = json.loads((out / "result.json").read_text())
        outputs[name] = ((out / "pairs.csv").read_text(encoding="utf-8-sig"), result["objective"])
    assert outputs["resaved"] == outputs["clean"]
    # --quiet drops the progress and the notes, never a warning.
    err = capsys.readouterr().err
    assert (
        "  warning: mentors.xlsx: column W 'Notes' is not a column of a mentors file: ignored, "
        "not stored"
    ) in err
    assert "note:" not in err
    result = json.loads((tmp_path / "resaved" / "result.json").read_text())
    assert {n["message"] for n in result["input_notes"]} >= {
        "read 'Focus areas' (column J) as focus_areas",
        "read sheet 'Register' (not read: 'Cover')",
    }


def test_validate_shows_how_every_column_was_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = (
        Sheet.of("mentors")
        .without("postcode")
        .renamed(focus_areas="Focus areas")
        .with_column("Notes", lambda i: "x")
        .save(tmp_path / "mentors.csv", title=("Register",))
    )
    assert main(["validate", str(path), str(LMC / "mentees.csv")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "mentors.csv: mentors, 30 rows (header on row 3)"
    assert "    J  Focus areas                 focus_areas (renamed)" in out
    assert (
        "    V  Notes                       ignored: not a column of a mentors file; not stored"
        in out
    )
    assert "  not in the file (defaults apply): postcode" in out


def test_a_header_without_rows_is_a_warning(tmp_path: Path) -> None:
    from matcher.columns import MENTORS
    from matcher.readers import mentors_file
    from matcher.spreadsheet import read_table

    path = tmp_path / "mentors.csv"
    path.write_text("Mentor register\n\nmentor_id,name\n")
    read = mentors_file(read_table(path, MENTORS))
    assert read.records == ()
    assert Note("mentors.csv", (), None, "no rows below the header (row 3)", True) in read.notes


def test_empty_cells_to_the_sheets_edge_are_not_columns(tmp_path: Path, clean: ProblemData) -> None:
    # Excel saves a CSV out to the last formatted column: 250 empty cells on every line are
    # not columns (nor more than the limit of 200).
    source = Sheet.of("mentors").save(tmp_path / "clean.csv")
    path = tmp_path / "mentors.csv"
    lines = source.read_text(encoding="utf-8-sig").splitlines()
    path.write_text("\n".join(line + "," * 250 for line in lines) + "\n", encoding="utf-8")
    _same_people(_load(mentors=path), clean)
