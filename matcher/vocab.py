"""Fixed vocabularies of the data contract (SPEC section 3)."""

from __future__ import annotations

import re

COHORTS: tuple[str, ...] = (
    "fellow",
    "mid_career",
    "new_partner",
    "retention_scheme",
    "locum_to_salaried",
    "returner",
    "international_induction",
    "other",
)

# The names registers use for each cohort, from the national guidance and local schemes.
# Compared with words.squash, so case, spaces and punctuation do not matter. Plurals are
# left out on purpose: "GP Fellows" is refused with a did-you-mean rather than guessed.
COHORT_NAMES: dict[str, tuple[str, ...]] = {
    "fellow": (
        "GP Fellow",
        "Fellow",
        "Fellowship",
        "GP Fellowship",
        "New to Practice",
        "New to Practice Fellow",
        "New to Practice Fellowship",
        "New to Practice Fellowship Programme",
        "NTP",
        "NTP Fellow",
        "Newly qualified",
        "Newly qualified GP",
        "First5",
        "First5 GP",
    ),
    "mid_career": ("Mid-career GP", "Mid career"),
    "new_partner": (
        "New GP partner",
        "New partner",
        "New to Partnership",
        "New to Partnership Payment Scheme",
        "NTPP",
    ),
    "retention_scheme": (
        "GP Retention Scheme",
        "National GP Retention Scheme",
        "Retained GP",
        "Retention scheme",
    ),
    "locum_to_salaried": (
        "Locum to salaried",
        "Locum moving to salaried",
        "Locum into salaried",
        "Locum",
    ),
    "returner": (
        "Returner",
        "GP returner",
        "Returning GP",
        "Return to Practice",
        "Induction and Refresher",
        "Induction and Refresher Scheme",
        "I&R",
    ),
    "international_induction": (
        "International Induction",
        "International Induction Programme",
        "IIP",
        "International GP Recruitment",
        "International GP Recruitment Programme",
    ),
    "other": ("Other",),
}

FOCUS_AREAS: tuple[str, ...] = (
    "leadership",
    "career_planning",
    "career_progression",
    "partnership",
    "portfolio_career",
    "medical_education",
    "wellbeing",
    "returning_to_practice",
    "international_graduates",
    "clinical_development",
    "quality_improvement",
    "research",
)

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PARTS_OF_DAY: tuple[str, ...] = ("am", "pm", "eve")
# Words for days and parts of the day in a slot such as "Monday morning" (compared squashed).
DAY_NAMES: dict[str, tuple[str, ...]] = {
    "mon": ("mon", "monday", "mondays"),
    "tue": ("tue", "tues", "tuesday", "tuesdays"),
    "wed": ("wed", "weds", "wednesday", "wednesdays"),
    "thu": ("thu", "thur", "thurs", "thursday", "thursdays"),
    "fri": ("fri", "friday", "fridays"),
    "sat": ("sat", "saturday", "saturdays"),
    "sun": ("sun", "sunday", "sundays"),
}
PART_NAMES: dict[str, tuple[str, ...]] = {
    "am": ("am", "a.m.", "morning", "mornings"),
    "pm": ("pm", "p.m.", "afternoon", "afternoons"),
    "eve": ("eve", "evening", "evenings", "night", "nights"),
}
# Words that name several days: never read as slots, only used to say what to write instead.
DAY_GROUPS: dict[str, tuple[str, ...]] = {
    "weekday": DAYS[:5],
    "weekdays": DAYS[:5],
    "weekend": DAYS[5:],
    "weekends": DAYS[5:],
    "every day": DAYS,
    "daily": DAYS,
}
# Words for "whenever suits": an empty availability cell already means any slot.
ANY_TIME_WORDS: tuple[str, ...] = ("any", "anytime", "any slot", "flexible", "whenever", "all")
# Weekly slots in a fixed order; a person's availability is a bit mask over this tuple.
SLOTS: tuple[str, ...] = tuple(f"{d}_{p}" for d in DAYS for p in PARTS_OF_DAY)
SLOT_BIT: dict[str, int] = {slot: 1 << i for i, slot in enumerate(SLOTS)}
ALL_SLOTS_MASK = (1 << len(SLOTS)) - 1

MODES: tuple[str, ...] = ("virtual", "face_to_face")
VIRTUAL, FACE_TO_FACE = MODES
# Compared squashed: "Face-to-face", "face to face" and "F2F" agree.
MODE_NAMES: dict[str, tuple[str, ...]] = {
    "virtual": ("virtual", "online", "video", "remote"),
    "face_to_face": ("face to face", "f2f", "in person"),
}
BOTH_MODES_WORDS: tuple[str, ...] = ("both", "either")

MENTOR_STATUSES: tuple[str, ...] = ("active", "paused", "withdrawn")
# "left" or "left the scheme" is not here: it could mean withdrawn or paused, so it is refused.
STATUS_NAMES: dict[str, tuple[str, ...]] = {
    "active": ("active",),
    "paused": ("paused", "on hold"),
    "withdrawn": ("withdrawn",),
}

YES_WORDS = frozenset({"yes", "y", "true", "1"})
NO_WORDS = frozenset({"no", "n", "false", "0"})

# Distance units, compared squashed, and how many km each is.
KM_PER_MILE = 1.609344
DISTANCE_UNITS: dict[str, float] = {
    "km": 1.0,
    "kms": 1.0,
    "kilometre": 1.0,
    "kilometres": 1.0,
    "kilometer": 1.0,
    "kilometers": 1.0,
    "mi": KM_PER_MILE,
    "mile": KM_PER_MILE,
    "miles": KM_PER_MILE,
}

MONTHS: tuple[str, ...] = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


def slot_mask(slots: frozenset[str]) -> int:
    """Bit mask of a set of slots; empty availability means any slot."""
    if not slots:
        return ALL_SLOTS_MASK
    mask = 0
    for slot in slots:
        mask |= SLOT_BIT[slot]
    return mask


def slots_of_mask(mask: int) -> list[str]:
    return [slot for slot, bit in SLOT_BIT.items() if mask & bit]


# What a page shows for each code: the words come from the name tables above, so a code
# and the words people write for it have one source.
def _spoken(spellings: tuple[str, ...]) -> str:
    """The longest singular spelling: "tuesday" of ("tue", ..., "tuesdays"), "morning"."""
    return max((s for s in spellings if not s.endswith("s")), key=len)


SLOT_WORDS: dict[str, str] = {
    f"{d}_{p}": f"{_spoken(DAY_NAMES[d]).capitalize()} {_spoken(PART_NAMES[p])}"
    for d in DAYS
    for p in PARTS_OF_DAY
}
CODE_WORDS: dict[str, str] = {
    **{area: area.replace("_", " ") for area in FOCUS_AREAS},
    **{cohort: COHORT_NAMES[cohort][0] for cohort in COHORTS},
    **SLOT_WORDS,
    **{mode: MODE_NAMES[mode][0] for mode in MODES},
    **{status: STATUS_NAMES[status][0] for status in MENTOR_STATUSES},
}
# A code inside a sentence (a pair's reasons): only codes joined by "_" are replaced, since a
# code that is one word ("fellow", "virtual") already reads as a word there.
_JOINED_CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def code_words(code: str) -> str:
    """The words a page shows for a code: "tue_am" -> "Tuesday morning"; else ``code``."""
    return CODE_WORDS.get(code.strip().lower(), code)


def words_in(text: str) -> str:
    """``text`` with each code joined by "_" in words: "both free tue_am" -> "... Tuesday morning"."""
    return _JOINED_CODE.sub(lambda m: CODE_WORDS.get(m[0], m[0]), text)
