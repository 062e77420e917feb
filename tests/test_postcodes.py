"""Postcode lookups: normalising postcodes, reading ONS and hand-made lookup files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from matcher.cells import CellError
from matcher.errors import InputError, Problem
from matcher.postcodes import (
    NOT_A_POSTCODE,
    Location,
    PostcodeError,
    load_lookup,
    normalise_postcode,
)

# Columns of an ONS Postcode Directory extract, trimmed: the lookup reads pcds, lat and long.
ONS_HEADER = (
    "pcd,pcd2,pcds,dointr,doterm,oscty,oslaua,osward,usertype,"
    "oseast1m,osnrth1m,osgrdind,ctry,rgn,lat,long,lsoa21,imd"
)


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def ons_file(folder: Path, rows: list[tuple[str, str, str, str]], name: str = "ons.csv") -> Path:
    """An ONS-like extract from (pcds, doterm, lat, long) rows; pcd and pcd2 as ONS pads them."""
    lines = [ONS_HEADER]
    for pcds, doterm, lat, long in rows:
        outward, inward = pcds.split()
        pcd = outward.ljust(4)[: 7 - len(inward)] + inward  # 7 characters: "B1  1AA"
        pcd2 = outward.ljust(4) + " " + inward  # 8 characters: "B1   1AA"
        lines.append(
            f"{pcd},{pcd2},{pcds},199801,{doterm},E99999999,E06000042,E05009000,0,"
            f"485000,238000,1,E92000001,E12000008,{lat},{long},E01000001,12345"
        )
    return write(folder, name, "\n".join(lines) + "\n")


def problems_of(path: Path) -> tuple[Problem, ...]:
    with pytest.raises(InputError) as caught:
        load_lookup(path)
    return caught.value.problems


# --- normalising ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SW1A 1AA", "SW1A 1AA"),
        ("sw1a1aa", "SW1A 1AA"),
        ("  Sw1a   1aA ", "SW1A 1AA"),
        ("SW1A\u00a01AA", "SW1A 1AA"),  # a non-breaking space, pasted from a web page
        ("SW1A1 AA", "SW1A 1AA"),  # spaces anywhere: the inward code is always the last three
        ("B1  1AA", "B1 1AA"),  # ONS pcd: 7 characters, padded
        ("MK9  2AA", "MK9 2AA"),  # ONS pcd2: 8 characters
        ("m11ae", "M1 1AE"),
        ("CR2 6XH", "CR2 6XH"),
        ("DN55 1PT", "DN55 1PT"),
        ("W1A 0AX", "W1A 0AX"),
        ("EC1A 1BB", "EC1A 1BB"),
        ("gir 0aa", "GIR 0AA"),
        ("SW1A", "SW1A"),
        ("mk9", "MK9"),
        (" b1 ", "B1"),
        ("EC1A", "EC1A"),
        ("dn55", "DN55"),
    ],
)
def test_normalise_accepts_postcodes_and_outward_codes(text: str, expected: str) -> None:
    assert normalise_postcode(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "SW1A 1A",  # inward code cut short
        "SW1A 1",  # a sector, not a postcode
        "SW1A 1AAA",
        "SW1A-1AA",
        "SW1A IAA",  # letter I for the digit 1: not guessed
        "ABC1 1AA",  # three letters before the digit
        "1AA",
        "12345",
        "SW",
        "SW1A1AA.",
        "ＳＷ１Ａ １ＡＡ",  # full-width letters
        "SW1A 1AA, London",
    ],
)
def test_normalise_refuses_anything_else(text: str) -> None:
    with pytest.raises(PostcodeError) as caught:
        normalise_postcode(text)
    assert str(caught.value) == (
        "not a UK postcode (expected e.g. SW1A 1AA, or the outward code SW1A)"
    )
    assert str(caught.value) == NOT_A_POSTCODE
    # A reader's cell parsers catch CellError (a ValueError) and name file, row and column.
    assert isinstance(caught.value, CellError)
    assert isinstance(caught.value, ValueError)


# --- an ONS extract -----------------------------------------------------------------------


def test_ons_extract_locates_postcodes_and_falls_back_to_districts(tmp_path: Path) -> None:
    path = ons_file(
        tmp_path,
        [
            ("MK9 2AA", "", "52.040000", "-0.760000"),
            ("MK9 2BB", "", "52.044000", "-0.756000"),
            ("MK9 3CC", "", "52.042000", "-0.764000"),
            # Terminated in 2018 but still a place: kept.
            ("MK9 1ZZ", "201805", "52.034000", "-0.760000"),
            ("SW1A 1AA", "", "51.501009", "-0.141588"),
            # ONS: no grid reference (Guernsey; a PO box) - left out and counted.
            ("GY1 1AA", "", "99.999999", "0.000000"),
            ("MK9 4DD", "", "99.999999", "0.000000"),
        ],
    )
    lookup = load_lookup(path)

    assert lookup.file == "ons.csv"
    assert len(lookup) == 5
    assert lookup.skipped == 2
    assert lookup.locate("mk92aa") == Location(52.04, -0.76, "postcode")
    assert lookup.locate("SW1A 1AA") == Location(51.501009, -0.141588, "postcode")
    assert lookup.locate("MK9 1ZZ") == Location(52.034, -0.76, "postcode")
    # MK9 9ZZ is not listed: the centre of MK9's four postcodes (the terminated one too):
    # latitude (52.040 + 52.044 + 52.042 + 52.034) / 4 = 208.160 / 4 = 52.040,
    # longitude (-0.760 - 0.756 - 0.764 - 0.760) / 4 = -3.040 / 4 = -0.760.
    district = lookup.locate("MK9 9ZZ")
    assert district is not None
    assert district.by == "district"
    assert district.latitude == pytest.approx(52.040, abs=1e-12)
    assert district.longitude == pytest.approx(-0.760, abs=1e-12)
    assert lookup.locate("MK9") == district
    # Listed without a grid reference: placed like an unlisted one, by its district.
    assert lookup.locate("MK9 4DD") == district
    # SW1A has one postcode, so its centre is that postcode.
    assert lookup.locate("SW1A 2AA") == Location(51.501009, -0.141588, "district")
    # Neither the postcode nor its district is known.
    assert lookup.locate("MK10 1AA") is None
    assert lookup.locate("MK10") is None
    # Skipped for want of a grid reference, and no other GY1 postcode: not placed.
    assert lookup.locate("GY1 1AA") is None
    with pytest.raises(PostcodeError):
        lookup.locate("Milton Keynes")


def test_ons_pcd_column_alone_is_read(tmp_path: Path) -> None:
    # The 7-character pcd form pads short outward codes with spaces.
    path = write(tmp_path, "pcd.csv", "PCD,LAT,LONG\nB1  1AA,52.480000,-1.900000\n")
    assert load_lookup(path).locate("B1 1AA") == Location(52.48, -1.9, "postcode")


# --- hand-made files ----------------------------------------------------------------------


def test_hand_made_outward_code_file(tmp_path: Path) -> None:
    text = " Outward Code ,Latitude,LNG\nMK9,52.040,-0.760\nmk10, 52.030 ,-0.710\n\n"
    lookup = load_lookup(write(tmp_path, "districts.csv", text))

    assert len(lookup) == 2
    assert lookup.skipped == 0
    assert lookup.locate("MK10 4AB") == Location(52.03, -0.71, "district")
    assert lookup.locate("mk9") == Location(52.04, -0.76, "district")
    assert lookup.locate("MK11 1AA") is None


def test_a_district_the_file_gives_wins_over_the_mean_of_its_postcodes(tmp_path: Path) -> None:
    text = (
        "postcode,latitude,longitude\n"
        "SW1A 1AA,51.501009,-0.141588\n"
        "SW1A,51.500000,-0.130000\n"
        "SW1A 2AA,51.503540,-0.127695\n"
    )
    lookup = load_lookup(write(tmp_path, "mixed.csv", text))

    assert len(lookup) == 3
    assert lookup.locate("SW1A 2AA") == Location(51.50354, -0.127695, "postcode")
    assert lookup.locate("SW1A 9ZZ") == Location(51.5, -0.13, "district")


def test_a_full_postcode_in_an_outward_code_column_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "outcode,lat,lon\nMK9,52.04,-0.76\nMK9 2AA,52.04,-0.76\n")
    assert problems_of(path) == (
        Problem(
            "d.csv",
            3,
            "outcode",
            "MK9 2AA",
            "a full postcode in a column of outward codes (expected e.g. SW1A)",
        ),
    )


def test_semicolon_file_with_bom_and_cp1252_file_are_read(tmp_path: Path) -> None:
    bom = write(tmp_path, "bom.csv", "\ufeffPostcode;Lat;Long\nSW1A 1AA;51.501009;-0.141588\n")
    assert load_lookup(bom).locate("SW1A1AA") == Location(51.501009, -0.141588, "postcode")
    text = "postcode,latitude,longitude,place\nSW1A 1AA,51.501009,-0.141588,Café Royal\n"
    old = write(tmp_path, "cp1252.csv", text, encoding="cp1252")
    assert load_lookup(old).locate("SW1A 1AA") == Location(51.501009, -0.141588, "postcode")


# --- problems -----------------------------------------------------------------------------


def test_same_postcode_twice_same_coordinates_is_fine(tmp_path: Path) -> None:
    text = (
        "postcode,latitude,longitude\n"
        "SW1A 1AA,51.501009,-0.141588\n"
        "sw1a1aa,51.5010090,-0.141588\n"
        "MK9,52.04,-0.76\n"
        "MK9,52.040,-0.760\n"
    )
    lookup = load_lookup(write(tmp_path, "twice.csv", text))
    assert len(lookup) == 2
    assert lookup.locate("SW1A 1AA") == Location(51.501009, -0.141588, "postcode")


def test_same_postcode_twice_different_coordinates_is_a_problem(tmp_path: Path) -> None:
    text = (
        "postcode,latitude,longitude\n"
        "SW1A 1AA,51.501009,-0.141588\n"
        "MK9,52.04,-0.76\n"
        "SW1A1AA,51.503540,-0.127695\n"
        "MK9,52.05,-0.76\n"
    )
    assert problems_of(write(tmp_path, "clash.csv", text)) == (
        Problem(
            "clash.csv",
            4,
            "postcode",
            "SW1A 1AA",
            "given twice with different coordinates: row 2 has 51.501009, -0.141588; "
            "this row 51.50354, -0.127695",
        ),
        Problem(
            "clash.csv",
            5,
            "postcode",
            "MK9",
            "given twice with different coordinates: row 3 has 52.04, -0.76; this row 52.05, -0.76",
        ),
    )


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "cols.csv", "code,lat,lon\nSW1A 1AA,51.5,-0.14\n")
    assert problems_of(path) == (
        Problem(
            "cols.csv",
            None,
            "postcode",
            None,
            "required column is missing (expected one of: postcode, pcds, pcd, pcd2, "
            "post_code, postal_code, outward_code, outcode, district, postcode_district; "
            "found: code, lat, lon)",
        ),
    )
    path = write(tmp_path, "grid.csv", "pcds,oseast1m,osnrth1m\nSW1A 1AA,529090,179645\n")
    found = "found: pcds, oseast1m, osnrth1m"
    assert problems_of(path) == (
        Problem(
            "grid.csv",
            None,
            "latitude",
            None,
            f"required column is missing (expected one of: latitude, lat; {found})",
        ),
        Problem(
            "grid.csv",
            None,
            "longitude",
            None,
            f"required column is missing (expected one of: longitude, long, lon, lng; {found})",
        ),
    )


def test_bad_cells_are_all_listed_with_their_rows(tmp_path: Path) -> None:
    text = (
        "postcode,latitude,longitude\n"
        "SW1A 1AA,51.501009,-0.141588\n"
        "\n"  # a blank line is still a row of the spreadsheet (row 3)
        "SW1A 2AA,abc,-0.127695\n"
        "SW1A 3AA,,\n"
        "Westminster,51.5,-0.13\n"
        "SW1A 4AA,-0.13,51.5\n"
        "SW1A 5AA,nan,200\n"
        ",51.5,-0.13\n"
        "GY1 1AA,99.999999,0.000000\n"  # ONS's "no grid reference": not a problem
    )
    latitude = "expected a latitude in decimal degrees, e.g. 51.501009"
    longitude = "expected a longitude in decimal degrees, e.g. -0.141588"
    file = "bad.csv"
    assert problems_of(write(tmp_path, file, text)) == (
        Problem(file, 4, "latitude", "abc", f"not a number ({latitude})"),
        Problem(file, 5, "latitude", "", f"empty ({latitude})"),
        Problem(file, 5, "longitude", "", f"empty ({longitude})"),
        Problem(file, 6, "postcode", "Westminster", NOT_A_POSTCODE),
        Problem(
            file,
            7,
            "latitude",
            "-0.13",
            "outside the UK (expected a latitude between 49 and 61; "
            "are latitude and longitude swapped?)",
        ),
        Problem(
            file,
            7,
            "longitude",
            "51.5",
            "outside the UK (expected a longitude between -9 and 2; "
            "are latitude and longitude swapped?)",
        ),
        Problem(file, 8, "latitude", "nan", f"not a number ({latitude})"),
        Problem(
            file, 8, "longitude", "200", "outside the UK (expected a longitude between -9 and 2)"
        ),
        Problem(file, 9, "postcode", "", "empty, but the row gives coordinates"),
    )


def test_only_the_first_50_problems_are_listed_then_a_count(tmp_path: Path) -> None:
    rows = "".join(f"SW1A {i % 10}AA,x{i},-0.14\n" for i in range(60))
    problems = problems_of(write(tmp_path, "many.csv", "postcode,lat,long\n" + rows))
    assert len(problems) == 51
    assert [p.row for p in problems[:50]] == list(range(2, 52))
    assert problems[50] == Problem(
        "many.csv", None, None, None, "10 more problem(s) like these not listed (60 in all)"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n \n", "the file is empty"),
        (
            b"PK\x03\x04rest",
            "not a CSV file: it looks like a zip file or an .xlsx workbook "
            "(from an ONS download, extract the CSV)",
        ),
        (b"postcode,lat,long\n", "no postcode with coordinates in the file"),
        (
            b"pcds,lat,long\nGY1 1AA,99.999999,0.000000\n",
            "no postcode with coordinates in the file (1 row(s) without a grid reference)",
        ),
        (
            b"postcode,lat,long\nSW1A 1AA,51.5,-0.14\n\x9d\n",  # 0x9d: neither UTF-8 nor cp1252
            "not a text file in a known encoding: save it as CSV UTF-8",
        ),
    ],
)
def test_whole_file_problems(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "lookup.csv"
    path.write_bytes(content)
    assert problems_of(path) == (Problem("lookup.csv", None, None, None, message),)


def test_missing_file(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nowhere.csv") == (
        Problem("nowhere.csv", None, None, None, "file not found"),
    )


# --- cache --------------------------------------------------------------------------------


def test_cache_returns_the_same_lookup_until_the_file_changes(tmp_path: Path) -> None:
    path = write(tmp_path, "cached.csv", "postcode,lat,long\nSW1A 1AA,51.501009,-0.141588\n")
    first = load_lookup(path)
    assert load_lookup(path) is first
    assert load_lookup(str(path)) is first
    assert load_lookup(tmp_path / "." / "cached.csv") is first  # same file, other spelling

    # Same size, other coordinates; the modification time moves on by a second.
    path.write_text("postcode,lat,long\nSW1A 1AA,51.503540,-0.127695\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = load_lookup(path)
    assert second is not first
    assert second.locate("SW1A 1AA") == Location(51.50354, -0.127695, "postcode")
    assert first.locate("SW1A 1AA") == Location(51.501009, -0.141588, "postcode")
    assert load_lookup(path) is second


def test_a_bad_file_is_not_cached(tmp_path: Path) -> None:
    path = write(tmp_path, "fixed.csv", "postcode,lat,long\nSW1A 1AA,x,-0.141588\n")
    assert len(problems_of(path)) == 1
    path.write_text("postcode,lat,long\nSW1A 1AA,51.501009,-0.141588\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert len(load_lookup(path)) == 1
