"""Training records: the list and the forms to record and update them."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
