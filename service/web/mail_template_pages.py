"""The wording of the scheme's mails: every kind with who changed it, and a page per kind to
preview a wording with the example fields, save it, or go back to the default.

The form is read by the API's request model (``MailTemplateUpdate``) and checked and stored
by the same functions (``service.mail_templates``), so a page refuses and audits exactly
what ``PUT /api/mail-templates/{kind}`` does; a refused wording comes back with status 422,
each problem next to its field and the text kept; nothing is stored.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from service import mail_templates
from service.api.deps import DB
from service.api.mail_templates import MailTemplateUpdate
from service.mail_templates import Preview, TemplateRefused
from service.roles import STAFF
from service.web.deps import Csrf, CurrentViewer, Viewer, confirm_page, render
from service.web.training_pages import problems_by_field, read_form

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=mail_templates.BODY_MOST + 1000)]
# Any text: an unknown kind is a 404 page naming the kinds there are.
KindPath = Annotated[str, Path(max_length=64)]
NOTICES = {
    "saved": "Saved: the next {label} mails use this wording.",
    "reset": "The next {label} mails use the default wording.",
    "default": "The default wording is in use already.",
}


@router.get("/mail-templates")
def list_templates(request: Request, db: DB, viewer: CurrentViewer) -> Response:
    """Every kind of mail, with the default wording or who last changed it and when."""
    viewer.require(STAFF)
    return render(request, "mail_templates.html", viewer, states=mail_templates.template_states(db))


@router.get("/mail-templates/{kind}")
def show_template(
    request: Request,
    kind: KindPath,
    db: DB,
    viewer: CurrentViewer,
    notice: Literal["", "saved", "reset", "default"] = "",
) -> Response:
    """The wording in use, filled in with the example fields, in a form to change it."""
    viewer.require(STAFF)
    state = mail_templates.template_state(db, kind)
    form = {"subject": state.subject, "body": state.body}
    shown = mail_templates.preview(db, kind)
    words = NOTICES[notice].format(label=state.mail.label.lower()) if notice else ""
    return _page(request, db, viewer, kind, form, shown, {}, words)


@router.post("/mail-templates/{kind}")
def change_template(
    request: Request,
    kind: KindPath,
    db: DB,
    viewer: CurrentViewer,
    csrf_token: Csrf = "",
    subject: Text = "",
    body: Text = "",
    action: Annotated[Literal["preview", "save"], Form()] = "preview",
) -> Response:
    """Preview the wording typed (nothing stored), or save it if it renders."""
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    mail_templates.find_kind(kind)
    # Browsers send a text area's line breaks as CRLF; the mails are written with LF.
    form = {"subject": subject.strip(), "body": body.replace("\r\n", "\n")}
    try:
        typed = read_form(MailTemplateUpdate, form)
    except ValidationError as exc:
        return _page(request, db, viewer, kind, form, None, problems_by_field(exc), "")
    shown = mail_templates.preview(db, kind, typed.subject, typed.body)
    if action == "preview" or shown.problems:
        return _page(request, db, viewer, kind, form, shown, shown.problems, "")
    try:
        mail_templates.save_template(db, viewer.user, kind, typed.subject, typed.body)
    except TemplateRefused:  # checked above: only if the rules changed in between
        db.rollback()
        return _page(request, db, viewer, kind, form, shown, shown.problems, "")
    db.commit()
    return RedirectResponse(f"/mail-templates/{kind}?notice=saved", status_code=303)


@router.get("/mail-templates/{kind}/reset")
def confirm_reset(request: Request, kind: KindPath, db: DB, viewer: CurrentViewer) -> Response:
    """Ask before going back to the default wording."""
    viewer.require(STAFF)
    state = mail_templates.template_state(db, kind)
    if not state.edited:
        return RedirectResponse(f"/mail-templates/{kind}?notice=default", status_code=303)
    return confirm_page(
        request,
        viewer,
        heading=f"Back to the default wording of “{state.mail.label}”?",
        question=(
            f"The scheme's own wording, last saved by {state.edited_by or 'a removed user'}, "
            "is replaced by the service's default wording. This cannot be undone."
        ),
        action=f"/mail-templates/{kind}/reset",
        confirm="Use the default wording",
        cancel=f"/mail-templates/{kind}",
        danger=True,
    )


@router.post("/mail-templates/{kind}/reset")
def reset_template(
    kind: KindPath, db: DB, viewer: CurrentViewer, csrf_token: Csrf = ""
) -> Response:
    viewer.require(STAFF)
    viewer.check_form(csrf_token)
    changed = mail_templates.reset_template(db, viewer.user, kind)
    db.commit()
    notice = "reset" if changed else "default"
    return RedirectResponse(f"/mail-templates/{kind}?notice={notice}", status_code=303)


def _page(
    request: Request,
    db: DB,
    viewer: Viewer,
    kind: str,
    form: dict[str, str],
    shown: Preview | None,
    problems: dict[str, str],
    notice: str,
) -> Response:
    state = mail_templates.template_state(db, kind)
    return render(
        request,
        "mail_template.html",
        viewer,
        status_code=422 if problems else 200,
        state=state,
        form=form,
        shown=shown,
        problems=problems,
        notice=notice,
    )
