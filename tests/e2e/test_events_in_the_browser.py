"""The speed-meeting pages in a real browser: an organiser plans an event from the imported
sample, then the events list, the event's rotation and its printable sheets are reviewed
like every other page (overflow on a phone, unnamed controls, axe-core's WCAG A and AA
rules), and so is an error page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.sync_api import Browser, expect
from test_browser import (
    _forgive_not_found,
    _import_sample,
    _review,
    _signed_in,
)

if TYPE_CHECKING:
    from served import Service


def test_the_event_pages_and_sheets(
    browser: Browser, service: Service, screenshots: Path | None
) -> None:
    errors: list[str] = []
    findings: list[str] = []
    _import_sample(service, "boss")
    context, page = _signed_in(browser, service, "boss", errors)

    page.goto(f"{service.url}/events")
    _review(page, "events (organiser)", findings, None)
    # The first tab stop skips the header and its navigation.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.get_by_label("Rounds").fill("3")
    page.get_by_role("button", name="Plan event").click()
    expect(page).to_have_url(re.compile(r"/events/\d+\?notice=planned$"), timeout=60_000)
    _review(page, "event", findings, screenshots)

    with page.expect_navigation() as navigation:
        page.get_by_role("link", name=re.compile("^Print sheets")).click()
    response = navigation.value
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", name="Table 1", exact=True)).to_be_visible()
    _review(page, "event sheets", findings, None)

    missing = page.goto(f"{service.url}/events/999999")
    assert missing is not None and missing.status == 404
    _forgive_not_found(errors, page.url)
    _review(page, "event not found", findings, None)
    context.close()

    assert findings == [], "\n".join(findings)
    assert errors == []
