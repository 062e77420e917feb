"""A round as spreadsheets staff can use at once.

- ``round_file``: the proposals (CSV), or the proposals and the unmatched on two sheets
  (XLSX, header styled and frozen, columns sized). Staff get both e-mail addresses beside
  the names; analysts get ids and the score in parts, no names, e-mails or reasons.
- ``introductions_file``: a mail-merge CSV for staff, one row per introduction e-mail.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.export import PAIR_COLUMNS
from matcher.safe_write import Sheet, write_csv, write_workbook
from matcher.scoring import NEUTRAL_PARTS
from service import rounds
from service.models import Mentee, Mentor, Round

PART_COLUMNS = tuple(f"score_{part}" for part in NEUTRAL_PARTS)
STAFF_PAIR_COLUMNS = (
    "mentor_id",
    "mentor_name",
    "mentor_email",
    "mentee_id",
    "mentee_name",
    "mentee_email",
    *(c for c in PAIR_COLUMNS if c not in {"mentor_id", "mentor_name", "mentee_id", "mentee_name"}),
)
# No reasons: they say which diversity wish a mentor meets (see ``rounds.proposals``).
ID_COLUMNS = (
    *(c for c in PAIR_COLUMNS if not c.endswith("_name") and c != "reasons"),
    *PART_COLUMNS,
)
STAFF_UNMATCHED_COLUMNS = ("mentee_id", "mentee_name", "mentee_email", "cohort", "reason")
ID_UNMATCHED_COLUMNS = ("mentee_id", "cohort", "reason")
INTRODUCTION_COLUMNS = (
    "round_id",
    "mentor_id",
    "mentor_name",
    "mentor_email",
    "mentee_id",
    "mentee_name",
    "mentee_email",
    "cohort",
    "why_this_pair",
)
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def round_file(session: Session, round_: Round, kind: str, *, named: bool) -> bytes:
    """The round's pairs as ``kind`` (csv or xlsx; the workbook adds the unmatched)."""
    pairs = rounds.proposals(session, round_.id, named=named)
    waiting = rounds.unmatched(session, round_, named=named)
    if named:
        emails = _emails(session, pairs, waiting)
        pairs = [_with_emails(row, emails) for row in pairs]
        waiting = [
            {**row, "mentee_email": emails.get(("mentee", row["mentee_id"]), "")} for row in waiting
        ]
    else:
        pairs = [_with_parts(row) for row in pairs]
    pair_columns = STAFF_PAIR_COLUMNS if named else ID_COLUMNS
    unmatched_columns = STAFF_UNMATCHED_COLUMNS if named else ID_UNMATCHED_COLUMNS
    sheets = [
        Sheet("Pairs", pair_columns, [_only(row, pair_columns) for row in pairs]),
        Sheet("Unmatched", unmatched_columns, [_only(row, unmatched_columns) for row in waiting]),
    ]
    if kind == "csv":
        return _bytes("csv", lambda path: write_csv(path, pair_columns, sheets[0].rows))
    if kind == "xlsx":
        return _bytes("xlsx", lambda path: write_workbook(path, sheets))
    raise ValueError(f"unknown spreadsheet kind {kind!r}")


def introductions_file(session: Session, round_: Round) -> bytes:
    """One row per pair with both names and e-mail addresses, ready for a mail merge."""
    pairs = rounds.proposals(session, round_.id, named=True)
    emails = _emails(session, pairs, [])
    rows = [
        {
            **_only(_with_emails(row, emails), INTRODUCTION_COLUMNS),
            "round_id": round_.id,
            "why_this_pair": row.get("reasons", ""),
        }
        for row in pairs
    ]
    return _bytes("csv", lambda path: write_csv(path, INTRODUCTION_COLUMNS, rows))


def _emails(
    session: Session, pairs: list[dict[str, Any]], waiting: list[dict[str, Any]]
) -> dict[tuple[str, str], str]:
    """(side, id) -> the e-mail address of the stored record, for the people named."""
    mentor_ids = {row["mentor_id"] for row in pairs}
    mentee_ids = {row["mentee_id"] for row in [*pairs, *waiting]}
    found: dict[tuple[str, str], str] = {}
    for side, model, column, ids in (
        ("mentor", Mentor, Mentor.mentor_id, mentor_ids),
        ("mentee", Mentee, Mentee.mentee_id, mentee_ids),
    ):
        if ids:
            for person_id, record in session.execute(
                select(column, model.record).where(column.in_(ids))
            ):
                found[side, person_id] = str(record.get("email") or "")
    return found


def _with_emails(row: dict[str, Any], emails: dict[tuple[str, str], str]) -> dict[str, Any]:
    return {
        **row,
        "mentor_email": emails.get(("mentor", row["mentor_id"]), ""),
        "mentee_email": emails.get(("mentee", row["mentee_id"]), ""),
    }


def _with_parts(row: dict[str, Any]) -> dict[str, Any]:
    parts = row.get("score_parts") or {}
    return {**row, **{f"score_{part}": n for part, n in parts.items()}}


def _only(row: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    return {column: row[column] for column in columns if column in row}


def _bytes(suffix: str, write: Any) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, f"file.{suffix}")
        write(path)
        return path.read_bytes()
