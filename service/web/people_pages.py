"""Mentors and mentees: the list, a page per person, and the edit form."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
