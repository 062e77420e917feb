"""Signing in through the form and reading pages' HTML, for the page tests."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(client: TestClient, role: str) -> str:
    """Sign in through the form as the user named after ``role``; the session's CSRF token."""
    form = client.get("/login")
    found = CSRF.search(form.text)
    assert found, form.text
    answer = client.post(
        "/login",
        data={"username": role, "password": f"secret-{role}", "csrf_token": found[1]},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = client.get("/rounds")  # every role may read it, and its sign-out form holds the token
    found = CSRF.search(page.text)
    assert found, page.text
    return found[1]


def text(markup: str) -> str:
    """The words of some markup, tags removed and spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def cells(page: str, row_id: str, tags: str = "td") -> list[str]:
    """The text of each cell (of ``tags``: ``td``, or ``t[hd]`` for both) of the table row
    ``<tr id=row_id>``."""
    row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S)
    assert row, f"no row {row_id}"
    return [text(cell) for cell in re.findall(rf"<{tags}[^>]*>(.*?)</{tags}>", row[1], re.S)]


def error_of(page: str, field_id: str) -> str:
    """The problem shown next to the field ``field_id``."""
    found = re.search(rf'<p id="{field_id}-error" class="error">(.*?)</p>', page, re.S)
    assert found, f"no problem shown next to {field_id}"
    return text(found[1])
