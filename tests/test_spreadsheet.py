"""Reading and writing tables: encodings, delimiters, XLSX, bad files, formula-safe writes."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from matcher.errors import InputError, Problem
from matcher.safe_write import Row, safe_cell, write_csv, write_xlsx
from matcher.spreadsheet import Table, read_table


def whole_file_problem(path: Path) -> Problem:
    """The single whole-file problem reading ``path`` raises."""
    with pytest.raises(InputError) as caught:
        read_table(path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.column) == (path.name, None, None)
    return problem


# --- good files -----------------------------------------------------------------------------


def test_csv_utf8_header_normalised_and_rows_numbered_as_in_excel(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    # A blank line is a blank row in Excel: the row after it is row 4, not 3.
    path.write_text(" ID ,Name\n a1 , Zoë \n\nb2,Bo\n", encoding="utf-8")
    assert read_table(path) == Table.from_rows(
        "people.csv",
        ("id", "name"),
        ((2, {"id": "a1", "name": "Zoë"}), (4, {"id": "b2", "name": "Bo"})),
    )


def test_csv_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("id,name\nx,Zoë\n".encode("utf-8-sig"))
    table = read_table(path)
    assert table.header == ("id", "name")
    assert tuple(table.rows) == ((2, {"id": "x", "name": "Zoë"}),)


def test_csv_windows_1252_from_excel(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("id,name\nx,Zoë O’Brien\n".encode("cp1252"))
    assert tuple(read_table(path).rows) == ((2, {"id": "x", "name": "Zoë O’Brien"}),)


def test_utf16_tab_separated_unicode_text_export(tmp_path: Path) -> None:
    path = tmp_path / "unicode.csv"
    path.write_bytes("id\tname\r\nx\tZoë\r\n".encode("utf-16"))
    assert tuple(read_table(path).rows) == ((2, {"id": "x", "name": "Zoë"}),)


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("mentor_id,mentee_id\n", encoding="utf-8")
    assert read_table(path) == Table("header.csv", ("mentor_id", "mentee_id"), ())


def test_semicolon_and_tab_delimiters_detected_from_the_header(tmp_path: Path) -> None:
    semi = tmp_path / "semi.csv"
    semi.write_text("id;name\n1;Ann\n2;Bo\n", encoding="utf-8")
    tab = tmp_path / "tab.csv"
    tab.write_text("id\tname\n1\tAnn\n2\tBo\n", encoding="utf-8")
    expected = ((2, {"id": "1", "name": "Ann"}), (3, {"id": "2", "name": "Bo"}))
    assert tuple(read_table(semi).rows) == expected
    assert tuple(read_table(tab).rows) == expected


def test_semicolon_file_with_commas_inside_cells(tmp_path: Path) -> None:
    # European Excel saves with ';' and leaves commas in names unquoted.
    path = tmp_path / "euro.csv"
    path.write_text("id;name\n1;Smith, John\n2;Reid, Tom\n", encoding="utf-8")
    assert next(read_table(path).rows) == (2, {"id": "1", "name": "Smith, John"})


def test_comma_wins_when_header_has_commas_even_if_cells_hold_lists(tmp_path: Path) -> None:
    path = tmp_path / "lists.csv"
    path.write_text("id,areas\nM1,leadership;wellbeing\nM2,research;wellbeing\n", "utf-8")
    assert next(read_table(path).rows) == (2, {"id": "M1", "areas": "leadership;wellbeing"})


def test_quoted_cell_over_two_lines_is_one_row(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text('id,note\n1,"two\nlines"\n2,x\n', encoding="utf-8")
    assert tuple(read_table(path).rows) == (
        (2, {"id": "1", "note": "two\nlines"}),
        (3, {"id": "2", "note": "x"}),
    )


def test_short_rows_padded_unnamed_columns_ignored(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("id,,name,\n1\n2,junk,Bo,,\n", encoding="utf-8")
    table = read_table(path)
    assert table.header == ("id", "name")
    assert tuple(table.rows) == ((2, {"id": "1", "name": ""}), (3, {"id": "2", "name": "Bo"}))


def test_xlsx_first_sheet_numbers_dates_and_blanks(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([" Mentor_ID", "capacity_max", "latitude", "waiting_since", "joined", "img"])
    sheet.append(["  M1 ", 7.0, 51.5, date(2024, 3, 5), datetime(2023, 1, 2, 9, 30), True])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["M2", 3, -0.25, None, None, None])
    sheet["H4"] = "a note right of the table, in no named column"
    book.create_sheet("ignored").append(["not", "read"])
    book.save(path)
    assert read_table(path) == Table.from_rows(
        "book.xlsx",
        ("mentor_id", "capacity_max", "latitude", "waiting_since", "joined", "img"),
        (
            (
                2,
                {
                    "mentor_id": "M1",
                    "capacity_max": "7",
                    "latitude": "51.5",
                    "waiting_since": "2024-03-05",
                    # A date with a time keeps it; the date parsers read the date part.
                    "joined": "2023-01-02 09:30:00",
                    "img": "TRUE",
                },
            ),
            (
                4,
                {
                    "mentor_id": "M2",
                    "capacity_max": "3",
                    "latitude": "-0.25",
                    "waiting_since": "",
                    "joined": "",
                    "img": "",
                },
            ),
        ),
    )


# --- bad files: one whole-file problem, never a stack trace -----------------------------------


def test_missing_file(tmp_path: Path) -> None:
    assert whole_file_problem(tmp_path / "nope.csv").message == "file not found"


def test_folder_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "dir.csv").mkdir()
    assert whole_file_problem(tmp_path / "dir.csv").message == "is a folder, not a file"


@pytest.mark.parametrize("content", [b"", b"  \r\n\r\n", b",,,\n,,\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    assert whole_file_problem(path).message == "the file is empty"


def test_empty_workbook(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    Workbook().save(path)
    assert whole_file_problem(path).message == "the file is empty"


def test_pdf_renamed_csv(tmp_path: Path) -> None:
    path = tmp_path / "mentors.csv"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    assert "looks like a PDF" in whole_file_problem(path).message


def test_xlsx_renamed_csv(tmp_path: Path) -> None:
    path = tmp_path / "mentors.csv"
    Workbook().save(path)
    assert "looks like an .xlsx workbook" in whole_file_problem(path).message


def test_binary_renamed_csv(tmp_path: Path) -> None:
    path = tmp_path / "mentors.csv"
    path.write_bytes(b"id,name\n\x00\x01\x02\x03binary")
    assert "contains binary data" in whole_file_problem(path).message


def test_undecodable_bytes(tmp_path: Path) -> None:
    path = tmp_path / "mentors.csv"
    # 0x81 and 0x8d are invalid in UTF-8 and undefined in Windows-1252.
    path.write_bytes(b"id,name\n1,\x81\x8d\n")
    assert "not a text file in a known encoding" in whole_file_problem(path).message


def test_old_xls_format(tmp_path: Path) -> None:
    path = tmp_path / "mentors.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    assert whole_file_problem(path).message.startswith("old Excel format (.xls) is not supported")


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "mentors.txt"
    path.write_text("id\n1\n", encoding="utf-8")
    message = whole_file_problem(path).message
    assert message == "unknown file type '.txt': expected .csv or .xlsx"


def test_garbage_named_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "mentors.xlsx"
    path.write_text("id,name\n1,Ann\n", encoding="utf-8")
    assert "not an .xlsx workbook" in whole_file_problem(path).message


def test_password_protected_or_xls_named_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "mentors.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500))
    assert "password-protected" in whole_file_problem(path).message


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "mentors.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert "not a readable .xlsx workbook" in whole_file_problem(path).message


def test_duplicate_column_names_after_normalising(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("ID,name, id \n1,Ann,2\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert caught.value.problems == (
        Problem(
            "dup.csv",
            1,
            None,
            "id",
            "columns A ('ID') and C ('id') are both id: keep one of them",
        ),
    )


def test_more_cells_than_header_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "comma.csv"
    path.write_text("id,name\n1,Ann\n2,Smith, John\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_table(path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.column) == ("comma.csv", 3, None)
    assert problem.message == (
        "3 cells but only 2 columns in the header (a comma inside a cell that is not in quotes?)"
    )


# --- writing --------------------------------------------------------------------------------


def test_safe_cell_neutralises_formula_starts_but_not_numbers() -> None:
    assert [safe_cell(v) for v in ("=1+1", "+44", "-3", "@x", "\tx", "\rx")] == [
        "'=1+1",
        "'+44",
        "'-3",
        "'@x",
        "'\tx",
        "'\rx",
    ]
    assert [safe_cell(v) for v in (-3, -0.5, 7.0, None, "a=b", True)] == [
        "-3",
        "-0.5",
        "7",
        "",
        "a=b",
        "TRUE",
    ]
    assert safe_cell(float("-inf")) == "'-inf"


def test_write_csv_neutralises_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    header = ["id", "value"]
    rows: list[Row] = [
        ["a", "=1+1"],
        ["b", "+44"],
        ["c", "-3"],
        ["d", "@x"],
        ["e", 'Zoë, "the" O’Brien'],
        ["f", 2.5],
        {"id": "g"},
    ]
    write_csv(path, header, rows)
    raw = path.read_text(encoding="utf-8-sig").splitlines()
    assert raw[:5] == ["id,value", "a,'=1+1", "b,'+44", "c,'-3", "d,'@x"]
    # Reading our own export undoes the neutralising: values come back as they were.
    values = [row["value"] for _, row in tuple(read_table(path).rows)]
    assert values == ["=1+1", "+44", "-3", "@x", 'Zoë, "the" O’Brien', "2.5", ""]


def test_write_csv_bom_is_optional(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    write_csv(path, ["id"], [["Zoë"]], bom=False)
    assert path.read_bytes() == "id\r\nZoë\r\n".encode()


def test_write_csv_rejects_a_row_of_the_wrong_length(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="row 2 does not have 2 cells"):
        write_csv(tmp_path / "x.csv", ["a", "b"], [[1, 2], [1]])
    with pytest.raises(ValueError, match="columns not in the header"):
        write_csv(tmp_path / "x.csv", ["a"], [{"b": 1}])


def test_write_csv_leaves_nothing_half_written(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old content\n", encoding="utf-8")

    def rows() -> Iterator[list[str]]:
        yield ["1"]
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_csv(path, ["id"], rows())
    # The earlier file is untouched and no temporary file is left behind.
    assert path.read_text(encoding="utf-8") == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    with pytest.raises(RuntimeError):
        write_csv(tmp_path / "new.csv", ["id"], rows())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_write_xlsx_neutralises_text_keeps_numbers(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_xlsx(path, ["id", "value"], [["a", "=1+1"], ["b", -3], ["c", "bell\x07"]])
    sheet = load_workbook(path).worksheets[0]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["id", "value"],
        ["a", "'=1+1"],
        ["b", -3],
        ["c", "bell"],
    ]
    assert sheet["B2"].data_type == "s"
    assert [row["value"] for _, row in tuple(read_table(path).rows)] == ["=1+1", "-3", "bell"]


def test_write_xlsx_leaves_nothing_half_written(tmp_path: Path) -> None:
    def rows() -> Iterator[list[str]]:
        yield ["1"]
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_xlsx(tmp_path / "out.xlsx", ["id"], rows())
    assert list(tmp_path.iterdir()) == []
