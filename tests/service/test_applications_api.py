"""Mentor applications over HTTP: the guidance's checks, one decision each, roles, audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from matcher.eligibility import Answers
from service import applications
from service.errors import Conflict
from service.models import Application, AuditEntry, User

Headers = Callable[[str], dict[str, str]]

# Meets every rule: 6 sessions a week, 12 years since CCT (local minimum 5), both commitments.
GOOD: dict[str, Any] = {
    "applicant_name": "Dr Ada Lovelace",
    "email": "ada@example.org",
    "gmc_number": "7654321",
    "has_full_registration": True,
    "has_licence": True,
    "on_performers_list": True,
    "suspended": False,
    "clinical_sessions_per_week": 6,
    "years_post_cct": 12,
    "commits_12_months": True,
    "commits_training": True,
}
CHECKS = [
    "gmc_number",
    "full_registration",
    "licence_to_practise",
    "performers_list",
    "not_suspended",
    "clinical_sessions",
    "years_post_cct",
    "commits_12_months",
    "commits_training",
]


def apply(client: TestClient, headers: dict[str, str], **change: Any):
    return client.post("/api/applications", json={**GOOD, **change}, headers=headers)


def stored_count(app: FastAPI) -> int:
    with app.state.sessions() as session:
        return session.scalar(select(func.count()).select_from(Application))


def audit_entries(app: FastAPI, prefix: str = "applications.") -> list[AuditEntry]:
    with app.state.sessions() as session:
        query = (
            select(AuditEntry).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id)
        )
        return list(session.scalars(query))


def user_id(app: FastAPI, name: str) -> int:
    with app.state.sessions() as session:
        return session.scalars(select(User.id).where(User.name == name)).one()


def test_an_eligible_application_is_stored_with_every_check_passed(
    client: TestClient, as_role: Headers
) -> None:
    answer = apply(client, as_role("matcher"))
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert [c["name"] for c in made["checks"]] == CHECKS
    assert all(c["passed"] for c in made["checks"])
    assert (made["eligible"], made["failed"], made["decision"]) == (True, [], "pending")
    assert made["answers"] == {
        "has_full_registration": True,
        "has_licence": True,
        "on_performers_list": True,
        "suspended": False,
        "clinical_sessions_per_week": 6,
        "years_post_cct": 12,
        "commits_12_months": True,
        "commits_training": True,
    }
    read = client.get(f"/api/applications/{made['id']}", headers=as_role("admin")).json()
    assert read == made
    listed = client.get("/api/applications", headers=as_role("matcher")).json()
    assert [a["id"] for a in listed] == [made["id"]]


def test_an_ineligible_application_names_each_failed_check(
    app: FastAPI, client: TestClient, as_role: Headers
) -> None:
    # 2.5 sessions (< 3), a 6-digit GMC number and no commitment to training: three failures.
    answer = apply(
        client,
        as_role("matcher"),
        gmc_number="765432",
        clinical_sessions_per_week=2.5,
        commits_training=False,
    )
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["eligible"] is False
    assert made["failed"] == ["gmc_number", "clinical_sessions", "commits_training"]
    failed = {c["name"]: c["detail"] for c in made["checks"] if not c["passed"]}
    assert failed == {
        "gmc_number": "The GMC number must be exactly 7 digits (got 6 digit(s)).",
        "clinical_sessions": "Works 2.5 clinical session(s) a week; the scheme asks for at least 3.",
        "commits_training": "Does not commit to the mentorship training.",
    }
    assert stored_count(client.app) == 1  # type: ignore[arg-type]


def test_the_local_minimum_years_post_cct_comes_from_the_settings(
    app: FastAPI, client: TestClient, as_role: Headers
) -> None:
    # 7 years since CCT: eligible under the default minimum of 5, not under a local 8.
    assert apply(client, as_role("matcher"), years_post_cct=7).json()["eligible"] is True
    app.state.settings = app.state.settings.model_copy(update={"min_years_post_cct": 8})
    made = apply(client, as_role("matcher"), years_post_cct=7).json()
    assert made["failed"] == ["years_post_cct"]
    assert made["checks"][6]["detail"] == "Has 7 year(s) since CCT; the local minimum is 8."


def test_decisions_once_each_and_never_approving_an_ineligible_application(
    app: FastAPI, client: TestClient, as_role: Headers
) -> None:
    admin = as_role("admin")
    good = apply(client, as_role("matcher")).json()["id"]
    bad = apply(client, as_role("matcher"), suspended=True, years_post_cct=3).json()["id"]

    approve = {"decision": "approved", "reason": "Meets the criteria; interviewed."}
    answer = client.post(f"/api/applications/{good}/decision", json=approve, headers=admin)
    assert answer.status_code == 200, answer.text
    decided = answer.json()
    assert (decided["decision"], decided["decision_reason"]) == (
        "approved",
        "Meets the criteria; interviewed.",
    )
    assert decided["decided_by"] == user_id(app, "admin")
    assert decided["decided_at"] is not None

    again = client.post(
        f"/api/applications/{good}/decision",
        json={"decision": "rejected", "reason": "changed my mind"},
        headers=admin,
    )
    assert again.status_code == 409
    assert again.json()["detail"].startswith(f"application {good} was already approved (")

    refused = client.post(f"/api/applications/{bad}/decision", json=approve, headers=admin)
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": f"application {bad} cannot be approved: it failed 2 check(s): "
        "not_suspended, years_post_cct",
        "failed": ["not_suspended", "years_post_cct"],
    }
    still = client.get(f"/api/applications/{bad}", headers=admin).json()
    assert (still["decision"], still["decision_reason"]) == ("pending", None)

    reject = {"decision": "rejected", "reason": "Suspended at the time of applying."}
    answer = client.post(f"/api/applications/{bad}/decision", json=reject, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["decision"] == "rejected"

    def ids(decision: str) -> list[int]:
        query = f"/api/applications?decision={decision}"
        return [a["id"] for a in client.get(query, headers=admin).json()]

    assert (ids("approved"), ids("rejected"), ids("pending")) == ([good], [bad], [])
    assert client.get("/api/applications?decision=maybe", headers=admin).status_code == 422


def test_a_decision_that_loses_a_race_is_a_conflict(app: FastAPI, tokens: dict[str, str]) -> None:
    # Two admins open the same application; the second one's decision must not overwrite the
    # first. The first session read the application before the other decision was committed.
    with app.state.sessions() as session:
        admin = session.scalars(select(User).where(User.name == "admin")).one()
        made = applications.create(
            session,
            admin,
            applicant_name="Dr Ada",
            email=None,
            gmc_number="7654321",
            mentor_id=None,
            answers=Answers(True, True, True, False, 6, 12, True, True),
            min_years_post_cct=5,
        )
        session.commit()
    with app.state.sessions() as first, app.state.sessions() as second:
        slow = first.get(Application, made.id)
        first.commit()  # the object stays loaded (and undecided) in the first session
        assert slow is not None and slow.decision is None
        admin_b = second.get(User, admin.id)
        assert admin_b is not None
        applications.decide(second, admin_b, made.id, "approved", "first")
        second.commit()
        admin_a = first.get(User, admin.id)
        assert admin_a is not None
        with pytest.raises(Conflict, match=f"application {made.id} was already approved"):
            applications.decide(first, admin_a, made.id, "rejected", "second")
        first.rollback()
    with app.state.sessions() as session:
        stored = session.get(Application, made.id)
        assert stored is not None
        assert (stored.decision, stored.decision_reason) == ("approved", "first")


def test_bad_decisions_and_unknown_ids(client: TestClient, as_role: Headers) -> None:
    admin = as_role("admin")
    made = apply(client, as_role("matcher")).json()["id"]
    url = f"/api/applications/{made}/decision"
    cases = [
        {"decision": "approved", "reason": "   "},  # a reason is required
        {"decision": "approved"},
        {"decision": "maybe", "reason": "unsure"},
        {"decision": "approved", "reason": "ok", "extra": 1},
    ]
    for body in cases:
        answer = client.post(url, json=body, headers=admin)
        assert answer.status_code == 422, body
        assert answer.json()["detail"].startswith("invalid request: body")
    assert client.get(f"/api/applications/{made}", headers=admin).json()["decision"] == "pending"
    missing = client.post(
        "/api/applications/999/decision",
        json={"decision": "rejected", "reason": "x"},
        headers=admin,
    )
    assert (missing.status_code, missing.json()) == (404, {"detail": "no application with id 999"})
    assert client.get("/api/applications/999", headers=admin).status_code == 404
    assert client.get("/api/applications/abc", headers=admin).status_code == 422


@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"has_full_registration": "yes"}, "body.has_full_registration"),
        ({"suspended": 0}, "body.suspended"),
        ({"clinical_sessions_per_week": "many"}, "body.clinical_sessions_per_week"),
        ({"clinical_sessions_per_week": 13}, "body.clinical_sessions_per_week"),
        ({"clinical_sessions_per_week": -1}, "body.clinical_sessions_per_week"),
        ({"years_post_cct": -0.5}, "body.years_post_cct"),
        ({"applicant_name": ""}, "body.applicant_name"),
        ({"gmc_number": ""}, "body.gmc_number"),
        ({"gmc_number": 1234567}, "body.gmc_number"),
        ({"email": "not-an-address"}, "body.email"),
        ({"suspendid": False}, "body.suspendid"),
        ({"commits_training": None}, "body.commits_training"),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(
    app: FastAPI, client: TestClient, as_role: Headers, change: dict[str, Any], location: str
) -> None:
    answer = apply(client, as_role("matcher"), **change)
    assert answer.status_code == 422
    assert location in [p["location"] for p in answer.json()["problems"]]
    assert stored_count(client.app) == 0  # type: ignore[arg-type]
    assert audit_entries(client.app) == []  # type: ignore[arg-type]


def test_malformed_or_missing_body(app: FastAPI, client: TestClient, as_role: Headers) -> None:
    headers = {**as_role("matcher"), "Content-Type": "application/json"}
    broken = client.post("/api/applications", content=b'{"applicant_name": ', headers=headers)
    assert broken.status_code == 422
    assert "JSON decode error" in broken.json()["detail"]
    missing = client.post("/api/applications", json={"applicant_name": "Dr X"}, headers=headers)
    assert missing.status_code == 422
    assert "body.has_licence: Field required" in missing.json()["detail"]
    assert "Dr X" not in missing.text  # the input is not echoed back
    assert stored_count(client.app) == 0  # type: ignore[arg-type]


def test_roles(app: FastAPI, client: TestClient, as_role: Headers) -> None:
    made = apply(client, as_role("admin")).json()["id"]
    assert apply(client, {}).status_code == 401
    assert client.get("/api/applications").status_code == 401
    decision = {"decision": "approved", "reason": "ok"}
    for role in ("analyst", "organiser"):
        headers = as_role(role)
        assert apply(client, headers).status_code == 403
        assert client.get("/api/applications", headers=headers).status_code == 403
        assert client.get(f"/api/applications/{made}", headers=headers).status_code == 403
    for role in ("analyst", "organiser", "matcher"):
        url = f"/api/applications/{made}/decision"
        answer = client.post(url, json=decision, headers=as_role(role))
        assert answer.status_code == 403
        assert answer.json()["detail"] == f"the {role} role may not do this (allowed: admin)"
    assert stored_count(client.app) == 1  # type: ignore[arg-type]
    read = client.get(f"/api/applications/{made}", headers=as_role("matcher")).json()
    assert read["decision"] == "pending"


def test_audit_entries_carry_ids_and_outcomes_not_personal_data(
    app: FastAPI, client: TestClient, as_role: Headers
) -> None:
    good = apply(client, as_role("matcher")).json()["id"]
    bad = apply(client, as_role("matcher"), has_licence=False).json()["id"]
    reason = "Interviewed Dr Ada Lovelace on 3 May."
    for application_id, decision in ((good, "approved"), (bad, "rejected")):
        body = {"decision": decision, "reason": reason}
        url = f"/api/applications/{application_id}/decision"
        assert client.post(url, json=body, headers=as_role("admin")).status_code == 200
    entries = audit_entries(app)
    assert [(e.action, e.username, e.entity, e.entity_id, e.detail) for e in entries] == [
        (
            "applications.create",
            "matcher",
            "application",
            str(good),
            {"eligible": True, "failed": []},
        ),
        (
            "applications.create",
            "matcher",
            "application",
            str(bad),
            {"eligible": False, "failed": ["licence_to_practise"]},
        ),
        (
            "applications.decision",
            "admin",
            "application",
            str(good),
            {"decision": "approved", "eligible": True},
        ),
        (
            "applications.decision",
            "admin",
            "application",
            str(bad),
            {"decision": "rejected", "eligible": False},
        ),
    ]
    text = repr([e.detail for e in entries])
    for personal in ("7654321", "Ada", "Lovelace", "ada@example.org", "Interviewed"):
        assert personal not in text


def test_an_approval_can_add_the_applicant_to_the_register(
    app: FastAPI, client: TestClient, as_role: Headers
) -> None:
    admin = as_role("admin")
    first = apply(client, as_role("matcher")).json()["id"]
    second = apply(client, as_role("matcher"), gmc_number="7654322").json()["id"]
    entry = {"mentor_id": "MR9001", "focus_areas": "career_progression", "modes": "remote"}
    approve = {"decision": "approved", "reason": "Interviewed.", "register_as": entry}

    # A row the mentors reader refuses: nothing is written, the application stays pending.
    bad = {**approve, "register_as": {**entry, "focus_areas": "juggling"}}
    refused = client.post(f"/api/applications/{first}/decision", json=bad, headers=admin)
    assert refused.status_code == 422, refused.text
    assert [p["column"] for p in refused.json()["problems"]] == ["focus_areas"]
    assert client.get(f"/api/applications/{first}", headers=admin).json()["decision"] == "pending"
    mentors = client.get("/api/mentors", headers=admin).json()
    assert "MR9001" not in {m["mentor_id"] for m in mentors}

    answer = client.post(f"/api/applications/{first}/decision", json=approve, headers=admin)
    assert answer.status_code == 200, answer.text
    added = {m["mentor_id"]: m for m in client.get("/api/mentors", headers=admin).json()}
    assert added["MR9001"]["name"] == GOOD["applicant_name"]
    assert added["MR9001"]["focus_areas"] == ["career_progression"]

    # The id is now taken; and a rejection adds nobody.
    taken = client.post(f"/api/applications/{second}/decision", json=approve, headers=admin)
    assert taken.status_code == 422, taken.text
    reject = {"decision": "rejected", "reason": "No.", "register_as": entry}
    refused = client.post(f"/api/applications/{second}/decision", json=reject, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("register_as goes with an approval only")
