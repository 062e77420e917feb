"""Approvals that race, on two real servers sharing one database: the first wins, the others
get 409 naming the people, and SQL finds no mentee with two active matches and no mentor
above their maximum, try after try."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from test_server_smoke import add_user, server

from datasets.generator import sample_dir
from matcher.readers import load_problem
from matcher.rules import allowed_pairs
from service.db import make_engine

TRIES = 4
FULL_MENTOR = "MR0001"
BAND = {"capacity": {"min": 1, "max": 4}}


def _people() -> tuple[list[list[str]], list[str], list[list[str]]]:
    """From the LMC sample: three rounds over the same mentees two by two (a cycle); three
    mentees approved first on the mentor, leaving one place of four; three rounds that each
    pin one more mentee on that mentor. The pinned pairs pass every hard rule."""
    folder = sample_dir("lmc")
    problem = load_problem(folder / "mentors.csv", folder / "mentees.csv")
    allowed = allowed_pairs(problem)
    column = [m.mentor_id for m in problem.mentors].index(FULL_MENTOR)
    fits = [problem.mentees[j].mentee_id for j in allowed.mentee[allowed.mentor == column]]
    others = [m.mentee_id for m in problem.mentees if m.mentee_id not in fits]
    a, b, c, d, e, f = others[:6]
    overlapping = [[a, b, c], [c, d, e], [e, f, a]]
    return overlapping, fits[:3], [[m] for m in fits[3:6]]


def _run(http: httpx.Client, mentee_ids: list[str], pins: list[str], forbids: list[str]) -> int:
    body = {"name": "race", "settings": BAND, "time_limit": 20, "mentee_ids": mentee_ids}
    round_id = int(http.post("/api/rounds", json=body).json()["id"])
    for kind, ids in (("pin", pins), ("forbid", forbids)):
        for mentee_id in ids:
            pair = {"kind": kind, "mentor_id": FULL_MENTOR, "mentee_id": mentee_id}
            assert http.post(f"/api/rounds/{round_id}/pairs", json=pair).status_code == 201
    job_id = http.post(f"/api/rounds/{round_id}/run").json()["job_id"]
    while (job := http.get(f"/api/jobs/{job_id}").json())["status"] not in ("done", "failed"):
        pass
    assert job["status"] == "done", job
    assert len(http.get(f"/api/rounds/{round_id}/proposals").json()) == len(mentee_ids)
    return round_id


def _approve_at_once(
    urls: list[str], token: str, round_ids: list[int]
) -> dict[int, httpx.Response]:
    answers: dict[int, httpx.Response] = {}
    start = threading.Barrier(len(round_ids))

    def approve(index: int, round_id: int) -> None:
        url = urls[index % len(urls)]
        with httpx.Client(base_url=url, timeout=60) as http:
            start.wait()
            answers[round_id] = http.post(
                f"/api/rounds/{round_id}/approve", headers={"Authorization": f"Bearer {token}"}
            )

    threads = [threading.Thread(target=approve, args=item) for item in enumerate(round_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _duplicates(engine: Engine) -> list[Any]:
    with engine.connect() as db:
        return list(
            db.execute(
                text(
                    "SELECT mentee_id, count(*) FROM matches WHERE status IN "
                    "('confirmed', 'registered') GROUP BY mentee_id HAVING count(*) > 1"
                )
            )
        )


def _active_load(engine: Engine, mentor_id: str) -> int:
    with engine.connect() as db:
        return int(
            db.execute(
                text(
                    "SELECT count(*) FROM matches WHERE mentor_id = :m "
                    "AND status IN ('confirmed', 'registered')"
                ),
                {"m": mentor_id},
            ).scalar_one()
        )


def _reset(engine: Engine, round_ids: list[int]) -> None:
    """Back to the moment before the approvals: the same proposals, nobody matched by them."""
    with engine.begin() as db:
        for round_id in round_ids:
            db.execute(text("DELETE FROM matches WHERE round_id = :r"), {"r": round_id})
            db.execute(
                text(
                    "UPDATE rounds SET status = 'proposed', approved_at = NULL, "
                    "approved_by = NULL WHERE id = :r"
                ),
                {"r": round_id},
            )


@pytest.fixture
def two_servers(database_url: str, tmp_path: Path) -> Iterator[tuple[list[str], str]]:
    env = {**os.environ, "DATABASE_URL": database_url}
    token = add_user(env, "officer", "matcher")
    with ExitStack() as stack:
        urls = [stack.enter_context(server(env, tmp_path / f"server{i}.log")) for i in (1, 2)]
        yield urls, token


def test_concurrent_approvals_over_shared_people(
    two_servers: tuple[list[str], str], database_url: str
) -> None:
    urls, token = two_servers
    engine = make_engine(database_url)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=urls[0], headers=auth, timeout=60) as http:
        for kind in ("mentors", "mentees"):
            path = sample_dir("lmc") / f"{kind}.csv"
            files = {"file": (path.name, path.read_bytes(), "text/csv")}
            assert http.post(f"/api/{kind}/import", files=files).status_code == 200
        shared, base_ids, alone = _people()
        base = _run(http, base_ids, pins=base_ids, forbids=[])
        assert http.post(f"/api/rounds/{base}/approve").status_code == 200
        overlapping = [_run(http, ids, pins=[], forbids=ids) for ids in shared]
        one_place = [_run(http, ids, pins=ids, forbids=[]) for ids in alone]
    rounds = overlapping + one_place
    for _try in range(TRIES):
        answers = _approve_at_once(urls, token, rounds)
        assert sorted(a.status_code for a in answers.values()) == [200, 200, 409, 409, 409, 409]
        won = [r for r in overlapping if answers[r].status_code == 200]
        assert len(won) == 1
        for lost in set(overlapping) - set(won):
            body = answers[lost].json()
            assert "matched elsewhere" in body["detail"]
            both = set(shared[overlapping.index(lost)]) & set(shared[overlapping.index(won[0])])
            assert set(body["mentee_ids"]) == both
        assert sum(answers[r].status_code == 200 for r in one_place) == 1
        for lost in (r for r in one_place if answers[r].status_code == 409):
            assert answers[lost].json()["mentor_ids"] == [FULL_MENTOR]
        assert _duplicates(engine) == []
        assert _active_load(engine, FULL_MENTOR) == 4
        _reset(engine, rounds)
    # Two changes of one match at the same moment start from the status the other left.
    with httpx.Client(base_url=urls[0], headers=auth, timeout=60) as http:
        base_matches = [m["id"] for m in http.get("/api/matches", params={"round_id": base}).json()]
    for match_id, changes in zip(
        base_matches,
        (["ended", "ended"], ["registered", "ended"], ["registered", "registered"]),
        strict=True,
    ):
        codes = _change_at_once(urls, token, match_id, changes)
        with engine.connect() as db:
            status, registered, ended = db.execute(
                text("SELECT status, registered_at, ended_at FROM matches WHERE id = :i"),
                {"i": match_id},
            ).one()
        if changes[0] == changes[1]:
            assert sorted(codes) == [200, 409]
            assert status == changes[0]
        elif codes == [200, 200]:  # registered, then ended
            assert (status, registered is not None, ended is not None) == ("ended", True, True)
        else:  # ended first: the registration is refused
            assert codes == [409, 200]
            assert (status, registered, ended is not None) == ("ended", None, True)
    engine.dispose()


def _change_at_once(urls: list[str], token: str, match_id: int, changes: list[str]) -> list[int]:
    codes = [0] * len(changes)
    start = threading.Barrier(len(changes))

    def change(index: int) -> None:
        body: dict[str, str] = {"status": changes[index], "reason": "moved away"}
        with httpx.Client(base_url=urls[index % len(urls)], timeout=60) as http:
            start.wait()
            codes[index] = http.patch(
                f"/api/matches/{match_id}", json=body, headers={"Authorization": f"Bearer {token}"}
            ).status_code

    threads = [threading.Thread(target=change, args=(i,)) for i in range(len(changes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes
