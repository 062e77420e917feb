"""Writing mentors, mentees and pair files: reading them back gives equal records."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from matcher.data import Mentee, Mentor, PairRef
from matcher.readers import read_mentees, read_mentors, read_pairs
from matcher.settings import Settings
from matcher.writers import write_mentees, write_mentors, write_pairs

DATA = Path(__file__).parent / "data" / "readers"


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
        "mon_am;tue_pm,virtual;face_to_face,51.5072,-0.1276,,female,Irish,yes,10,6.5,paused,E1"
    )
    assert lines[2] == "M2,'=HYPERLINK(x),,,,,,,0,,,virtual,,,,,,no,,,active,"
