"""The audit log and the report downloads in a real browser: an admin filters the log by
action, by user and by day, then downloads the monitoring figures as of a chosen day and the
ledger; an analyst's ledger has mentor ids, never names. Every page passes axe-core's WCAG A
and AA rules at phone and desktop width, without overflow."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import openpyxl
from playwright.sync_api import Browser, expect
from test_browser import (
    _download,
    _import_sample,
    _open_from_nav,
    _review,
    _signed_in,
)

from service.finance import FinancialYear

if TYPE_CHECKING:
    from served import Service

TODAY = date.today()


def _records(service: Service) -> str:
    """The LMC sample imported, and a course of 4 sessions completed today by one mentor:
    the id of that mentor."""
    _import_sample(service, "officer")
    with service.api("officer") as api:
        mentor_id = str(api.get("/api/mentors").json()[0]["mentor_id"])
        course = {
            "mentor_id": mentor_id,
            "course": "ILM5",
            "started_on": TODAY.isoformat(),
            "completed_on": TODAY.isoformat(),
            "reimbursed_sessions": 4,
        }
        answer = api.post("/api/training", json=course)
        assert answer.status_code == 201, answer.text
    return mentor_id


def test_an_admin_filters_the_audit_log_and_downloads_reports(
    browser: Browser, service: Service, tmp_path: Path
) -> None:
    mentor_id = _records(service)
    errors: list[str] = []
    findings: list[str] = []
    context, page = _signed_in(browser, service, "boss", errors)

    _open_from_nav(page, "Audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    _review(page, "audit", findings, None)
    rows = page.locator("tbody tr")
    expect(rows.first).to_be_visible()

    page.get_by_label("Action").select_option("training.create")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    cells = rows.first.locator("td")
    expect(cells.nth(1)).to_have_text("officer")
    expect(cells.nth(2)).to_have_text("training.create")
    expect(cells.nth(4)).to_contain_text(f"mentor_id {mentor_id}")
    expect(cells.nth(4)).to_contain_text("reimbursed_sessions 4")
    _review(page, "audit, filtered", findings, None)

    # Only the officer's imports and course, today; then a day with nothing.
    page.get_by_label("Action").select_option("")
    page.get_by_label("User", exact=True).select_option("officer")
    page.get_by_label("From (UTC)").fill(TODAY.isoformat())
    page.get_by_label("To (UTC)").fill(TODAY.isoformat())
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(3)
    expect(rows.locator("td:nth-child(3)")).to_have_text(
        ["training.create", "mentees.import", "mentors.import"]
    )
    page.get_by_label("From (UTC)").fill((TODAY - timedelta(days=9)).isoformat())
    page.get_by_label("To (UTC)").fill((TODAY - timedelta(days=8)).isoformat())
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No entry matches the filter.")).to_be_visible()
    page.get_by_role("link", name="Show every entry").click()
    expect(page.get_by_label("User", exact=True)).to_have_value("")

    # Reports: the figures as of the last day of the previous financial year, then today.
    _open_from_nav(page, "Reports")
    year = FinancialYear.containing(TODAY)
    before = year.start - timedelta(days=1)
    page.get_by_label("As of", exact=True).fill(before.isoformat())
    page.get_by_role("button", name="Show").first.click()
    expect(page.get_by_role("heading", level=2).first).to_have_text(
        f"Monitoring figures as of {before.day} {before:%B %Y}"
    )
    _review(page, "reports", findings, None)
    path = _download(page, f"Download the monitoring figures as of {before} (CSV)", tmp_path)
    assert (
        path.name
        == f"monitoring-{year.start_year - 1}-{year.start_year % 100:02d}-as-of-{before}.csv"
    )
    with path.open(encoding="utf-8-sig", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["as_of"], row["mentors_trained"]) == (before.isoformat(), "0")

    page.get_by_label("As of", exact=True).fill(TODAY.isoformat())
    page.get_by_role("button", name="Show").first.click()
    path = _download(
        page, f"Download the ledger {year.label} (XLSX, months and per mentor)", tmp_path
    )
    assert path.name.endswith(f"-as-of-{TODAY.isoformat()}.xlsx")
    book = openpyxl.load_workbook(path)
    assert book["About"]["A2"].value == f"As of {TODAY.day} {TODAY:%B %Y}"
    header, *lines = list(book["By mentor"].iter_rows(values_only=True))
    assert header[3:5] == ("mentor_id", "mentor_name")
    assert [(line[3], line[6], line[-1]) for line in lines] == [(mentor_id, 4, 1156)]
    context.close()

    # An analyst's ledger per mentor: the id, no name column.
    context, page = _signed_in(browser, service, "analyst", errors)
    _open_from_nav(page, "Reports")
    _review(page, "reports (analyst)", findings, None)
    path = _download(
        page, f"Download the ledger {year.label} (CSV, per mentor and month)", tmp_path
    )
    with path.open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert [(line["mentor_id"], line["training_sessions"]) for line in lines] == [(mentor_id, "4")]
    assert "mentor_name" not in lines[0]
    context.close()
    assert findings == []
    assert errors == []
