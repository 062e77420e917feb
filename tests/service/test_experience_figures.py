"""The participants' scheme experience: the surveys' figures by round, cohort and mentee group,
checked against a count made here from the rows written, on the API, the page and the
downloads; small groups show no ratings; analysts never see a comment or a name.

Twelve matches, one per mentee: E01-E07 in round A, E08-E11 in round B, E12 in no round.
Each match has first-meeting surveys on both sides; E01-E06's also end surveys. A survey
is answered unless (match number + side + stage) is a multiple of 4; ratings come from a
seeded generator. First-meeting surveys are sent 1 May 2025 + n days and answered
1 June 2025 + n days; end surveys sent 1 September, answered 10 September + n days.
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from scheme import sign_in

from service.db import transaction
from service.models import Match, Round, Survey

Headers = Callable[[str], dict[str, str]]
COMMENT = "ZEBRA-7731"
# mentee id -> cohort, gender, ethnicity, img (as typed in the register)
MENTEES = {
    "E01": ("fellow", "Female", "White", "yes"),
    "E02": ("fellow", "female", "Asian", "no"),
    "E03": ("new_partner", "Male", "Asian", "yes"),
    "E04": ("fellow", "Male", "White", "no"),
    "E05": ("new_partner", "Female", "Asian", "yes"),
    "E06": ("returner", "Male", "Black", ""),
    "E07": ("fellow", "Female", "White", "no"),
    "E08": ("new_partner", "Male", "White", "yes"),
    "E09": ("fellow", "Non-binary", "Asian", "no"),
    "E10": ("fellow", "FEMALE", "Asian", "no"),
    "E11": ("new_partner", "Male", "Black", "yes"),
    "E12": ("returner", "Female", "White", "no"),
}
SIDES = ("mentor", "mentee")
STAGES = ("first_meeting", "end")


@dataclass(frozen=True)
class Written:
    """One survey as written to the database."""

    mentee_id: str
    round_name: str | None
    stage: str
    side: str
    sent: datetime
    answered: datetime | None
    ratings: tuple[int, int, int] | None


def register(number: int) -> tuple[bytes, bytes]:
    mentors = "mentor_id,name,email,gmc_number,clinical_sessions_per_week,status\n" + "".join(
        f"M{n:02d},Dr Marrow{n},m{n}@example.org,{7000000 + n},6,active\n"
        for n in range(1, number + 1)
    )
    mentees = "mentee_id,name,cohort,email,gender,ethnicity,img\n" + "".join(
        f"{mentee_id},Dr Quill{mentee_id},{cohort},{mentee_id}@example.org,{g},{e},{i}\n"
        for mentee_id, (cohort, g, e, i) in MENTEES.items()
    )
    return mentors.encode(), mentees.encode()


def planned() -> list[Written]:
    draw = random.Random(11)
    out = []
    for n, mentee_id in enumerate(MENTEES, start=1):
        round_name = "A" if n <= 7 else "B" if n <= 11 else None
        for stage_index, stage in enumerate(STAGES):
            if stage == "end" and n > 6:
                continue
            for side_index, side in enumerate(SIDES):
                if stage == "first_meeting":
                    sent = datetime(2025, 5, 1) + timedelta(days=n)
                    answered = datetime(2025, 6, 1) + timedelta(days=n)
                else:
                    sent = datetime(2025, 9, 1)
                    answered = datetime(2025, 9, 10) + timedelta(days=n)
                if (n + side_index + stage_index) % 4 == 0:
                    out.append(Written(mentee_id, round_name, stage, side, sent, None, None))
                    continue
                ratings = (draw.randint(1, 5), draw.randint(1, 5), draw.randint(1, 5))
                out.append(Written(mentee_id, round_name, stage, side, sent, answered, ratings))
    return out


@pytest.fixture
def written(client: TestClient, app: FastAPI, as_role: Headers) -> dict[str, int]:
    """The register, the rounds, the matches and the surveys; returns round ids by name."""
    mentors, mentees = register(len(MENTEES))
    for kind, body in (("mentors", mentors), ("mentees", mentees)):
        files = {"file": (f"{kind}.csv", body, "text/csv")}
        answer = client.post(f"/api/{kind}/import", files=files, headers=as_role("admin"))
        assert answer.status_code == 200, answer.text
    with transaction(app.state.sessions) as db:
        rounds = {name: Round(name=name, time_limit=10, status="approved") for name in "AB"}
        db.add_all(rounds.values())
        db.flush()
        matches = {}
        for n, mentee_id in enumerate(MENTEES, start=1):
            in_round = rounds["A"] if n <= 7 else rounds["B"] if n <= 11 else None
            matches[mentee_id] = Match(
                round_id=in_round.id if in_round else None,
                mentor_id=f"M{n:02d}",
                mentee_id=mentee_id,
                status="registered",
            )
        db.add_all(matches.values())
        db.flush()
        for w in planned():
            overall, fit, usefulness = w.ratings or (None, None, None)
            db.add(
                Survey(
                    match_id=matches[w.mentee_id].id,
                    side=w.side,
                    stage=w.stage,
                    created_at=w.sent,
                    answered_at=w.answered,
                    overall=overall,
                    fit=fit,
                    usefulness=usefulness,
                    comment=f"{COMMENT} from {w.mentee_id}" if w.answered else None,
                )
            )
        return {name: r.id for name, r in rounds.items()}


def groups_of(w: Written, by: str, round_ids: dict[str, int]) -> list[tuple[str, str]]:
    """The groups a survey counts in, worked out here from the register as typed."""
    cohort, gender, ethnicity, img = MENTEES[w.mentee_id]
    if by == "round":
        return [("round", str(round_ids[w.round_name]) if w.round_name else "none")]
    if by == "cohort":
        return [("cohort", cohort)]
    # Groups ignore case; each is labelled as the first mentee (by id) wrote it.
    first_spelling = {"female": "Female", "male": "Male", "non-binary": "Non-binary"}
    found = []
    if gender:
        found.append(("gender", first_spelling[gender.lower()]))
    if ethnicity:
        found.append(("ethnicity", ethnicity))
    if img:
        found.append(("img", img))
    return found


def expected(by: str, round_ids: dict[str, int], as_of: date | None = None) -> dict[Any, Any]:
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time()) if as_of else None
    sent: Counter[tuple[str, ...]] = Counter()
    answers: dict[tuple[str, ...], list[tuple[int, int, int]]] = defaultdict(list)
    mentees: dict[tuple[str, str], set[str]] = defaultdict(set)
    for w in planned():
        if end and w.sent >= end:
            continue
        for attribute, group in groups_of(w, by, round_ids):
            mentees[attribute, group].add(w.mentee_id)
            key = (attribute, group, w.stage, w.side)
            sent[key] += 1
            if w.ratings and w.answered and (end is None or w.answered < end):
                answers[key].append(w.ratings)
    out = {}
    for key, count in sent.items():
        if by == "group" and len(mentees[key[0], key[1]]) < 5:
            continue  # a mentee group of fewer than 5 is left out
        given = answers[key]
        ratings = []
        if len(given) >= 5:
            for n, name in enumerate(("overall", "fit", "usefulness")):
                values = [a[n] for a in given]
                ratings.append(
                    {
                        "rating": name,
                        "mean": round(sum(values) / len(values), 2),
                        "counts": [values.count(score) for score in range(1, 6)],
                    }
                )
        out[key] = {
            "sent": count,
            "answered": len(given),
            "response_rate": round(len(given) / count, 4),
            "suppressed": len(given) < 5,
            "ratings": ratings,
        }
    return out


def keyed(rows: list[dict[str, Any]]) -> dict[Any, Any]:
    return {
        (r["attribute"], r["group"], r["stage"], r["side"]): {
            k: r[k] for k in ("sent", "answered", "response_rate", "suppressed", "ratings")
        }
        for r in rows
    }


@pytest.mark.parametrize("by", ["round", "cohort", "group"])
def test_the_figures_are_those_of_the_rows(
    client: TestClient, as_role: Headers, written: dict[str, int], by: str
) -> None:
    answer = client.get(f"/api/reports/experience?by={by}", headers=as_role("analyst"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["by"], body["as_of"], body["min_answers"]) == (by, None, 5)
    want = expected(by, written)
    assert keyed(body["rows"]) == want
    if by == "group":  # 1 non-binary mentee, 2 black mentees: left out
        assert {(r["attribute"], r["group"]) for r in body["rows"]} == {
            ("gender", "Female"),
            ("gender", "Male"),
            ("ethnicity", "Asian"),
            ("ethnicity", "White"),
            ("img", "no"),
            ("img", "yes"),
        }
    # Both kinds of row are there: small groups without ratings, larger ones with them.
    assert {row["suppressed"] for row in want.values()} == {True, False}
    assert any(0 < row["answered"] < 5 for row in want.values())
    assert COMMENT not in answer.text and "Quill" not in answer.text and "Marrow" not in answer.text


def test_a_worked_row(client: TestClient, as_role: Headers, written: dict[str, int]) -> None:
    """Round A's mentees after the first meeting: matches 1-7; 3 and 7 unanswered (3 + 1
    and 7 + 1 are multiples of 4), so 5 of 7 answered: just enough to show the ratings."""
    body = client.get("/api/reports/experience?by=round", headers=as_role("admin")).json()
    row = next(
        r
        for r in body["rows"]
        if (r["group"], r["stage"], r["side"]) == (str(written["A"]), "first_meeting", "mentee")
    )
    assert (row["sent"], row["answered"], row["response_rate"]) == (7, 5, 0.7143)
    assert row["suppressed"] is False and len(row["ratings"]) == 3
    assert all(sum(r["counts"]) == 5 for r in row["ratings"])
    assert [r["group"] for r in body["rows"]][-1] == "none"  # rounds by number, none last


def test_figures_as_of_a_day_count_what_was_sent_and_answered_by_then(
    client: TestClient, as_role: Headers, written: dict[str, int]
) -> None:
    day = date(2025, 6, 5)
    for by in ("round", "cohort", "group"):
        answer = client.get(
            f"/api/reports/experience?by={by}&as_of={day}", headers=as_role("matcher")
        )
        assert answer.status_code == 200, answer.text
        assert keyed(answer.json()["rows"]) == expected(by, written, day)
    rows = client.get(f"/api/reports/experience?by=cohort&as_of={day}", headers=as_role("admin"))
    # No end survey was sent by then; answers given by then (1 June + n, n up to 4): both
    # sides of matches 1 and 2, the mentor of 3, the mentee of 4.
    assert {r["stage"] for r in rows.json()["rows"]} == {"first_meeting"}
    assert sum(r["answered"] for r in rows.json()["rows"]) == 6
    refused = client.get("/api/reports/experience?by=team", headers=as_role("admin"))
    assert refused.status_code == 422
    wrong_year = client.get(
        "/api/reports/experience?by=round&as_of=1999-12-31", headers=as_role("admin")
    )
    assert wrong_year.status_code == 422
    assert wrong_year.json()["detail"] == "as_of must be a date in the years 2000 to 2100"


def test_the_page_and_downloads_show_the_figures_but_no_comment_or_name(
    client: TestClient, app: FastAPI, tokens: dict[str, str], written: dict[str, int]
) -> None:
    sign_in(client, "analyst", "secret-analyst", "/reports")
    reports = client.get("/reports")
    assert reports.status_code == 200
    total = planned()
    answered = sum(1 for w in total if w.answered)
    assert f"{len(total)} feedback surveys sent" in reports.text
    assert f"{answered} answered" in reports.text
    assert 'href="/reports/experience?as_of=' in reports.text

    for by in ("round", "cohort", "group"):
        page = client.get(f"/reports/experience?by={by}")
        assert page.status_code == 200
        want = expected(by, written)
        suppressed = sum(1 for row in want.values() if row["suppressed"])
        assert page.text.count("fewer than 5 answers</td>") == suppressed
        for row in want.values():
            for rating in row["ratings"]:
                counts = ", ".join(map(str, rating["counts"]))
                assert f'{rating["mean"]:.2f}<br><span class="muted">{counts}</span>' in page.text
        for text in (COMMENT, "Quill", "Marrow"):
            assert text not in page.text

    table = client.get("/reports/experience.csv")
    assert table.status_code == 200
    rows = list(csv.DictReader(io.StringIO(table.content.decode("utf-8-sig"))))
    for by in ("round", "cohort", "group"):
        assert keyed([file_row(r) for r in rows if r["by"] == by]) == expected(by, written)

    workbook = client.get("/reports/monitoring.xlsx")
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.content), read_only=True)["Experience"]
    cells = list(sheet.iter_rows(values_only=True))
    header = [str(c) for c in cells[0]]
    sheet_rows = [
        {h: "" if v is None else str(v) for h, v in zip(header, row, strict=True)}
        for row in cells[1:]
    ]
    for by in ("round", "cohort", "group"):
        found = [file_row(r) for r in sheet_rows if r["by"] == by]
        assert keyed(found) == expected(by, written)
    for content in (table.content, *unzipped(workbook.content)):
        for text in (COMMENT, "Quill", "Marrow"):
            assert text.encode() not in content
    # The CSV of the monitoring figures stays one table of one row.
    assert len(client.get("/reports/monitoring.csv").text.strip().splitlines()) == 2


def file_row(row: dict[str, str]) -> dict[str, Any]:
    """A row of a download as the API gives it."""
    ratings = []
    for name in ("overall", "fit", "usefulness"):
        if row[f"{name}_mean"]:
            counts = [int(float(row[f"{name}_{n}"])) for n in range(1, 6)]
            ratings.append({"rating": name, "mean": float(row[f"{name}_mean"]), "counts": counts})
    return {
        "attribute": row["attribute"],
        "group": row["group"],
        "stage": row["stage"],
        "side": row["side"],
        "sent": int(float(row["sent"])),
        "answered": int(float(row["answered"])),
        "response_rate": float(row["response_rate"]),
        "suppressed": row["note"] == "fewer than 5 answers",
        "ratings": ratings,
    }


def unzipped(content: bytes) -> list[bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return [archive.read(name) for name in archive.namelist()]


def test_staff_and_analysts_only(
    client: TestClient, as_role: Headers, tokens: dict[str, str], written: dict[str, int]
) -> None:
    answer = client.get("/api/reports/experience?by=round", headers=as_role("organiser"))
    assert answer.status_code == 403
    sign_in(client, "organiser", "secret-organiser", "/events")
    assert client.get("/reports/experience").status_code == 403
    assert client.get("/reports/experience.csv").status_code == 403
