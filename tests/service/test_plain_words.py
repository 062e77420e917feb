"""The round page speaks in words: no code of the LMC sample's cohorts, slots or modes shows,
the score is explained, and each pair's parts add up to its score."""

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
    """The sample's cohorts, slots and modes that are codes rather than words (with a "_")."""
    codes: set[str] = set()
    for kind, columns in (
        ("mentors", ("availability", "modes")),
        ("mentees", ("cohort", "availability", "modes")),
    ):
        with open(LMC / f"{kind}.csv", encoding="utf-8-sig", newline="") as file:
            for row in csv.DictReader(file):
                for column in columns:
                    codes |= {c.strip() for c in row[column].split(";") if c.strip()}
    return {c for c in codes if "_" in c}


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
