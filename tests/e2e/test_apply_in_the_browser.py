"""A GP applies on the public form in a real browser: sent empty, every problem is listed and
marked beside its field; filled in, the thank-you page gives the reference; staff then see
the application with its details and the approval form filled in from what the GP offered.
Every page is reviewed (overflow on a phone, unnamed controls, axe-core's WCAG A and AA
rules)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.sync_api import Browser, expect
from test_browser import _context, _review, _signed_in

if TYPE_CHECKING:
    from served import Service

ANSWERS = {
    "Do you hold full registration with the GMC?": "Yes",
    "Do you hold a licence to practise with the GMC?": "Yes",
    "Are you on the National Medical Performers List": "Yes",
    "Are you subject to interim suspension": "No",
    "Will you commit to at least 12 months of mentoring?": "Yes",
    "Will you commit to the mentorship training?": "Yes",
}


def test_a_gp_applies_online(browser: Browser, service: Service, screenshots: Path | None) -> None:
    errors: list[str] = []
    findings: list[str] = []
    context = _context(browser, errors)
    page = context.new_page()
    page.goto(f"{service.url}/apply")
    expect(page.get_by_role("heading", name="Apply to be a GP mentor")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    _review(page, "apply", findings, screenshots, phone_shot="apply-phone")

    page.get_by_role("button", name="Send my application").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Nothing was saved")
    expect(page.get_by_label("Your name")).to_have_attribute("aria-invalid", "true")
    _review(page, "apply with problems", findings, None)
    errors[:] = [e for e in errors if "422" not in e]

    page.get_by_label("Your name").fill("Dr Nia Evans")
    page.get_by_label("E-mail address").fill("nia.evans@nhs.example")
    page.get_by_label("GMC number").fill("7012345")
    page.get_by_label("Name of practice").fill("Riverside Surgery")
    page.get_by_label("Clinical sessions a week").fill("6")
    page.get_by_label("Years since CCT").fill("12")
    for question, answer in ANSWERS.items():
        group = page.get_by_role("group", name=re.compile(re.escape(question)))
        group.get_by_label(answer, exact=True).check()
    page.get_by_label("Why you want to mentor").fill("I have supported trainees for years.")
    page.get_by_role("group", name="Areas you can mentor in").get_by_role("checkbox").first.check()
    page.get_by_role("group", name="Ways you can meet").get_by_role("checkbox").first.check()
    page.get_by_label("Most mentees at once").fill("5")
    page.get_by_role("button", name="Send my application").click()
    expect(page.get_by_role("heading", name="Thank you, Dr Nia Evans")).to_be_visible()
    reference = page.locator("#reference").inner_text()
    assert re.fullmatch(r"A-\d+", reference), reference
    _review(page, "apply: thank you", findings, None)
    context.close()

    with service.api("boss") as api:
        (found,) = [a for a in api.get("/api/applications").json() if a["source"] == "online"]
    context, page = _signed_in(browser, service, "boss", errors)
    page.goto(f"{service.url}/applications/{found['id']}")
    expect(page.get_by_text("I have supported trainees for years.")).to_be_visible()
    expect(page.get_by_text("Riverside Surgery")).to_be_visible()
    _review(page, "an online application (staff)", findings, None)
    context.close()

    assert findings == [], "\n".join(findings)
    assert errors == []
