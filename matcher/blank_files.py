"""Files to start from: each kind's columns with one example row, as CSV or as a workbook.

The workbook has the table on a sheet named like its kind, the header frozen and bold, and a
second sheet, "Columns", that says what each column holds and the forms it accepts. Both
files read back through ``matcher.readers`` without a problem.
"""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from matcher.columns import SCHEMAS

# (column, what it holds and the forms it accepts, example)
_HELP: dict[str, tuple[str, str]] = {
    "mentor_id": ("unique id of the mentor in this file", "MR0001"),
    "mentee_id": ("unique id of the mentee in this file", "ME0001"),
    "name": ("display name", "Dr Ann Example"),
    "email": ("e-mail address", "ann.example@nhs.example"),
    "gmc_number": ("GMC number, 7 digits", "1234567"),
    "practice_code": ("the practice (ODS code): never matched with the same practice", "A81001"),
    "pcn": ("primary care network", "North PCN"),
    "capacity_max": ("most mentees at once (scheme's maximum if empty)", "6"),
    "capacity_min": ("fewest mentees when used (scheme's minimum if empty)", "4"),
    "current_mentees": ("mentees already being mentored", "1"),
    "focus_areas": ("';' list of focus areas", "leadership;wellbeing"),
    "needs": ("';' list of focus areas, most important first", "partnership;leadership"),
    "availability": (
        "';' list of weekly slots (mon_am, tue_pm, thu_eve, or Monday morning, Thu evening); "
        "empty = any",
        "mon_pm;thu_eve",
    ),
    "modes": ("virtual, face_to_face or both (';' list); empty = virtual", "virtual;face_to_face"),
    "latitude": ("for face-to-face distance, with longitude", "52.04"),
    "longitude": ("for face-to-face distance, with latitude", "-0.76"),
    "postcode": (
        "instead of latitude/longitude: placed by the scheme's postcode lookup",
        "MK9 3BZ",
    ),
    "gender": ("optional, self-described", "female"),
    "ethnicity": ("optional, self-described", "White British"),
    "img": ("international medical graduate: yes or no", "no"),
    "years_post_cct": ("years since CCT", "12"),
    "clinical_sessions_per_week": ("clinical sessions a week", "6"),
    "status": ("active, paused or withdrawn; empty = active", "active"),
    "preferred_mentees": ("';' list of mentee ids the mentor chose, first choice first", ""),
    "cohort": (
        "fellow, mid_career, new_partner, retention_scheme, locum_to_salaried, returner, "
        "international_induction or other (GP Fellow, Returner, ... are read too)",
        "fellow",
    ),
    "max_distance_km": ("face-to-face: farthest the mentee travels (16, 16 km, 10 miles)", "16"),
    "mentor_gender": ("wanted gender of mentor, if any", ""),
    "mentor_gender_strict": ("yes makes the wanted gender a rule; default no", "no"),
    "same_ethnicity": ("yes: would value a mentor sharing their ethnicity", "no"),
    "same_img": ("yes: would value a mentor who is also an IMG", "no"),
    "preferred_mentors": ("';' list of mentor ids, most preferred first", ""),
    "waiting_since": ("date joined the waiting list (18/04/2026 or 2026-04-18)", "18/04/2026"),
    "reason": ("why the pair must never be made", "educational supervisor"),
}
_PAIR_EXAMPLE = {"mentor_id": "MR0001", "mentee_id": "ME0001"}
KINDS = ("mentors", "mentees", "exclusions")


def _columns(kind: str) -> tuple[str, ...]:
    if kind not in KINDS:
        raise ValueError(f"no template for {kind!r} (expected one of {', '.join(KINDS)})")
    return SCHEMAS[kind].columns


def example_row(kind: str) -> list[str]:
    columns = _columns(kind)
    if kind == "exclusions":
        return [_PAIR_EXAMPLE.get(c) or _HELP[c][1] for c in columns]
    # The example places the person by coordinates; a postcode needs the scheme's lookup.
    return ["" if c == "postcode" else _HELP[c][1] for c in columns]


def template_csv(kind: str) -> bytes:
    """The header and an example row, UTF-8 with a byte-order mark (Excel reads it right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_columns(kind))
    writer.writerow(example_row(kind))
    return buffer.getvalue().encode("utf-8-sig")


def template_xlsx(kind: str) -> bytes:
    """A workbook: the table (bold frozen header, wide columns) and a "Columns" guide."""
    columns = _columns(kind)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = kind.capitalize()
    sheet.append(list(columns))
    sheet.append(example_row(kind))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, column in enumerate(columns):
        letter = sheet.cell(1, index + 1).column_letter
        sheet.column_dimensions[letter].width = max(12, len(column) + 2)
    sheet.freeze_panes = "A2"
    guide = book.create_sheet("Columns")
    guide.append(["column", "required", "what it holds"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    required = SCHEMAS[kind].required
    for column in columns:
        guide.append([column, "yes" if column in required else "", _HELP[column][0]])
    guide.column_dimensions["A"].width = 28
    guide.column_dimensions["C"].width = 90
    guide.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
