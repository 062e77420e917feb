"""/docs in Chromium: Swagger UI lists every operation of the API and runs one, from this
server's own files, under the site's Content-Security-Policy, with no violation reported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
from playwright.sync_api import Browser, expect

if TYPE_CHECKING:
    from served import Service

# Runs before the page's own scripts: every violation of the page's policy is kept.
WATCH_POLICY = """document.addEventListener('securitypolicyviolation', (e) => {
  (window.violations = window.violations || []).push(e.effectiveDirective + ' ' + e.blockedURI);
});"""
METHODS = {"get", "put", "post", "delete", "patch"}


def test_the_api_documentation_works_under_the_sites_policy(
    browser: Browser, service: Service
) -> None:
    schema = httpx.get(f"{service.url}/openapi.json", timeout=30).json()
    # Swagger UI shows an operation once under each of its tags.
    shown = sum(
        max(1, len(operation.get("tags", [])))
        for item in schema["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    )
    context = browser.new_context()
    errors: list[str] = []
    elsewhere: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error":
            errors.append(message.text)

    context.on("console", on_console)
    context.on("weberror", lambda error: errors.append(str(error.error)))
    context.on(
        "request",
        lambda request: (
            elsewhere.append(request.url)
            if request.url.startswith("http") and not request.url.startswith(service.url)
            else None
        ),
    )
    page = context.new_page()
    page.add_init_script(WATCH_POLICY)

    page.goto(f"{service.url}/docs")  # signed out
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.locator(".opblock")).to_have_count(shown)
    expect(page.get_by_role("heading", name="GP mentor matching service")).to_be_visible()

    # Run one operation from the page: GET /health answers from this server.
    health = page.locator(
        ".opblock", has=page.locator(".opblock-summary-path[data-path='/health']")
    )
    health.locator(".opblock-summary-control").click()
    health.get_by_role("button", name="Try it out").click()
    health.get_by_role("button", name="Execute").click()
    live = health.locator(".live-responses-table")
    expect(live.locator("tbody .response-col_status")).to_have_text("200")
    expect(live).to_contain_text('"status": "ok"')

    assert page.evaluate("window.violations || []") == []
    assert errors == []
    assert elsewhere == []
    context.close()
