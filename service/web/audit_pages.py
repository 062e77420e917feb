"""The audit log, for admins: filtered and paged in the database."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
