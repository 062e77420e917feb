"""Applications to be a mentor: checked against the guidance when made, then decided once.

The checks come from ``matcher.eligibility`` and are stored with the answers, so a decision
made later reads the checks as the applicant was judged, even if the local minimum changes.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from matcher.eligibility import Answers, check_application, is_eligible
from service import audit
from service.db import utcnow
from service.errors import Conflict, NotFound
from service.models import Application, User

DECISIONS = ("approved", "rejected")
PENDING = "pending"


def create(
    session: Session,
    user: User,
    *,
    applicant_name: str,
    email: str | None,
    gmc_number: str,
    mentor_id: str | None,
    answers: Answers,
    min_years_post_cct: float,
) -> Application:
    """Store an application with its checks; an ineligible one is stored too, to be rejected."""
    checks = check_application(gmc_number, answers, min_years_post_cct=min_years_post_cct)
    application = Application(
        applicant_name=applicant_name,
        email=email,
        gmc_number=gmc_number,
        mentor_id=mentor_id,
        answers=asdict(answers),
        checks=[asdict(check) for check in checks],
        eligible=is_eligible(checks),
    )
    session.add(application)
    session.flush()
    audit.record(
        session,
        user,
        "applications.create",
        "application",
        application.id,
        eligible=application.eligible,
        failed=failed_names(application),
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


def decide(
    session: Session, user: User, application_id: int, decision: str, reason: str
) -> Application:
    """Approve or reject once. Approving an application that failed a check is a conflict."""
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
    # Only one decision wins when two admins decide at once: the update requires "undecided".
    now = utcnow()
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Application)
            .where(Application.id == application_id, Application.decision.is_(None))
            .values(decision=decision, decision_reason=reason, decided_at=now, decided_by=user.id)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        session.refresh(application)
        raise _already_decided(application)
    session.refresh(application)
    # The reason is free text and may name people: it stays out of the audit log.
    audit.record(
        session,
        user,
        "applications.decision",
        "application",
        application.id,
        decision=decision,
        eligible=application.eligible,
    )
    return application


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
    }


def _already_decided(application: Application) -> Conflict:
    when = application.decided_at.date().isoformat() if application.decided_at else "earlier"
    return Conflict(f"application {application.id} was already {application.decision} ({when})")
