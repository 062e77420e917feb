"""Parsers for single spreadsheet cells.

Each parser takes the stripped, non-empty text of one cell and returns its value, or raises
``CellError`` with a message that says what was expected. The readers turn a ``CellError``
into a ``Problem`` naming the file, row and column. Staff write in their own words, so the
names a register uses ("GP Fellow", "Monday morning", "F2F", "10 miles") are read too; what
cannot be read is refused with the expected form and, where one is close, a did-you-mean.
A message depends only on the cell's text, so the readers can merge repeats into one line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date
from functools import lru_cache

from matcher import cell_words
from matcher.vocab import (
    BOTH_MODES_WORDS,
    COHORT_NAMES,
    DISTANCE_UNITS,
    MODE_NAMES,
    MODES,
    NO_WORDS,
    STATUS_NAMES,
    YES_WORDS,
)
from matcher.words import closest, squash

LIST_SEPARATOR = ";"
_SEPARATORS = re.compile(r"[\s\-]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class CellError(ValueError):
    """The text of a cell is not a valid value; the message says what was expected."""


def key(text: str) -> str:
    """Normalise a vocabulary word: lower case, spaces and hyphens become underscores."""
    return _SEPARATORS.sub("_", text.strip().lower()).strip("_")


def split_list(text: str) -> list[str]:
    """The items of a ``;`` list, stripped, empty items dropped."""
    return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]


# Control characters (C0 and DEL) but tab and line breaks, which are ordinary text: as a
# character class, for the service's checks of what it is sent too.
TEXT_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
_CONTROL = re.compile(f"[{TEXT_CONTROLS}]")


def control_character(text: str) -> str | None:
    """Why a cell cannot be kept, if it holds a control character (a workbook may carry
    them, written as ``_x0000_``): no value of the contract has one, and no database
    keeps a NUL. Tabs and line breaks are ordinary text."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    return (
        f"holds the control character U+{ord(found.group()):04X}, which no value may have: "
        "retype the cell"
    )


# The longest id and name the records keep (the database's column sizes).
MAX_ID, MAX_NAME = 64, 255


def identifier(text: str) -> str:
    if LIST_SEPARATOR in text:
        raise CellError("an id must not contain ';' (it separates the items of a list)")
    if len(text) > MAX_ID:
        raise CellError(f"an id may have at most {MAX_ID} characters")
    return text


def display_name(text: str) -> str:
    if len(text) > MAX_NAME:
        raise CellError(f"a name may have at most {MAX_NAME} characters")
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


def _did_you_mean(guesses: Iterable[str | None]) -> str:
    named = list(dict.fromkeys(guess for guess in guesses if guess))
    return f" - did you mean {', '.join(named)}?" if named else ""


def _named(names: Mapping[str, tuple[str, ...]], what: str) -> Callable[[str], str]:
    """A parser of one value of a vocabulary, given by its key or any of its names."""
    by_name = {squash(name): value for value, spelt in names.items() for name in (value, *spelt)}
    expected = f"(expected one of {', '.join(names)})"

    def parse(text: str) -> str:
        value = by_name.get(squash(text))
        if value is None:
            guess = closest(text, by_name)
            hint = f": did you mean {by_name[guess]}?" if guess else ""
            raise CellError(f"not a known {what}{hint} {expected}")
        return value

    return parse


cohort = _named(COHORT_NAMES, "cohort")
status = _named(STATUS_NAMES, "status")


def focus_list(allowed: Collection[str]) -> Callable[[str], tuple[str, ...]]:
    """A parser of a ranked ``;`` list of focus areas; order kept, repeats are an error."""
    return _focus_list(frozenset(allowed))


@lru_cache(maxsize=16)  # the readers ask for it once a row, with the scheme's vocabulary
def _focus_list(allowed: frozenset[str]) -> Callable[[str], tuple[str, ...]]:
    ordered = sorted(allowed)
    by_name = {squash(area): area for area in allowed}

    def parse(text: str) -> tuple[str, ...]:
        items = split_list(text)
        unknown = [item for item in items if squash(item) not in by_name]
        if unknown:
            if any("," in item for item in unknown):
                hint = " - separate items with ';'"
            else:
                hint = _did_you_mean(by_name.get(closest(item, by_name) or "") for item in unknown)
            raise CellError(
                f"not a known focus area: {', '.join(key(item) for item in unknown)}{hint} "
                f"(expected {', '.join(ordered)})"
            )
        areas = [by_name[squash(item)] for item in items]
        _no_repeats(areas)
        return tuple(areas)

    return parse


def slots(text: str) -> frozenset[str]:
    """Weekly slots such as ``mon_am; Tue PM; Wednesday p.m.; morning Mon``; repeats are harmless.

    A phrase that means time but no single slot ("Monday", "weekday evenings", "any") is
    refused with what to write instead.
    """
    found: set[str] = set()
    advice: list[str] = []
    unknown: list[str] = []
    for item in split_list(text):
        if one := cell_words.slot(item):
            found.add(one)
        elif why := cell_words.slot_advice(item):
            advice.append(why)
        else:
            unknown.append(item)
    if unknown:
        names = ", ".join(dict.fromkeys(key(item) for item in unknown))
        hint = _did_you_mean(cell_words.slot_guess(item) for item in unknown)
        advice.insert(
            0,
            f"not a known slot: {names}{hint} (expected day_part with day mon … sun "
            "and part am, pm or eve, e.g. tue_pm; separate slots with ';')",
        )
    if advice:
        raise CellError(". ".join(dict.fromkeys(advice)))
    return frozenset(found)


_MODE_WORDS = {
    squash(word): mode for mode, spelt in MODE_NAMES.items() for word in (mode, *spelt)
} | {squash(word): "both" for word in BOTH_MODES_WORDS}


def modes(text: str) -> frozenset[str]:
    """``virtual``, ``face_to_face`` or ``both``, in their usual words ("online", "F2F",
    "in person"); an empty list means virtual."""
    items = split_list(text)
    unknown = [item for item in items if squash(item) not in _MODE_WORDS]
    if unknown:
        names = ", ".join(dict.fromkeys(key(item) for item in unknown))
        hint = _did_you_mean(_MODE_WORDS.get(closest(item, _MODE_WORDS) or "") for item in unknown)
        raise CellError(f"not a known mode: {names}{hint} (expected virtual, face_to_face or both)")
    named = {_MODE_WORDS[squash(item)] for item in items}
    found = set(MODES) if "both" in named else named
    return frozenset(found) or frozenset({"virtual"})


_KM_PER = {squash(unit): km for unit, km in DISTANCE_UNITS.items()}
_WITH_UNIT = re.compile(r"([-+]?(?:\d+(?:\.\d*)?|\.\d+))\s*([A-Za-z][A-Za-z.\s]*)")
_DISTANCES = "expected a number of km, e.g. 16, 16 km or 10 miles"


def distance_km(text: str) -> float:
    """A distance above 0 in km: a bare number is km; "16 km", "10 miles", "10mi" are read
    too (miles are converted and rounded to the metre)."""
    try:
        value = float(text)
    except ValueError:
        match = _WITH_UNIT.fullmatch(text)
        if match is None:
            raise CellError(f"not a distance ({_DISTANCES})") from None
        unit = squash(match[2])
        if unit not in _KM_PER:
            hint = _did_you_mean([closest(unit, _KM_PER)])
            raise CellError(f"not a known unit: {match[2].strip()}{hint} ({_DISTANCES})") from None
        km = _KM_PER[unit]
        # km stay exactly as typed, so "16 km" and "16" are the same value
        value = float(match[1]) if km == 1.0 else round(float(match[1]) * km, 3)
    if not (math.isfinite(value) and value > 0):
        raise CellError("out of range (expected above 0)")
    return value


def id_list(text: str) -> tuple[str, ...]:
    """A ranked ``;`` list of ids, most preferred first; repeats are an error."""
    items = split_list(text)
    _no_repeats(items)
    return tuple(items)


def past_date(today: date) -> Callable[[str], date]:
    """A parser of dates not after today: ISO (2024-03-05), UK day first (05/03/24 = 5 March)
    or with the month's name (5 Mar 2024); see ``cell_words.read_date``."""

    def parse(text: str) -> date:
        try:
            value = cell_words.read_date(text)
        except ValueError as exc:
            raise CellError(str(exc)) from None
        if value > today:
            raise CellError(f"is in the future (today is {today.isoformat()})")
        return value

    return parse


def _no_repeats(items: list[str]) -> None:
    repeated = sorted({item for item in items if items.count(item) > 1})
    if repeated:
        raise CellError(f"listed more than once: {', '.join(repeated)}")
