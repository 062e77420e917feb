"""Scheme settings: capacity band, rules, priorities and scoring weights, read from TOML.

Defaults follow the 2021/22 national guidance: each mentor supports 4 to 8 mentees, GP Fellows
come first, a mentor never mentors someone from their own practice, the same PCN is allowed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from matcher.errors import InputError, Problem
from matcher.vocab import COHORTS, FOCUS_AREAS


@dataclass(frozen=True)
class CapacitySettings:
    min: int = 4
    max: int = 8
    # A mentor may be left with no new mentees even if that keeps them under `min`.
    allow_unused_mentors: bool = True


@dataclass(frozen=True)
class RuleSettings:
    priority_cohorts: tuple[str, ...] = ("fellow",)
    forbid_same_practice: bool = True
    forbid_same_pcn: bool = False
    default_max_distance_km: float = 30.0
    # Equity: no group's match rate may fall more than this below the whole round's
    # (1.0 switches it off). Groups are the values of these mentee columns with at least
    # ``equity_min_group`` mentees; cohort is left out by default because fellows come first.
    equity_max_gap: float = 1.0
    equity_attributes: tuple[str, ...] = ("gender", "ethnicity", "img")
    equity_min_group: int = 5


EQUITY_ATTRIBUTES = ("gender", "ethnicity", "img", "cohort")


@dataclass(frozen=True)
class WeightSettings:
    """Points of the pair score (level 3) and of the balance/mix/churn penalty (level 4)."""

    # A need shared with the mentor, by its position in the mentee's list (first = most
    # important); positions past the end use the last value.
    needs: tuple[int, ...] = (30, 20, 12, 8, 5)
    # The mentor's position in the mentee's preferred_mentors list.
    preference: tuple[int, ...] = (40, 30, 20, 10, 5)
    # Extra when the mentor also chose the mentee (speed-meeting choices).
    mutual: int = 20
    gender: int = 15
    ethnicity: int = 10
    img: int = 10
    # Points lost by a face-to-face-only pair at the mentee's maximum distance (linear in km).
    travel: int = 10
    balance: int = 1
    mix: int = 2
    churn: int = 5


@dataclass(frozen=True)
class LocationSettings:
    # A CSV of postcode (or outward code) -> latitude, longitude, e.g. an ONS Postcode
    # Directory extract: the only way a `postcode` column becomes a distance. A relative
    # path is read from the settings file's folder.
    postcode_lookup: str = ""


@dataclass(frozen=True)
class Settings:
    capacity: CapacitySettings = field(default_factory=CapacitySettings)
    rules: RuleSettings = field(default_factory=RuleSettings)
    weights: WeightSettings = field(default_factory=WeightSettings)
    locations: LocationSettings = field(default_factory=LocationSettings)
    extra_focus_areas: tuple[str, ...] = ()

    @property
    def focus_areas(self) -> frozenset[str]:
        return frozenset(FOCUS_AREAS) | frozenset(self.extra_focus_areas)

    @classmethod
    def from_toml(cls, path: str | Path) -> Settings:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise InputError([Problem(path.name, None, None, None, "file not found")]) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(
                [Problem(path.name, None, None, None, f"not valid TOML: {exc}")]
            ) from None
        settings = cls.from_mapping(data, source=path.name)
        lookup = settings.locations.postcode_lookup
        if lookup and not Path(lookup).is_absolute():
            lookup = str(path.resolve().parent / lookup)
            settings = replace(settings, locations=LocationSettings(postcode_lookup=lookup))
        return settings

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str = "settings") -> Settings:
        problems: list[Problem] = []
        sections: dict[str, Any] = {}
        section_types = {
            "capacity": CapacitySettings,
            "rules": RuleSettings,
            "weights": WeightSettings,
            "locations": LocationSettings,
        }
        for key, value in data.items():
            if key == "vocabulary":
                sections.update(_read_vocabulary(value, source, problems))
            elif key in section_types:
                if not isinstance(value, dict):
                    problems.append(Problem(source, None, key, str(value), "must be a [table]"))
                    continue
                sections[key] = _read_section(section_types[key], key, value, source, problems)
            else:
                problems.append(
                    Problem(
                        source,
                        None,
                        key,
                        None,
                        "unknown section (expected capacity, rules, weights, locations, vocabulary)",
                    )
                )
        if problems:
            raise InputError(problems)
        settings = cls(**sections)
        settings.check(source)
        return settings

    def check(self, source: str = "settings") -> None:
        problems = []
        cap = self.capacity
        if not 1 <= cap.min <= cap.max:
            problems.append(
                Problem(
                    source,
                    None,
                    "capacity.min",
                    str(cap.min),
                    f"must be between 1 and capacity.max ({cap.max})",
                )
            )
        for cohort in self.rules.priority_cohorts:
            if cohort not in COHORTS:
                problems.append(
                    Problem(
                        source,
                        None,
                        "rules.priority_cohorts",
                        cohort,
                        f"unknown cohort (expected one of {', '.join(COHORTS)})",
                    )
                )
        if self.rules.default_max_distance_km <= 0:
            problems.append(
                Problem(
                    source,
                    None,
                    "rules.default_max_distance_km",
                    str(self.rules.default_max_distance_km),
                    "must be positive",
                )
            )
        rules = self.rules
        if not 0.0 <= rules.equity_max_gap <= 1.0:
            problems.append(
                Problem(
                    source,
                    None,
                    "rules.equity_max_gap",
                    str(rules.equity_max_gap),
                    "must be between 0 and 1 (a share of mentees; 1 switches it off)",
                )
            )
        for attribute in rules.equity_attributes:
            if attribute not in EQUITY_ATTRIBUTES:
                problems.append(
                    Problem(
                        source,
                        None,
                        "rules.equity_attributes",
                        attribute,
                        f"unknown attribute (expected one of {', '.join(EQUITY_ATTRIBUTES)})",
                    )
                )
        if rules.equity_min_group < 1:
            problems.append(
                Problem(
                    source,
                    None,
                    "rules.equity_min_group",
                    str(rules.equity_min_group),
                    "must be at least 1",
                )
            )
        w = self.weights
        for name in ("needs", "preference"):
            values = getattr(w, name)
            if not values or any(v < 0 for v in values):
                problems.append(
                    Problem(
                        source,
                        None,
                        f"weights.{name}",
                        str(list(values)),
                        "must be a non-empty list of points >= 0",
                    )
                )
        for f in fields(WeightSettings):
            value = getattr(w, f.name)
            if isinstance(value, int) and value < 0:
                problems.append(
                    Problem(source, None, f"weights.{f.name}", str(value), "must be >= 0")
                )
        if problems:
            raise InputError(problems)


def _read_vocabulary(value: Any, source: str, problems: list[Problem]) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - {"extra_focus_areas"}:
        problems.append(
            Problem(source, None, "vocabulary", None, "only extra_focus_areas = [...] is allowed")
        )
        return {}
    extra = value.get("extra_focus_areas", [])
    if not isinstance(extra, list) or not all(isinstance(a, str) and a.strip() for a in extra):
        problems.append(
            Problem(
                source, None, "vocabulary.extra_focus_areas", str(extra), "must be a list of names"
            )
        )
        return {}
    return {"extra_focus_areas": tuple(a.strip().lower() for a in extra)}


def _read_section(
    kind: type, name: str, values: dict[str, Any], source: str, problems: list[Problem]
) -> Any:
    defaults = kind()
    known = {f.name: f for f in fields(kind)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        column = f"{name}.{key}"
        if key not in known:
            problems.append(
                Problem(
                    source,
                    None,
                    column,
                    None,
                    f"unknown setting (expected one of {', '.join(known)})",
                )
            )
            continue
        default = getattr(defaults, key)
        converted = _convert(value, default)
        if converted is None:
            problems.append(
                Problem(source, None, column, str(value), f"must be {_type_name(default)}")
            )
        else:
            kwargs[key] = converted
    return replace(defaults, **kwargs)


def _convert(value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        return value if isinstance(value, bool) else None
    if isinstance(default, int):
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok else None
    if isinstance(default, tuple):
        if not isinstance(value, list) or not value:
            return None
        item = default[0]
        converted = [_convert(v, item) for v in value]
        return None if any(c is None for c in converted) else tuple(converted)
    if isinstance(default, str):
        return value if isinstance(value, str) else None
    return None


def _type_name(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "a whole number"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, tuple):
        return f"a non-empty list of {_type_name(default[0])}s"
    return "text"
