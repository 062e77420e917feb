"""Mentor applications: the list (paged in the database), the application form with the
guidance's eligibility questions, each application with its checks in plain words, and, for
admins, the decision; an approval puts the applicant on the register as a mentor, and the
applicant is told the decision by e-mail. Applications sent through the public form
(``apply_pages``) show the rest of the form, and the register entry the GP proposed fills
the approval's fields.

The forms are read by the API's request models (``ApplicationCreate``, ``Decision``) and
stored by ``service.applications``, so a page refuses, stores and audits what the API does.
A refused form comes back with status 422, each problem next to its field and everything
typed kept; nothing is stored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from matcher.eligibility import MIN_CLINICAL_SESSIONS
from matcher.errors import InputError
from matcher.settings import Settings as SchemeSettings
from matcher.vocab import DAYS, FOCUS_AREAS, PARTS_OF_DAY
from service import application_mail, applications
from service.api.applications import ApplicationCreate, Decision
from service.api.applications import store as store_application
from service.api.deps import DB, Settings
from service.mail_templates import KINDS
from service.models import Application, Mentor, OutboxMail
from service.roles import ADMINS, STAFF
from service.search import count
from service.web.deps import Csrf, CurrentViewer, Viewer, render
from service.web.paging import PER_PAGE, PageNumber, PerPage, page_of
from service.web.training_pages import in_words, problems_by_field, read_form

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=4000)]
Picks = Annotated[list[str], Form(max_length=100)]
NOTICES = {
    "created": "Application saved with its eligibility checks.",
    "approved": "Application approved: the applicant is on the register as mentor {mentor}.",
    "rejected": "Application rejected.",
}
DECISION_WORDS = {"pending": "Pending", "approved": "Approved", "rejected": "Rejected"}
SOURCE_WORDS = {"staff": "Staff", "online": "Online"}
# The guidance's questions, as staff ask them of an applicant; yes or no each.
QUESTIONS = (
    ("has_full_registration", "Does the applicant hold full registration with the GMC?"),
    ("has_licence", "Does the applicant hold a licence to practise with the GMC?"),
    (
        "on_performers_list",
        "Is the applicant on the National Medical Performers List, meeting the requirements "
        "for remaining on it?",
    ),
    (
        "suspended",
        "Is the applicant subject to interim suspension (section 41A of the Medical Act "
        "1983) or restrictions on their practice?",
    ),
    ("commits_12_months", "Does the applicant commit to at least 12 months of mentoring?"),
    ("commits_training", "Does the applicant commit to the mentorship training?"),
)
# Each check of ``matcher.eligibility`` in words, for its row of the table.
CHECK_TITLES = {
    "gmc_number": "GMC number",
    "full_registration": "Full GMC registration",
    "licence_to_practise": "Licence to practise",
    "performers_list": "National Medical Performers List",
    "not_suspended": "No suspension or restrictions",
    "clinical_sessions": "Clinical sessions a week",
    "years_post_cct": "Years since CCT",
    "commits_12_months": "12 months of mentoring",
    "commits_training": "Mentorship training",
}
APPLICATION_LABELS = {
    "applicant_name": "Applicant's name",
    "email": "E-mail address",
    "gmc_number": "GMC number",
    "mentor_id": "Mentor id",
    "clinical_sessions_per_week": "Clinical sessions a week",
    "years_post_cct": "Years since CCT",
    **{name: question for name, question in QUESTIONS},
}
# The register entry an approval asks for (``applications.MentorEntry``).
ENTRY_LABELS = {
    "mentor_id": "Mentor id on the register",
    "focus_areas": "Focus areas",
    "availability": "Weekly availability",
    "modes": "Meeting modes",
    "capacity_max": "Most mentees at once",
    "practice_code": "Practice code",
    "reason": "Reason",
}
MODES = (("virtual", "Virtual only"), ("face_to_face", "Face to face only"), ("both", "Both"))
YES_NO = {"yes": True, "no": False}


@router.get("/applications")
def list_applications(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    decision: Literal["", "pending", "approved", "rejected"] = "",
    page: PageNumber = 1,
    per_page: PerPage = PER_PAGE,
) -> Response:
    """Applications newest first, a page at a time; optionally those of one decision."""
    viewer.require(STAFF)
    query = applications.find(decision or None)
    paged = page_of(page, per_page, count(db, query), decision=decision)
    found = applications.page(db, query, paged.start, paged.per_page)
    return render(
        request,
        "applications.html",
        viewer,
        applications=[_summary(a) for a in found],
        decision=decision,
        decisions=DECISION_WORDS,
        paged=paged,
        path="/applications",
    )


def _summary(application: Application) -> dict[str, Any]:
    return {
        "id": application.id,
        "applicant_name": application.applicant_name,
        "received": application.created_at.date().isoformat(),
        "failed": len(applications.failed_names(application)),
        "decision": DECISION_WORDS[application.decision or applications.PENDING],
        "mentor_id": application.mentor_id,
        "source": SOURCE_WORDS.get(application.source, application.source),
    }


@router.get("/applications/new")
def new_application(request: Request, viewer: CurrentViewer, settings: Settings) -> Response:
    viewer.require(STAFF)
    return _application_form(request, viewer, settings, {}, {})


@router.post("/applications")
def create_application(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    settings: Settings,
    csrf_token: Csrf = "",
    applicant_name: Field = "",
    email: Field = "",
    gmc_number: Field = "",
    mentor_id: Field = "",
    clinical_sessions_per_week: Field = "",
    years_post_cct: Field = "",
    has_full_registration: Field = "",
    has_licence: Field = "",
    on_performers_list: Field = "",
    suspended: Field = "",
    commits_12_months: Field = "",
    commits_training: Field = "",
) -> Response:
    """Record an application through ``applications.create``, as ``POST /api/applications``
    does: stored with its checks even when a check fails, to be decided later."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    typed = {
        "applicant_name": applicant_name,
        "email": email,
        "gmc_number": gmc_number,
        "mentor_id": mentor_id,
        "clinical_sessions_per_week": clinical_sessions_per_week,
        "years_post_cct": years_post_cct,
        "has_full_registration": has_full_registration,
        "has_licence": has_licence,
        "on_performers_list": on_performers_list,
        "suspended": suspended,
        "commits_12_months": commits_12_months,
        "commits_training": commits_training,
    }
    answers = {name: YES_NO.get(typed[name], typed[name]) for name, _question in QUESTIONS}
    try:
        body = read_form(ApplicationCreate, {**typed, **answers})
    except ValidationError as exc:
        problems = problems_by_field(exc)
        for name, _question in QUESTIONS:
            if name in problems:
                problems[name] = "required: answer yes or no"
        return _application_form(request, viewer, settings, typed, problems)
    made = store_application(db, viewer.user, body, settings)
    db.commit()
    return RedirectResponse(f"/applications/{made.id}?notice=created", status_code=303)


def _application_form(
    request: Request,
    viewer: Viewer,
    settings: Settings,
    form: dict[str, str],
    problems: dict[str, str],
) -> Response:
    return render(
        request,
        "application_form.html",
        viewer,
        status_code=422 if problems else 200,
        form=form,
        problems=problems,
        labels=APPLICATION_LABELS,
        questions=QUESTIONS,
        min_sessions=MIN_CLINICAL_SESSIONS,
        min_years=f"{settings.min_years_post_cct:g}",
    )


@router.get("/applications/{application_id}")
def show_application(
    request: Request,
    application_id: int,
    db: DB,
    viewer: CurrentViewer,
    notice: Literal["", "created", "approved", "rejected"] = "",
) -> Response:
    """The application, each check passed or failed in words, and the decision or, for an
    admin, the forms to decide."""
    viewer.require(STAFF)
    application = applications.get(db, application_id)
    text = NOTICES[notice].format(mentor=application.mentor_id) if notice else ""
    return _application_page(request, db, viewer, application, {}, {}, text)


@router.post("/applications/{application_id}/decision")
def decide_application(
    request: Request,
    application_id: int,
    db: DB,
    viewer: CurrentViewer,
    decision: Annotated[Literal["approved", "rejected"], Form()],
    csrf_token: Csrf = "",
    reason: Annotated[str, Form(max_length=8000)] = "",
    mentor_id: Field = "",
    focus_areas: Picks = [],  # noqa: B006
    availability: Picks = [],  # noqa: B006
    modes: Field = "",
    capacity_max: Field = "",
    practice_code: Field = "",
) -> Response:
    """Approve or reject through ``applications.decide``, once (the database lets one
    decision win); an approval adds the applicant to the register with the entry given here,
    in the same transaction. Admins only."""
    viewer.require(ADMINS)
    viewer.check_form(csrf_token)
    application = applications.get(db, application_id)
    typed: dict[str, Any] = {"reason": reason}
    if decision == "approved":
        typed |= {
            "mentor_id": mentor_id,
            "focus_areas": focus_areas,
            "availability": availability,
            "modes": modes,
            "capacity_max": capacity_max,
            "practice_code": practice_code,
        }
    entry = None
    if decision == "approved":
        entry = applications.MentorEntry(
            mentor_id=mentor_id,
            focus_areas="; ".join(focus_areas),
            availability="; ".join(availability),
            modes=modes,
            capacity_max=capacity_max,
            practice_code=practice_code,
        )
    try:
        body = read_form(Decision, {"decision": decision, "reason": reason})
    except ValidationError as exc:
        problems = problems_by_field(exc)
        if not reason.strip():
            problems["reason"] = "required: say why the application is " + decision
        if entry is not None and application.eligible:  # the entry's problems too, at once
            try:
                applications.read_entry(db, application, entry)
            except InputError as bad:
                problems = {**_entry_problems(bad), **problems}
        return _application_page(request, db, viewer, application, {decision: typed}, problems)
    try:
        applications.decide(db, viewer.user, application_id, body.decision, body.reason, entry)
    except InputError as exc:
        db.rollback()
        problems = _entry_problems(exc)
        return _application_page(request, db, viewer, application, {decision: typed}, problems)
    db.commit()
    return RedirectResponse(
        f"/applications/{application_id}?notice={body.decision}", status_code=303
    )


def _entry_problems(exc: InputError) -> dict[str, str]:
    """The mentors reader's problems with the register entry, by the form's fields (those of
    columns taken from the application under "")."""
    problems: dict[str, str] = {}
    for p in exc.problems:
        key = p.column if p.column in ENTRY_LABELS else ""
        said = in_words(p.message)
        problems.setdefault(key, said if key else f"{p.column or 'entry'}: {said}")
    return problems


def _application_page(
    request: Request,
    db: DB,
    viewer: Viewer,
    application: Application,
    forms: dict[str, dict[str, Any]],
    problems: dict[str, str],
    notice: str = "",
) -> Response:
    scheme = SchemeSettings()
    on_register = bool(application.mentor_id) and db.get(Mentor, application.mentor_id) is not None
    checks = application.checks
    proposal: dict[str, Any] = {}
    free_id = ""
    if viewer.may(ADMINS) and application.decision is None and application.eligible:
        # The approval's fields start from what the applicant proposed; staff choose the
        # id, told the register's next free one.
        proposal = {
            "mentor_id": application.mentor_id or "",
            **applications.proposed_entry(application),
        }
        free_id = applications.free_mentor_id(db)
    return render(
        request,
        "application.html",
        viewer,
        status_code=422 if problems else 200,
        application=application,
        decision=application.decision or applications.PENDING,
        decisions=DECISION_WORDS,
        checks=[{**c, "title": CHECK_TITLES.get(c["name"], c["name"])} for c in checks],
        failed=applications.failed_names(application),
        answers=application.answers,
        questions=QUESTIONS,
        can_decide=viewer.may(ADMINS) and application.decision is None,
        on_register=on_register,
        forms=forms,
        proposal=proposal,
        free_id=free_id,
        problems=problems,
        labels=ENTRY_LABELS,
        focus_areas=sorted(FOCUS_AREAS),
        days=DAYS,
        parts=PARTS_OF_DAY,
        modes=MODES,
        capacity=scheme.capacity,
        notice=notice,
        details=application.details or {},
        mails=[_mail_row(mail) for mail in application_mail.sent_about(db, application)],
        reference=application_mail.reference(application),
    )


def _mail_row(mail: OutboxMail) -> dict[str, Any]:
    kind = KINDS.get(mail.kind)
    return {
        "id": mail.id,
        "kind": kind.label if kind else mail.kind,
        "recipient": mail.recipient,
        "subject": mail.subject,
        "status": mail.status,
        "queued": mail.created_at.strftime("%Y-%m-%d %H:%M"),
        "sent": mail.sent_at.strftime("%Y-%m-%d %H:%M") if mail.sent_at else "",
    }
