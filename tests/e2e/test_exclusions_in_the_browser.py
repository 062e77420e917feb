"""The Conflicts page in a real browser: a matcher finds a mentor and a mentee of the LMC
sample by part of their names, records that they must never be paired, sees the conflict
listed, and removes it after a confirmation. The page (empty, with the search's short lists,
with a refused form and with a conflict) and the confirmation are reviewed like every other
page (overflow on a phone, unnamed controls, axe-core's WCAG A and AA rules at desktop and
phone widths)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.sync_api import Browser, expect
from test_browser import _import_sample, _open_from_nav, _review, _signed_in

if TYPE_CHECKING:
    from served import Service


def test_add_and_remove_a_conflict_of_interest(
    browser: Browser, service: Service, screenshots: Path | None
) -> None:
    errors: list[str] = []
    findings: list[str] = []
    _import_sample(service, "officer")
    context, page = _signed_in(browser, service, "officer", errors)
    _open_from_nav(page, "Conflicts")
    expect(page.get_by_role("heading", level=1)).to_have_text("Conflicts of interest")
    expect(page.get_by_text("No conflicts of interest yet")).to_be_visible()
    _review(page, "conflicts (none)", findings, None)

    # Two mentors of the sample are called Ravi (MR0001, MR0003) and five mentees Mensah:
    # short lists to choose from, nobody chosen for the matcher.
    page.get_by_label("Mentor (name or id)").fill("ravi")
    page.get_by_label("Mentee (name or id)").fill("mensah")
    page.get_by_role("button", name="Find", exact=True).click()
    mentors = page.get_by_role("group", name="Mentor", exact=True).get_by_role("radio")
    expect(mentors).to_have_count(2)
    expect(page.get_by_role("group", name="Mentee", exact=True).get_by_role("radio")).to_have_count(
        5
    )
    _review(page, "conflicts (found)", findings, screenshots)

    # Saved without a reason: refused beside the field, the choices kept.
    page.get_by_role("radio", name="Dr Ravi Okafor MR0003").check()
    page.get_by_role("radio", name="Dr James Mensah ME0002").check()
    reason = page.get_by_label("Reason (required; staff only)")
    reason.fill(" ")
    page.get_by_role("button", name="Save conflict").click()
    expect(page.locator("#ex_reason-error")).to_have_text(
        "Error: Required: say why they must never be paired"
    )
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("radio", name="Dr Ravi Okafor MR0003")).to_be_checked()
    expect(page.get_by_role("radio", name="Dr James Mensah ME0002")).to_be_checked()
    _review(page, "conflicts (refused)", findings, None)

    reason.fill("Educational supervisor")
    page.get_by_role("button", name="Save conflict").click()
    expect(page.get_by_role("status")).to_have_text("Conflict saved: no round will pair them.")
    row = page.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td")).to_have_text(
        [
            "Dr Ravi Okafor MR0003",
            "Dr James Mensah ME0002",
            "Educational supervisor",
            re.compile(r"^\d{4}-\d{2}-\d{2}$"),  # the day it was stored
            "Remove…",
        ]
    )
    expect(row.get_by_role("link", name="Dr Ravi Okafor MR0003")).to_have_attribute(
        "href", "/people/mentors/MR0003"
    )
    _review(page, "conflicts", findings, screenshots)
    with service.api("officer") as api:
        listed = api.get("/api/exclusions").json()
    assert [(e["mentor_id"], e["mentee_id"]) for e in listed] == [("MR0003", "ME0002")]

    # Remove: a confirmation page names both people; then back to the list, which is empty.
    page.get_by_role("button", name="Remove the conflict of MR0003 with ME0002").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove this conflict?")
    expect(page.locator("#confirm-question")).to_contain_text(
        "between mentor Dr Ravi Okafor (MR0003) and mentee Dr James Mensah (ME0002)"
    )
    _review(page, "conflict removal", findings, None)
    page.get_by_role("button", name="Remove conflict").click()
    expect(page.get_by_role("status")).to_have_text(
        "Conflict removed: later rounds may pair them again."
    )
    expect(page.locator("tbody tr")).to_have_count(0)
    context.close()

    with service.api("officer") as api:
        assert api.get("/api/exclusions").json() == []
    assert findings == [], "\n".join(findings)
    assert [e for e in errors if "422" not in e] == []  # the refused form's answer
