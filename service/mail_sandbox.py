"""The sandbox mail templates run in: no attribute tricks (Jinja2's sandbox), undefined names
refused, and no multiplying a text or list into a huge one (``"a" * 10**9``) or raising to
powers, which the plain sandbox allows and which would hold a worker's memory."""

from __future__ import annotations

from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

MOST_REPEATED = 10_000  # characters or items a ``*`` may make


class MailSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError("powers (**) are not allowed in mail templates")
        for seq, times in ((left, right), (right, left)):
            repeats = isinstance(seq, str | list | tuple) and isinstance(times, int)
            if repeats and len(seq) * times > MOST_REPEATED:
                raise SecurityError(
                    f"a repeated text may be at most {MOST_REPEATED:,} characters long"
                )
        return super().call_binop(context, operator, left, right)


def mail_environment() -> MailSandbox:
    return MailSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
