"""Mentors and mentees who sign in: their sign-in user, tied to their record.

A participant is a ``users`` row of role ``mentor`` or ``mentee`` with no password (they sign
in with a one-time link, ``service.sign_in_links``) and a ``participants`` row naming their
record. The user is made the first time the person asks to sign in; the database's keys
make it once, however many requests race.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from service.models import Mentee, Mentor, Participant, PersonRow, User

MODELS: dict[str, type[Mentor] | type[Mentee]] = {"mentor": Mentor, "mentee": Mentee}


@dataclass(frozen=True)
class Person:
    """A mentor or mentee on the register, as sign-in needs them."""

    kind: str  # mentor | mentee
    person_id: str
    name: str
    email: str


def _id_column(kind: str) -> InstrumentedAttribute[str]:
    return Mentor.mentor_id if kind == "mentor" else Mentee.mentee_id


def people_with_email(session: Session, email: str) -> list[Person]:
    """Every mentor and mentee whose record has this address (any case), mentors first."""
    wanted = email.strip().lower()
    if not wanted:
        return []
    found: list[Person] = []
    for kind, model in MODELS.items():
        cell = model.record["email"].as_string()
        rows = session.execute(
            select(_id_column(kind), model.name, cell)
            .where(func.lower(func.trim(cell)) == wanted)
            .order_by(_id_column(kind))
        )
        found += [
            Person(kind, person_id, name, address.strip()) for person_id, name, address in rows
        ]
    return found


def person(session: Session, kind: str, person_id: str) -> Person | None:
    row = cast(PersonRow | None, session.get(MODELS[kind], person_id))
    if row is None:
        return None
    return Person(kind, person_id, row.name, str(row.record.get("email") or "").strip())


def user_name(kind: str, person_id: str) -> str:
    """The sign-in user's name: never a name one can sign in with by password (a ``:`` is not
    allowed there), and within the column's 64 characters."""
    name = f"{kind}:{person_id}"
    if len(name) <= 64:
        return name
    return f"{kind}:{hashlib.sha256(person_id.encode()).hexdigest()[:48]}"


def participant_user(session: Session, kind: str, person_id: str) -> User:
    """The person's sign-in user, made if they have none (the caller commits)."""
    existing = _user_of(session, kind, person_id)
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            user = User(name=user_name(kind, person_id), role=kind, password_hash=None)
            session.add(user)
            session.flush()
            session.add(Participant(user_id=user.id, kind=kind, person_id=person_id))
            session.flush()
        return user
    except IntegrityError:
        # Another request made it first: theirs is the one.
        made = _user_of(session, kind, person_id)
        if made is None:
            raise
        return made


def _user_of(session: Session, kind: str, person_id: str) -> User | None:
    return session.scalar(
        select(User)
        .join(Participant, Participant.user_id == User.id)
        .where(Participant.kind == kind, Participant.person_id == person_id)
    )


def participant_of(session: Session, user: User) -> Participant | None:
    return session.get(Participant, user.id)
