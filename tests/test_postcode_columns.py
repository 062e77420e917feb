"""A `postcode` column instead of latitude and longitude: places come only from the scheme's
lookup, and a distance a rule needs is never guessed or skipped."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import problems_of
from resaved import LMC, Sheet

from matcher.cli import main
from matcher.data import ProblemData
from matcher.readers import load_problem
from matcher.rules import allowed_pairs
from matcher.settings import Settings

EXCLUSIONS = LMC / "exclusions.csv"


@pytest.fixture(scope="module")
def clean() -> ProblemData:
    return load_problem(LMC / "mentors.csv", LMC / "mentees.csv", EXCLUSIONS)


def _load(mentors: Path, mentees: Path, settings: Settings | None = None) -> ProblemData:
    return load_problem(mentors, mentees, EXCLUSIONS, settings=settings)


def _postcodes(sheet: Sheet, start: int) -> dict[str, tuple[str, str]]:
    """A made-up postcode per row (MK1 1AA, MK1 1AB, ...) -> that row's coordinates."""
    lat, lon = sheet.column("latitude"), sheet.column("longitude")
    return {
        f"MK{1 + (start + i) // 26} {1 + (start + i) % 9}A{chr(65 + (start + i) % 26)}": (a, b)
        for i, (a, b) in enumerate(zip(lat, lon, strict=True))
    }


def _with_postcodes(tmp_path: Path) -> tuple[Path, Path, Path]:
    files = []
    lookup: dict[str, tuple[str, str]] = {}
    for kind, start in (("mentors", 0), ("mentees", 1000)):
        sheet = Sheet.of(kind)
        codes = _postcodes(sheet, start)
        lookup.update(codes)
        spelled = [c.lower().replace(" ", "") for c in codes]  # as typed: mk11aa
        sheet = sheet.without("latitude", "longitude", "postcode").with_column(
            "Postcode", spelled.__getitem__
        )
        files.append(sheet.save(tmp_path / f"{kind}.csv"))
    table = tmp_path / "postcodes.csv"
    with table.open("w", newline="") as handle:
        csv.writer(handle).writerows(
            [["pcds", "lat", "long"], *([c, *p] for c, p in lookup.items())]
        )
    return files[0], files[1], table


def test_postcodes_become_the_same_places_through_the_schemes_lookup(
    tmp_path: Path, clean: ProblemData
) -> None:
    mentors, mentees, _table = _with_postcodes(tmp_path)
    settings = tmp_path / "settings.toml"
    settings.write_text('[locations]\npostcode_lookup = "postcodes.csv"\n')
    read = _load(mentors, mentees, Settings.from_toml(settings))
    assert [replace(m, postcode=None) for m in read.mentors] == list(clean.mentors)
    assert [replace(m, postcode=None) for m in read.mentees] == list(clean.mentees)
    assert read.mentors[0].postcode == "MK1 1AA"


def test_postcodes_without_a_lookup_stop_a_round_that_needs_a_distance(tmp_path: Path) -> None:
    mentors, mentees, _table = _with_postcodes(tmp_path)
    out = tmp_path / "round"
    code = main(["match", str(mentors), str(mentees), "--out", str(out), "--quiet"])
    assert code == 2 and not out.exists()


def test_postcode_without_lookup_names_the_people_and_how_to_supply_one(tmp_path: Path) -> None:
    mentors, mentees, _table = _with_postcodes(tmp_path)
    problem = _load(mentors, mentees)  # reading is fine: nothing needs a distance yet
    problems = problems_of(lambda: allowed_pairs(problem))
    assert problems and {p.column for p in problems} == {"postcode"}
    assert problems[0].message.startswith(
        "a face-to-face-only pair needs this distance, but no postcode lookup turns the "
        "postcode into a place: name a CSV of postcode, latitude, longitude"
    )
    assert "(hidden" in str(problems[0])  # a postcode is personal data: never echoed


def test_virtual_only_people_need_no_place(tmp_path: Path) -> None:
    mentors, _mentees, _table = _with_postcodes(tmp_path)
    sheet = (
        Sheet.of("mentees").without("latitude", "longitude").rewritten("modes", lambda _: "virtual")
    )
    problem = _load(mentors, sheet.save(tmp_path / "virtual.csv"))
    assert len(allowed_pairs(problem)) > 0
