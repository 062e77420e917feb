"""Feedback surveys: mentors and mentees answer theirs under /me; staff read a match's
answers and comments; report readers see the participants' scheme experience (figures only).

A participant sees only their own surveys: anyone else's is "not found", as if it did not
exist. A refused answer comes back with status 422, each problem next to its field and
everything typed kept; nothing is stored.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from service import experience, matches, report_files, surveys
from service.api.deps import DB
from service.api.reports import YEARS
from service.api.schemas import PathId
from service.errors import Invalid
from service.models import SURVEY_RATINGS
from service.roles import REPORT_READERS, STAFF
from service.web.deps import Csrf, CurrentParticipant, CurrentViewer, render

router = APIRouter(include_in_schema=False)
Rating = Annotated[str, Form(max_length=10)]
# Longer than a comment may be, so that a comment too long is refused next to its field.
Comment = Annotated[str, Form(max_length=4 * surveys.COMMENT_LIMIT)]
STAGE_NAMES = {"first_meeting": "After the first meeting", "end": "At the end"}
BY_NAMES = {"round": "Round", "cohort": "Mentee cohort", "group": "Mentee group"}
ATTRIBUTE_NAMES = {
    "gender": "Gender",
    "ethnicity": "Ethnicity",
    "img": "International medical graduate",
}
LABELS = {**surveys.SHORT, "comment": "Comment"}


@router.get("/me/surveys")
def my_surveys(
    request: Request,
    db: DB,
    participant: CurrentParticipant,
    answered: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """The participant's surveys: open ones first, each with its link; answered ones with
    the day they were answered."""
    found = surveys.surveys_for(db, participant.kind, participant.person_id)
    return render(
        request,
        "survey_list.html",
        participant.viewer,
        surveys=found,
        stages=STAGE_NAMES,
        notice="Thank you: your answers are saved." if answered else "",
    )


@router.get("/me/surveys/{survey_id}")
def survey_form(
    request: Request, survey_id: PathId, db: DB, participant: CurrentParticipant
) -> Response:
    """One survey: the form while it is open, the answers once given."""
    item = surveys.own_survey(db, survey_id, participant.kind, participant.person_id)
    form = {name: str(value or "") for name, value in item.ratings.items()}
    form["comment"] = item.comment or ""
    return _form_page(request, participant, item, form, {})


@router.post("/me/surveys/{survey_id}")
def answer(
    request: Request,
    survey_id: PathId,
    db: DB,
    participant: CurrentParticipant,
    csrf_token: Csrf = "",
    overall: Rating = "",
    fit: Rating = "",
    usefulness: Rating = "",
    comment: Comment = "",
) -> Response:
    """Store the answers (once: a second answer is 409) and go back to the list."""
    participant.viewer.check_form(csrf_token)
    kind, person_id = participant.kind, participant.person_id
    item = surveys.own_survey(db, survey_id, kind, person_id)
    form = {"overall": overall, "fit": fit, "usefulness": usefulness, "comment": comment}
    _values, _text, problems = surveys.read_answer(form, comment)
    if problems and item.open:
        return _form_page(request, participant, item, form, problems)
    surveys.answer_survey(db, participant.viewer.user, survey_id, (kind, person_id), form, comment)
    db.commit()
    return RedirectResponse(f"/me/surveys?answered={survey_id}", status_code=303)


def _form_page(
    request: Request,
    participant: CurrentParticipant,
    item: surveys.SurveyItem,
    form: dict[str, str],
    problems: dict[str, str],
) -> Response:
    return render(
        request,
        "survey_form.html",
        participant.viewer,
        status_code=422 if problems else 200,
        survey=item,
        stage=STAGE_NAMES[item.stage],
        other_role="mentee" if item.side == "mentor" else "mentor",
        questions=surveys.QUESTIONS,
        scale=list(surveys.SCALE),
        form=form,
        problems=problems,
        labels=LABELS,
        limit=surveys.COMMENT_LIMIT,
    )


@router.get("/matches/{match_id}/surveys")
def match_surveys(request: Request, match_id: PathId, db: DB, viewer: CurrentViewer) -> Response:
    """A match's surveys with their ratings and comments, for staff (analysts never read
    comments: they see the figures only)."""
    viewer.require(STAFF)
    match = matches.get_match(db, match_id)
    return render(
        request,
        "survey_match.html",
        viewer,
        match=matches.match_views(db, [match], named=True)[0],
        surveys=surveys.match_surveys(db, match_id),
        stages=STAGE_NAMES,
        short=surveys.SHORT,
    )


AsOfDay = Annotated[date | None, Query()]


@router.get("/reports/experience")
def experience_page(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    by: Literal["round", "cohort", "group"] = "round",
    as_of: AsOfDay = None,
) -> Response:
    """The participants' scheme experience by round, cohort or mentee group, as of a day
    (default today): figures only, never a comment or a name."""
    viewer.require(REPORT_READERS)
    day = _day(as_of)
    return render(
        request,
        "experience.html",
        viewer,
        rows=experience.experience(db, by, day),
        by=by,
        by_names=BY_NAMES,
        attribute_names=ATTRIBUTE_NAMES,
        as_of=day.isoformat(),
        as_of_words=report_files.as_of_words(day),
        years=YEARS,
        stages=STAGE_NAMES,
        ratings=SURVEY_RATINGS,
        questions=surveys.QUESTIONS,
        short=surveys.SHORT,
        min_answers=experience.MIN_ANSWERS,
        min_mentees=experience.MIN_MENTEES,
    )


@router.get("/reports/experience.csv")
def experience_download(db: DB, viewer: CurrentViewer, as_of: AsOfDay = None) -> Response:
    """The experience by round, cohort and mentee group as of a day, as one CSV table (the
    monitoring workbook holds the same sheet)."""
    viewer.require(REPORT_READERS)
    day = _day(as_of)
    content = report_files.experience_file(day, experience.by_each(db, day), "csv")
    return Response(
        content,
        media_type=report_files.MEDIA_TYPES["csv"],
        headers={"Content-Disposition": f'attachment; filename="experience-as-of-{day}.csv"'},
    )


def _day(as_of: date | None) -> date:
    day = as_of or date.today()
    if not YEARS[0] <= day.year <= YEARS[1]:
        raise Invalid(f"the as-of date must be in the years {YEARS[0]} to {YEARS[1]}")
    return day
