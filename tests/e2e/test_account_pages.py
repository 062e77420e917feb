"""Users and Account pages in a real browser: an admin adds a user (a weak password is
refused on the page), changes the role and disables them, who then cannot sign in; every
page named and fitting a phone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.sync_api import Browser, expect
from test_browser import _context, _open_from_nav, _review, _signed_in

if TYPE_CHECKING:
    from served import Service

NEW_PASSWORD = "seven plain words make it"


def test_an_admin_manages_a_user_in_the_browser(browser: Browser, service: Service) -> None:
    errors: list[str] = []
    findings: list[str] = []
    context, page = _signed_in(browser, service, "boss", errors)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_contain_text(
        ["Users", "Account"]
    )
    _open_from_nav(page, "Users")
    _review(page, "users", findings, None)

    page.get_by_label("User name").fill("newcomer")
    page.get_by_label("Role", exact=True).select_option("analyst")
    page.get_by_label("Password", exact=True).fill("aaaaaaaaaaaa")
    page.get_by_label("Password again").fill("aaaaaaaaaaaa")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_text("the password must not be one character repeated")).to_be_visible()
    page.go_back()
    page.get_by_label("User name").fill("newcomer")
    page.get_by_label("Role", exact=True).select_option("analyst")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_have_text(
        "User added. They can sign in with the password you chose."
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("newcomer")
    _review(page, "user", findings, None)

    page.get_by_label("Role of newcomer").select_option("organiser")
    page.get_by_role("button", name="Change role").click()
    expect(page.get_by_role("status")).to_have_text("Role changed.")
    page.get_by_role("button", name="Disable newcomer").click()
    expect(page.get_by_role("status")).to_contain_text("User disabled")

    _open_from_nav(page, "Account")
    _review(page, "account", findings, None)
    context.close()

    # The disabled user gets the same answer as a wrong password.
    stranger = _context(browser, errors)
    page = stranger.new_page()
    page.goto(f"{service.url}/login")
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Wrong user name or password.")).to_be_visible()
    stranger.close()
    assert findings == []
    assert [e for e in errors if "401" not in e and "422" not in e] == []
