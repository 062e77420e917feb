"""The e-mail outbox for staff: what was queued, sent or failed; a failed mail tried again;
the queued mails as .eml files or one mail-merge CSV, and marked as sent by hand.

A sign-in link's text is a live credential: the answers here never carry it (the downloads
do, for staff who send mail by hand).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from service import outbox_views
from service.api.deps import DB, Settings, Staff
from service.api.schemas import (
    LINE,
    MAX_INT,
    SIGNED_IN,
    Body,
    PathId,
    Pattern,
    Timestamp,
    errors,
)
from service.models import OutboxMail

router = APIRouter(tags=["outbox"], responses=SIGNED_IN)

Status = Literal["queued", "sent", "failed"]
KindQuery = Annotated[
    Annotated[str, Pattern(r"^[a-z_]{1,32}$", "must be a kind of mail, e.g. sign_in_link")] | None,
    Query(max_length=32, description="Only this kind of mail, e.g. introduction_to_mentee"),
]
AboutQuery = Annotated[
    Annotated[str, LINE] | None,
    Query(min_length=1, max_length=64, description="Only mails about this, e.g. match:12"),
]
UpTo = Annotated[
    int | None, Query(ge=1, le=MAX_INT, description="Only mails with this id or an older one")
]
ZIP = "application/zip"
CSV = "text/csv; charset=utf-8"


class OutboxMailPublic(BaseModel):
    id: int
    kind: str
    about: str = Field(description="What the mail is about, e.g. match:12; '' if nothing")
    recipient: str
    subject: str
    status: Status
    attempts: int = Field(description="Tries to send it so far")
    created_at: Timestamp
    next_attempt_at: Timestamp = Field(description="A queued mail is not sent before then")
    sent_at: Timestamp | None
    last_error: str | None = Field(description="The mail server's answer to the last try")
    attachment_name: str | None

    @classmethod
    def of(cls, mail: OutboxMail) -> OutboxMailPublic:
        return cls(
            id=mail.id,
            kind=mail.kind,
            about=mail.about,
            recipient=mail.recipient,
            subject=mail.subject,
            status=mail.status,  # type: ignore[arg-type]
            attempts=mail.attempts,
            created_at=mail.created_at,
            next_attempt_at=mail.next_attempt_at,
            sent_at=mail.sent_at,
            last_error=mail.last_error,
            attachment_name=mail.attachment_name,
        )


class OutboxMailDetail(OutboxMailPublic):
    body: str = Field(description="The text; a sign-in link's is withheld (body_hidden)")
    body_hidden: bool = Field(description="True for a one-time sign-in link: never shown")

    @classmethod
    def of(cls, mail: OutboxMail) -> OutboxMailDetail:
        public = OutboxMailPublic.of(mail).model_dump()
        return cls(
            **public, body=outbox_views.shown_body(mail), body_hidden=outbox_views.hidden(mail)
        )


class OutboxCounts(BaseModel):
    """Mails in the whole outbox, by status."""

    queued: int
    sent: int
    failed: int


class OutboxPage(BaseModel):
    total: int = Field(description="Mails the filters select, over all pages")
    offset: int
    limit: int
    counts: OutboxCounts
    mails: list[OutboxMailPublic] = Field(description="Newest first")


class SentByHand(Body):
    """Queued mails downloaded and sent by hand, to be marked as sent."""

    model_config = ConfigDict(extra="forbid", strict=True)

    # JSON numbers as JSON Schema reads them: 42.0 is the integer 42.
    ids: list[Annotated[int, Field(ge=1, le=MAX_INT, strict=False)]] = Field(
        min_length=1, max_length=outbox_views.BATCH, description="The mails sent by hand"
    )
    status: Literal["sent"] = Field(description="What they become: sent")


class SentByHandResult(BaseModel):
    marked: int = Field(description="How many were queued and are now marked as sent")
    ids: list[int] = Field(description="Those marked; the others were no longer queued")


def _file_answer(media_type: str, description: str) -> dict[int | str, dict[str, object]]:
    return {
        200: {
            "description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


@router.get("/api/outbox")
def list_outbox(
    db: DB,
    _user: Staff,
    status: Annotated[Status | None, Query(description="Only mails of this status")] = None,
    kind: KindQuery = None,
    about: AboutQuery = None,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> OutboxPage:
    """Mails newest first, a page at a time, with the counts by status of the whole outbox."""
    found = outbox_views.OutboxFilter(status=status or "", kind=kind or "", about=about or "")
    return OutboxPage(
        total=outbox_views.count(db, found),
        offset=offset,
        limit=limit,
        counts=OutboxCounts(**outbox_views.counts(db)),
        mails=[OutboxMailPublic.of(m) for m in outbox_views.page(db, found, offset, limit)],
    )


@router.get("/api/outbox/{mail_id}", responses=errors(404))
def get_mail(mail_id: PathId, db: DB, _user: Staff) -> OutboxMailDetail:
    """One mail with its text (a one-time sign-in link's text is withheld)."""
    return OutboxMailDetail.of(outbox_views.get_mail(db, mail_id))


@router.post("/api/outbox/{mail_id}/retry", responses=errors(404, 409))
def retry_mail(mail_id: PathId, db: DB, user: Staff) -> OutboxMailDetail:
    """Queue a failed mail again, its tries counted afresh; 409 unless it is failed."""
    mail = outbox_views.retry(db, user, mail_id)
    db.commit()
    return OutboxMailDetail.of(mail)


@router.patch("/api/outbox", responses=errors(400))
def mark_sent_by_hand(body: SentByHand, db: DB, user: Staff) -> SentByHandResult:
    """Mark mails downloaded and sent by hand as sent, so that they are not sent again once
    SMTP is configured; only those still queued change."""
    marked = outbox_views.mark_sent_by_hand(db, user, body.ids)
    db.commit()
    return SentByHandResult(marked=len(marked), ids=marked)


@router.get(
    "/api/outbox.zip",
    response_class=Response,
    responses=_file_answer(ZIP, "One .eml file per mail, oldest first"),
)
def download_eml(
    db: DB,
    _user: Staff,
    settings: Settings,
    status: Annotated[Status, Query(description="Mails of this status")] = "queued",
    up_to: UpTo = None,
) -> Response:
    """The mails of a status (default: queued) as .eml files in a zip, sign-in links
    included: to send by hand without SMTP."""
    data = outbox_views.eml_zip(db, settings.mail_from, status, up_to)
    return _download(data, ZIP, f"outbox-{status}.zip")


@router.get(
    "/api/outbox.csv",
    response_class=Response,
    responses=_file_answer(CSV, "A row per queued mail: " + ", ".join(outbox_views.CSV_COLUMNS)),
)
def download_csv(db: DB, _user: Staff, up_to: UpTo = None) -> Response:
    """The queued mails as one mail-merge CSV (UTF-8 with a byte-order mark, cells that a
    spreadsheet would run as formulas neutralised with a leading ')."""
    return _download(outbox_views.mail_merge_csv(db, up_to), CSV, "outbox-mail-merge.csv")


def _download(data: bytes, media_type: str, name: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
