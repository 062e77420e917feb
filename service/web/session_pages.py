"""Session logs: the list and a mentor's monthly return."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
