"""axe-core, from the copy the `axe-playwright-python` package ships (nothing is fetched at
run time), run on a page for the WCAG 2.0, 2.1 and 2.2 A and AA rules."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from playwright.sync_api import Page

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
TARGETS_SHOWN = 3
# axe.run's options: only the WCAG A and AA rules, and only the violations in the answer.
RUN_JS = """async tags => {
  const results = await axe.run(document, {
    runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, targets: v.nodes.map(n => n.target.join(' '))}));
}"""


@cache
def axe_source() -> str:
    return files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[str]:
    """Each rule the page breaks, with its impact and the first elements that break it.

    The script is evaluated over the DevTools protocol, which the pages' Content-Security-
    Policy (`script-src 'self'`) does not govern: a <script> tag with it would be refused."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    violations: list[dict[str, Any]] = page.evaluate(RUN_JS, WCAG_TAGS)
    return [
        f"axe {v['id']} ({v['impact']}): "
        + ", ".join(v["targets"][:TARGETS_SHOWN])
        + (
            f" and {len(v['targets']) - TARGETS_SHOWN} more"
            if len(v["targets"]) > TARGETS_SHOWN
            else ""
        )
        for v in violations
    ]
