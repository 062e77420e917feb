"""Mentor applications: the list, the form with its eligibility checks, and the decision."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
