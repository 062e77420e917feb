"""A whole round in a real browser: sign in, import the LMC sample, run matching, approve,
download the pairs; every page checked for overflow on a phone, controls without an
accessible name, the WCAG A and AA rules of axe-core at phone and desktop width, and console
errors; an analyst sees ids, never names."""

from __future__ import annotations

import csv
import html
import io
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import openpyxl
from accessibility import axe_violations
from playwright.sync_api import Browser, BrowserContext, Locator, Page, ViewportSize, expect

from datasets.generator import sample_dir
from service.web.paging import PER_PAGE

if TYPE_CHECKING:
    from served import Service

WIDE = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)
SAMPLE = sample_dir("lmc")
SOLVE_TIMEOUT_MS = 90_000
INTERACTIVE = {"A", "BUTTON", "INPUT", "SELECT", "TEXTAREA"}
FIELDS = {"INPUT", "SELECT", "TEXTAREA"}
BUTTON_INPUTS = {"button", "submit", "reset", "image"}
# Elements wider than the window that are not inside a scrolling table: the culprits of a
# horizontal overflow, named for the failure message.
WIDE_ELEMENTS_JS = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5
               && !e.closest('.table-wrap'))
  .slice(0, 3)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
            + (e.className ? '.' + String(e.className).split(' ').join('.') : ''))"""

Pair = tuple[str, str]


def test_a_round_in_the_browser(
    browser: Browser, service: Service, screenshots: Path | None, tmp_path: Path
) -> None:
    errors: list[str] = []
    findings: list[str] = []
    context = _context(browser, errors)
    page = context.new_page()

    # Sign in: the home page sends a stranger to the form.
    page.goto(f"{service.url}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    _review(page, "sign-in", findings, screenshots)
    _sign_in(page, service, "officer")
    expect(page).to_have_url(f"{service.url}/rounds")

    # Preview the register as an office keeps it: a title row, a heading written its own
    # way and a column of notes. The preview says how each column is read; nothing is stored.
    _nav(page, "Import").click()
    expect(page.get_by_role("heading", name="Import", level=1)).to_be_visible()
    page.get_by_label("Mentors file").set_input_files(_office_register(tmp_path))
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="Preview: nothing has been stored")).to_be_visible()
    columns = page.get_by_role("table", name="Columns of register.csv")
    expect(columns.get_by_role("row", name="J Focus areas focus_areas (renamed)")).to_be_visible()
    expect(columns.locator("tbody tr").last).to_contain_text("ignored: not a column")
    _review(page, "import-preview", findings, None)
    if screenshots:  # the reading, not the form above it
        page.get_by_role("heading", name="How register.csv was read").scroll_into_view_if_needed()
        page.screenshot(path=screenshots / "import-preview.png")

    # Import the sample: 30 mentors and 200 mentees, all new.
    page.get_by_label("Mentors file").set_input_files(SAMPLE / "mentors.csv")
    page.get_by_label("Mentees file").set_input_files(SAMPLE / "mentees.csv")
    page.get_by_role("button", name="Import", exact=True).click()
    imported = page.get_by_role("table", name="What was stored")
    rows = imported.locator("tbody tr")
    expect(rows).to_have_count(2)
    for row, kind in zip(rows.all(), ("mentors", "mentees"), strict=True):
        count = str(len(_sample_rows(kind)))
        expect(row.locator("td")).to_have_text([f"{kind}.csv ({kind})", count, count, "0", "0"])
    _review(page, "import", findings, screenshots)

    # Run matching: the round page follows the job (static/progress.js) and shows the
    # proposals when they are in; it is reviewed while the job runs.
    _nav(page, "Rounds").click()
    _review(page, "rounds", findings, None)
    page.get_by_label("Time limit (seconds)").fill("20")
    page.get_by_role("button", name="Run matching").click()
    expect(page).to_have_url(re.compile(r"/rounds/\d+\?notice=started$"))
    round_id = int(re.findall(r"/rounds/(\d+)", page.url)[0])
    expect(page.get_by_role("heading", name="Status: running")).to_be_visible()
    _review(page, "running round", findings, screenshots)
    expect(page.get_by_role("heading", name=re.compile(r"^Proposed pairs"))).to_be_visible(
        timeout=SOLVE_TIMEOUT_MS
    )
    with service.api("officer") as api:
        proposals = api.get(f"/api/rounds/{round_id}/proposals").json()
    assert len(proposals) > 2 * PER_PAGE
    expect(_proposal_rows(page)).to_have_count(PER_PAGE)
    expected = Counter((p["mentor_id"], p["mentee_id"]) for p in proposals)
    assert _names_shown(page), "a matcher sees names: else the analyst's check below proves nothing"
    _review(page, "round", findings, screenshots, phone_shot="round-phone")

    # The proposals a page at a time: the second page has the next pairs, in the API's order.
    pager = page.get_by_role("navigation", name="Pages of proposed pairs").first
    pager.get_by_role("link", name=re.compile(r"^Next page")).click()
    expect(page).to_have_url(re.compile(rf"/rounds/{round_id}\?page=2#proposals-heading$"))
    second = proposals[PER_PAGE : 2 * PER_PAGE]
    expect(_proposal_rows(page)).to_have_count(len(second))
    shown = (
        _proposal_rows(page).locator("td:first-child").evaluate_all("cells => cells.map(c => c.id)")
    )
    assert shown == [f"proposal-{p['mentee_id']}" for p in second]
    # Forbid a pair from its row, and remove the forbid: each time back on page 2, at the row.
    target = second[3]
    pair = f"{target['mentor_id']} with {target['mentee_id']}"
    at_row = rf"/rounds/{round_id}\?page=2&notice={{}}#proposal-{target['mentee_id']}$"
    page.get_by_role("button", name=f"Forbid {pair}", exact=True).click()
    expect(page).to_have_url(re.compile(at_row.format("forbidden")))
    expect(page.get_by_role("status")).to_contain_text("Pair forbidden")
    _review(page, "round page 2", findings, None)
    page.get_by_role("button", name=f"Remove the forbid of {pair}", exact=True).click()
    expect(page).to_have_url(re.compile(at_row.format("removed")))
    expect(page.get_by_role("button", name=f"Forbid {pair}", exact=True)).to_be_visible()

    # A pair chosen by searching for the two people: short lists, no list of everyone.
    page.get_by_label("Mentee (name or id)").fill(target["mentee_id"].lower())
    page.get_by_label("Mentor (name or id)").fill(target["mentor_name"].split()[-1])
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.get_by_role("radio", name=re.compile(target["mentee_id"]))).to_be_checked()
    expect(page.get_by_role("radio", name=re.compile(target["mentor_id"]))).to_be_visible()
    _review(page, "round pin search", findings, screenshots)

    # Approve, then download the pairs as CSV and as XLSX.
    page.get_by_role("button", name="Approve").click()
    confirm = page.get_by_role("heading", name=re.compile(r"^Approve .*\?$"), level=1)
    if confirm.count():  # a page asking to confirm, where the site has one
        _review(page, "approve", findings, None)
        page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_have_text(
        "Approved: the proposals are now confirmed matches."
    )
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    csv_file = _download(page, "Download pairs (CSV)", tmp_path)
    assert csv_file.name == f"round-{round_id}-pairs.csv"
    assert Counter(_csv_pairs(csv_file)) == expected
    xlsx_file = _download(page, "Download pairs (XLSX)", tmp_path)
    assert xlsx_file.name == f"round-{round_id}-pairs.xlsx"
    assert Counter(_xlsx_pairs(xlsx_file)) == expected

    # Every other page of the main navigation, now that there are matches to show.
    for name in (
        "Rounds",
        "People",
        "Register",
        "Matches",
        "Sessions",
        "Training",
        "Applications",
        "Reports",
        "Events",
        "Account",
    ):
        _open_from_nav(page, name)
        _review(page, name.lower(), findings, screenshots)

    # An error page: a round that does not exist.
    response = page.goto(f"{service.url}/rounds/999999")
    assert response is not None and response.status == 404
    _forgive_not_found(errors, page.url)
    _review(page, "not found", findings, None)
    context.close()

    # An analyst reads the same round, and every page open to analysts, by ids only.
    analyst, page = _signed_in(browser, service, "analyst", errors)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
        ["Rounds", "Matches", "Sessions", "Reports", "Account"]
    )
    page.goto(f"{service.url}/rounds/{round_id}")
    expect(_proposal_rows(page)).to_have_count(PER_PAGE)
    assert _names_shown(page) == []
    _review(page, "round (analyst)", findings, None)
    for name in ("Rounds", "Matches", "Reports"):
        _open_from_nav(page, name)
        assert _names_shown(page) == [], name
    analyst.close()

    assert findings == [], "\n".join(findings)
    assert errors == []


# --- the browser -------------------------------------------------------------------------


def _context(browser: Browser, errors: list[str]) -> BrowserContext:
    """A fresh browser profile whose console errors and uncaught exceptions go to `errors`."""
    context = browser.new_context(viewport=WIDE, accept_downloads=True)

    def on_console(message: Any) -> None:
        if message.type == "error":
            where = message.page.url if message.page else "?"
            errors.append(f"{where}: console error: {message.text} ({message.location})")

    context.on("console", on_console)
    context.on(
        "weberror",
        lambda error: errors.append(f"{error.page.url if error.page else '?'}: {error.error}"),
    )
    return context


def _forgive_not_found(errors: list[str], url: str) -> None:
    """Chromium logs the 404 of a page opened on purpose as a console error: not a fault."""
    errors[:] = [e for e in errors if not e.startswith(f"{url}: console error: Failed to load")]


def _sign_in(page: Page, service: Service, user: str) -> None:
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(service.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _signed_in(
    browser: Browser, service: Service, user: str, errors: list[str]
) -> tuple[BrowserContext, Page]:
    """A fresh browser profile (see ``_context``) signed in as ``user`` through the form."""
    context = _context(browser, errors)
    page = context.new_page()
    page.goto(f"{service.url}/login")
    _sign_in(page, service, user)
    return context, page


def _import_sample(service: Service, user: str) -> None:
    """The LMC sample's mentors and mentees, imported through the API as ``user``."""
    with service.api(user) as api:
        for kind in ("mentors", "mentees"):
            with (SAMPLE / f"{kind}.csv").open("rb") as handle:
                answer = api.post(f"/api/{kind}/import", files={"file": (f"{kind}.csv", handle)})
            assert answer.status_code == 200, answer.text


def _nav(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def _open_from_nav(page: Page, name: str) -> None:
    """Follow a link of the main navigation; the page must answer 200 and say where it is."""
    with page.expect_navigation() as navigation:
        _nav(page, name).click()
    response = navigation.value
    assert response is not None and response.status == 200, (
        f"{name}: {response and response.status}"
    )
    expect(_nav(page, name)).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def _proposal_rows(page: Page) -> Locator:
    return page.locator("section", has=page.locator("#proposals-heading")).locator("tbody tr")


def _download(page: Page, link: str, folder: Path) -> Path:
    """Click a download link; the file is saved under the name the server gave it."""
    with page.expect_download() as info:
        page.get_by_role("link", name=link).click()
    download = info.value
    assert download.failure() is None
    path = folder / download.suggested_filename
    download.save_as(path)
    return path


# --- what every page must get right ------------------------------------------------------


def _office_register(folder: Path) -> Path:
    """The sample mentors as an office keeps them: title row, own headings, a notes column."""
    with (SAMPLE / "mentors.csv").open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    header = [{"focus_areas": "Focus areas"}.get(h, h) for h in header] + ["Notes"]
    path = folder / "register.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["Mentor register"], [], header, *([*r, ""] for r in rows)])
    return path


def _review(
    page: Page,
    name: str,
    findings: list[str],
    screenshots: Path | None,
    phone_shot: str | None = None,
) -> None:
    """No horizontal overflow and no violation of axe-core's WCAG A and AA rules at desktop
    or phone width; every control named; screenshots."""
    where = f"{name} ({urlsplit(page.url).path})"
    for size in (PHONE, WIDE):
        page.set_viewport_size(size)
        width, window = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width > window:
            culprits = ", ".join(page.evaluate(WIDE_ELEMENTS_JS))
            findings.append(f"{where}: {width}px wide in a {window}px window ({culprits})")
        findings.extend(f"{where} at {size['width']}px: {v}" for v in axe_violations(page))
        if screenshots and phone_shot and size == PHONE:
            page.screenshot(path=screenshots / f"{phone_shot}.png")
    findings.extend(
        f"{where}: {control} has no accessible name (label, aria-label or text)"
        for control in _unnamed(page)
    )
    if screenshots:
        page.screenshot(path=screenshots / f"{re.sub(r'[^a-z0-9]+', '-', name).strip('-')}.png")


def _unnamed(page: Page) -> list[str]:
    """Links, buttons and form fields to which Chromium's accessibility tree gives no name.

    A form field must be named by a label, aria-label(ledby) or title: a placeholder or the
    browser's own "Choose File" do not count. Hidden inputs and elements left out of the tree
    (not rendered) are not controls."""
    cdp = page.context.new_cdp_session(page)
    try:
        document = cdp.send("DOM.getDocument", {"depth": -1})
        tree = cdp.send("Accessibility.getFullAXTree")
    finally:
        cdp.detach()
    nodes = {n["backendDOMNodeId"]: n for n in tree["nodes"] if "backendDOMNodeId" in n}
    unnamed = []
    for element in _elements(document["root"]):
        attributes = element.get("attributes", [])
        attrs = dict(zip(attributes[::2], attributes[1::2], strict=True))
        tag = element["nodeName"]
        if tag not in INTERACTIVE or attrs.get("type") == "hidden":
            continue
        node = nodes.get(element["backendNodeId"])
        if node is None or node.get("ignored"):
            continue
        name = node.get("name", {})
        used = [s for s in name.get("sources", []) if "value" in s and not s.get("superseded")]
        field = tag in FIELDS and attrs.get("type") not in BUTTON_INPUTS
        labelled = bool(used) and used[0]["type"] in ("relatedElement", "attribute")
        if not str(name.get("value", "")).strip() or (field and not labelled):
            shown = " ".join(f'{k}="{v}"' for k, v in attrs.items() if k in ("id", "name", "href"))
            unnamed.append(f"<{tag.lower()} {shown}>".replace(" >", ">"))
    return unnamed


def _elements(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node]
    for child in node.get("children", []):
        found.extend(_elements(child))
    return found


# --- the sample and the downloads --------------------------------------------------------


def _sample_rows(kind: str) -> list[dict[str, str]]:
    with (SAMPLE / f"{kind}.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _names_shown(page: Page) -> list[str]:
    """Names of sample mentors and mentees anywhere in the page's markup."""
    markup = html.unescape(page.content())
    people = [r["name"] for kind in ("mentors", "mentees") for r in _sample_rows(kind)]
    return [name for name in people if name in markup]


def _csv_pairs(path: Path) -> list[Pair]:
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    return [(r["mentor_id"], r["mentee_id"]) for r in rows]


def _xlsx_pairs(path: Path) -> list[Pair]:
    sheet = openpyxl.load_workbook(path, read_only=True).active
    assert sheet is not None
    header, *rows = list(sheet.iter_rows(values_only=True))
    mentor, mentee = header.index("mentor_id"), header.index("mentee_id")
    return [(str(r[mentor]), str(r[mentee])) for r in rows]
