"""Rounds: list them a page at a time, start one, watch it run, read the proposals and the
unmatched a page at a time (filtered and searched on the server), pin or forbid a pair (from
its row, or by searching for the two people) and return to where the form was, approve
(after a confirmation page); service/web/round_admin_pages.py has the rest."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from service import approval, round_inputs, round_runs, rounds
from service.api.deps import DB, Settings
from service.api.schemas import LINE, LINES
from service.errors import Conflict, Invalid, NotFound
from service.job_records import job_view, queue_position, request_cancel
from service.models import Job, Mentee, Mentor, Round
from service.outbox import MailSetup
from service.roles import ROUND_READERS, STAFF
from service.web.deps import Csrf, CurrentViewer, confirm_page, render
from service.web.paging import PER_PAGE, Back, PageNumber, PerPage, page_of
from service.web.round_lists import (
    MAX_TEXT,
    RoundQuery,
    anchor,
    clamped,
    keep_proposal,
    keep_unmatched,
    pager,
)

router = APIRouter(include_in_schema=False)
NOTICES = {
    "pinned": "Pair pinned: the next run must make it. Run matching again to see the effect.",
    "forbidden": "Pair forbidden: the next run will not make it. Run matching again.",
    "removed": "Removed. Run matching again to see the effect.",
    "approved": "Approved: the proposals are now confirmed matches.",
    "unapproved": "Approval undone: its matches are deleted and the round is proposed again.",
    "renamed": "Round renamed.",
    "started": "Matching started.",
    "finished": "Matching finished: the proposed pairs are below.",
    "cancelling": "Stopping the run: the round stays as it was before it.",
}
Search = Annotated[str, Query(max_length=MAX_TEXT)]
# Where a form was sent from: a proposal's row, an unmatched mentee's row, or the list of
# pins and forbids with its form.
At = Annotated[Literal["row", "unmatched", "form"], Form()]


@router.get("/rounds")
def list_rounds(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    settings: Settings,
    page: PageNumber = 1,
    per_page: PerPage = PER_PAGE,
) -> Response:
    """Every round, newest first, a page at a time."""
    viewer.require(ROUND_READERS)
    paged = page_of(page, per_page, rounds.count_rounds(db))
    return render(
        request,
        "rounds.html",
        viewer,
        rounds=[
            rounds.round_view(r, named=viewer.named)
            for r in rounds.rounds_page(db, paged.start, paged.per_page)
        ],
        paged=paged,
        path="/rounds",
        can_run=viewer.may(STAFF),
        default_name=f"Round {date.today().isoformat()}",
        default_time_limit=int(min(settings.default_time_limit, settings.max_time_limit)),
        max_time_limit=int(settings.max_time_limit),
    )


@router.post("/rounds")
def start_round(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    csrf_token: Csrf = "",
    name: Annotated[str, Form(min_length=1, max_length=255), LINE] = "Round",
    time_limit: Annotated[float, Form(gt=0, le=3600)] = 30.0,
) -> Response:
    """Create a round over everyone waiting and start matching it at once."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    most = request.app.state.settings.max_time_limit
    round_ = rounds.create_round(db, viewer.user, name, {}, time_limit, None, most)
    db.commit()
    _start(request, db, viewer, round_.id)
    return RedirectResponse(f"/rounds/{round_.id}?notice=started", status_code=303)


def _start(request: Request, db: DB, viewer: CurrentViewer, round_id: int) -> None:
    state = request.app.state
    round_runs.run_in_background(
        db, viewer.user, round_id, state.jobs, state.settings.max_time_limit
    )


@router.get("/rounds/{round_id}")
def show_round(
    request: Request,
    round_id: int,
    db: DB,
    viewer: CurrentViewer,
    cohort: Search = "",
    mentor: Search = "",
    q: Search = "",
    page: PageNumber = 1,
    uq: Search = "",
    upage: PageNumber = 1,
    per_page: PerPage = PER_PAGE,
    find_mentee: Search = "",
    find_mentor: Search = "",
    notice: str = "",
) -> Response:
    """The round: its summary (of the whole round), the proposals and the unmatched mentees
    a page at a time, filtered and searched on the server, and, for staff, the pins and
    forbids with a search that finds the people of a new one (``find_mentee``,
    ``find_mentor``): short lists instead of every mentor and mentee."""
    viewer.require(ROUND_READERS)
    query = RoundQuery(cohort, mentor, q, page, uq, upage, per_page, find_mentee, find_mentor)
    return _round_page(request, db, viewer, round_id, query, notice)


def _round_page(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    round_id: int,
    query: RoundQuery,
    notice: str = "",
    stale: dict[str, Any] | None = None,
    refused: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    round_ = rounds.get_round(db, round_id)
    editable = viewer.may(STAFF) and round_.status != "approved"
    if not editable:  # no form to pin or forbid: no search for one either
        query = query.replace(find_mentee="", find_mentor="")
    pairs = [
        rounds.pair_view(p, named=viewer.named) for p in round_inputs.round_pairs(db, round_id)
    ]
    proposals = rounds.proposals(db, round_id, named=viewer.named)
    shown = [p for p in proposals if keep_proposal(p, query)]
    waiting = rounds.unmatched(db, round_, named=viewer.named)
    found = [u for u in waiting if keep_unmatched(u, query)]
    query = clamped(query, len(shown), len(found))
    paged = pager(query, "page", len(shown), "proposals-heading")
    upaged = pager(query, "upage", len(found), "unmatched-heading")
    marks = {(p["mentor_id"], p["mentee_id"]): p for p in pairs}
    last_job = _last_job(db, round_id)
    return render(
        request,
        "round.html",
        viewer,
        status_code=status_code,
        stale=stale,
        refused=refused,
        round=rounds.round_view(round_, named=viewer.named),
        job=job_view(last_job, named=viewer.named, position=queue_position(db, last_job))
        if last_job
        else None,
        running=round_.active_job is not None,
        proposals=[
            {
                **p,
                "anchor": anchor("proposal", p["mentee_id"]),
                "mark": marks.get((p["mentor_id"], p["mentee_id"])),
            }
            for p in shown[paged.start : paged.end]
        ],
        paged=paged,
        total=len(proposals),
        cohorts=sorted({p["cohort"] for p in proposals}),
        query=query,
        back=query.url(round_id),
        path=f"/rounds/{round_id}",
        unmatched=[
            {**u, "anchor": anchor("unmatched", u["mentee_id"])}
            for u in found[upaged.start : upaged.end]
        ],
        unmatched_total=len(waiting),
        upaged=upaged,
        pairs=pairs,
        editable=editable,
        can_introduce=viewer.may(STAFF),
        can_cancel=viewer.may(STAFF) and round_.active_job is not None,
        can_approve=editable and round_.status == "proposed" and round_.active_job is None,
        can_rename=viewer.may(STAFF),
        can_unapprove=viewer.may(STAFF) and round_.status == "approved",
        can_delete=editable and round_.active_job is None,
        finder=_finder(db, round_, query) if editable else None,
        notice=NOTICES.get(
            "finished" if notice == "started" and round_.active_job is None else notice, ""
        ),
    )


def _finder(db: DB, round_: Round, query: RoundQuery) -> dict[str, Any]:
    """The people a pin-or-forbid search found: a short list of each, the first checked when
    it is the only one or an id typed whole."""
    found: dict[str, Any] = {}
    for kind, text in (("mentee", query.find_mentee), ("mentor", query.find_mentor)):
        people, count = rounds.find_people(db, round_, kind, text)
        exact = bool(people) and people[0][0].lower() == text.lower()
        found[kind] = {
            "text": text,
            "people": people,
            "count": count,
            "checked": people[0][0] if people and (exact or count == 1) else "",
        }
    found["searched"] = bool(query.find_mentee or query.find_mentor)
    return found


@router.get("/rounds/{round_id}/progress")
def round_progress(round_id: int, db: DB, viewer: CurrentViewer) -> dict[str, Any]:
    """How far the round's matching has got, for the round page's script (static/progress.js)
    to show without reloading the page: `running` turns false when the job has ended."""
    viewer.require(ROUND_READERS)
    round_ = rounds.get_round(db, round_id)
    job = _last_job(db, round_id)
    return {
        "running": round_.active_job is not None,
        "status": job.status if job else None,
        "progress": job.progress if job else None,
        "message": job.message if job else "",
    }


def _last_job(db: DB, round_id: int) -> Job | None:
    return db.scalar(
        select(Job).where(Job.round_id == round_id).order_by(Job.created_at.desc()).limit(1)
    )


@router.post("/rounds/{round_id}/run")
def run_again(
    request: Request, round_id: int, db: DB, viewer: CurrentViewer, csrf_token: Csrf = ""
) -> Response:
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    _start(request, db, viewer, round_id)
    return RedirectResponse(f"/rounds/{round_id}?notice=started", status_code=303)


@router.post("/rounds/{round_id}/cancel")
def cancel_run(round_id: int, db: DB, viewer: CurrentViewer, csrf_token: Csrf = "") -> Response:
    """Stop the round's run (``POST /api/jobs/{job_id}/cancel``); a run that has already
    ended leaves nothing to stop, and the page says how it ended."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    round_ = rounds.get_round(db, round_id)
    if round_.active_job is not None:
        try:
            request_cancel(db, viewer.user, round_.active_job)
            db.commit()
        except Conflict:
            db.rollback()
    return RedirectResponse(f"/rounds/{round_id}?notice=cancelling", status_code=303)


@router.post("/rounds/{round_id}/pairs")
def add_pair(
    request: Request,
    round_id: int,
    db: DB,
    viewer: CurrentViewer,
    settings: Settings,
    csrf_token: Csrf = "",
    kind: Annotated[str, Form(pattern="^(pin|forbid)$")] = "pin",
    mentor_id: Annotated[str, Form(min_length=1, max_length=64), LINE] = "",
    mentee_id: Annotated[str, Form(min_length=1, max_length=64), LINE] = "",
    reason: Annotated[str, Form(max_length=500), LINES] = "",
    back: Back = "",
    at: At = "form",
) -> Response:
    """Pin or forbid a pair, from a proposal's row (``at`` "row") or the search form; then
    back to the page it was sent from (``back``), at the row or at the new pair. A pair the
    rules refuse (a pin that breaks a hard rule or another pin, a pair already pinned or
    forbidden, an unknown id) shows the same page again, saying why, with nothing stored."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    query = RoundQuery.from_back(back, round_id)
    try:
        pair = rounds.add_pair(
            db,
            viewer.user,
            round_id,
            kind,
            mentor_id,
            mentee_id,
            reason,
            postcode_lookup=settings.postcode_lookup,
        )
    except (Conflict, NotFound, Invalid) as exc:
        db.rollback()
        rounds.get_round(db, round_id)  # a round that is gone is a 404, not a refusal
        said = exc.message[:1].upper() + exc.message[1:]
        refused = {
            "message": said if said.endswith(".") else f"{said}.",
            "what": f"{'Not pinned' if kind == 'pin' else 'Not forbidden'}: "
            f"{mentor_id} with {mentee_id}",
            "return": query.url(round_id, _at(at, mentee_id, "pin-form")),
        }
        return _round_page(
            request, db, viewer, round_id, query, refused=refused, status_code=exc.status_code
        )
    db.commit()
    notice = "pinned" if kind == "pin" else "forbidden"
    if at == "form":
        query = query.replace(find_mentee="", find_mentor="")
    target = query.url(round_id, _at(at, mentee_id, f"pair-{pair.id}"), notice=notice)
    return RedirectResponse(target, status_code=303)


@router.post("/rounds/{round_id}/pairs/{pair_id}/delete")
def remove_pair(
    round_id: int,
    pair_id: int,
    db: DB,
    viewer: CurrentViewer,
    csrf_token: Csrf = "",
    back: Back = "",
    at: At = "form",
) -> Response:
    """Remove a pin or forbid, from its proposal's row (``at`` "row") or the list of pins
    and forbids; then back to the page it was sent from, at the row or the list."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    pair = rounds.remove_pair(db, viewer.user, round_id, pair_id)
    db.commit()
    query = RoundQuery.from_back(back, round_id)
    target = query.url(round_id, _at(at, pair.mentee_id, "pins-heading"), notice="removed")
    return RedirectResponse(target, status_code=303)


def _at(at: str, mentee_id: str, otherwise: str) -> str:
    """Where on the page an action returns: the proposal's row, the unmatched mentee's row,
    or (from the list of pins and forbids and its form) ``otherwise``."""
    if at == "row":
        return anchor("proposal", mentee_id)
    if at == "unmatched":
        return anchor("unmatched", mentee_id)
    return otherwise


@router.get("/rounds/{round_id}/approve")
def confirm_approve(request: Request, round_id: int, db: DB, viewer: CurrentViewer) -> Response:
    """Ask before approving: how many matches it makes."""
    viewer.require(STAFF)
    round_ = rounds.get_round(db, round_id)
    if round_.status != "proposed" or round_.active_job is not None:
        raise Conflict(f"round {round_id} cannot be approved now: it is not proposed, or running")
    pairs = len(rounds.proposals(db, round_id, named=False))
    return confirm_page(
        request,
        viewer,
        heading=f"Approve {round_.name}?",
        question=f"Approve {pairs} pairs of round {round_.name}? "
        f"This creates {pairs} confirmed matches.",
        action=f"/rounds/{round_id}/approve",
        confirm="Approve",
        cancel=f"/rounds/{round_id}",
    )


@router.post("/rounds/{round_id}/approve")
def approve(
    request: Request, round_id: int, db: DB, viewer: CurrentViewer, csrf_token: Csrf = ""
) -> Response:
    """Approve; an approval gone stale (people matched elsewhere since the run) shows the
    round again, naming them."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    try:
        approval.approve(
            db, viewer.user, round_id, MailSetup.from_settings(request.app.state.settings)
        )
    except Conflict as exc:
        db.rollback()
        if not ({"mentee_ids", "mentor_ids"} & exc.extra.keys()):
            raise
        stale = _stale(db, exc, named=viewer.named)
        return _round_page(
            request, db, viewer, round_id, RoundQuery(), stale=stale, status_code=409
        )
    db.commit()
    return RedirectResponse(f"/rounds/{round_id}?notice=approved", status_code=303)


def _stale(db: DB, exc: Conflict, *, named: bool) -> dict[str, Any]:
    """The people a refused approval names: (id, name) for staff, (id, "") for analysts."""
    found: dict[str, Any] = {"message": exc.message}
    for key, model, column in (
        ("mentees", Mentee, Mentee.mentee_id),
        ("mentors", Mentor, Mentor.mentor_id),
    ):
        ids = list(exc.extra.get(f"{key[:-1]}_ids", []))
        names: dict[str, str] = {}
        if named and ids:
            names = dict(db.execute(select(column, model.name).where(column.in_(ids))).all())
        found[key] = [(i, names.get(i, "")) for i in ids]
    return found
