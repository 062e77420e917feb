"""Planning in a real browser: an analyst starts a comparison of two scenarios on a round
from Reports → Planning, the plan's page follows the job (static/progress.js) and shows the
table when it ends; then a recruitment plan. Every page is reviewed (overflow on a phone,
unnamed controls, axe-core's WCAG A and AA rules) and shows no name."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from playwright.sync_api import Browser, expect
from test_browser import _import_sample, _names_shown, _review, _signed_in

if TYPE_CHECKING:
    from served import Service

PLAN_TIMEOUT = 120_000  # ms: a busy machine may take a while over two scenarios


def test_an_analyst_plans_in_the_browser(
    browser: Browser, service: Service, screenshots: Path | None
) -> None:
    errors: list[str] = []
    findings: list[str] = []
    _import_sample(service, "boss")
    with service.api("boss") as api:
        made = api.post("/api/rounds", json={"name": "Planning", "time_limit": 5})
        assert made.status_code == 201, made.text
    context, page = _signed_in(browser, service, "analyst", errors)
    page.goto(f"{service.url}/reports")
    page.get_by_role("link", name="plan recruitment or compare settings").click()
    expect(page.get_by_role("heading", name="Planning", level=1)).to_be_visible()
    _review(page, "planning", findings, screenshots)

    compare = page.get_by_role("region", name="What does each rule cost?")
    compare.get_by_label("Seconds for each scenario").fill("5")
    second = compare.get_by_role("group", name="Scenario 2")
    second.get_by_label("Name").fill("narrow")
    second.get_by_label("Settings").fill("[capacity]\nmin = 4\nmax = 6\n")
    compare.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("comparison of settings")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2, timeout=PLAN_TIMEOUT)
    expect(rows.nth(1)).to_contain_text("narrow")
    assert not _names_shown(page)
    _review(page, "a comparison", findings, screenshots)

    page.goto(f"{service.url}/reports/plans")
    recruit = page.get_by_role("region", name="How many more mentors?")
    recruit.get_by_label("So that we can match").select_option("all")
    recruit.get_by_label("Seconds to search").fill("10")
    recruit.get_by_role("button", name="Plan recruitment").click()
    expect(page.locator("#plan-answer")).to_contain_text("new mentor", timeout=PLAN_TIMEOUT)
    assert not _names_shown(page)
    _review(page, "a recruitment plan", findings, screenshots)
    context.close()

    assert findings == [], "\n".join(findings)
    assert errors == []
