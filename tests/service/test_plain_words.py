"""The pages speak in words: no code of the LMC sample's cohorts, focus areas, slots or modes
shows on the round, register or matches page; the round page explains the score, and each
pair's parts add up to its score."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from scheme import import_scheme, run_round, sign_in

from matcher.vocab import code_words, words_in

Headers = Callable[[str], dict[str, str]]
LMC = Path(__file__).resolve().parents[2] / "datasets" / "samples" / "lmc"
SCORE_SENTENCE = "A pair's score is the sum of its parts"
QUALITY_SENTENCE = "Total quality is the sum of the proposed pairs' scores"


class _Visible(HTMLParser):
    """The text a reader sees (attribute values, such as a filter's option values, left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_data(self, data: str) -> None:
        self.found.append(data)


def visible(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.found).split())


def sample_codes() -> set[str]:
    """The sample's cohorts, focus areas, slots and modes that are codes rather than words
    (with a "_")."""
    codes: set[str] = set()
    for kind, columns in (
        ("mentors", ("focus_areas", "availability", "modes")),
        ("mentees", ("cohort", "needs", "availability", "modes")),
    ):
        with open(LMC / f"{kind}.csv", encoding="utf-8-sig", newline="") as file:
            for row in csv.DictReader(file):
                for column in columns:
                    codes |= {c.strip() for c in row[column].split(";") if c.strip()}
    return {c for c in codes if "_" in c}


def codes_shown(text: str) -> list[str]:
    """Any code joined by "_" in ``text`` (the sample's, or any other)."""
    known = sorted(
        c for c in sample_codes() if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)
    )
    return known + re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", text)


def test_codes_read_as_words() -> None:
    # Worked examples: the words come from the name tables people write in.
    assert code_words("tue_am") == "Tuesday morning"
    assert code_words("thu_eve") == "Thursday evening"
    assert code_words("mid_career") == "Mid-career GP"
    assert code_words("face_to_face") == "face to face"
    assert code_words("career_progression") == "career progression"
    assert code_words("not_a_code") == "not_a_code"
    assert words_in("shares needs: career_progression; both free tue_pm") == (
        "shares needs: career progression; both free Tuesday afternoon"
    )


@pytest.fixture
def round_id(client: TestClient, as_role: Headers) -> int:
    staff = as_role("matcher")
    import_scheme(client, LMC, staff)
    answer = client.post("/api/rounds", json={"name": "Plain", "time_limit": 20}, headers=staff)
    assert answer.status_code == 201, answer.text
    rid = int(answer.json()["id"])
    assert run_round(client, rid, staff)["status"] == "done"
    return rid


@pytest.mark.parametrize("role", ["matcher", "analyst"])
def test_the_round_page_shows_words_and_explains_the_score(
    app: FastAPI, round_id: int, role: str
) -> None:
    client = TestClient(app)
    sign_in(client, role, f"secret-{role}")
    page = client.get(f"/rounds/{round_id}")
    assert page.status_code == 200
    text = visible(page.text)

    codes = sample_codes()
    assert {"mid_career", "face_to_face", "tue_am"} <= codes  # the sample has such codes
    shown = sorted(c for c in codes if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text))
    assert not shown, f"codes shown as codes: {shown}"
    assert "Mid-career GP" in text
    assert SCORE_SENTENCE in text and QUALITY_SENTENCE in text

    # Each pair: its score, then its parts ("needs +6, preference +2, travel −1") adding up.
    table = page.text.split('id="proposals-heading"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(
        r'<td class="num">([^<]*)</td>\s*<td class="score-parts">([^<]*)</td>', table
    )
    assert cells
    for score, parts in cells:
        points = [int(p.replace("\u2212", "-")) for p in re.findall(r"[+\u2212]\d+", parts)]
        assert sum(points) == int(score.replace("\u2212", "-")), (score, parts)
        assert parts == "no points" or points
    if role == "analyst":
        assert "Reasons" not in text


@pytest.mark.parametrize("role", ["matcher", "organiser"])
def test_the_register_shows_focus_areas_and_statuses_in_words(
    app: FastAPI, client: TestClient, as_role: Headers, role: str
) -> None:
    import_scheme(client, LMC, as_role("matcher"))
    reader = TestClient(app)
    sign_in(reader, role, f"secret-{role}")
    page = reader.get("/register?per_page=200")
    assert page.status_code == 200
    text = visible(page.text)
    assert {"career_progression", "medical_education"} <= sample_codes()
    assert not codes_shown(text), codes_shown(text)
    # MR0001's focus areas are career_progression;medical_education.
    row = re.search(r'<tr id="mentor-MR0001">(.*?)</tr>', page.text, re.S)
    assert row and "career progression, medical education" in visible(row[1])
    # The filter offers words, and keeps the codes as its values.
    assert '<option value="career_progression">career progression</option>' in page.text
    page = reader.get("/register?focus=career_planning")
    assert '<option value="career_planning" selected>career planning</option>' in page.text
    assert not codes_shown(visible(page.text))


@pytest.mark.parametrize("role", ["matcher", "analyst"])
def test_the_matches_page_shows_words(
    app: FastAPI, client: TestClient, as_role: Headers, round_id: int, role: str
) -> None:
    staff = as_role("matcher")
    assert client.post(f"/api/rounds/{round_id}/approve", headers=staff).status_code == 200
    reader = TestClient(app)
    sign_in(reader, role, f"secret-{role}")
    for path in ("/matches?per_page=200", "/matches?status=confirmed", "/matches?status=ended"):
        page = reader.get(path)
        assert page.status_code == 200, path
        assert not codes_shown(visible(page.text)), path
    page = reader.get("/matches?status=confirmed")
    assert '<option value="confirmed" selected>confirmed</option>' in page.text
    # Each mentee's cohort in words: "Mid-career GP", not mid_career.
    with open(LMC / "mentees.csv", encoding="utf-8-sig", newline="") as file:
        cohorts = {row["mentee_id"]: row["cohort"].strip() for row in csv.DictReader(file)}
    page = reader.get("/matches?per_page=200")
    shown = re.findall(r'<tr id="match-\d+">.*?</tr>', page.text, re.S)
    assert shown
    found = set()
    for row in shown:
        mentee_id = re.findall(r"\bME\d+\b", visible(row))[0]
        assert f"<td>{code_words(cohorts[mentee_id])}</td>" in row
        found.add(cohorts[mentee_id])
    assert "mid_career" in found
