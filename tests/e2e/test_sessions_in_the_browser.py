"""Session logs in a real browser: a matcher finds a mentor by part of their id, fills the
month's return (a bad row first, shown next to its row with nothing stored), sees the
notice and then the sessions in the list; an analyst reads the list with ids only. Every
page is reviewed like the others (overflow on a phone, unnamed controls, axe-core's WCAG A
and AA rules)."""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Browser, expect
from test_browser import (
    _import_sample,
    _names_shown,
    _open_from_nav,
    _review,
    _signed_in,
)

if TYPE_CHECKING:
    from served import Service

JOB_TIMEOUT = 120.0


def _approved_matches(service: Service) -> list[dict[str, Any]]:
    """The sample imported, one round run and approved through the API: confirmed today."""
    _import_sample(service, "boss")
    with service.api("boss") as api:
        made = api.post("/api/rounds", json={"name": "Sessions", "time_limit": 10})
        assert made.status_code == 201, made.text
        round_id = made.json()["id"]
        job_id = api.post(f"/api/rounds/{round_id}/run").json()["job_id"]
        deadline = time.monotonic() + JOB_TIMEOUT
        while api.get(f"/api/jobs/{job_id}").json()["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, "the round did not finish"
            time.sleep(0.5)
        assert api.post(f"/api/rounds/{round_id}/approve").status_code == 200
        matches: list[dict[str, Any]] = api.get("/api/matches").json()
    return matches


def test_a_monthly_return_in_the_browser(
    browser: Browser, service: Service, screenshots: Path | None
) -> None:
    errors: list[str] = []
    findings: list[str] = []
    matches = _approved_matches(service)
    mentor_id = matches[0]["mentor_id"]
    theirs = [m for m in matches if m["mentor_id"] == mentor_id]
    today = date.today()
    month = f"{today:%Y-%m}"  # the matches were confirmed today: this month takes sessions

    context, page = _signed_in(browser, service, "officer", errors)
    _open_from_nav(page, "Sessions")
    expect(page.get_by_text("0 sessions, 0.0 hours.")).to_be_visible()
    _review(page, "sessions (empty)", findings, None)

    # Find the mentor by the digits of their id, for this month.
    page.get_by_role("link", name="Enter a mentor’s monthly return").click()
    expect(page.get_by_role("heading", name="Monthly return", level=1)).to_be_visible()
    page.get_by_label("Mentor: name or id").fill(mentor_id[-4:])
    page.get_by_label("Month", exact=True).fill(month)
    page.get_by_role("button", name="Find mentor").click()
    found = page.get_by_role("region", name=re.compile("^Mentors matching"))
    expect(found.get_by_role("link").first).to_be_visible()
    _review(page, "return: mentors found", findings, None)
    found.get_by_role("link", name=re.compile(mentor_id)).click()
    expect(
        page.get_by_role("heading", name=re.compile(f"^Sessions in {today:%B %Y}"))
    ).to_be_visible()
    groups = page.locator("fieldset.return-match")
    expect(groups).to_have_count(len(theirs))
    _review(page, "return", findings, screenshots, phone_shot="return-phone")

    # A bad row: nothing is stored, the problem is next to the row, what was typed is kept.
    first = groups.first
    first.get_by_label("Session 1: date").fill(today.isoformat())
    first.get_by_label("Minutes of session 1").fill("60")
    first.get_by_label("Session 2: date").fill(today.isoformat())
    first.get_by_label("Minutes of session 2").fill("an hour")
    page.get_by_role("button", name="Send this return").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was logged")
    first = page.locator("fieldset.return-match").first
    expect(first.get_by_text("Minutes must be a whole number from 1 to 600")).to_be_visible()
    expect(first.get_by_label("Minutes of session 1")).to_have_value("60")
    expect(first.get_by_label("Minutes of session 2")).to_have_attribute("aria-invalid", "true")
    _review(page, "return with a bad row", findings, None)
    errors[:] = [e for e in errors if "422" not in e]

    first.get_by_label("Minutes of session 2").fill("45")
    page.get_by_role("button", name="Send this return").click()
    expect(page.get_by_role("status")).to_have_text("2 sessions logged for 1 mentee.")
    expect(page.locator("fieldset.return-match").first).to_contain_text(
        f"Already logged in {today:%B %Y}: 2 sessions (105 minutes)"
    )
    _review(page, "return logged", findings, None)

    page.get_by_role("link", name="All logged sessions").click()
    expect(page.get_by_text("2 sessions, 1.8 hours.")).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(mentor_id)
    page.get_by_label("Month", exact=True).fill(month)
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text(f"2 sessions, 1.8 hours in {today:%B %Y}.")).to_be_visible()
    assert _names_shown(page)
    _review(page, "sessions", findings, screenshots)
    context.close()

    # An analyst reads the same list with ids only, and has no return to enter.
    context, page = _signed_in(browser, service, "analyst", errors)
    _open_from_nav(page, "Sessions")
    expect(page.locator("tbody tr")).to_have_count(2)
    expect(page.get_by_role("link", name="Enter a mentor’s monthly return")).to_have_count(0)
    assert not _names_shown(page)
    _review(page, "sessions (analyst)", findings, None)
    context.close()

    assert findings == [], "\n".join(findings)
    assert errors == []
