"""Server-side paging for the long lists: page numbers, the "Showing 51–100 of 4,000" line,
previous/next links that keep the other query parameters, and the same-site ``back`` path
that a form carries so that the browser returns to where the person was."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import Form, Query

# A list page's number and length, and the page a form returns to, as pages take them.
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
PerPage = Annotated[int, Query(ge=1, le=10_000)]
Back = Annotated[str, Form(max_length=2000)]

PER_PAGE = 50
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class Page:
    """One page of a list of ``total`` rows: rows ``start`` (0-based) to ``start + size``."""

    number: int
    per_page: int
    total: int
    params: tuple[tuple[str, str], ...]

    @property
    def last(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def start(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def showing(self) -> str:
        """``Showing 51–100 of 4,000``: the rows of this page, by their place in the list."""
        if not self.total:
            return "Showing 0 of 0"
        end = min(self.start + self.per_page, self.total)
        return f"Showing {self.start + 1:,}–{end:,} of {self.total:,}"

    def url(self, path: str, number: int) -> str:
        """This list at page ``number``, with every other parameter kept."""
        params = [*self.params, ("page", str(number))] if number > 1 else list(self.params)
        if self.per_page != PER_PAGE:
            params.append(("per_page", str(self.per_page)))
        return f"{path}?{urlencode(params)}" if params else path

    def prev_url(self, path: str) -> str | None:
        return self.url(path, self.number - 1) if self.number > 1 else None

    def next_url(self, path: str) -> str | None:
        return self.url(path, self.number + 1) if self.number < self.last else None


def page_of(number: int, per_page: int, total: int, **params: str) -> Page:
    """Page ``number`` (clamped to the pages there are) of ``per_page`` rows (1 to 200);
    ``params`` are the list's other parameters, empty ones left out of the links."""
    size = min(max(per_page, 1), MAX_PER_PAGE)
    last = max(1, -(-total // size))
    kept = tuple((k, v) for k, v in params.items() if v)
    return Page(min(max(number, 1), last), size, total, kept)


def safe_back(target: str | None, default: str) -> str:
    """Only paths of this site: never an open redirect (browsers drop tabs and newlines, so
    ``/<tab>/elsewhere`` would be ``//elsewhere``: no control characters or spaces either)."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and all(ch > " " for ch in target)
    ):
        return target
    return default


def back_with(target: str, fragment: str, **params: str) -> str:
    """``target`` (a same-site path) with ``params`` set in its query and ``#fragment``."""
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in params]
    query += [(k, v) for k, v in params.items() if v]
    return f"{parts.path}?{urlencode(query)}#{fragment}" if query else f"{parts.path}#{fragment}"
