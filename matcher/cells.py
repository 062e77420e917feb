"""Parsers for single spreadsheet cells.

Each parser takes the stripped, non-empty text of one cell and returns its value, or raises
``CellError`` with a message that says what was expected. The readers turn a ``CellError``
into a ``Problem`` naming the file, row and column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection
from datetime import date, datetime

from matcher.vocab import COHORTS, MENTOR_STATUSES, MODES, NO_WORDS, SLOTS, YES_WORDS

LIST_SEPARATOR = ";"
_SEPARATORS = re.compile(r"[\s\-]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_UK_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


class CellError(ValueError):
    """The text of a cell is not a valid value; the message says what was expected."""


def key(text: str) -> str:
    """Normalise a vocabulary word: lower case, spaces and hyphens become underscores."""
    return _SEPARATORS.sub("_", text.strip().lower()).strip("_")


def split_list(text: str) -> list[str]:
    """The items of a ``;`` list, stripped, empty items dropped."""
    return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]


def identifier(text: str) -> str:
    if LIST_SEPARATOR in text:
        raise CellError("an id must not contain ';' (it separates the items of a list)")
    return text


def email(text: str) -> str:
    if not _EMAIL.fullmatch(text):
        raise CellError("not an email address (expected name@example.org)")
    return text


def gmc_number(text: str) -> str:
    if not (len(text) == 7 and text.isascii() and text.isdigit()):
        raise CellError("a GMC number must be exactly 7 digits")
    return text


def whole_number(
    minimum: int = 0, maximum: int | None = None, above: str = ""
) -> Callable[[str], int]:
    """A parser of whole numbers in [minimum, maximum]; ``above`` explains the maximum."""

    def parse(text: str) -> int:
        try:
            value = float(text)
        except ValueError:
            raise CellError(f"not a whole number (expected {minimum} or more)") from None
        if not value.is_integer():
            raise CellError(f"not a whole number (expected {minimum} or more)")
        if value < minimum:
            raise CellError(f"must be {minimum} or more")
        if maximum is not None and value > maximum:
            raise CellError(f"above {above or 'the maximum'} ({maximum})")
        return int(value)

    return parse


def number(
    minimum: float = 0.0, maximum: float | None = None, *, strict: bool = False
) -> Callable[[str], float]:
    """A parser of finite numbers in [minimum, maximum] (above ``minimum`` when ``strict``)."""
    low = f"above {minimum:g}" if strict else f"{minimum:g} or more"
    expected = low if maximum is None else f"between {minimum:g} and {maximum:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise CellError(f"not a number (expected {expected})") from None
        too_low = value <= minimum if strict else value < minimum
        if not math.isfinite(value) or too_low or (maximum is not None and value > maximum):
            raise CellError(f"out of range (expected {expected})")
        return value

    return parse


latitude = number(-90.0, 90.0)
longitude = number(-180.0, 180.0)


def yes_no(text: str) -> bool:
    word = text.lower()
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    raise CellError("expected yes or no (or leave it empty)")


def _choice(allowed: Collection[str], what: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        word = key(text)
        if word not in allowed:
            raise CellError(f"not a known {what} (expected one of {', '.join(allowed)})")
        return word

    return parse


cohort = _choice(COHORTS, "cohort")
status = _choice(MENTOR_STATUSES, "status")


def focus_list(allowed: Collection[str]) -> Callable[[str], tuple[str, ...]]:
    """A parser of a ranked ``;`` list of focus areas; order kept, repeats are an error."""
    ordered = sorted(allowed)

    def parse(text: str) -> tuple[str, ...]:
        items = [key(item) for item in split_list(text)]
        unknown = [item for item in items if item not in allowed]
        if unknown:
            hint = " - separate items with ';'" if any("," in item for item in unknown) else ""
            raise CellError(
                f"not a known focus area: {', '.join(unknown)}{hint} "
                f"(expected {', '.join(ordered)})"
            )
        _no_repeats(items)
        return tuple(items)

    return parse


def slots(text: str) -> frozenset[str]:
    """Weekly slots such as ``mon_am; Tue PM; wed-eve``; repeats are harmless."""
    items = {key(item) for item in split_list(text)}
    unknown = sorted(items - set(SLOTS))
    if unknown:
        raise CellError(
            f"not a known slot: {', '.join(unknown)} (expected day_part with day mon … sun "
            "and part am, pm or eve, e.g. tue_pm; separate slots with ';')"
        )
    return frozenset(items)


def modes(text: str) -> frozenset[str]:
    """``virtual``, ``face_to_face`` (also "face to face", "face-to-face"); empty = virtual."""
    items = {key(item) for item in split_list(text)}
    unknown = sorted(items - set(MODES))
    if unknown:
        raise CellError(f"not a known mode: {', '.join(unknown)} (expected virtual, face_to_face)")
    return frozenset(items) or frozenset({"virtual"})


def id_list(text: str) -> tuple[str, ...]:
    """A ranked ``;`` list of ids, most preferred first; repeats are an error."""
    items = split_list(text)
    _no_repeats(items)
    return tuple(items)


def past_date(today: date) -> Callable[[str], date]:
    """A parser of ISO dates (2024-03-05), or UK dates (05/03/2024 = 5 March), not after today."""

    def parse(text: str) -> date:
        uk = _UK_DATE.fullmatch(text)
        try:
            if uk:
                day, month, year = (int(part) for part in uk.groups())
                value = date(year, month, day)
            else:
                value = datetime.strptime(text, "%Y-%m-%d").date()
        except ValueError:
            raise CellError("not a date (expected YYYY-MM-DD, or DD/MM/YYYY)") from None
        if value > today:
            raise CellError(f"is in the future (today is {today.isoformat()})")
        return value

    return parse


def _no_repeats(items: list[str]) -> None:
    repeated = sorted({item for item in items if items.count(item) > 1})
    if repeated:
        raise CellError(f"listed more than once: {', '.join(repeated)}")
