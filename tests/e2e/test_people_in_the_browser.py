"""The People pages in a real browser: an admin finds a mentee of the LMC sample by name, opens
their page, changes a field and sees the new version in the history; a bad date is refused
beside its field. The list (mentees and mentors) and the person's page, with and without a
problem, are reviewed like every other page (overflow on a phone, unnamed controls, axe-core's
WCAG A and AA rules at desktop and phone widths)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from playwright.sync_api import Browser, expect
from test_browser import (
    _import_sample,
    _open_from_nav,
    _review,
    _signed_in,
)

if TYPE_CHECKING:
    from served import Service


def test_find_open_and_edit_a_mentee(
    browser: Browser, service: Service, screenshots: Path | None
) -> None:
    errors: list[str] = []
    findings: list[str] = []
    _import_sample(service, "officer")
    context, page = _signed_in(browser, service, "boss", errors)
    _open_from_nav(page, "People")
    expect(page.locator("nav.pager").first).to_contain_text("Showing 1–50 of 200 (page 1 of 4)")
    _review(page, "people", findings, screenshots)

    # Five mentees of the sample are called Mensah: ME0002, ME0056, ME0130, ME0147, ME0162.
    page.get_by_label("Name or id").fill("mensah")
    page.get_by_role("button", name="Find").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.first).to_contain_text("Dr James Mensah")
    expect(rows.first).to_contain_text("Mid-career GP")  # the cohort in words
    page.get_by_role("link", name="ME0002", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dr James Mensah")
    _review(page, "person", findings, screenshots)

    # A new primary care network: version 2, and the change in the history.
    page.get_by_label("Primary care network").fill("PCN-East-09")
    page.get_by_role("button", name="Save a new version").click()
    expect(page.get_by_role("status")).to_have_text("Saved as version 2.")
    expect(page.locator("#version-2")).to_contain_text(
        "Primary care network: PCN-East-01 → PCN-East-09"
    )
    expect(page.locator("#version-2 li")).to_have_count(1)  # nothing else changed
    expect(page.get_by_label("Primary care network")).to_have_value("PCN-East-09")

    # A date that does not exist is refused beside its field; what was typed stays.
    field = page.get_by_label("Waiting since")
    field.fill("31/02/2026")
    page.get_by_role("button", name="Save a new version").click()
    expect(page.locator("#e_waiting_since-error1")).to_have_text(
        "not a date (expected a date such as 18/04/2026, 18 Apr 2026 or 2026-04-18)"
    )
    expect(field).to_have_value("31/02/2026")
    expect(field).to_have_attribute("aria-invalid", "true")
    _review(page, "person with a problem", findings, None)

    page.goto(f"{service.url}/people?kind=mentors&status=active")
    expect(page.get_by_role("link", name="Mentors")).to_have_attribute("aria-current", "page")
    _review(page, "people (mentors)", findings, None)
    context.close()

    with service.api("boss") as api:
        history = api.get("/api/mentees/ME0002/history").json()
    assert [v["record"]["pcn"] for v in history] == ["PCN-East-01", "PCN-East-09"]
    assert findings == []
    assert [e for e in errors if "422" not in e] == []
