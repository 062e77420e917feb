"""The Events pages: an organiser plans an evening, prints it, and records the choices."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from scheme import form_token, import_scheme, sign_in, write_scheme

from service.web import event_pages

Headers = Callable[[str], dict[str, str]]


def test_plan_print_and_record_choices(
    client: TestClient, as_role: Headers, tmp_path: Path
) -> None:
    problem = write_scheme(tmp_path, n_mentors=6, n_mentees=20, seed=5)
    import_scheme(client, tmp_path, as_role("matcher"))
    csrf = sign_in(client, "organiser", "secret-organiser")
    page = client.get("/events").text
    assert "Plan event" in page
    ticked = re.findall(r'name="mentee_pick" value="([^"]+)" checked', page)
    assert set(ticked) == {m.mentee_id for m in problem.mentees}
    assert f"{problem.mentees[0].name} <span" in page
    one = problem.mentees[3]
    found = client.get("/events", params={"q": one.name.upper()}).text
    assert re.findall(r'name="mentee_pick" value="([^"]+)"', found) == [one.mentee_id]
    # Ticked in the list, or pasted in any case: both attend.
    mentors = " ".join(m.mentor_id.lower() for m in problem.mentors[1:])
    mentees = "\n".join(m.mentee_id for m in problem.mentees[1:12])
    form = {
        "csrf_token": csrf,
        "name": "Spring evening",
        "held_on": "2026-12-01",
        "start": "18:00",
        "rounds": "3",
        "minutes": "12",
        "per_table": "2",
        "mentor_ids": mentors,
        "mentee_ids": mentees,
        "mentor_pick": [problem.mentors[0].mentor_id],
        "mentee_pick": [problem.mentees[0].mentee_id, problem.mentees[1].mentee_id],
    }
    planned = client.post("/events", data=form, follow_redirects=False)
    assert planned.status_code == 303
    url = planned.headers["location"].split("?")[0]
    event_id = int(url.rsplit("/", 1)[1])
    shown = client.get(planned.headers["location"]).text
    assert "Event planned" in shown
    api = client.get(f"/api/events/{event_id}/schedule", headers=as_role("organiser")).json()
    rotation = shown.split("Rotation", 1)[1].split("</table>", 1)[0]
    assert rotation.count("<tr>") - 1 == len(api["meetings"]) > 0  # minus the header row
    assert "18:24" in rotation  # round 3 starts 2 x 12 minutes after 18:00
    sheets = client.get(f"{url}/sheets")
    assert (
        sheets.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    )
    assert sheets.text.count('class="sheet"') == 6 + 12

    first = api["meetings"][0]
    mentee, mentor = first["mentee"]["id"], first["mentor"]["id"]
    saved = client.post(
        f"{url}/choices",
        data={"csrf_token": csrf, "side": "mentee", "lines": f"{mentee}, {mentor}\n\n"},
    )
    assert "Choices saved" in saved.text
    assert f'<td>mentee</td><td>{mentee}</td><td class="num">1</td><td>{mentor}</td>' in saved.text
    unknown = client.post(
        f"{url}/choices", data={"csrf_token": csrf, "side": "mentee", "lines": f"{mentee} NOBODY"}
    )
    assert unknown.status_code == 422
    assert f"{mentee} chose NOBODY, not a mentor at this event" in unknown.text
    twice = client.post(
        f"{url}/choices",
        data={"csrf_token": csrf, "side": "mentee", "lines": f"{mentee} {mentor}\n{mentee}"},
    )
    assert twice.status_code == 422 and "line 2:" in twice.text

    # Choices by name: one list of the other side's names, one field per rank and person.
    names = {m.mentor_id: m.name for m in problem.mentors}
    assert f'<option value="{names[mentor]} ({mentor})">' in shown
    assert f'name="choice:1:{mentee}" list="mentee-choosable"' in shown
    others = [m.mentor_id for m in problem.mentors if m.mentor_id != mentor]
    by_mentees = client.post(
        f"{url}/choices",
        data={
            "csrf_token": csrf,
            "side": "mentee",
            f"choice:1:{mentee}": f"{names[others[0]]} ({others[0]})",
            f"choice:2:{mentee}": f" {mentor} ",  # an id typed, not chosen from the list
            f"choice:3:{mentee}": "",
        },
    )
    assert "Choices saved" in by_mentees.text
    assert f'value="{names[others[0]]} ({others[0]})"' in by_mentees.text
    stored = client.get(f"/api/events/{event_id}/choices", headers=as_role("organiser")).json()
    assert [(c["person_id"], c["rank"], c["choice_id"]) for c in stored] == [
        (mentee, 1, others[0]),
        (mentee, 2, mentor),
    ]
    wrong_side = client.post(
        f"{url}/choices",
        data={"csrf_token": csrf, "side": "mentee", f"choice:1:{mentor}": mentee},
    )
    assert wrong_side.status_code == 422
    nul = client.post(
        f"{url}/choices",
        data={"csrf_token": csrf, "side": "mentee", f"choice:1:{mentee}": "MR\x00"},
    )
    assert nul.status_code == 422
    assert client.post(f"{url}/choices", data={"side": "mentee", "lines": "x"}).status_code == 403


def test_who_sees_events(client: TestClient, as_role: Headers, tmp_path: Path) -> None:
    write_scheme(tmp_path, n_mentors=4, n_mentees=10, seed=6)
    import_scheme(client, tmp_path, as_role("matcher"))
    other = TestClient(client.app)
    sign_in(other, "matcher", "secret-matcher")
    page = other.get("/events")
    assert page.status_code == 200 and "Plan event" not in page.text
    assert ">Events</a>" in page.text
    csrf = form_token(page.text)
    form = {
        "csrf_token": csrf,
        "held_on": "2026-12-01",
        "mentor_ids": "MR0001",
        "mentee_ids": "ME0001",
    }
    assert other.post("/events", data=form).status_code == 403
    analyst = TestClient(client.app)
    sign_in(analyst, "analyst", "secret-analyst")
    assert analyst.get("/events").status_code == 403
    assert ">Events</a>" not in analyst.get("/rounds").text


def test_the_planning_lists_stop_at_their_limit_and_say_how_many_more(
    client: TestClient, as_role: Headers, tmp_path: Path
) -> None:
    problem = write_scheme(tmp_path, n_mentors=6, n_mentees=event_pages.LISTED + 30, seed=8)
    import_scheme(client, tmp_path, as_role("matcher"))
    sign_in(client, "organiser", "secret-organiser")
    page = client.get("/events").text
    listed = re.findall(r'name="mentee_pick" value="([^"]+)"', page)
    everyone = sorted(m.mentee_id for m in problem.mentees)
    assert listed == everyone[: event_pages.LISTED]
    assert f"Mentees attending ({event_pages.LISTED} listed of {len(everyone)})" in page
    assert "30 more are not listed and do not attend" in page
    # A search reaches the mentees past the limit, found in the database by id or name.
    last = max(problem.mentees, key=lambda m: m.mentee_id)
    found = client.get("/events", params={"q": last.name.lower()}).text
    assert last.mentee_id in re.findall(r'name="mentee_pick" value="([^"]+)"', found)
    assert "more are not listed" not in found
