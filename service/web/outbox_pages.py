"""The outbox for staff: mails by status, kind and recipient or what they are about, a page
per mail (a failed one tried again), and without SMTP the queued mails downloaded (.eml
files or a mail-merge CSV) and then marked as sent by hand.

The text of a one-time sign-in link is never on a page (``outbox_views.HIDDEN_TEXT``); the
downloads keep it, for staff who send those mails by hand.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from service import outbox_views
from service.api.deps import DB, Settings
from service.api.schemas import LINE, MAX_INT
from service.errors import Invalid, NotFound
from service.mail_templates import KINDS
from service.models import OutboxMail
from service.roles import STAFF
from service.web.deps import Csrf, CurrentViewer, render
from service.web.paging import PER_PAGE, PageNumber, PerPage, page_of

router = APIRouter(include_in_schema=False)
StatusChoice = Literal["", "queued", "sent", "failed"]
Text = Annotated[str, Query(max_length=254), LINE]
UpTo = Annotated[int | None, Query(ge=1, le=MAX_INT)]
MailId = Annotated[int, Path(ge=1, le=MAX_INT)]
# The ids a "mark as sent" form carries: a batch of ids of at most 10 digits, comma-separated.
Ids = Annotated[str, Form(max_length=11 * outbox_views.BATCH)]
STATUS_WORDS = {"queued": "Queued", "sent": "Sent", "failed": "Failed"}
KIND_LABELS = {kind: mail.label for kind, mail in KINDS.items()}
NOTICES = {
    "retried": "Mail {mail} is queued again: it goes with the next mails sent.",
    "sent_by_hand": "{marked} mail(s) marked as sent by hand.",
}


@router.get("/outbox")
def list_outbox(
    request: Request,
    db: DB,
    viewer: CurrentViewer,
    settings: Settings,
    status: StatusChoice = "",
    kind: Annotated[str, Query(max_length=32), LINE] = "",
    q: Text = "",
    page: PageNumber = 1,
    per_page: PerPage = PER_PAGE,
    notice: Literal["", "sent_by_hand"] = "",
    marked: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    offered: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> Response:
    """Mails newest first, a page at a time, with the counts by status; what is queued can
    be downloaded and marked as sent by hand."""
    viewer.require(STAFF)
    search = q.strip()
    found = outbox_views.OutboxFilter(status=status, kind=kind, search=search)
    paged = page_of(
        page, per_page, outbox_views.count(db, found), status=status, kind=kind, q=search
    )
    notice_text = ""
    if notice:
        notice_text = NOTICES[notice].format(marked=marked)
        if offered > marked:
            notice_text += f" {offered - marked} were no longer queued: sent or changed meanwhile."
    ids = outbox_views.batch(db)
    return render(
        request,
        "outbox.html",
        viewer,
        mails=outbox_views.page(db, found, paged.start, paged.per_page),
        paged=paged,
        path="/outbox",
        counts=outbox_views.counts(db),
        kinds=outbox_views.kinds(db),
        kind_labels=KIND_LABELS,
        statuses=STATUS_WORDS,
        status=status,
        kind=kind,
        q=search,
        batch=ids,
        batch_ids=",".join(str(i) for i in ids),
        smtp=bool(settings.smtp_url),
        notice=notice_text,
    )


@router.get("/outbox/download.zip")
def download_zip(
    db: DB,
    viewer: CurrentViewer,
    settings: Settings,
    status: Literal["queued", "sent", "failed"] = "queued",
    up_to: UpTo = None,
) -> Response:
    """The mails of a status (default queued), up to id ``up_to``, as .eml files."""
    viewer.require(STAFF)
    data = outbox_views.eml_zip(db, settings.mail_from, status, up_to)
    return _download(data, "application/zip", f"outbox-{status}.zip")


@router.get("/outbox/mail-merge.csv")
def download_csv(db: DB, viewer: CurrentViewer, up_to: UpTo = None) -> Response:
    """The queued mails, up to id ``up_to``, as one mail-merge CSV."""
    viewer.require(STAFF)
    data = outbox_views.mail_merge_csv(db, up_to)
    return _download(data, "text/csv; charset=utf-8", "outbox-mail-merge.csv")


@router.post("/outbox/sent-by-hand")
def sent_by_hand(db: DB, viewer: CurrentViewer, csrf_token: Csrf = "", ids: Ids = "") -> Response:
    """Mark the mails downloaded (those of them still queued) as sent."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    wanted = _ids(ids)
    marked = outbox_views.mark_sent_by_hand(db, viewer.user, wanted)
    db.commit()
    target = f"/outbox?notice=sent_by_hand&marked={len(marked)}&offered={len(set(wanted))}"
    return RedirectResponse(target, status_code=303)


def _ids(text: str) -> list[int]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts or not all(
        part.isascii() and part.isdigit() and len(part) <= 10 for part in parts
    ):
        raise Invalid("the form did not carry the mails' ids: reload the outbox page")
    return [int(part) for part in parts]


@router.get("/outbox/{mail_id}")
def show_mail(
    request: Request,
    mail_id: MailId,
    db: DB,
    viewer: CurrentViewer,
    settings: Settings,
    notice: Literal["", "retried"] = "",
) -> Response:
    """One mail as it goes out: headers, text (a sign-in link's withheld), attachment."""
    viewer.require(STAFF)
    mail = outbox_views.get_mail(db, mail_id)
    return render(
        request,
        "outbox_mail.html",
        viewer,
        mail=mail,
        body=outbox_views.shown_body(mail),
        hidden=outbox_views.hidden(mail),
        sender=settings.mail_from,
        kind_labels=KIND_LABELS,
        statuses=STATUS_WORDS,
        notice=NOTICES[notice].format(mail=mail_id) if notice else "",
    )


@router.get("/outbox/{mail_id}/attachment")
def attachment(mail_id: MailId, db: DB, viewer: CurrentViewer) -> Response:
    viewer.require(STAFF)
    mail: OutboxMail = outbox_views.get_mail(db, mail_id)
    if mail.attachment is None or not mail.attachment_name:
        raise NotFound(f"mail {mail_id} has no attachment")
    name = outbox_views.safe_file_name(mail.attachment_name)
    return _download(mail.attachment.encode("utf-8"), outbox_views.attachment_type(name), name)


@router.post("/outbox/{mail_id}/retry")
def retry(mail_id: MailId, db: DB, viewer: CurrentViewer, csrf_token: Csrf = "") -> Response:
    """Queue a failed mail again (a mail that is not failed: 409)."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    outbox_views.retry(db, viewer.user, mail_id)
    db.commit()
    return RedirectResponse(f"/outbox/{mail_id}?notice=retried", status_code=303)


def _download(data: bytes, media_type: str, name: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
