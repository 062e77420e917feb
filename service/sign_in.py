"""Checking a password without holding the database: the steps every sign-in shares.

1. the guard (``sign_in_guard``): a limited name or address is refused at once, unchecked;
2. the account's hash is read in a short read session, closed before anything else;
3. the hash is verified in a worker thread, at most ``password_checks`` at a time, so a flood
   of attempts queues here and cannot take every thread, connection or the SQLite write lock;
4. a failure is counted and audited in a short write of its own; a success is left to the
   caller's short write (``signed_in_user`` there re-reads the user in that transaction).

Known and unknown names, disabled users and users without a password take the same steps
and get the same answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from anyio import CapacityLimiter, to_thread
from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from service.auth import Account, account_for_sign_in, hash_password, password_matches
from service.db import transaction
from service.models import AuditEntry, User
from service.sign_in_guard import Refusal, SignInGuard

# The actor of an audit entry about an attempt: whoever tried is not known.
ANONYMOUS = "anonymous"
T = TypeVar("T")


class WrongPassword(Exception):
    """Wrong name or password, or a disabled user: one answer for all of them."""


class TooManyAttempts(Exception):
    def __init__(self, refusal: Refusal):
        super().__init__(refusal.sentence)
        self.refusal = refusal

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.refusal.seconds)}


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class SignIn:
    """The guard, the database and the few threads that may hash at once."""

    def __init__(
        self,
        guard: SignInGuard,
        read_sessions: sessionmaker[Session],
        sessions: sessionmaker[Session],
        checks: int,
    ):
        self.guard = guard
        self.read_sessions = read_sessions
        self.sessions = sessions
        self.checks = CapacityLimiter(checks)

    async def check(self, name: str, password: str, address: str, via: str) -> Account:
        """The account whose password this is; raises TooManyAttempts or WrongPassword."""
        refusal = await to_thread.run_sync(self.guard.refusal, name, address)
        if refusal is not None:
            await self._refused(refusal, name, address, via)
        account = await to_thread.run_sync(self._read, name)
        verdict = await to_thread.run_sync(
            self._verify, account, name, password, address, limiter=self.checks
        )
        if isinstance(verdict, Refusal):
            # Limited while it queued for a hashing thread (a flood): not checked at all.
            await self._refused(verdict, name, address, via)
        if not verdict or account.user_id is None or account.disabled:
            reason = "disabled" if verdict and account.disabled else "password"
            await to_thread.run_sync(self._failed, account, name, address, via, reason)
            raise WrongPassword
        await to_thread.run_sync(self.guard.succeeded, name)
        return account

    async def hash_new(self, password: str) -> str:
        """A new password's hash, made in the same few threads as the checks."""
        return await to_thread.run_sync(hash_password, password, limiter=self.checks)

    async def read(self, work: Callable[[Session], T]) -> T:
        """``work`` in a short read session of its own, off the event loop."""
        return await to_thread.run_sync(self._read_with, work)

    def _read_with(self, work: Callable[[Session], T]) -> T:
        with self.read_sessions() as session:
            return work(session)

    async def write(self, work: Callable[[Session], T]) -> T:
        """``work`` in a short transaction of its own, off the event loop."""
        return await to_thread.run_sync(self._write, work)

    def _write(self, work: Callable[[Session], T]) -> T:
        with transaction(self.sessions) as session:
            return work(session)

    def _read(self, name: str) -> Account:
        with self.read_sessions() as session:
            return account_for_sign_in(session, name)

    def _verify(self, account: Account, name: str, password: str, address: str) -> bool | Refusal:
        refusal = self.guard.refusal(name, address)
        return refusal if refusal is not None else password_matches(account.hash_to_check, password)

    def _failed(self, account: Account, name: str, address: str, via: str, reason: str) -> None:
        self.guard.failed(name, address)
        with transaction(self.sessions) as session:
            # The typed name is not kept (it may be a password typed in the wrong box): the
            # user's id when the account exists, nothing otherwise.
            detail = {"via": via, "reason": reason if account.user_id else "unknown name"}
            _audit(session, "auth.failed", "user", account.user_id, detail)

    async def _refused(self, refusal: Refusal, name: str, address: str, via: str) -> NoReturn:
        await to_thread.run_sync(self._report_lock, refusal, name, address, via)
        raise TooManyAttempts(refusal)

    def _report_lock(self, refusal: Refusal, name: str, address: str, via: str) -> None:
        """Audit a lock once per window, not each refused attempt of a flood."""
        reports = []
        if refusal.account and self.guard.first_report("account", name):
            reports.append(("user", self.guard.account_limit.amount))
        if refusal.address and self.guard.first_report("address", address):
            reports.append(("address", self.guard.address_limit.amount))
        if not reports:
            return
        with transaction(self.sessions) as session:
            user_id = account_for_sign_in(session, name).user_id
            for entity, failures in reports:
                detail = {"via": via, "failures": failures, "minutes": self.guard.minutes}
                entity_id = user_id if entity == "user" else None
                _audit(session, "auth.locked", entity, entity_id, detail)


def signed_in_user(session: Session, account: Account) -> User:
    """The user of a checked ``account``, in the caller's write transaction: refused if the
    user was disabled or given another password while the check ran."""
    user = session.get(User, account.user_id) if account.user_id is not None else None
    if user is None or user.disabled or user.password_hash != account.password_hash:
        raise WrongPassword
    return user


def _audit(
    session: Session, action: str, entity: str, entity_id: int | None, detail: dict[str, Any]
) -> None:
    # audit.record names a signed-in actor (or "system"); here nobody is signed in.
    session.add(
        AuditEntry(
            user_id=None,
            username=ANONYMOUS,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            detail=detail,
        )
    )
