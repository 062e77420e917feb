"""The wording of the scheme's mails: read, preview, change, and back to the default.

A template is checked before it is stored: rendered with its kind's example fields, with
undefined names refused, so a mail never fails for its wording (``service.mail_templates``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from service import mail_templates
from service.api.deps import DB, Staff
from service.api.schemas import LINE, LINES, SIGNED_IN, Body, Pattern, Timestamp, errors
from service.errors import Invalid
from service.mail_templates import BODY_MOST, SUBJECT_MOST, TemplateRefused, TemplateState

# Every operation names a kind of mail: 404 for one there is not.
router = APIRouter(tags=["mail templates"], responses={**SIGNED_IN, **errors(404)})

KindPath = Annotated[
    str,
    Path(max_length=32, description="The kind of mail, e.g. introduction_to_mentee"),
    Pattern(r"^[a-z_]{1,32}$", "must be a kind of mail, e.g. sign_in_link"),
]


class MailFieldPublic(BaseModel):
    name: str = Field(description="As the template writes it: {{ name }}")
    meaning: str
    example: str = Field(description="The value previews use")


class MailTemplatePublic(BaseModel):
    kind: str
    label: str
    subject: str = Field(description="The subject template in use (Jinja2)")
    body: str = Field(description="The text template in use (Jinja2)")
    edited: bool = Field(description="False: the service's default wording")
    updated_at: Timestamp | None
    updated_by: str | None = Field(description="The user who last saved it")
    fields: list[MailFieldPublic] = Field(description="The fields the templates may use")

    @classmethod
    def of(cls, state: TemplateState) -> MailTemplatePublic:
        return cls(
            kind=state.mail.kind,
            label=state.mail.label,
            subject=state.subject,
            body=state.body,
            edited=state.edited,
            updated_at=state.edited_at,
            updated_by=state.edited_by,
            fields=[
                MailFieldPublic(name=name, meaning=meaning, example=example)
                for name, (meaning, example) in state.mail.fields.items()
            ],
        )


class MailTemplateUpdate(Body):
    model_config = ConfigDict(extra="forbid", strict=True)

    subject: Annotated[str, Field(min_length=1, max_length=SUBJECT_MOST), LINE]
    body: Annotated[str, Field(min_length=1, max_length=BODY_MOST), LINES]


class MailPreview(BaseModel):
    subject: str = Field(description="The subject with the example fields ('' if it fails)")
    body: str = Field(description="The text with the example fields ('' if it fails)")
    problems: list[str] = Field(description="What stops it being saved; empty if nothing")


@router.get("/api/mail-templates")
def list_templates(db: DB, _user: Staff) -> list[MailTemplatePublic]:
    """Every kind of mail with the wording in use."""
    return [MailTemplatePublic.of(s) for s in mail_templates.template_states(db)]


@router.get("/api/mail-templates/{kind}")
def get_template(kind: KindPath, db: DB, _user: Staff) -> MailTemplatePublic:
    return MailTemplatePublic.of(mail_templates.template_state(db, kind))


@router.put("/api/mail-templates/{kind}", responses=errors(400))
def save_template(
    kind: KindPath, body: MailTemplateUpdate, db: DB, user: Staff
) -> MailTemplatePublic:
    """Use this wording for the kind's mails from now on. 422 with the problems, nothing
    stored, if it does not render with the example fields."""
    try:
        mail_templates.save_template(db, user, kind, body.subject, body.body)
    except TemplateRefused as exc:
        db.rollback()
        detail = f"the template was not saved: {exc}"
        raise Invalid(detail, problems=exc.problems) from None
    db.commit()
    return MailTemplatePublic.of(mail_templates.template_state(db, kind))


@router.delete("/api/mail-templates/{kind}")
def reset_template(kind: KindPath, db: DB, user: Staff) -> MailTemplatePublic:
    """Back to the service's default wording (nothing changes if it is in use already)."""
    mail_templates.reset_template(db, user, kind)
    db.commit()
    return MailTemplatePublic.of(mail_templates.template_state(db, kind))


@router.post("/api/mail-templates/{kind}/preview", responses=errors(400))
def preview_template(kind: KindPath, body: MailTemplateUpdate, db: DB, _user: Staff) -> MailPreview:
    """The wording sent, filled in with the example fields, and its problems (nothing is
    stored)."""
    shown = mail_templates.preview(db, kind, body.subject, body.body)
    return MailPreview(subject=shown.subject, body=shown.body, problems=shown.sentences)
