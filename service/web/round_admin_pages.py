"""A round's other actions: undo its approval, rename it, delete it (after a confirmation
page), and download its pairs and its introductions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from service import approval, rounds
from service.api.deps import DB
from service.api.schemas import LINE
from service.downloads import MEDIA_TYPES, introductions_file, round_file
from service.errors import NotFound
from service.roles import ROUND_READERS, STAFF
from service.web.deps import Csrf, CurrentViewer, confirm_page

router = APIRouter(include_in_schema=False)


@router.post("/rounds/{round_id}/unapprove")
def unapprove(round_id: int, db: DB, viewer: CurrentViewer, csrf_token: Csrf = "") -> Response:
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    approval.unapprove(db, viewer.user, round_id)
    db.commit()
    return RedirectResponse(f"/rounds/{round_id}?notice=unapproved", status_code=303)


@router.post("/rounds/{round_id}/rename")
def rename(
    round_id: int,
    db: DB,
    viewer: CurrentViewer,
    csrf_token: Csrf = "",
    name: Annotated[str, Form(min_length=1, max_length=255), LINE] = "",
) -> Response:
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    rounds.rename_round(db, viewer.user, round_id, name)
    db.commit()
    return RedirectResponse(f"/rounds/{round_id}?notice=renamed", status_code=303)


@router.get("/rounds/{round_id}/delete")
def confirm_delete(request: Request, round_id: int, db: DB, viewer: CurrentViewer) -> Response:
    viewer.require(STAFF)
    round_ = rounds.get_round(db, round_id)
    return confirm_page(
        request,
        viewer,
        heading=f"Delete {round_.name}?",
        question=f"Delete round {round_.name} with its proposals, pins and forbids? "
        "This cannot be undone.",
        action=f"/rounds/{round_id}/delete",
        confirm="Delete",
        cancel=f"/rounds/{round_id}",
        danger=True,
    )


@router.post("/rounds/{round_id}/delete")
def delete(round_id: int, db: DB, viewer: CurrentViewer, csrf_token: Csrf = "") -> Response:
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    rounds.delete_round(db, viewer.user, round_id)
    db.commit()
    return RedirectResponse("/rounds", status_code=303)


@router.get("/rounds/{round_id}/pairs.{kind}")
def download(round_id: int, kind: str, db: DB, viewer: CurrentViewer) -> Response:
    """The proposals as a spreadsheet (the workbook adds the unmatched); analysts get ids
    without names or e-mail addresses."""
    viewer.require(ROUND_READERS)
    if kind not in MEDIA_TYPES:
        raise NotFound(f"no download of kind {kind!r}: choose csv or xlsx")
    round_ = rounds.get_round(db, round_id)
    return Response(
        round_file(db, round_, kind, named=viewer.named),
        media_type=MEDIA_TYPES[kind],
        headers={"Content-Disposition": f'attachment; filename="round-{round_id}-pairs.{kind}"'},
    )


@router.get("/rounds/{round_id}/introductions.csv")
def introductions(round_id: int, db: DB, viewer: CurrentViewer) -> Response:
    """One row per introduction e-mail, for a mail merge (staff only: it has addresses)."""
    viewer.require(STAFF)
    round_ = rounds.get_round(db, round_id)
    return Response(
        introductions_file(db, round_),
        media_type=MEDIA_TYPES["csv"],
        headers={
            "Content-Disposition": f'attachment; filename="round-{round_id}-introductions.csv"'
        },
    )
