"""Comparing the words people type with the words of the data contract.

``squash`` reduces a header or a vocabulary word to the letters and digits that carry its
meaning, so "Focus areas", "focus-areas" and "FOCUS_AREAS" compare equal; ``stem`` also drops
plural endings. ``closest`` names the word someone probably meant, for a "did you mean"
hint; it never decides anything on its own.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

_NOT_WORD = re.compile(r"[^0-9a-z]+")


def words(text: str) -> list[str]:
    """Lower-case words of ``text``: accents folded, punctuation and spaces as breaks."""
    return list(_words(text))


# Spreadsheets repeat the same few words (cohorts, slots, modes) on every row.
@lru_cache(maxsize=1 << 16)
def _words(text: str) -> tuple[str, ...]:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return tuple(w for w in _NOT_WORD.split(folded.lower()) if w)


def snake(text: str) -> str:
    """``text`` as a snake_case key: "Focus areas" -> "focus_areas"."""
    return "_".join(_words(text))


def squash(text: str) -> str:
    """The letters and digits of ``text``: "Waiting since" -> "waitingsince"."""
    return "".join(_words(text))


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def stem(text: str) -> str:
    """``squash`` with each word made singular: "Focus area" and "focus_areas" agree."""
    return "".join(_singular(w) for w in _words(text))


def closest(text: str, choices: Iterable[str], cutoff: float = 0.75) -> str | None:
    """The choice ``text`` most probably meant (compared squashed), or None."""
    by_squash: dict[str, str] = {}
    for choice in choices:
        by_squash.setdefault(squash(choice), choice)
    found = difflib.get_close_matches(squash(text), list(by_squash), n=1, cutoff=cutoff)
    return by_squash[found[0]] if found else None


def edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) that turn ``a`` into ``b``."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def typo_of(text: str, choices: Iterable[str]) -> list[str]:
    """The choices ``text`` is probably a mistyped or shortened form of (compared by ``stem``).

    A slip of one or two letters (one for short words), or the first word or words of a
    longer name ("capacity" for capacity_max and capacity_min).
    """
    typed = stem(text)
    allowed = 1 if len(typed) <= 5 else 2
    found = []
    for choice in choices:
        target = stem(choice)
        if not target or target == typed:
            continue
        words_typed, words_target = words(text), words(choice)
        shortened = (
            len(typed) >= 4
            and len(words_typed) < len(words_target)
            and [_singular(w) for w in words_target[: len(words_typed)]]
            == [_singular(w) for w in words_typed]
        )
        if shortened or edit_distance(typed, target) <= allowed:
            found.append(choice)
    return found
