"""The round page's long lists, a page at a time: what the page was asked for (its filters,
searches and page numbers, as one ``RoundQuery``), the rows each list keeps, and pagers whose
links keep the rest of the page as it was.

A round page holds two paged lists (the proposals and the mentees left unmatched) and the
search of the form that pins or forbids a pair; each has parameters of its own, so moving
through one list leaves the other, and the search, where they were. A form on the page carries
the page's address as ``back``; the answer to the form returns there, at the row or the form
acted on (``RoundQuery.from_back`` reads only the parameters below, so nothing else of an
address sent with a form reaches the answer).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from service.web.paging import MAX_PER_PAGE, PER_PAGE, Page, page_of, safe_back

MAX_TEXT = 100  # the longest filter or search the page takes (as the Matches page)


@dataclass(frozen=True)
class RoundQuery:
    """The round page as asked for: the proposals' filters (``cohort``, ``mentor``, ``q``) and
    page; the unmatched mentees' search (``uq``) and page (``upage``); rows a page; and the
    search of the pin-or-forbid form (``find_mentee``, ``find_mentor``). Fields in the order
    of the page's addresses; defaults are left out of them."""

    cohort: str = ""
    mentor: str = ""
    q: str = ""
    page: int = 1
    uq: str = ""
    upage: int = 1
    per_page: int = PER_PAGE
    find_mentee: str = ""
    find_mentor: str = ""

    def __post_init__(self) -> None:
        for name in ("cohort", "mentor", "q", "uq", "find_mentee", "find_mentor"):
            object.__setattr__(self, name, getattr(self, name).strip()[:MAX_TEXT])
        for name in ("page", "upage"):
            object.__setattr__(self, name, max(1, getattr(self, name)))
        object.__setattr__(self, "per_page", min(max(1, self.per_page), MAX_PER_PAGE))

    @classmethod
    def from_back(cls, back: str, round_id: int) -> RoundQuery:
        """The query of ``back``, the address a form of round ``round_id``'s page was sent
        from: only a path of this site, only this round's page, only the page's own
        parameters (a bad number is left at its default)."""
        parts = urlsplit(safe_back(back, ""))
        if parts.path != f"/rounds/{round_id}":
            return cls()
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in parse_qsl(parts.query):
            if key not in known:
                continue
            if known[key].type == "int":
                if value.isdigit() and len(value) < 8:
                    values[key] = int(value)
            else:
                values[key] = value
        return cls(**values)

    def params(self) -> list[tuple[str, str]]:
        default = RoundQuery()
        return [
            (f.name, str(getattr(self, f.name)))
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        ]

    def url(self, round_id: int, fragment: str = "", **extra: str) -> str:
        """This page of round ``round_id``, with ``extra`` parameters (e.g. a notice) and a
        ``#fragment``."""
        params = self.params() + [(k, v) for k, v in extra.items() if v]
        address = f"/rounds/{round_id}" + (f"?{urlencode(params)}" if params else "")
        return address + (f"#{fragment}" if fragment else "")

    def hidden(self, *own: str) -> list[tuple[str, str]]:
        """The parameters a form of the page carries along unchanged: all but ``own`` (the
        form's fields) and the page numbers those fields start again from."""
        restart = {"cohort": "page", "mentor": "page", "q": "page", "uq": "upage"}
        dropped = set(own) | {restart[name] for name in own if name in restart}
        return [(k, v) for k, v in self.params() if k not in dropped]

    def replace(self, **changes: Any) -> RoundQuery:
        return replace(self, **changes)

    @property
    def filtered(self) -> bool:
        return bool(self.cohort or self.mentor or self.q)


@dataclass(frozen=True)
class ListPager:
    """One page of one of the page's lists: ``page`` (``service.web.paging.Page``) with
    links that change only this list's page number (``key``) and land on its ``fragment``.
    It offers what the pager partial (``pager.html``) reads."""

    page: Page
    query: RoundQuery
    key: str
    fragment: str

    @property
    def number(self) -> int:
        return self.page.number

    @property
    def last(self) -> int:
        return self.page.last

    @property
    def total(self) -> int:
        return self.page.total

    @property
    def start(self) -> int:
        return self.page.start

    @property
    def end(self) -> int:
        return self.page.start + self.page.per_page

    @property
    def showing(self) -> str:
        return self.page.showing

    def url(self, path: str, number: int) -> str:
        params = self.query.replace(**{self.key: number}).params()
        return path + (f"?{urlencode(params)}" if params else "") + f"#{self.fragment}"

    def prev_url(self, path: str) -> str | None:
        return self.url(path, self.number - 1) if self.number > 1 else None

    def next_url(self, path: str) -> str | None:
        return self.url(path, self.number + 1) if self.number < self.last else None


def clamped(query: RoundQuery, proposals: int, unmatched: int) -> RoundQuery:
    """``query`` with each list's page number within the pages of its rows (a page past
    the end is the last page), so that every link of the page names pages that exist."""
    return query.replace(
        page=page_of(query.page, query.per_page, proposals).number,
        upage=page_of(query.upage, query.per_page, unmatched).number,
    )


def pager(query: RoundQuery, key: str, total: int, fragment: str) -> ListPager:
    """The page of a list of ``total`` rows that ``query`` (``clamped``) asks for, its
    number the parameter ``key``."""
    return ListPager(page_of(int(getattr(query, key)), query.per_page, total), query, key, fragment)


def anchor(kind: str, person_id: str) -> str:
    """The id of a row on the page, and so the ``#fragment`` that returns to it: ``kind``
    and the person's id, quoted (an id may hold a space, which an element's id may not)."""
    return f"{kind}-{quote(person_id, safe='')}"


def keep_proposal(proposal: dict[str, Any], query: RoundQuery) -> bool:
    """Whether a proposal passes the filters: its cohort, its mentor (the id, as typed in any
    case) and ``q`` in any of its values (ids, names, cohort, reasons, score)."""
    if query.cohort and proposal["cohort"] != query.cohort:
        return False
    if query.mentor and proposal["mentor_id"].lower() != query.mentor.lower():
        return False
    return not query.q or query.q.lower() in _text(proposal)


def keep_unmatched(row: dict[str, Any], query: RoundQuery) -> bool:
    """Whether an unmatched mentee passes the search ``uq``: in their id, name (for those who
    see names), cohort or the reason they were left out (as the viewer reads it)."""
    return not query.uq or query.uq.lower() in _text(row)


def _text(row: dict[str, Any]) -> str:
    return " ".join(str(value) for value in row.values()).lower()
