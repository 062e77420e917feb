"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, and a real
`matcher serve` process on a fresh SQLite file with one user per role the tests need.

Chromium must be installed (`apt-get install chromium`); without it the tests fail and say
so, unless MATCHER_SKIP_BROWSER=1 asks to skip them. MATCHER_SCREENSHOTS=DIR saves
screenshots of the pages into DIR (see docs/screenshots/).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright
from served import Service, serving

from benchmarks.page_loads import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = (
            f"the browser tests need Chromium at {CHROMIUM}: install it with "
            "`apt-get install chromium` (Debian), or set MATCHER_SKIP_BROWSER=1 to skip them"
        )
        if os.environ.get("MATCHER_SKIP_BROWSER") == "1":
            pytest.skip(reason)
        pytest.fail(reason, pytrace=False)
    expect.set_options(timeout=15_000)  # a busy CI machine may be slower than Playwright's 5 s
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`matcher serve` on a free port over a new SQLite file; users added by the CLI."""
    with serving(tmp_path_factory.mktemp("e2e")) as running:
        yield running


@pytest.fixture
def screenshots() -> Path | None:
    """Where to save screenshots (MATCHER_SCREENSHOTS), or None to save none."""
    folder = os.environ.get("MATCHER_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path
