"""Reading weekly slots and dates written in people's own words.

``matcher.cells`` builds its ``slots`` and ``past_date`` parsers on these functions. They
know nothing of rows or files: each reads one piece of text, and every message depends only
on that text, so the same bad value in many rows gives the same message.
"""

from __future__ import annotations

import re
from datetime import date

from matcher.vocab import (
    ANY_TIME_WORDS,
    DAY_GROUPS,
    DAY_NAMES,
    DAYS,
    MONTHS,
    PART_NAMES,
    PARTS_OF_DAY,
)
from matcher.words import closest, squash, words

# --- weekly slots --------------------------------------------------------------------------

_DAY_WORDS: dict[str, tuple[str, ...]] = {
    squash(word): (day,) for day, spellings in DAY_NAMES.items() for word in spellings
} | {squash(word): days for word, days in DAY_GROUPS.items()}
_PART_WORDS = {squash(word): part for part, spellings in PART_NAMES.items() for word in spellings}
_ANY_TIME = {squash(word) for word in ANY_TIME_WORDS}
# A run of days such as "Mon-Fri evenings" or "Monday to Friday": only used for advice.
_DAY_RANGE = re.compile(r"([a-z]+)\.?\s*(?:-|–|\bto\b|\btill\b|\buntil\b)\s*([a-z]+)\.?(.*)", re.I)
# Every day word next to every part word, squashed, for the did-you-mean of a typo.
_SLOT_SPELLINGS = {
    joined: f"{day}_{part}"
    for day, day_words in DAY_NAMES.items()
    for part, part_words in PART_NAMES.items()
    for d in day_words
    for p in part_words
    for joined in (squash(d) + squash(p), squash(p) + squash(d))
}


def _days_and_parts(item: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The days and parts of the day an item names ("weekday evenings"), or None.

    An item is a day word, a part word, or one of each in either order; the words may be
    split by any punctuation, so "Wednesday p.m." and "tue-pm" are read.
    """
    pieces = words(item)
    whole = "".join(pieces)
    if whole in _DAY_WORDS:
        return _DAY_WORDS[whole], ()
    if whole in _PART_WORDS:
        return (), (_PART_WORDS[whole],)
    for cut in range(1, len(pieces)):
        first, second = "".join(pieces[:cut]), "".join(pieces[cut:])
        if first in _DAY_WORDS and second in _PART_WORDS:
            return _DAY_WORDS[first], (_PART_WORDS[second],)
        if first in _PART_WORDS and second in _DAY_WORDS:
            return _DAY_WORDS[second], (_PART_WORDS[first],)
    return None


def slot(item: str) -> str | None:
    """The one weekly slot an item names ("Monday morning" -> "mon_am"), or None."""
    found = _days_and_parts(item)
    if found and len(found[0]) == 1 and len(found[1]) == 1:
        return f"{found[0][0]}_{found[1][0]}"
    return None


def slot_advice(item: str) -> str | None:
    """Why an item that means time, but no single slot, is refused, and what to write."""
    if squash(item) in _ANY_TIME:
        return f"'{item}' is not a weekly slot: an empty cell means any slot"
    found = _days_and_parts(item) or _day_range(item)
    if found is None:
        return None
    days, parts = found
    if len(days) == 1 and not parts:
        day = days[0]
        return (
            f"'{item}' is not a weekly slot: add a part of the day, "
            f"e.g. {day}_am, {day}_pm or {day}_eve"
        )
    each = [f"{day}_{part}" for day in days or DAYS for part in parts or PARTS_OF_DAY]
    return f"'{item}' is not a weekly slot: name each one, e.g. {'; '.join(each)}"


def _day_range(item: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The days and part of "Mon-Fri evenings", "Monday to Friday" (ranges may wrap), or None."""
    match = _DAY_RANGE.fullmatch(item.strip())
    if match is None:
        return None
    first, last = _DAY_WORDS.get(squash(match[1]), ()), _DAY_WORDS.get(squash(match[2]), ())
    if len(first) != 1 or len(last) != 1 or first == last:
        return None
    start, stop = DAYS.index(first[0]), DAYS.index(last[0])
    days = tuple(DAYS[(start + i) % 7] for i in range((stop - start) % 7 + 1))
    part = squash(match[3])
    if not part:
        return days, ()
    return (days, (_PART_WORDS[part],)) if part in _PART_WORDS else None


def slot_guess(item: str) -> str | None:
    """What an unreadable item probably meant: one slot, or slots separated by commas."""
    if "," in item:
        pieces = [slot(piece) for piece in item.split(",") if piece.strip()]
        return "; ".join(p for p in pieces if p) if all(pieces) else None
    if sum(len(_DAY_WORDS.get(word, ())) == 1 for word in words(item)) > 1:
        return None  # names several days: no one slot to suggest
    guess = closest(item, _SLOT_SPELLINGS)
    return _SLOT_SPELLINGS[guess] if guess else None


# --- dates ---------------------------------------------------------------------------------

_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    # a date-time, as a real date cell of a workbook may arrive: the time is ignored
    r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?)?"
)
_DAY_FIRST = re.compile(
    r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})(?: (?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?)?"
)
_NAMED = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?[\s\-]+([A-Za-z]+)\.?[\s\-]+(\d{4}|\d{2})")
_MONTH = {name: n for n, full in enumerate(MONTHS, 1) for name in (full, full[:3])} | {"sept": 9}
_EXPECTED = "expected a date such as 18/04/2026, 18 Apr 2026 or 2026-04-18"


def read_date(text: str) -> date:
    """A date written ISO (2026-04-18, also with a time), day first (18/04/2026, 18.4.26,
    18-04-2026) or with the month's name (18 April 2026, 18 Apr 26); years yy are 20yy.

    Raises ValueError with a message that says what was expected.
    """
    if match := _ISO.fullmatch(text):
        year, month, day = match.groups()
    elif match := _DAY_FIRST.fullmatch(text):
        day, _, month, year = match.groups()
    elif (match := _NAMED.fullmatch(text)) and match[2].lower() in _MONTH:
        day, year = match[1], match[3]
        month = str(_MONTH[match[2].lower()])
    else:
        raise ValueError(_why_not_a_date(text))
    try:
        return date(_full_year(year), int(month), int(day))
    except ValueError:  # no such day, e.g. 31/02/2026
        raise ValueError(_why_not_a_date(text)) from None


def _full_year(year: str) -> int:
    return 2000 + int(year) if len(year) == 2 else int(year)


def _why_not_a_date(text: str) -> str:
    if match := _DAY_FIRST.fullmatch(text):
        first, second, year = int(match[1]), int(match[3]), _full_year(match[4])
        if first <= 12 < second <= 31:
            try:
                meant = date(year, first, second)
            except ValueError:
                pass
            else:
                return (
                    "not a date: looks like month/day order, but dates must be day/month "
                    f"- did you mean {meant:%d/%m/%Y}?"
                )
    if re.fullmatch(r"\d{5}(\.\d+)?", text) and 20000 <= float(text) <= 80000:
        return (
            "not a date: looks like an Excel date serial number "
            "(format the column as a date in the spreadsheet)"
        )
    return f"not a date ({_EXPECTED})"
