"""Validated, immutable problem data: mentors, mentees, exclusions, locks, previous pairs.

Records are built by the spreadsheet readers (or the service) and never changed afterwards;
use ``dataclasses.replace`` for a changed copy. ``ProblemData`` checks the cross-references
between files in one place, naming the file, row and id of each broken reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from matcher.errors import InputError, Problem
from matcher.notes import Note
from matcher.preview import FileRead
from matcher.settings import Settings


@dataclass(frozen=True)
class Source:
    """Where a record came from: file name and spreadsheet row (header = row 1)."""

    file: str
    row: int


@dataclass(frozen=True)
class Mentor:
    mentor_id: str
    name: str
    email: str | None = None
    gmc_number: str | None = None
    practice_code: str | None = None
    pcn: str | None = None
    capacity_max: int | None = None
    capacity_min: int | None = None
    current_mentees: int = 0
    focus_areas: tuple[str, ...] = ()
    availability: frozenset[str] = frozenset()
    modes: frozenset[str] = frozenset({"virtual"})
    latitude: float | None = None
    longitude: float | None = None
    # As given; turned into latitude/longitude only by the scheme's postcode lookup.
    postcode: str | None = None
    gender: str | None = None
    ethnicity: str | None = None
    img: bool | None = None
    years_post_cct: float | None = None
    clinical_sessions_per_week: float | None = None
    status: str = "active"
    # Mentees this mentor chose at a speed-meeting, most preferred first.
    preferred_mentees: tuple[str, ...] = ()
    source: Source | None = field(default=None, compare=False, repr=False)

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    def band(self, settings: Settings) -> tuple[int, int]:
        """Total (current + new) mentees allowed: the scheme's band narrowed by personal values."""
        lo = settings.capacity.min
        hi = settings.capacity.max
        if self.capacity_min is not None:
            lo = max(lo, self.capacity_min)
        if self.capacity_max is not None:
            hi = min(hi, self.capacity_max)
        return lo, hi

    def new_range(self, settings: Settings) -> tuple[int, int]:
        """(least, most) new mentees when the mentor is used this round."""
        lo, hi = self.band(settings)
        most = max(0, hi - self.current_mentees)
        least = min(max(0, lo - self.current_mentees), most)
        return least, most


@dataclass(frozen=True)
class Mentee:
    mentee_id: str
    name: str
    cohort: str
    email: str | None = None
    practice_code: str | None = None
    pcn: str | None = None
    needs: tuple[str, ...] = ()
    availability: frozenset[str] = frozenset()
    modes: frozenset[str] = frozenset({"virtual"})
    latitude: float | None = None
    longitude: float | None = None
    postcode: str | None = None
    max_distance_km: float | None = None
    mentor_gender: str | None = None
    mentor_gender_strict: bool = False
    same_ethnicity: bool = False
    same_img: bool = False
    preferred_mentors: tuple[str, ...] = ()
    waiting_since: date | None = None
    gender: str | None = None
    ethnicity: str | None = None
    img: bool | None = None
    source: Source | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class PairRef:
    """A (mentor, mentee) pair named in an exclusions, locks or previous-pairs file."""

    mentor_id: str
    mentee_id: str
    reason: str = ""
    source: Source | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ProblemData:
    """Everything one matching round needs; validated on construction."""

    mentors: tuple[Mentor, ...]
    mentees: tuple[Mentee, ...]
    exclusions: tuple[PairRef, ...] = ()
    locks: tuple[PairRef, ...] = ()
    previous: tuple[PairRef, ...] = ()
    settings: Settings = field(default_factory=Settings)
    # How each file was read (headings renamed, values read at limits, ...), for people.
    files: tuple[FileRead, ...] = field(default=(), compare=False)

    @property
    def notes(self) -> tuple[Note, ...]:
        return tuple(note for read in self.files for note in read.notes)

    def __post_init__(self) -> None:
        problems = _check_unique(self.mentors, "mentor_id") + _check_unique(
            self.mentees, "mentee_id"
        )
        mentor_ids = {m.mentor_id for m in self.mentors}
        mentee_ids = {m.mentee_id for m in self.mentees}
        for kind, refs in (
            ("exclusions", self.exclusions),
            ("locks", self.locks),
            ("previous", self.previous),
        ):
            for ref in refs:
                where = ref.source or Source(kind, 0)
                row = where.row or None
                if ref.mentor_id not in mentor_ids:
                    problems.append(
                        Problem(
                            where.file,
                            row,
                            "mentor_id",
                            ref.mentor_id,
                            "no mentor with this id in the mentors file",
                        )
                    )
                if ref.mentee_id not in mentee_ids:
                    problems.append(
                        Problem(
                            where.file,
                            row,
                            "mentee_id",
                            ref.mentee_id,
                            "no mentee with this id in the mentees file",
                        )
                    )
        focus = self.settings.focus_areas
        for mentor in self.mentors:
            for area in mentor.focus_areas:
                if area not in focus:
                    problems.append(
                        person_problem(mentor.source, "focus_areas", area, "unknown focus area")
                    )
            lo, hi = mentor.band(self.settings)
            if lo > hi:
                column = (
                    "capacity_max"
                    if mentor.capacity_max is not None and mentor.capacity_max < lo
                    else "capacity_min"
                )
                problems.append(
                    person_problem(
                        mentor.source,
                        column,
                        str(getattr(mentor, column)),
                        f"the mentor's band would be empty: minimum {lo} (scheme minimum or capacity_min) "
                        f"is above maximum {hi} (scheme maximum or capacity_max)",
                    )
                )
        for mentee in self.mentees:
            for area in mentee.needs:
                if area not in focus:
                    problems.append(
                        person_problem(mentee.source, "needs", area, "unknown focus area")
                    )
            for mentor_id in mentee.preferred_mentors:
                if mentor_id not in mentor_ids:
                    problems.append(
                        person_problem(
                            mentee.source,
                            "preferred_mentors",
                            mentor_id,
                            "no mentor with this id in the mentors file",
                        )
                    )
        if problems:
            raise InputError(problems)

    @property
    def mentor_index(self) -> dict[str, int]:
        return {m.mentor_id: i for i, m in enumerate(self.mentors)}

    @property
    def mentee_index(self) -> dict[str, int]:
        return {m.mentee_id: j for j, m in enumerate(self.mentees)}

    def is_priority(self, mentee: Mentee) -> bool:
        return mentee.cohort in self.settings.rules.priority_cohorts


def person_problem(source: Source | None, column: str, value: str, message: str) -> Problem:
    return Problem(
        source.file if source else "input", source.row if source else None, column, value, message
    )


def _check_unique(records: tuple, id_field: str) -> list[Problem]:
    seen: dict[str, Source | None] = {}
    problems = []
    for record in records:
        key = getattr(record, id_field)
        if key in seen:
            first = seen[key]
            also = f" (first at row {first.row})" if first else ""
            problems.append(person_problem(record.source, id_field, key, f"duplicate id{also}"))
        else:
            seen[key] = record.source
    return problems
