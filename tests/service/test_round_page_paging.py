"""The round page at national size: the proposals and the unmatched a page at a time, filtered
and searched on the server; pins and forbids chosen through a search and checked against the
hard rules (the distance rule too, with the server's postcode lookup); every action returns
to the page, filters and row it came from.

The scheme is generated at national size: 600 mentors and 4,000 mentees, with places for
about 90 % of them (``supply_ratio=0.9``), so that a round leaves some hundreds unmatched.
Two people are changed to be given by postcode alone (no latitude or longitude), to meet face
to face only, about 400 km apart: mentor ``FAR_MENTOR`` in Leeds and mentee ``FAR_MENTEE`` in
Truro, who travels at most 10 km. The server's postcode lookup places them. The scheme is
imported through the API and one round is run (a time limit of 5 s: a feasible answer is
enough), so the page shows what a matcher sees after a national run.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from page_reading import sign_in
from scheme import import_scheme, run_round

from datasets.generator import generate, write_dataset
from matcher.data import ProblemData
from service.app import create_app
from service.auth import create_user, issue_token
from service.config import ServiceSettings
from service.db import transaction
from service.roles import ROLES
from service.web.paging import PER_PAGE

Headers = Callable[[str], dict[str, str]]
BUDGET_BYTES = 300_000
LOOKUP = "postcode,latitude,longitude\nLS1 4AP,53.7965,-1.5478\nTR1 2AA,50.2632,-5.0510\n"
FAR_MENTOR, FAR_MENTEE = "MR0600", "ME4000"
PROPOSAL_ROW = re.compile(r'<td id="proposal-([^"]+)">')
UNMATCHED_ROW = re.compile(r'<td id="unmatched-([^"]+)">')


def links(page: str) -> dict[str, str]:
    """The previous/next links of the page's first pager, by their ``rel``."""
    found: dict[str, str] = {}
    for href, rel in re.findall(r'<a href="([^"]+)" rel="(\w+)">', page):
        found.setdefault(rel, html.unescape(href))
    return found


def section(page: str, heading_id: str) -> str:
    """The markup of the page's section labelled by ``heading_id``, from its heading on."""
    return page.split(f'id="{heading_id}">', 1)[1].split("</section>", 1)[0]


def visible(markup: str) -> str:
    """The words of some markup, as a person reads them."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def national_scheme() -> ProblemData:
    problem = generate(600, 4000, seed=23, supply_ratio=0.9)
    *mentors, mentor = problem.mentors
    *mentees, mentee = problem.mentees
    assert (mentor.mentor_id, mentee.mentee_id) == (FAR_MENTOR, FAR_MENTEE)
    # Every rule before the distance kept: active with room, other practice and PCN, a shared
    # slot and the one mode, face to face; no exclusion names them.
    face = frozenset({"face_to_face"})
    common = {"latitude": None, "longitude": None, "availability": frozenset({"tue_pm"})}
    mentor = replace(
        mentor,
        **common,
        postcode="LS1 4AP",
        modes=face,
        status="active",
        capacity_max=None,
        current_mentees=0,
        practice_code="LEEDS1",
        pcn="PCN-LEEDS",
    )
    mentee = replace(
        mentee,
        **common,
        postcode="TR1 2AA",
        modes=face,
        max_distance_km=10,
        mentor_gender_strict=False,
        practice_code="TRURO1",
        pcn="PCN-TRURO",
    )
    exclusions = tuple(
        e
        for e in problem.exclusions
        if FAR_MENTEE not in (e.mentee_id,) and e.mentor_id != FAR_MENTOR
    )
    return replace(
        problem, mentors=(*mentors, mentor), mentees=(*mentees, mentee), exclusions=exclusions
    )


@dataclass(frozen=True)
class National:
    """A server with the national scheme and one round run: a client of it, the round's id,
    and its proposals and unmatched, as the API gives them to a matcher."""

    client: TestClient
    staff: dict[str, str]
    round_id: int
    proposals: list[dict[str, Any]]
    unmatched: list[dict[str, Any]]


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> Iterator[National]:
    """Built once for the module, on SQLite: the national import and run take most of its
    time (the searches of the database are tried on PostgreSQL too, below, on a small
    scheme). The tests leave no pin or forbid behind."""
    folder = tmp_path_factory.mktemp("national")
    lookup = folder / "postcodes.csv"
    lookup.write_text(LOOKUP, encoding="utf-8")
    settings = ServiceSettings(
        database_url=f"sqlite:///{folder / 'national.db'}",
        max_upload_bytes=20_000_000,
        postcode_lookup=str(lookup),
    )
    app = create_app(settings)
    with TestClient(app) as client:
        with transaction(app.state.sessions) as session:
            tokens = {
                role: issue_token(session, create_user(session, role, role, f"secret-{role}"))
                for role in ROLES
            }
        staff = {"Authorization": f"Bearer {tokens['matcher']}"}
        write_dataset(national_scheme(), folder)
        import_scheme(client, folder, staff)
        body = {"name": "National", "time_limit": 5}
        answer = client.post("/api/rounds", json=body, headers=staff)
        assert answer.status_code == 201, answer.text
        round_id = int(answer.json()["id"])
        assert run_round(client, round_id, staff)["status"] == "done"
        proposals = client.get(f"/api/rounds/{round_id}/proposals", headers=staff).json()
        unmatched = client.get(f"/api/rounds/{round_id}/unmatched", headers=staff).json()
        assert len(proposals) > 3000 and len(unmatched) > 2 * PER_PAGE
        yield National(client, staff, round_id, proposals, unmatched)


def test_the_national_round_page_is_small_and_paged(
    national: National,
) -> None:
    client, round_id = national.client, national.round_id
    proposals, unmatched = national.proposals, national.unmatched
    sign_in(client, "matcher")
    url = f"/rounds/{round_id}"
    page = client.get(url)
    assert page.status_code == 200, page.text
    assert len(page.content) < BUDGET_BYTES, len(page.content)
    # The first page of each list, in the API's order; the figures are the whole round's.
    assert PROPOSAL_ROW.findall(page.text) == [p["mentee_id"] for p in proposals[:PER_PAGE]]
    assert UNMATCHED_ROW.findall(page.text) == [u["mentee_id"] for u in unmatched[:PER_PAGE]]
    assert f"Proposed pairs ({len(proposals):,})" in page.text
    assert f"Not matched ({len(unmatched):,})" in page.text
    assert f"{len(proposals)} of 4000 mentees matched" in page.text
    assert f"Showing 1–{PER_PAGE} of {len(proposals):,}" in page.text
    assert links(page.text) == {"next": f"{url}?page=2#proposals-heading"}
    # No list of every mentor or mentee to choose from: a search instead.
    assert "<datalist" not in page.text and 'name="mentor_id" required' not in page.text
    assert '<input type="search" id="find_mentee" name="find_mentee"' in page.text

    # Page 3 of the proposals; the unmatched list stays on its page 2, and both links keep
    # the other list's page.
    third = client.get(url, params={"page": 3, "upage": 2})
    assert PROPOSAL_ROW.findall(third.text) == [
        p["mentee_id"] for p in proposals[2 * PER_PAGE : 3 * PER_PAGE]
    ]
    assert UNMATCHED_ROW.findall(third.text) == [
        u["mentee_id"] for u in unmatched[PER_PAGE : 2 * PER_PAGE]
    ]
    assert links(third.text) == {
        "prev": f"{url}?page=2&upage=2#proposals-heading",
        "next": f"{url}?page=4&upage=2#proposals-heading",
    }
    assert links(section(third.text, "unmatched-heading")) == {
        "prev": f"{url}?page=3#unmatched-heading",
        "next": f"{url}?page=3&upage=3#unmatched-heading",
    }
    # Past the end: the last page.
    last = -(-len(proposals) // PER_PAGE)
    beyond = client.get(url, params={"page": 9999})
    assert PROPOSAL_ROW.findall(beyond.text) == [
        p["mentee_id"] for p in proposals[(last - 1) * PER_PAGE :]
    ]
    assert "next" not in links(section(beyond.text, "proposals-heading"))


def test_filters_and_searches_return_exactly_their_rows(
    national: National,
) -> None:
    client, round_id = national.client, national.round_id
    proposals, unmatched = national.proposals, national.unmatched
    sign_in(client, "matcher")
    url = f"/rounds/{round_id}"

    # One mentor's pairs, as typed in lower case; a cohort's, on their second page.
    mentor = proposals[1000]["mentor_id"]
    own = client.get(url, params={"mentor": mentor.lower()})
    assert PROPOSAL_ROW.findall(own.text) == [
        p["mentee_id"] for p in proposals if p["mentor_id"] == mentor
    ]
    fellows = [p["mentee_id"] for p in proposals if p["cohort"] == "fellow"]
    assert len(fellows) > 2 * PER_PAGE
    second = client.get(url, params={"cohort": "fellow", "page": 2})
    assert PROPOSAL_ROW.findall(second.text) == fellows[PER_PAGE : 2 * PER_PAGE]
    assert f"Showing {PER_PAGE + 1}–{2 * PER_PAGE} of {len(fellows):,}" in second.text
    assert links(second.text)["next"] == f"{url}?cohort=fellow&page=3#proposals-heading"
    assert '<option value="fellow" selected>' in second.text

    # A search looks in every value of a pair: names, ids, cohort, reasons.
    surname = proposals[2500]["mentee_name"].split()[-1].lower()
    found = client.get(url, params={"q": surname.upper()})
    everything = [p for p in proposals if surname in " ".join(map(str, p.values())).lower()]
    assert everything
    assert PROPOSAL_ROW.findall(found.text) == [p["mentee_id"] for p in everything[:PER_PAGE]]
    assert f'name="q" value="{surname.upper()}"' in found.text
    exact = client.get(url, params={"q": proposals[2500]["mentee_id"]})
    assert PROPOSAL_ROW.findall(exact.text) == [proposals[2500]["mentee_id"]]
    nothing = client.get(url, params={"q": "nobody-has-this"})
    assert PROPOSAL_ROW.findall(nothing.text) == []
    assert "No pair matches the filter." in nothing.text

    # The unmatched searched by a reason's words, keeping the proposals' page.
    phrase = "full with mentees of higher priority"
    waiting = [u["mentee_id"] for u in unmatched if phrase in " ".join(map(str, u.values()))]
    assert waiting
    page = client.get(url, params={"uq": phrase, "page": 2})
    assert UNMATCHED_ROW.findall(page.text) == waiting[:PER_PAGE]
    assert PROPOSAL_ROW.findall(page.text) == [
        p["mentee_id"] for p in proposals[PER_PAGE : 2 * PER_PAGE]
    ]


def test_a_pair_is_found_by_a_search_and_pinned_or_refused(
    national: National,
) -> None:
    client, staff = national.client, national.staff
    round_id, proposals = national.round_id, national.proposals
    csrf = sign_in(client, "matcher")
    url = f"/rounds/{round_id}"
    mentees = {m["mentee_id"]: m for m in client.get("/api/mentees", headers=staff).json()}
    mentors = {m["mentor_id"]: m for m in client.get("/api/mentors", headers=staff).json()}

    # Part of a name finds a short list; an id typed whole is listed first, and chosen.
    far = client.get(
        url, params={"find_mentee": FAR_MENTEE.lower(), "find_mentor": mentors[FAR_MENTOR]["name"]}
    )
    finder = section(far.text, "pins-heading")
    assert f'name="mentee_id" value="{FAR_MENTEE}" required checked>' in finder
    listed = re.findall(r'name="mentor_id" value="([^"]+)"', finder)
    same_name = sorted(
        i for i, m in mentors.items() if mentors[FAR_MENTOR]["name"].lower() in m["name"].lower()
    )
    assert listed == same_name[:10] and FAR_MENTOR in listed
    part = mentees[FAR_MENTEE]["name"].split()[-1][:3]
    short = section(client.get(url, params={"find_mentee": part}).text, "pins-heading")
    assert 0 < len(re.findall(r'name="mentee_id" value="', short)) <= 10

    # A pin that breaks the distance rule, with the places the server's lookup gives: refused,
    # saying why, on the page the form was sent from; nothing stored.
    back = f"{url}?page=2&find_mentee={FAR_MENTEE}&find_mentor={FAR_MENTOR}"
    refused = client.post(
        f"{url}/pairs",
        data={
            "csrf_token": csrf,
            "kind": "pin",
            "mentor_id": FAR_MENTOR,
            "mentee_id": FAR_MENTEE,
            "back": back,
        },
    )
    assert refused.status_code == 409
    assert visible(section(refused.text, "refused-heading")) == (
        f"Not pinned: {FAR_MENTOR} with {FAR_MENTEE} The pin {FAR_MENTOR}\u2013{FAR_MENTEE} "
        "breaks the rule 'face-to-face distance': they meet face to face only and live further "
        "apart than the mentee travels, so it cannot be pinned. Back to where you were"
    )
    assert f'<a href="{html.escape(back)}#pin-form">Back to where you were</a>' in refused.text
    assert PROPOSAL_ROW.findall(refused.text) == [
        p["mentee_id"] for p in proposals[PER_PAGE : 2 * PER_PAGE]
    ]
    assert client.get(f"/api/rounds/{round_id}/pairs", headers=staff).json() == []
    # The API refuses it for the same reason.
    pin = {"kind": "pin", "mentor_id": FAR_MENTOR, "mentee_id": FAR_MENTEE, "reason": ""}
    answer = client.post(f"/api/rounds/{round_id}/pairs", json=pin, headers=staff)
    assert answer.status_code == 409, answer.text
    assert "'face-to-face distance'" in answer.json()["detail"]
    assert client.get(f"/api/rounds/{round_id}/pairs", headers=staff).json() == []

    # Forbidding the same pair is allowed: back at the form's page, at the new pair.
    done = client.post(
        f"{url}/pairs",
        data={
            "csrf_token": csrf,
            "kind": "forbid",
            "mentor_id": FAR_MENTOR,
            "mentee_id": FAR_MENTEE,
            "back": back,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    [pair] = client.get(f"/api/rounds/{round_id}/pairs", headers=staff).json()
    assert (pair["kind"], pair["mentor_id"], pair["mentee_id"]) == (
        "forbid",
        FAR_MENTOR,
        FAR_MENTEE,
    )
    assert done.headers["location"] == f"{url}?page=2&notice=forbidden#pair-{pair['id']}"
    # Removed from the list of pins and forbids: back there.
    removed = client.post(
        f"{url}/pairs/{pair['id']}/delete",
        data={"csrf_token": csrf, "back": f"{url}?page=2"},
        follow_redirects=False,
    )
    assert removed.headers["location"] == f"{url}?page=2&notice=removed#pins-heading"
    assert client.get(f"/api/rounds/{round_id}/pairs", headers=staff).json() == []


def test_an_action_from_a_row_returns_to_the_page_filter_and_row(
    national: National,
) -> None:
    client, staff = national.client, national.staff
    round_id, proposals = national.round_id, national.proposals
    csrf = sign_in(client, "matcher")
    url = f"/rounds/{round_id}"
    fellows = [p for p in proposals if p["cohort"] == "fellow"]
    wanted = fellows[PER_PAGE + 3]  # on the fellows' second page
    where = f"{url}?cohort=fellow&q=fellow&page=2"
    page = client.get(where)
    assert wanted["mentee_id"] in PROPOSAL_ROW.findall(page.text)
    back = html.unescape(re.search(r'name="back" value="([^"]+)"', page.text)[1])  # type: ignore[index]
    assert back == where
    row = f"proposal-{wanted['mentee_id']}"

    pinned = client.post(
        f"{url}/pairs",
        data={
            "csrf_token": csrf,
            "kind": "pin",
            "mentor_id": wanted["mentor_id"],
            "mentee_id": wanted["mentee_id"],
            "back": back,
            "at": "row",
        },
        follow_redirects=False,
    )
    assert pinned.status_code == 303, pinned.text
    assert pinned.headers["location"] == f"{where}&notice=pinned#{row}"
    landed = client.get(pinned.headers["location"])
    assert "Pair pinned" in landed.text
    # The row now says it is pinned, and offers to remove the pin, from the row.
    cells = landed.text.split(f'id="{row}"', 1)[1].split("</tr>", 1)[0]
    [pair] = client.get(f"/api/rounds/{round_id}/pairs", headers=staff).json()
    assert "<span>Pinned</span>" in cells
    assert f'action="/rounds/{round_id}/pairs/{pair["id"]}/delete"' in cells

    removed = client.post(
        f"{url}/pairs/{pair['id']}/delete",
        data={"csrf_token": csrf, "back": back, "at": "row"},
        follow_redirects=False,
    )
    assert removed.headers["location"] == f"{where}&notice=removed#{row}"
    assert client.get(f"/api/rounds/{round_id}/pairs", headers=staff).json() == []

    # Only this round's page, whatever else ``back`` says.
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\t/evil.x", "/matches"):
        answer = client.post(
            f"{url}/pairs",
            data={
                "csrf_token": csrf,
                "kind": "forbid",
                "mentor_id": wanted["mentor_id"],
                "mentee_id": wanted["mentee_id"],
                "back": elsewhere,
                "at": "row",
            },
            follow_redirects=False,
        )
        assert answer.headers["location"] == f"{url}?notice=forbidden#{row}", elsewhere
        [pair] = client.get(f"/api/rounds/{round_id}/pairs", headers=staff).json()
        client.post(f"{url}/pairs/{pair['id']}/delete", data={"csrf_token": csrf})


def test_analysts_read_the_pages_by_id_without_forms(
    national: National,
) -> None:
    client, round_id, proposals = national.client, national.round_id, national.proposals
    sign_in(client, "analyst")
    url = f"/rounds/{round_id}"
    page = client.get(url, params={"page": 2, "find_mentee": "a", "find_mentor": "a"})
    assert page.status_code == 200
    assert PROPOSAL_ROW.findall(page.text) == [
        p["mentee_id"] for p in proposals[PER_PAGE : 2 * PER_PAGE]
    ]
    assert '<form method="post"' not in page.text.split("<main", 1)[1].split("</main>")[0]
    assert 'id="pin-form"' not in page.text
    names = {p["mentee_name"] for p in proposals} | {p["mentor_name"] for p in proposals}
    assert not [n for n in names if n in page.text]
    # Searching by a name finds nothing: analysts search by id.
    name = proposals[0]["mentee_name"]
    assert PROPOSAL_ROW.findall(client.get(url, params={"q": name}).text) == []
    assert PROPOSAL_ROW.findall(client.get(url, params={"q": proposals[0]["mentee_id"]}).text) == [
        proposals[0]["mentee_id"]
    ]
