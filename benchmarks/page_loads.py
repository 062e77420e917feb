"""Measuring one page of the site, as a client and as a browser, for `page_sizes.py`.

- **HTTP** (httpx, signed in through the form): the page asked for ``TIMES`` times with
  ``Accept-Encoding: gzip``, as a browser asks. The bytes on the wire are counted from the
  raw stream (before httpx would decode them), the HTML size is the same bytes decompressed,
  and the time of each request runs from sending it to the last byte, measured by the client
  on the same machine: the server's time plus a loopback round trip.
- **Chromium** (Debian's, through Playwright's sync API, signed in through the form in that
  browser, the HTTP cache disabled so every navigation fetches the page and its styles and
  scripts afresh): ``LOADS`` navigations, each timed by the page's own Navigation Timing
  entry, from the start of the navigation to the end of its ``load`` event.
"""

from __future__ import annotations

import gzip
import re
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

TIMES = 5
LOADS = 3
CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium, for this benchmark and the browser tests (tests/e2e): headless, as root,
# on a closed network, so no sandbox, no GPU, and none of Chromium's own calls home (they
# would be refused noisily).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NAVIGATION_TIMEOUT_MS = 120_000
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LOAD_SECONDS = """() => {
  const [entry] = performance.getEntriesByType('navigation');
  return (entry.loadEventEnd - entry.startTime) / 1000;
}"""
LOAD_DONE = "() => performance.getEntriesByType('navigation')[0].loadEventEnd > 0"


@dataclass(frozen=True)
class Account:
    """Who views the pages: a user of the site and their password; no name for a visitor
    who has not signed in."""

    role: str
    name: str | None = None
    password: str = ""


@dataclass(frozen=True)
class Served:
    """One page as the client got it: the status, the HTML (decompressed) and wire bytes,
    and the median seconds of ``TIMES`` requests."""

    status: int
    html_bytes: int
    wire_bytes: int
    seconds: float


@contextmanager
def web_client(base_url: str, account: Account) -> Iterator[httpx.Client]:
    """An httpx client with the account's browser session (the sign-in form's cookie)."""
    with httpx.Client(base_url=base_url, timeout=120) as web:
        if account.name is not None:
            form = web.get("/login")
            found = CSRF.search(form.text)
            if not found:
                raise RuntimeError(f"no sign-in form at /login ({form.status_code})")
            data = {
                "username": account.name,
                "password": account.password,
                "csrf_token": found[1],
                "next": "/rounds",
            }
            answer = web.post("/login", data=data)
            if answer.status_code != 303:
                raise RuntimeError(f"{account.name} could not sign in: {answer.status_code}")
        yield web


def serve_page(web: httpx.Client, path: str) -> Served:
    """``TIMES`` requests of ``path`` accepting gzip; redirects are not followed."""
    seconds: list[float] = []
    status, raw, encoding = 0, b"", ""
    for _ in range(TIMES):
        start = time.perf_counter()
        with web.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as answer:
            raw = b"".join(answer.iter_raw())
        seconds.append(time.perf_counter() - start)
        status, encoding = answer.status_code, answer.headers.get("content-encoding", "")
    html = gzip.decompress(raw) if encoding == "gzip" else raw
    return Served(status, len(html), len(raw), statistics.median(seconds))


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, launched as the browser tests launch it."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"Chromium is needed at {CHROMIUM}: `apt-get install chromium`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def browser_tab(browser: Browser, base_url: str, account: Account) -> Iterator[Page]:
    """A tab of a fresh browser context, signed in through the form, its cache disabled."""
    context: BrowserContext = browser.new_context(base_url=base_url)
    try:
        page = context.new_page()
        page.set_default_timeout(NAVIGATION_TIMEOUT_MS)
        devtools = context.new_cdp_session(page)
        devtools.send("Network.enable")
        devtools.send("Network.setCacheDisabled", {"cacheDisabled": True})
        if account.name is not None:
            page.goto("/login")
            page.get_by_label("Username").fill(account.name)
            page.get_by_label("Password").fill(account.password)
            with page.expect_navigation():
                page.get_by_role("button", name="Sign in").click()
            if "/login" in page.url:
                raise RuntimeError(f"{account.name} could not sign in in Chromium")
        yield page
    finally:
        context.close()


def load_seconds(page: Page, path: str) -> float:
    """Median, over ``LOADS`` fresh navigations to ``path``, of the seconds from the start
    of the navigation to the end of the ``load`` event (Navigation Timing)."""
    seconds: list[float] = []
    for _ in range(LOADS):
        answer = page.goto(path, wait_until="load")
        # A lost session would redirect to the sign-in page and time that instead.
        if answer is None or answer.status != 200 or answer.request.redirected_from:
            raise RuntimeError(f"Chromium did not get {path} itself: {page.url}")
        page.wait_for_function(LOAD_DONE)
        seconds.append(float(page.evaluate(LOAD_SECONDS)))
    return statistics.median(seconds)
