"""The register, matches and reports pages, used as a browser uses them: signed in by the form.

The scheme is the generated one of ``scheme.write_scheme`` (6 mentors, 30 mentees, seed 7),
imported through the API; matches come from a round run and approved through the API.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from page_reading import cells, sign_in
from scheme import approve_new_round

from matcher.data import ProblemData
from matcher.vocab import code_words
from service.web.chart import bar_chart

Headers = Callable[[str], dict[str, str]]
BAR = re.compile(r'<rect class="bar" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"')


def paragraph(page: str, element_id: str) -> str:
    """The text of ``<p id=element_id>``, tags removed and spaces collapsed."""
    found = re.search(rf'<p id="{element_id}">(.*?)</p>', page, re.S)
    assert found, f"no paragraph {element_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", found[1]).split())


def names(problem: ProblemData) -> list[str]:
    return [m.name for m in problem.mentors] + [m.name for m in problem.mentees]


def set_status(
    client: TestClient, match_id: int, csrf: str | None, status: str, reason: str = ""
) -> Any:
    data = {"status": status, "reason": reason}
    if csrf is not None:
        data["csrf_token"] = csrf
    return client.post(f"/matches/{match_id}/status", data=data, follow_redirects=False)


@pytest.fixture
def approved(client: TestClient, as_role: Headers, problem: ProblemData) -> list[dict[str, Any]]:
    """The confirmed matches of one round, run and approved through the API."""
    found = approve_new_round(client, as_role("matcher"))
    assert len(found) >= 10
    return found


def test_signed_out_pages_send_the_browser_to_sign_in(client: TestClient) -> None:
    for path in ("/register", "/matches?status=ended", "/reports?year=2025"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == f"/login?next={quote(path)}"
    answer = client.post("/matches/1/status", data={"status": "registered"}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/matches/1/status"


def test_register_shows_remaining_places(client: TestClient, problem: ProblemData) -> None:
    sign_in(client, "organiser")
    page = client.get("/register")
    assert page.status_code == 200, page.text
    # MR0005 states no capacity, so the default of 8 applies; 2 current mentees leave 6.
    mr5 = next(m for m in problem.mentors if m.mentor_id == "MR0005")
    assert (mr5.capacity_max, mr5.current_mentees, mr5.status) == (None, 2, "active")
    assert cells(page.text, "mentor-MR0005")[5:] == ["8", "2", "6"]
    assert cells(page.text, "mentor-MR0004")[5:] == ["6", "0", "6"]  # capacity stated: 6
    assert cells(page.text, "mentor-MR0003")[3] == "paused"
    assert cells(page.text, "mentor-MR0003")[7] == "0"  # paused: no places
    assert cells(page.text, "mentor-MR0001")[1] == "Dr James Turner"
    # 8 + 8 + 0 (paused) + 6 + 6 + 8 places over MR0001..MR0006.
    assert paragraph(page.text, "remaining-total") == "36 remaining places among 6 mentors."

    # Only MR0005 has career planning among its focus areas.
    assert '<label for="f_focus">Focus area</label>' in page.text
    page = client.get("/register?focus=career_planning")
    assert re.findall(r'<tr id="mentor-(\w+)">', page.text) == ["MR0005"]
    assert paragraph(page.text, "remaining-total") == (
        "6 remaining places among the 1 of 6 mentors with this focus area."
    )
    assert '<option value="career_planning" selected>' in page.text

    sign_in(client, "analyst")
    assert client.get("/register").status_code == 403


def test_staff_register_and_end_matches(
    client: TestClient, as_role: Headers, problem: ProblemData, approved: list[dict[str, Any]]
) -> None:
    csrf = sign_in(client, "matcher")
    page = client.get("/matches")
    assert page.status_code == 200, page.text
    people = {p.mentor_id: p.name for p in problem.mentors}
    people |= {p.mentee_id: p.name for p in problem.mentees}
    cohorts = {p.mentee_id: p.cohort for p in problem.mentees}
    shown = re.findall(r'<tr id="match-(\d+)">', page.text)
    assert shown == [str(m["id"]) for m in approved]
    for match in approved:
        row = cells(page.text, f"match-{match['id']}")
        assert row[2] == f"{people[match['mentor_id']]} {match['mentor_id']}"
        assert row[3] == f"{people[match['mentee_id']]} {match['mentee_id']}"
        assert row[4] == code_words(cohorts[match["mentee_id"]])  # "Mid-career GP"
        assert row[5] == "confirmed"
        assert f'aria-label="Register match {match["id"]}"' in page.text
        assert f'<form method="get" action="/matches/{match["id"]}/end">' in page.text

    first, second = approved[0]["id"], approved[1]["id"]
    answer = set_status(client, first, csrf, "registered")
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == (f"/matches?notice=registered&match={first}#match-{first}")
    page = client.get(answer.headers["location"])
    assert f"Match {first} registered" in page.text
    assert f'aria-label="Register match {first}"' not in page.text
    assert f'aria-label="End match {first}"' in page.text
    assert client.get(f"/api/matches/{first}", headers=as_role("admin")).json()["status"] == (
        "registered"
    )

    # A second registration is the wrong step, and an end needs a reason: both change nothing.
    answer = set_status(client, first, csrf, "registered")
    assert answer.status_code == 409
    assert f"match {first} is registered: it can become ended" in answer.text
    answer = set_status(client, first, csrf, "ended", reason="  ")
    assert answer.status_code == 422
    assert "say why the match ended" in answer.text
    stored = client.get(f"/api/matches/{first}", headers=as_role("admin")).json()
    assert (stored["status"], stored["end_reason"]) == ("registered", None)

    answer = set_status(client, first, csrf, "ended", reason="moved away")
    assert answer.status_code == 303, answer.text
    stored = client.get(f"/api/matches/{first}", headers=as_role("admin")).json()
    assert (stored["status"], stored["end_reason"]) == ("ended", "moved away")
    page = client.get("/matches?status=ended")
    assert re.findall(r'<tr id="match-(\d+)">', page.text) == [str(first)]
    assert cells(page.text, f"match-{first}")[10] == "moved away"
    assert f'aria-label="End match {first}"' not in page.text
    page = client.get("/matches?status=confirmed")
    assert len(re.findall(r'<tr id="match-', page.text)) == len(approved) - 1

    # Forms without this session's token are refused, and nothing changes.
    for token in (None, "", "not-the-token", csrf[:-1]):
        answer = set_status(client, second, token, "registered")
        assert answer.status_code == 403, token
    assert client.get(f"/api/matches/{second}", headers=as_role("admin")).json()["status"] == (
        "confirmed"
    )


def test_analyst_pages_show_ids_never_names(
    client: TestClient, problem: ProblemData, approved: list[dict[str, Any]]
) -> None:
    sign_in(client, "matcher")
    assert approved[0]["mentor_name"] in client.get("/matches").text  # the check has teeth

    csrf = sign_in(client, "analyst")
    for path in ("/matches", "/reports"):
        page = client.get(path)
        assert page.status_code == 200, page.text
        assert [name for name in names(problem) if name in page.text] == [], path
    page = client.get("/matches")
    for match in approved:
        row = cells(page.text, f"match-{match['id']}")
        assert row[2:4] == [match["mentor_id"], match["mentee_id"]]
    assert "Register match" not in page.text and "End match" not in page.text
    # Analysts read; they do not change matches.
    assert set_status(client, approved[0]["id"], csrf, "registered").status_code == 403


def test_organiser_may_not_read_matches_or_reports(
    client: TestClient, tokens: dict[str, str]
) -> None:
    sign_in(client, "organiser")
    for path in ("/matches", "/reports"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "the organiser role may not do this" in answer.text
    assert client.get("/register").status_code == 200


def test_reports_show_the_monitoring_figures_and_a_bar_per_month(
    client: TestClient, as_role: Headers, approved: list[dict[str, Any]]
) -> None:
    staff = as_role("matcher")
    match = approved[0]
    today = date.today().isoformat()
    assert (
        client.patch(f"/api/matches/{match['id']}", json={"status": "registered"}, headers=staff)
    ).status_code == 200
    session = {"held_on": today, "minutes": 60}
    answer = client.post(f"/api/matches/{match['id']}/sessions", json=session, headers=staff)
    assert answer.status_code == 201, answer.text
    course = {
        "mentor_id": match["mentor_id"],
        "course": "ILM5",
        "started_on": today,
        "completed_on": today,
        "reimbursed_sessions": 4,
    }
    assert client.post("/api/training", json=course, headers=staff).status_code == 201

    figures = client.get("/api/reports/monitoring", headers=staff).json()
    ledger = client.get("/api/reports/finance", headers=staff).json()
    # One mentoring week and four training sessions today, at £289: 5 * 289 = £1,445.
    assert figures["spend_to_date"] == 1445.0
    assert (figures["mentors_trained"], figures["registered_matches"]) == (1, 1)

    sign_in(client, "analyst")
    page = client.get("/reports")
    assert page.status_code == 200, page.text
    shown = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page.text))
    assert shown == {
        "Mentors trained": "1",
        "Registered matches": "1",
        "Mean clinical sessions a week": f"{figures['mean_clinical_sessions']:g}",
        "Spend to date": "£1,445.00",
        "Profiled spend": f"£{figures['profiled_spend']:,.2f}",
    }
    assert figures["profiled_spend"] > figures["spend_to_date"]

    # Twelve bars, April to March; only this month's has height, the full 170 of the plot.
    bars = BAR.findall(page.text)
    assert len(bars) == len(ledger["months"]) == 12
    heights = [float(height) for _x, _y, _width, height in bars]
    this_month = [m["month"] for m in ledger["months"]].index(today[:7])
    assert heights == [170.0 if i == this_month else 0.0 for i in range(12)]
    labels = re.findall(r'text-anchor="middle">(\w+)</text>', page.text)
    assert labels == [
        "Apr",
        "May",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Oct",
        "Nov",
        "Dec",
        "Jan",
        "Feb",
        "Mar",
    ]
    assert '<svg class="chart" role="img" aria-labelledby="chart-title chart-desc"' in page.text
    assert "£1,445.00" in page.text.split("<tfoot>")[1]  # the year's total
    assert "style=" not in page.text and "<script" not in page.text

    page = client.get("/reports?year=2000")
    assert "Reimbursement ledger 2000/01" in page.text
    assert "Nothing was paid in 2000/01." in page.text
    assert [float(b[3]) for b in BAR.findall(page.text)] == [0.0] * 12
    assert client.get("/reports?year=1999").status_code == 422


def test_bar_chart_geometry() -> None:
    # 300 wide, 200 high: bars stand on y = 200 - 22 = 178 and the tallest reaches y = 8,
    # so the plot is 170 high. Each of 3 slots is 100 wide; a bar fills 70 of it, centred.
    chart = bar_chart(
        [("Apr", 0.0, "£0"), ("May", 289.0, "£289"), ("Jun", 578.0, "£578")],
        width=300,
        height=200,
    )
    assert chart.baseline == 178.0
    assert [(b.x, b.y, b.width, b.height) for b in chart.bars] == [
        (15.0, 178.0, 70.0, 0.0),
        (115.0, 93.0, 70.0, 85.0),
        (215.0, 8.0, 70.0, 170.0),
    ]
    assert [b.centre for b in chart.bars] == [50.0, 150.0, 250.0]
    nothing = bar_chart([("Apr", 0.0, "£0"), ("May", 0.0, "£0")])
    assert [b.height for b in nothing.bars] == [0.0, 0.0]
    with pytest.raises(ValueError, match="zero or more"):
        bar_chart([("Apr", -1.0, "-£1")])
