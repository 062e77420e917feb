"""The public application form: a GP applies to be a mentor, without signing in.

The form is the scheme's paper application form (personal details, practice, qualifications,
why mentoring) with the guidance's eligibility questions and the mentoring the GP offers
(focus areas, weekly times, ways to meet, most mentees), so that staff approving it can put
the GP on the register without retyping. It is read by the API's ``ApplicationCreate`` plus
the form's own fields, and stored by ``applications.create`` as an ``online`` application,
by no user; the "we have your application" mail is queued in the same transaction.

There is no session to hold a CSRF token: the form uses a double-submit cookie, as the
sign-in form does (its own cookie, so signing in elsewhere does not expire this form). Each
client address may send ``applications_per_address_per_hour`` applications an hour; past
that the answer is 429 saying when to try again. A refused form comes back with each problem
next to its field and everything typed kept; nothing is stored.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from limits import RateLimitItemPerHour
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from pydantic import Field, ValidationError, field_validator

from matcher import cells
from matcher.eligibility import MIN_CLINICAL_SESSIONS
from matcher.settings import Settings as SchemeSettings
from matcher.vocab import DAYS, FOCUS_AREAS, MODES, PARTS_OF_DAY, SLOTS
from service import application_mail, applications
from service.api.applications import ApplicationCreate
from service.api.deps import DB, Settings
from service.api.schemas import STRIPPED, STRIPPED_LINES
from service.config import ServiceSettings
from service.sign_in import client_address
from service.sign_in_guard import wait_words
from service.web import sessions
from service.web.deps import Csrf, render
from service.web.training_pages import problems_by_field, read_form

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
COOKIE = "matcher_apply_csrf"
MOTIVATION_MAX = 4000
QUALIFICATIONS_MAX = 2000
CAPACITY = SchemeSettings().capacity
T = TypeVar("T")

# Generous: the model says the real limits, in words, next to the field.
Typed = Annotated[str, Form(max_length=4000)]
LongText = Annotated[str, Form(max_length=20_000)]
Picks = Annotated[list[str], Form(max_length=100)]
Qualifications = Annotated[str, Field(max_length=QUALIFICATIONS_MAX), STRIPPED_LINES]
Motivation = Annotated[str, Field(min_length=1, max_length=MOTIVATION_MAX), STRIPPED_LINES]

# The guidance's questions, asked of the applicant; yes or no each.
QUESTIONS = (
    ("has_full_registration", "Do you hold full registration with the GMC?"),
    ("has_licence", "Do you hold a licence to practise with the GMC?"),
    (
        "on_performers_list",
        "Are you on the National Medical Performers List, meeting the requirements for "
        "remaining on it?",
    ),
    (
        "suspended",
        "Are you subject to interim suspension (section 41A of the Medical Act 1983) or "
        "restrictions on your practice?",
    ),
    ("commits_12_months", "Will you commit to at least 12 months of mentoring?"),
    ("commits_training", "Will you commit to the mentorship training?"),
)
# In the page's order, which the list of a refused form's problems follows.
LABELS = {
    "applicant_name": "Your name",
    "email": "E-mail address",
    "telephone": "Telephone",
    "gmc_number": "GMC number",
    "practice_name": "Name of practice",
    "practice_code": "Practice code (ODS)",
    "clinical_sessions_per_week": "Clinical sessions a week",
    "years_post_cct": "Years since CCT",
    **dict(QUESTIONS),
    "qualifications": "Qualifications and dates",
    "motivation": "Why you want to mentor",
    "focus_areas": "Areas you can mentor in",
    "availability": "Weekly times you are free",
    "modes": "Ways you can meet",
    "capacity_max": "Most mentees at once",
}
EXPIRED = "This form expired before it was sent, so nothing was saved: please send it again."
YES_NO = {"yes": True, "no": False}
_TELEPHONE = re.compile(r"\+?[0-9 ()-]+")
_ODS_PRACTICE = re.compile(r"[A-Z][0-9]{5}")
MODE_WORDS = {"virtual": "Virtually (video or telephone)", "face_to_face": "Face to face"}


def _choices(picked: list[str], allowed: tuple[str, ...]) -> list[str]:
    """The ticked codes in the vocabulary's order, once each; ValueError for any other."""
    if any(code not in allowed for code in picked):
        raise ValueError("not one of the choices")
    return [code for code in allowed if code in picked]


class OnlineApplication(ApplicationCreate):
    """The public form: the staff's application fields (an e-mail address required, a GMC
    number of 7 digits) and the paper form's other fields."""

    email: Annotated[str, Field(min_length=1, max_length=254)]
    telephone: Annotated[str, Field(max_length=32), STRIPPED] | None = None
    practice_name: Annotated[str, Field(min_length=1, max_length=255), STRIPPED]
    practice_code: Annotated[str, Field(max_length=16), STRIPPED] | None = None
    qualifications: Qualifications | None = None
    motivation: Motivation
    focus_areas: list[str]
    availability: list[str]
    modes: list[str]
    capacity_max: Annotated[int, Field(ge=CAPACITY.min, le=CAPACITY.max)]

    @field_validator("gmc_number")
    @classmethod
    def _gmc(cls, value: str) -> str:
        try:
            return cells.gmc_number(value)
        except cells.CellError as exc:  # a typo is refused here, not stored as ineligible
            raise ValueError(str(exc)) from None

    @field_validator("telephone")
    @classmethod
    def _telephone(cls, value: str | None) -> str | None:
        digits = sum(c.isdigit() for c in value or "")
        if value and not (_TELEPHONE.fullmatch(value) and 7 <= digits <= 15):
            raise ValueError("not a telephone number (expected digits, e.g. 0113 496 0000)")
        return value

    @field_validator("practice_code")
    @classmethod
    def _practice_code(cls, value: str | None) -> str | None:
        if value and not _ODS_PRACTICE.fullmatch(value.upper()):
            raise ValueError("not a practice code (expected a letter and 5 digits, e.g. A81001)")
        return value.upper() if value else value

    @field_validator("focus_areas")
    @classmethod
    def _focus_areas(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("choose at least one area")
        return _choices(value, FOCUS_AREAS)

    @field_validator("availability")
    @classmethod
    def _availability(cls, value: list[str]) -> list[str]:
        return _choices(value, SLOTS)

    @field_validator("modes")
    @classmethod
    def _modes(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("choose at least one way to meet")
        return _choices(value, MODES)

    def details(self) -> dict[str, Any]:
        """What ``Application.details`` keeps: the rest of the form and the proposed entry."""
        return {
            "telephone": self.telephone or "",
            "practice_name": self.practice_name,
            "practice_code": self.practice_code or "",
            "qualifications": self.qualifications or "",
            "motivation": self.motivation,
            applications.PROPOSED: {
                "focus_areas": self.focus_areas,
                "availability": self.availability,
                "modes": self.modes,
                "capacity_max": self.capacity_max,
            },
        }


class AddressLimit:
    """Applications accepted from one client address within an hour (a moving window of the
    ``limits`` library, in ``rate_limit_storage``). Addresses are kept as hashes."""

    def __init__(self, storage: str, per_hour: int):
        self.per_hour = per_hour
        self.item = RateLimitItemPerHour(per_hour, 1, namespace="matcher-apply")
        options: dict[str, float | str | bool] = {"wrap_exceptions": True}
        if storage.startswith(("redis", "rediss")):
            options.update(socket_connect_timeout=1.0, socket_timeout=1.0)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage, **options))
        self._fallback: MovingWindowRateLimiter | None = None

    def wait(self, address: str) -> int:
        """Seconds until ``address`` may send another application; 0: now."""
        stats = self._run(lambda limiter: limiter.get_window_stats(self.item, _key(address)))
        return 0 if stats.remaining > 0 else max(1, math.ceil(stats.reset_time - time.time()))

    def take(self, address: str) -> bool:
        """Count one application; False (nothing counted) if the window is full."""
        return self._run(lambda limiter: limiter.hit(self.item, _key(address)))

    def _run(self, call: Callable[[MovingWindowRateLimiter], T]) -> T:
        """On the configured storage; if it does not answer, on this process's memory, so
        the form stays limited per process rather than failing or unlimited."""
        try:
            return call(self._limiter)
        except StorageError as exc:
            if self._fallback is None:
                log.error(
                    "application limits: the storage does not answer (%s)", type(exc).__name__
                )
                self._fallback = MovingWindowRateLimiter(MemoryStorage())
            return call(self._fallback)


def _key(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()[:32]


_making_limit = threading.Lock()


def address_limit(request: Request, settings: ServiceSettings) -> AddressLimit:
    """The app's limit, made on first use (one per app, so each has its own counts)."""
    with _making_limit:
        found: AddressLimit | None = getattr(request.app.state, "apply_limit", None)
        if found is None:
            found = AddressLimit(
                settings.rate_limit_storage, settings.applications_per_address_per_hour
            )
            request.app.state.apply_limit = found
    return found


@router.get("/apply")
def apply_form(request: Request, settings: Settings) -> Response:
    """The empty form (open to all)."""
    token = request.cookies.get(COOKIE) or secrets.token_urlsafe(32)
    return _form(request, settings, token, {}, {})


@router.post("/apply")
def send_application(
    request: Request,
    db: DB,
    settings: Settings,
    csrf_token: Csrf = "",
    applicant_name: Typed = "",
    email: Typed = "",
    telephone: Typed = "",
    gmc_number: Typed = "",
    practice_name: Typed = "",
    practice_code: Typed = "",
    clinical_sessions_per_week: Typed = "",
    years_post_cct: Typed = "",
    has_full_registration: Typed = "",
    has_licence: Typed = "",
    on_performers_list: Typed = "",
    suspended: Typed = "",
    commits_12_months: Typed = "",
    commits_training: Typed = "",
    qualifications: LongText = "",
    motivation: LongText = "",
    focus_areas: Picks = [],  # noqa: B006
    availability: Picks = [],  # noqa: B006
    modes: Picks = [],  # noqa: B006
    capacity_max: Typed = "",
) -> Response:
    """Check and store the application, queue the mail saying it arrived, and thank the GP
    with its reference."""
    typed: dict[str, Any] = {
        "applicant_name": applicant_name,
        "email": email,
        "telephone": telephone,
        "gmc_number": gmc_number,
        "practice_name": practice_name,
        "practice_code": practice_code,
        "clinical_sessions_per_week": clinical_sessions_per_week,
        "years_post_cct": years_post_cct,
        "has_full_registration": has_full_registration,
        "has_licence": has_licence,
        "on_performers_list": on_performers_list,
        "suspended": suspended,
        "commits_12_months": commits_12_months,
        "commits_training": commits_training,
        "qualifications": qualifications,
        "motivation": motivation,
        "focus_areas": focus_areas,
        "availability": availability,
        "modes": modes,
        "capacity_max": capacity_max,
    }
    if not sessions.same_masked(request.cookies.get(COOKIE), csrf_token):
        return _form(request, settings, secrets.token_urlsafe(32), typed, {}, EXPIRED)
    limit = address_limit(request, settings)
    address = client_address(request)
    wait = limit.wait(address)
    if wait:
        return _wait_page(request, limit, wait)
    try:
        body = _read(typed)
    except ValidationError as exc:
        found = problems_by_field(exc)
        for name, _question in QUESTIONS:
            if name in found:
                found[name] = "required: answer yes or no"
        problems = {name: found[name] for name in LABELS if name in found} | found
        cookie = request.cookies.get(COOKIE, "")
        return _form(request, settings, cookie, typed, problems)
    if not limit.take(address):  # another application from here took the last place
        return _wait_page(request, limit, limit.wait(address) or 1)
    made = applications.create(
        db,
        None,
        applicant_name=body.applicant_name,
        email=body.email,
        gmc_number=body.gmc_number,
        mentor_id=None,
        answers=body.answers(),
        min_years_post_cct=settings.min_years_post_cct,
        source="online",
        details=body.details(),
    )
    application_mail.received(db, made)
    db.commit()
    response = render(
        request,
        "apply_thanks.html",
        name=made.applicant_name,
        reference=application_mail.reference(made),
    )
    response.delete_cookie(COOKIE, path="/apply")  # sent once: a reload is a new form
    return response


def _read(typed: dict[str, Any]) -> OnlineApplication:
    """The form's text as the model reads it: answers as booleans, blank text as absent."""
    data = {
        name: (value.strip() if isinstance(value, str) else value) for name, value in typed.items()
    }
    data |= {name: YES_NO.get(typed[name], typed[name]) for name, _question in QUESTIONS}
    return read_form(OnlineApplication, data)


def _form(
    request: Request,
    settings: ServiceSettings,
    token: str,
    form: dict[str, Any],
    problems: dict[str, str],
    expired: str = "",
) -> Response:
    status = 403 if expired else 422 if problems else 200
    response = render(
        request,
        "apply.html",
        status_code=status,
        apply_csrf=sessions.mask(token),
        form=form,
        problems=problems,
        expired=expired,
        labels=LABELS,
        questions=QUESTIONS,
        min_sessions=MIN_CLINICAL_SESSIONS,
        min_years=f"{settings.min_years_post_cct:g}",
        focus_areas=FOCUS_AREAS,
        days=DAYS,
        parts=PARTS_OF_DAY,
        modes=MODE_WORDS,
        capacity=CAPACITY,
        motivation_max=MOTIVATION_MAX,
        qualifications_max=QUALIFICATIONS_MAX,
    )
    # A long form, written with care: four hours.
    sessions.set_form_cookie(
        response, token, settings.secure_cookies, name=COOKIE, hours=4, path="/apply"
    )
    return response


def _wait_page(request: Request, limit: AddressLimit, seconds: int) -> Response:
    message = (
        f"This address has sent {limit.per_hour} application{'s' if limit.per_hour != 1 else ''} "
        f"within the hour: please try again in {wait_words(seconds)}."
    )
    response = render(request, "apply_wait.html", status_code=429, message=message)
    response.headers["Retry-After"] = str(seconds)
    return response
