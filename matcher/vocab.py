"""Fixed vocabularies of the data contract (SPEC section 3)."""

from __future__ import annotations

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
# Weekly slots in a fixed order; a person's availability is a bit mask over this tuple.
SLOTS: tuple[str, ...] = tuple(f"{d}_{p}" for d in DAYS for p in PARTS_OF_DAY)
SLOT_BIT: dict[str, int] = {slot: 1 << i for i, slot in enumerate(SLOTS)}
ALL_SLOTS_MASK = (1 << len(SLOTS)) - 1

MODES: tuple[str, ...] = ("virtual", "face_to_face")
VIRTUAL, FACE_TO_FACE = MODES

MENTOR_STATUSES: tuple[str, ...] = ("active", "paused", "withdrawn")

YES_WORDS = frozenset({"yes", "y", "true", "1"})
NO_WORDS = frozenset({"no", "n", "false", "0"})


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
