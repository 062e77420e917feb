"""Failed sign-ins, counted per account name and per client address (the `limits` library).

A moving window: at most ``per_account`` failures for one name and ``per_address`` from one
address within ``minutes``; past that, attempts are refused until the oldest failure leaves
the window. Names that belong to no user are counted exactly like real ones, so the answers
do not tell them apart. The counts live in memory (one process) or, with a ``redis://``
storage, are shared by every process of the service.

Names and addresses are kept as hashes: a name typed by mistake may be a password.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from limits.util import WindowStats

from service.config import ServiceSettings

log = logging.getLogger(__name__)
NAMESPACE = "matcher-sign-in"
T = TypeVar("T")


@dataclass(frozen=True)
class Refusal:
    """Why the next attempt is refused, and for how long."""

    seconds: int
    account: bool  # the account name's limit is reached
    address: bool  # the client address's limit is reached

    @property
    def sentence(self) -> str:
        return f"too many failed sign-ins: try again in {wait_words(self.seconds)}"


def wait_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"


def _key(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


class SignInGuard:
    """Counts failures; says whether, and for how long, the next attempt must wait."""

    def __init__(
        self,
        storage: str,
        per_account: int,
        per_address: int,
        minutes: int,
        namespace: str = NAMESPACE,
    ):
        """``namespace`` keeps apart the counts of different limits on one storage (failed
        passwords; sign-in links asked for, see ``service.sign_in_links``)."""
        self.storage_uri = storage
        self.minutes = minutes
        self.account_limit = RateLimitItemPerMinute(per_account, minutes, namespace=namespace)
        self.address_limit = RateLimitItemPerMinute(per_address, minutes, namespace=namespace)
        # One report of a lock per window, however many attempts it refuses.
        self.report_limit = RateLimitItemPerMinute(1, minutes, namespace=f"{namespace}-report")
        options: dict[str, float | str | bool] = {"wrap_exceptions": True}
        if storage.startswith(("redis", "rediss")):
            # A Redis that does not answer costs a second, not a hung sign-in.
            options.update(socket_connect_timeout=1.0, socket_timeout=1.0)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage, **options))
        self._fallback: MovingWindowRateLimiter | None = None

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> SignInGuard:
        return cls(
            settings.rate_limit_storage,
            settings.sign_in_failures_per_account,
            settings.sign_in_failures_per_address,
            settings.sign_in_window_minutes,
        )

    def refusal(self, name: str, address: str) -> Refusal | None:
        """None: go ahead and check the password. Otherwise how long to wait."""
        waits = {}
        for label, limit, key in self._keys(name, address):
            stats = self._stats(limit, key)
            if stats.remaining <= 0:
                waits[label] = max(1, math.ceil(stats.reset_time - time.time()))
        if not waits:
            return None
        return Refusal(max(waits.values()), "account" in waits, "address" in waits)

    def failed(self, name: str, address: str) -> None:
        for _label, limit, key in self._keys(name, address):
            self._hit(limit, key)

    def succeeded(self, name: str) -> None:
        """The account's count starts again; the address's does not (one valid account must
        not let an address try on at others)."""
        key = _key("account", name)
        self._run(lambda limiter: limiter.clear(self.account_limit, key))

    def first_report(self, kind: str, value: str) -> bool:
        """True once per window for a locked account or address: when to audit the lock."""
        return self._hit(self.report_limit, _key(kind, value))

    def _keys(self, name: str, address: str) -> list[tuple[str, RateLimitItem, str]]:
        return [
            ("account", self.account_limit, _key("account", name)),
            ("address", self.address_limit, _key("address", address)),
        ]

    def _stats(self, limit: RateLimitItem, key: str) -> WindowStats:
        return self._run(lambda limiter: limiter.get_window_stats(limit, key))

    def _hit(self, limit: RateLimitItem, key: str) -> bool:
        return self._run(lambda limiter: limiter.hit(limit, key))

    def _run(self, call: Callable[[MovingWindowRateLimiter], T]) -> T:
        """``call`` on the configured storage; if that does not answer (Redis down), on this
        process's memory, so sign-in stays limited per process rather than failing or open."""
        try:
            return call(self._limiter)
        except StorageError as exc:
            if self._fallback is None:
                log.error(
                    "sign-in limits: %s does not answer (%s); counting in memory",
                    self.storage_uri,
                    exc,
                )
                self._fallback = MovingWindowRateLimiter(MemoryStorage())
            return call(self._fallback)
