"""Applications to be a mentor: checked against the guidance when made, then decided once.

The checks come from ``matcher.eligibility`` and are stored with the answers, so a decision
made later reads the checks as the applicant was judged, even if the local minimum changes.

An approval may carry the applicant's register entry (``MentorEntry``): the applicant then
joins the register in the same transaction as the decision, through the same validation and
versioning as a mentors import of one row (``service.people.import_people``). An applicant
with an e-mail address is told the decision in that transaction too (``application_mail``).

Applications come from staff (the API, the pages) or from the GP (``source="online"``, the
public form, made by no user); an online one carries the rest of the form in ``details``,
including the register entry the applicant proposes (``proposed_entry``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matcher.columns import MENTORS
from matcher.eligibility import Answers, check_application, is_eligible
from matcher.errors import InputError, Problem
from matcher.readers import PeopleFile, mentors_file
from matcher.settings import Settings
from matcher.spreadsheet import Table
from service import application_mail, audit, people
from service.db import utcnow
from service.errors import Conflict, NotFound
from service.models import Application, Mentor, User

DECISIONS = ("approved", "rejected")
PENDING = "pending"
FILTERS = (PENDING, *DECISIONS)
SOURCES = ("staff", "online")
# The key of ``Application.details`` holding the register entry an online applicant proposes.
PROPOSED = "register_entry"
_NUMBERED = re.compile(r"(.*?)(\d+)")


@dataclass(frozen=True)
class MentorEntry:
    """What the register needs of an approved applicant beyond the application: cells as a
    mentors file holds them (``focus_areas`` and ``availability`` are ``;`` lists). The name,
    e-mail, GMC number, clinical sessions and years since CCT come from the application; the
    status is active (said, not left to the reader's default, so the record shows it)."""

    mentor_id: str
    focus_areas: str = ""
    availability: str = ""
    modes: str = ""
    capacity_max: str = ""
    practice_code: str = ""

    def row(self, application: Application) -> dict[str, str]:
        """The one-row mentors table's cells (empty ones left out, as an import drops them)."""
        answers = application.answers
        cells = {
            "mentor_id": self.mentor_id.strip(),
            "name": application.applicant_name,
            "email": application.email or "",
            "gmc_number": application.gmc_number,
            "practice_code": self.practice_code.strip(),
            "capacity_max": self.capacity_max.strip(),
            "focus_areas": self.focus_areas.strip(),
            "availability": self.availability.strip(),
            "modes": self.modes.strip(),
            "years_post_cct": f"{float(answers['years_post_cct']):g}",
            "clinical_sessions_per_week": f"{float(answers['clinical_sessions_per_week']):g}",
            "status": "active",
        }
        return {column: value for column, value in cells.items() if value}


def create(
    session: Session,
    user: User | None,
    *,
    applicant_name: str,
    email: str | None,
    gmc_number: str,
    mentor_id: str | None,
    answers: Answers,
    min_years_post_cct: float,
    source: str = "staff",
    details: dict[str, Any] | None = None,
) -> Application:
    """Store an application with its checks; an ineligible one is stored too, to be rejected.
    ``user`` is None for the public form (``source="online"``): the GP is no user."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")  # callers pass a constant
    checks = check_application(gmc_number, answers, min_years_post_cct=min_years_post_cct)
    application = Application(
        applicant_name=applicant_name,
        email=email,
        gmc_number=gmc_number,
        mentor_id=mentor_id,
        answers=asdict(answers),
        checks=[asdict(check) for check in checks],
        eligible=is_eligible(checks),
        source=source,
        details=details,
    )
    session.add(application)
    session.flush()
    # Only online ones say where they came from: the others are staff's, by their user.
    origin = {"source": source} if source != "staff" else {}
    audit.record(
        session,
        user,
        "applications.create",
        "application",
        application.id,
        eligible=application.eligible,
        failed=failed_names(application),
        **origin,
    )
    return application


def get(session: Session, application_id: int) -> Application:
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound(f"no application with id {application_id}")
    return application


def listing(session: Session, decision: str | None = None) -> list[Application]:
    """Applications, oldest first; ``decision``: pending, approved or rejected."""
    query = select(Application).order_by(Application.id)
    if decision == PENDING:
        query = query.where(Application.decision.is_(None))
    elif decision is not None:
        query = query.where(Application.decision == decision)
    return list(session.scalars(query))


def find(decision: str | None = None) -> Select[Any]:
    """Applications of one decision of ``FILTERS`` (or all); unordered: see ``page``."""
    query = select(Application)
    if decision == PENDING:
        query = query.where(Application.decision.is_(None))
    elif decision is not None:
        if decision not in DECISIONS:
            raise ValueError(f"unknown decision {decision!r}")  # the page's parameter prevents this
        query = query.where(Application.decision == decision)
    return query


def page(session: Session, query: Select[Any], offset: int, limit: int) -> list[Application]:
    """``limit`` applications from ``offset``, newest first."""
    ordered = query.order_by(Application.id.desc()).offset(offset).limit(limit)
    return list(session.scalars(ordered))


def decide(
    session: Session,
    user: User,
    application_id: int,
    decision: str,
    reason: str,
    mentor: MentorEntry | None = None,
) -> Application:
    """Approve or reject once. Approving an application that failed a check is a conflict.

    An approval with ``mentor`` adds the applicant to the register as that mentor, in this
    transaction: an ``InputError`` naming the columns (nothing written) if the entry is not
    a valid mentors row or its id is taken. The decision mail to an applicant with an e-mail
    address is queued in this transaction as well, so nothing is mailed about a decision
    that fails. The caller commits, or rolls back on any error.
    """
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")  # the schema prevents this
    application = get(session, application_id)
    if application.decision is not None:
        raise _already_decided(application)
    failed = failed_names(application)
    if decision == "approved" and failed:
        raise Conflict(
            f"application {application_id} cannot be approved: it failed "
            f"{len(failed)} check(s): {', '.join(failed)}",
            failed=failed,
        )
    joining = read_entry(session, application, mentor) if decision == "approved" else None
    values: dict[str, Any] = {
        "decision": decision,
        "decision_reason": reason,
        "decided_at": utcnow(),
        "decided_by": user.id,
    }
    if joining is not None:
        values["mentor_id"] = _new_id(joining)
    # Only one decision wins when two admins decide at once: the update requires "undecided".
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Application)
            .where(Application.id == application_id, Application.decision.is_(None))
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        session.refresh(application)
        raise _already_decided(application)
    if joining is not None:
        _join_register(session, user, joining)
    session.refresh(application)
    # The reason is free text and may name people: it stays out of the audit log.
    detail: dict[str, Any] = {"decision": decision, "eligible": application.eligible}
    if joining is not None:
        detail["mentor_id"] = application.mentor_id
    audit.record(session, user, "applications.decision", "application", application.id, **detail)
    application_mail.decided(session, application)
    return application


def read_entry(
    session: Session, application: Application, mentor: MentorEntry | None
) -> PeopleFile[Any] | None:
    """The applicant as a one-row mentors file, read as an import reads one: an InputError
    naming the columns if it is not a valid new mentor. Writes nothing."""
    if mentor is None:
        return None
    row = mentor.row(application)
    header = ("mentor_id", *(c for c in row if c != "mentor_id"))
    file = f"application {application.id}"
    table = Table.from_rows(file, header, [(2, row)])
    read = mentors_file(table, Settings(), keep_records=False)  # InputError if invalid
    mentor_id = _new_id(read)
    if session.get(Mentor, mentor_id) is not None:
        taken = "already on the register: choose another id for this mentor"
        raise InputError([Problem(file, 2, "mentor_id", mentor_id, taken)])
    return read


def _new_id(joining: PeopleFile[Any]) -> str:
    """The new mentor's id, as the reader stored it."""
    return joining.stored[0][joining.table.header.index(MENTORS.required[0])]


def _join_register(session: Session, user: User, joining: PeopleFile[Any]) -> None:
    """Store the new mentor as an import of one row (version 1, an Import, audited)."""
    try:
        people.import_people(session, user, "mentors", joining)
    except IntegrityError:  # the same new id, committed meanwhile by another approval
        raise Conflict(
            f"mentor {_new_id(joining)} was added to the register meanwhile: choose another id"
        ) from None


def proposed_entry(application: Application) -> dict[str, Any]:
    """The register entry an online applicant proposed, as the approval form's fields
    (lists of codes, a mode of virtual, face_to_face or both); empty lists for staff's."""
    details = application.details or {}
    proposed = details.get(PROPOSED) or {}
    modes = set(proposed.get("modes") or ())
    return {
        "focus_areas": list(proposed.get("focus_areas") or ()),
        "availability": list(proposed.get("availability") or ()),
        "modes": "both" if len(modes) > 1 else next(iter(modes), "virtual"),
        "capacity_max": str(proposed.get("capacity_max") or ""),
        "practice_code": str(details.get("practice_code") or ""),
    }


def free_mentor_id(session: Session) -> str:
    """An id no mentor has, following the register's numbering: the most used prefix (MR of
    MR0001) with the next number at the same width; MR0001 on an empty register."""
    taken = set(session.scalars(select(Mentor.mentor_id)))
    numbered = [found for found in map(_NUMBERED.fullmatch, taken) if found]
    prefix, width, number = "MR", 4, 1
    if numbered:
        counts = Counter(found[1] for found in numbered)
        prefix = max(counts, key=lambda p: (counts[p], p))
        digits = [found[2] for found in numbered if found[1] == prefix]
        width = max(len(d) for d in digits)
        number = max(int(d) for d in digits) + 1
    while f"{prefix}{number:0{width}d}" in taken:
        number += 1
    return f"{prefix}{number:0{width}d}"


def failed_names(application: Application) -> list[str]:
    return [check["name"] for check in application.checks if not check["passed"]]


def public(application: Application) -> dict[str, Any]:
    """The application as the API shows it to staff."""
    return {
        "id": application.id,
        "applicant_name": application.applicant_name,
        "email": application.email,
        "gmc_number": application.gmc_number,
        "mentor_id": application.mentor_id,
        "answers": application.answers,
        "checks": application.checks,
        "eligible": application.eligible,
        "failed": failed_names(application),
        "decision": application.decision or PENDING,
        "decision_reason": application.decision_reason,
        "decided_at": application.decided_at,
        "decided_by": application.decided_by,
        "created_at": application.created_at,
        "source": application.source,
        "details": application.details,
    }


def _already_decided(application: Application) -> Conflict:
    when = application.decided_at.date().isoformat() if application.decided_at else "earlier"
    return Conflict(f"application {application.id} was already {application.decision} ({when})")
