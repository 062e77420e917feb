"""The Training and Applications pages in a real browser: an admin files an application,
approves it and finds the new mentor; a matcher finds that mentor by name and records their
training, then its completion; a refused field is shown next to it. Every page is reviewed
like the others (overflow on a phone, unnamed controls, axe-core's WCAG A and AA rules at
desktop and phone width)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.sync_api import Browser, expect
from test_browser import _open_from_nav, _review, _signed_in

if TYPE_CHECKING:
    from served import Service

APPLICANT = "Dr Katherine Johnson"


def test_an_application_approved_and_the_new_mentor_trained(
    browser: Browser, service: Service, screenshots: Path | None
) -> None:
    errors: list[str] = []
    findings: list[str] = []
    context, page = _signed_in(browser, service, "boss", errors)

    _open_from_nav(page, "Applications")
    _review(page, "applications (empty)", findings, None)
    page.get_by_role("link", name="Record a new application").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New mentor application")
    _review(page, "application form", findings, screenshots)
    page.get_by_label("Applicant's name").fill(APPLICANT)
    page.get_by_label("E-mail address (optional)").fill("kj@example.org")
    page.get_by_label("GMC number").fill("7654321")
    page.get_by_label("Clinical sessions a week").fill("6")
    page.get_by_label("Years since CCT").fill("11")
    for question in (
        "full registration",
        "licence to practise",
        "Performers List",
        "12 months",
        "mentorship training",
    ):
        page.get_by_role("group", name=re.compile(question)).get_by_label("Yes").check()
    # The suspension question is left unanswered: refused, with what was typed kept.
    page.get_by_role("button", name="Save application").click()
    expect(page.locator("#ap_suspended-error")).to_have_text("Error: Required: answer yes or no")
    expect(page.get_by_label("Applicant's name")).to_have_value(APPLICANT)
    _review(page, "application form refused", findings, None)
    page.get_by_role("group", name=re.compile("suspension")).get_by_label("No").check()
    page.get_by_role("button", name="Save application").click()
    expect(page.get_by_role("status")).to_have_text(
        "Application saved with its eligibility checks."
    )
    expect(page.locator("#eligibility")).to_have_text(
        "Eligible: passes all 9 checks of the guidance."
    )
    _review(page, "application (pending)", findings, screenshots)

    approve = page.get_by_role("form", name="Approve and add to the register")
    approve.get_by_label("Reason for approving").fill("Interviewed; meets the criteria.")
    approve.get_by_role("button", name="Approve and add to the register").click()
    expect(page.locator("#ok_mentor_id-error")).to_have_text("Error: Required, but empty")
    expect(approve.get_by_label("Reason for approving")).to_have_value(
        "Interviewed; meets the criteria."
    )
    _review(page, "approval refused", findings, None)
    approve.get_by_label("Mentor id on the register").fill("MR0901")
    approve.get_by_label("Leadership").check()
    approve.get_by_label("Tuesday evening").check()
    approve.get_by_label("Both").check()
    approve.get_by_role("button", name="Approve and add to the register").click()
    expect(page.get_by_role("status")).to_have_text(
        "Application approved: the applicant is on the register as mentor MR0901."
    )
    _review(page, "application (approved)", findings, None)
    page.get_by_role("link", name="find them in the register list").click()
    expect(page.get_by_role("main")).to_contain_text(APPLICANT)
    context.close()

    officer, page = _signed_in(browser, service, "officer", errors)
    _open_from_nav(page, "Training")
    _review(page, "training (empty)", findings, None)
    page.get_by_label("Find a mentor by name or id").fill("katherine")
    page.get_by_role("button", name="Find mentor").click()
    page.get_by_role("link", name=re.compile(f"Choose {APPLICANT}")).click()
    expect(page.get_by_label("Mentor", exact=True)).to_have_value(f"{APPLICANT} (MR0901)")
    page.get_by_label("Course", exact=True).fill("ILM Level 5 Certificate in Coaching")
    page.get_by_label("Started on").fill("2026-01-12")
    page.get_by_label("Reimbursed training sessions").fill("5")
    page.get_by_role("button", name="Save training record").click()
    expect(page.locator("#tr_reimbursed_sessions-error")).to_have_text(
        "Error: Reimbursed sessions must be between 0 and 4"
    )
    expect(page.get_by_label("Course", exact=True)).to_have_value(
        "ILM Level 5 Certificate in Coaching"
    )
    _review(page, "training form refused", findings, None)
    page.get_by_label("Reimbursed training sessions").fill("4")
    page.get_by_role("button", name="Save training record").click()
    expect(page.get_by_role("status")).to_have_text("Training record 1 saved.")
    expect(page.locator("#training-1")).to_contain_text("In progress")
    _review(page, "training", findings, screenshots)

    page.get_by_role("link", name="Record 1: update").click()
    page.get_by_label("Completed on").fill("2026-07-03")
    page.get_by_label("Qualification").fill("ILM5")
    _review(page, "training record", findings, None)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Training record 1 updated.")
    expect(page.locator("#training-1")).to_contain_text("Completed")
    officer.close()

    assert findings == [], "\n".join(findings)
    assert [e for e in errors if "422" not in e] == []
