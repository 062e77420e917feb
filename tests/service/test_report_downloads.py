"""The Reports page's downloads: each read back (csv, openpyxl) to the figures the page and
``GET /api/reports/...`` give, each saying its as-of date, analysts' without a name.

The records: the generated scheme's round, approved; one match registered, with a session
logged today; one course of 4 sessions completed today by the same mentor. At £289 a
session that is 1 + 4 = 5 sessions, £1,445, all in this month.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from scheme import approve_new_round, sign_in

from matcher.data import ProblemData
from service.finance import FinancialYear, Payment, Tariff
from service.report_files import MentorMonth, as_of_words, file_name, mentor_months

Headers = Callable[[str], dict[str, str]]
TODAY = date.today()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def paid(client: TestClient, as_role: Headers, problem: ProblemData) -> dict[str, Any]:
    """The match that was registered, met today, and whose mentor completed a course today."""
    staff = as_role("matcher")
    match = approve_new_round(client, staff)[0]
    answer = client.patch(
        f"/api/matches/{match['id']}", json={"status": "registered"}, headers=staff
    )
    assert answer.status_code == 200, answer.text
    session = {"held_on": TODAY.isoformat(), "minutes": 60}
    answer = client.post(f"/api/matches/{match['id']}/sessions", json=session, headers=staff)
    assert answer.status_code == 201, answer.text
    course = {
        "mentor_id": match["mentor_id"],
        "course": "ILM5",
        "started_on": TODAY.isoformat(),
        "completed_on": TODAY.isoformat(),
        "reimbursed_sessions": 4,
    }
    assert client.post("/api/training", json=course, headers=staff).status_code == 201
    return match


def read_csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def read_sheets(content: bytes) -> dict[str, list[tuple[Any, ...]]]:
    book = load_workbook(io.BytesIO(content))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def as_dicts(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def attachment(answer: Any) -> str:
    found = re.fullmatch(r'attachment; filename="([^"]+)"', answer.headers["content-disposition"])
    assert found, answer.headers["content-disposition"]
    return found[1]


def number(text: str) -> float | None:
    return None if text == "" else float(text)


def year_label(day: date) -> str:
    return FinancialYear.containing(day).label.replace("/", "-")


def test_the_monitoring_figures_download_as_the_page_and_the_api_give_them(
    client: TestClient, as_role: Headers, paid: dict[str, Any]
) -> None:
    api = client.get("/api/reports/monitoring", headers=as_role("matcher")).json()
    assert (api["spend_to_date"], api["mentors_trained"], api["registered_matches"]) == (
        1445.0,
        1,
        1,
    )
    sign_in(client, "matcher", "secret-matcher")
    page = client.get("/reports")
    assert as_of_words(TODAY) in page.text
    assert f'href="/reports/monitoring.csv?as_of={TODAY.isoformat()}"' in page.text

    answer = client.get(f"/reports/monitoring.csv?as_of={TODAY.isoformat()}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert attachment(answer) == f"monitoring-{year_label(TODAY)}-as-of-{TODAY.isoformat()}.csv"
    (row,) = read_csv(answer.content)
    assert row["as_of"] == TODAY.isoformat() == api["as_of"]
    assert row["financial_year"] == api["financial_year"]
    for key in ("mentors_trained", "registered_matches", "mentors_profiled", "whole_weeks_left"):
        assert int(row[key]) == api[key], key
    for key in ("mean_clinical_sessions", "spend_to_date", "profiled_spend"):
        assert number(row[key]) == api[key], key
    # The page shows the same figures.
    shown = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page.text))
    assert shown["Spend to date"] == "£1,445.00"
    assert shown["Profiled spend"] == f"£{api['profiled_spend']:,.2f}"

    answer = client.get("/reports/monitoring.xlsx")  # no date: today
    assert answer.headers["content-type"] == XLSX
    assert attachment(answer) == f"monitoring-{year_label(TODAY)}-as-of-{TODAY.isoformat()}.xlsx"
    sheets = read_sheets(answer.content)
    assert list(sheets) == ["Monitoring", "Experience", "About"]
    assert sheets["Experience"][0][:3] == ("as_of", "by", "attribute")  # test_experience_figures
    (cells,) = as_dicts(sheets["Monitoring"])
    assert cells == {**api, "as_of": TODAY.isoformat()}
    assert sheets["About"][1] == (as_of_words(TODAY),)
    sheet = load_workbook(io.BytesIO(answer.content))["Monitoring"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold
    assert sheet.column_dimensions["B"].width >= len("financial_year")


def test_an_earlier_as_of_date_gives_that_days_figures_on_the_page_and_in_the_files(
    client: TestClient, as_role: Headers, paid: dict[str, Any]
) -> None:
    # The day before the start of this financial year: nothing trained, registered or paid.
    day = FinancialYear.containing(TODAY).start - timedelta(days=1)
    api = client.get(
        f"/api/reports/monitoring?as_of={day.isoformat()}", headers=as_role("matcher")
    ).json()
    assert (api["mentors_trained"], api["registered_matches"], api["spend_to_date"]) == (0, 0, 0)
    sign_in(client, "analyst", "secret-analyst")
    page = client.get(f"/reports?as_of={day.isoformat()}")
    assert page.status_code == 200, page.text
    heading = re.search(r'<h2 id="figures-heading">(.*?)</h2>', page.text)
    assert heading and heading[1] == f"Monitoring figures as of {day.day} {day:%B %Y}"
    shown = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page.text))
    assert (shown["Mentors trained"], shown["Spend to date"]) == ("0", "£0.00")
    assert '<input id="as_of" name="as_of" type="date"' in page.text
    assert f'value="{day.isoformat()}" required>' in page.text

    answer = client.get(f"/reports/monitoring.csv?as_of={day.isoformat()}")
    assert attachment(answer) == f"monitoring-{year_label(day)}-as-of-{day.isoformat()}.csv"
    (row,) = read_csv(answer.content)
    assert row["as_of"] == day.isoformat()
    assert (int(row["mentors_trained"]), float(row["spend_to_date"])) == (0, 0.0)
    assert row["financial_year"] == api["financial_year"]

    for bad in ("2026-13-01", "1999-12-31", "soon"):
        assert client.get(f"/reports/monitoring.csv?as_of={bad}").status_code == 422, bad
        assert client.get(f"/reports?as_of={bad}").status_code == 422, bad


@pytest.mark.parametrize("role", ["matcher", "analyst"])
def test_the_ledger_downloads_add_up_to_the_api_ledger(
    client: TestClient, as_role: Headers, problem: ProblemData, paid: dict[str, Any], role: str
) -> None:
    api = client.get("/api/reports/finance", headers=as_role("matcher")).json()
    assert api["total_gbp"] == 1445.0
    start = FinancialYear.containing(TODAY).start_year
    sign_in(client, role, f"secret-{role}")
    page = client.get("/reports")
    assert f'href="/reports/ledger.xlsx?year={start}"' in page.text
    assert as_of_words(TODAY) in re.search(r'<p id="ledger-as-of">(.*?)</p>', page.text)[1]

    answer = client.get(f"/reports/ledger.csv?year={start}")
    assert answer.status_code == 200, answer.text
    assert attachment(answer) == f"ledger-{year_label(TODAY)}-as-of-{TODAY.isoformat()}.csv"
    months = read_csv(answer.content)
    assert [m["month"] for m in months] == [m["month"] for m in api["months"]]
    for line, expected in zip(months, api["months"], strict=True):
        assert line["as_of"] == TODAY.isoformat()
        assert line["financial_year"] == api["financial_year"]
        for key in ("mentoring_sessions", "training_sessions", "unpaid_sessions"):
            assert int(line[key]) == expected[key]
        for key in ("amount_gbp", "cumulative_gbp"):
            assert float(line[key]) == expected[key]

    answer = client.get(f"/reports/ledger-by-mentor.csv?year={start}")
    assert attachment(answer) == (
        f"ledger-by-mentor-{year_label(TODAY)}-as-of-{TODAY.isoformat()}.csv"
    )
    mentors = read_csv(answer.content)
    # This month: the one mentor, with 1 mentoring and 4 training sessions, £1,445.
    assert [(m["month"], m["mentor_id"]) for m in mentors] == [
        (TODAY.strftime("%Y-%m"), paid["mentor_id"])
    ]
    line = mentors[0]
    assert (int(line["mentoring_sessions"]), int(line["training_sessions"])) == (1, 4)
    assert float(line["amount_gbp"]) == 1445.0
    if role == "analyst":
        assert "mentor_name" not in line
    else:
        mentor = next(m for m in problem.mentors if m.mentor_id == paid["mentor_id"])
        assert line["mentor_name"] == mentor.name

    answer = client.get(f"/reports/ledger.xlsx?year={start}")
    assert attachment(answer) == f"ledger-{year_label(TODAY)}-as-of-{TODAY.isoformat()}.xlsx"
    sheets = read_sheets(answer.content)
    assert list(sheets) == ["Months", "By mentor", "About"]
    assert as_dicts(sheets["Months"]) == [
        {"as_of": TODAY.isoformat(), "financial_year": api["financial_year"], **m}
        for m in api["months"]
    ]
    by_mentor = as_dicts(sheets["By mentor"])
    assert [{k: str(v) for k, v in row.items()} for row in by_mentor] == mentors
    sums: defaultdict[str, float] = defaultdict(float)
    for row in by_mentor:
        sums[row["month"]] += row["amount_gbp"]
    assert {m["month"]: m["amount_gbp"] for m in api["months"] if m["amount_gbp"]} == sums
    assert sheets["About"][1] == (as_of_words(TODAY),)

    # Analysts' files carry no name of anyone; staff's carry the mentor's.
    texts = [
        client.get(f"/reports/{path}?year={start}").content.decode("utf-8-sig")
        for path in ("ledger.csv", "ledger-by-mentor.csv")
    ]
    for path in ("ledger.xlsx", "monitoring.xlsx"):
        workbook = read_sheets(client.get(f"/reports/{path}?year={start}").content)
        texts += [str(cell) for rows in workbook.values() for row in rows for cell in row]
    everything = "\n".join(texts)
    people = [p.name for p in problem.mentors] + [p.name for p in problem.mentees]
    named = [name for name in people if name in everything]
    assert named == ([] if role == "analyst" else [line["mentor_name"]])


def test_the_ledger_of_another_year_and_wrong_requests(
    client: TestClient, tokens: dict[str, str]
) -> None:
    sign_in(client, "admin", "secret-admin")
    answer = client.get("/reports/ledger.csv?year=2000")
    assert attachment(answer) == f"ledger-2000-01-as-of-{TODAY.isoformat()}.csv"
    months = read_csv(answer.content)
    assert [m["month"] for m in months][:2] == ["2000-04", "2000-05"]
    assert {float(m["amount_gbp"]) for m in months} == {0.0}
    assert read_csv(client.get("/reports/ledger-by-mentor.csv?year=2000").content) == []
    assert client.get("/reports/ledger.csv?year=1999").status_code == 422
    assert client.get("/reports/ledger.pdf").status_code == 404
    assert client.get("/reports/monitoring.json").status_code == 404
    sign_in(client, "organiser", "secret-organiser")
    for path in (
        "/reports/ledger.csv",
        "/reports/ledger-by-mentor.csv",
        "/reports/monitoring.xlsx",
    ):
        assert client.get(path).status_code == 403, path
    signed_out = TestClient(client.app)
    answer = signed_out.get("/reports/ledger.xlsx", follow_redirects=False)
    assert answer.status_code == 303


def test_mentor_lines_add_up_to_the_months() -> None:
    # A cap of 2 mentoring sessions a year: MR1's third week (15 April) is unpaid. MR2's
    # course of 3 sessions completes in May. April: MR1 2 paid + 1 unpaid, £578; May: £867.
    tariff = Tariff(rate_gbp=289.0, annual_cap=2)
    year = FinancialYear(2026)
    payments = [
        Payment("MR1", date(2026, 4, 1), "mentoring", 1),
        Payment("MR1", date(2026, 4, 8), "mentoring", 1),
        Payment("MR1", date(2026, 4, 15), "mentoring", 1, paid=False),
        Payment("MR2", date(2026, 5, 20), "training", 3),
        Payment("MR2", date(2027, 4, 2), "mentoring", 1),  # next year: left out
    ]
    assert mentor_months(payments, year, tariff) == [
        MentorMonth(date(2026, 4, 1), "MR1", 2, 0, 1, 578.0),
        MentorMonth(date(2026, 5, 1), "MR2", 0, 3, 0, 867.0),
    ]
    assert file_name("ledger", year, date(2026, 11, 30), "csv") == (
        "ledger-2026-27-as-of-2026-11-30.csv"
    )
    assert as_of_words(date(2026, 11, 30)) == "As of 30 November 2026"
