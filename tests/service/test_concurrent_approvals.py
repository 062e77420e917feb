"""Approvals that race, on two real servers sharing one database: the first wins, the others
get 409 naming the people, and SQL finds no mentee with two active matches and no mentor
above their maximum, try after try."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from test_server_smoke import add_user, server

from benchmarks.concurrency import (
    MENTOR,
    active_load,
    at_once,
    import_sample,
    mentees_matched_twice,
    race_people,
    race_round,
    reset_approvals,
)
from service.db import make_engine

TRIES = 4


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
        import_sample(http, "lmc")
        shared, base_ids, alone = race_people()
        base = race_round(http, base_ids, "pin")
        assert http.post(f"/api/rounds/{base}/approve").status_code == 200
        overlapping = [race_round(http, ids, "forbid") for ids in shared]
        one_place = [race_round(http, ids, "pin") for ids in alone]
    rounds = overlapping + one_place
    clients = [httpx.Client(base_url=url, headers=auth, timeout=60) for url in urls]
    for _try in range(TRIES):
        approvals = [
            partial(clients[i % len(clients)].post, f"/api/rounds/{r}/approve")
            for i, r in enumerate(rounds)
        ]
        answers = dict(zip(rounds, at_once(approvals), strict=True))
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
            assert answers[lost].json()["mentor_ids"] == [MENTOR]
        assert mentees_matched_twice(engine) == 0
        assert active_load(engine, MENTOR) == 4
        reset_approvals(engine, rounds)
    # Two changes of one match at the same moment start from the status the other left.
    with httpx.Client(base_url=urls[0], headers=auth, timeout=60) as http:
        base_matches = [m["id"] for m in http.get("/api/matches", params={"round_id": base}).json()]
    for match_id, changes in zip(
        base_matches,
        (["ended", "ended"], ["registered", "ended"], ["registered", "registered"]),
        strict=True,
    ):
        codes = [
            answer.status_code
            for answer in at_once(
                [
                    partial(
                        clients[i % len(clients)].patch,
                        f"/api/matches/{match_id}",
                        json={"status": change, "reason": "moved away"},
                    )
                    for i, change in enumerate(changes)
                ]
            )
        ]
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
    for client in clients:
        client.close()
    engine.dispose()
