"""How one HTTP request went, for the middlewares that record it (the access log, the
request latency metric): its status and its seconds until the last byte was sent."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]


class Timed:
    """Wraps an ASGI ``send``: pass ``timed.send`` to the app, then read ``status`` (500 if
    the app never started an answer) and ``seconds``. A streamed answer passes through
    untouched."""

    def __init__(self, send: Send):
        self._send = send
        self._started = time.perf_counter()
        self.status = 500

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self._send(message)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self._started
