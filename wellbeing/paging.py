"""Paging of long lists: one page of a list, where it sits in the whole ("第 51–100 条，
共 230 条"), and links to the other pages that keep the page's other query arguments.
Rendered by the `pager` macro of templates/_paging.html.

A page number comes from the query string and is never trusted: anything that is not a
whole number reads as the first page, and a number past either end is clamped to it, so
a stale or hand-edited link shows a page instead of an error. Lists read from the
database are paged there (LIMIT/OFFSET with one count); short lists already in memory
(a class's students) are sliced."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from flask import request, url_for
from sqlalchemy import Select, func, select

from wellbeing.extensions import db

T = TypeVar("T")

PER_PAGE = 50
# Page numbers shown on each side of the current one (and the first and last, always).
AROUND = 2


def page_count(total: int, per_page: int) -> int:
    """Pages needed for `total` items; an empty list still has its one (empty) page."""
    return max(1, math.ceil(total / per_page))


def clamp(number: int, total: int, per_page: int) -> int:
    """The page number within 1..page_count."""
    return min(max(number, 1), page_count(total, per_page))


def window(number: int, pages: int, around: int = AROUND) -> list[int | None]:
    """The page numbers to link: the first, the last, and `around` on each side of the
    current one; None where numbers are left out (shown as "…")."""
    shown = sorted({1, pages, *range(max(1, number - around), min(pages, number + around) + 1)})
    numbers: list[int | None] = []
    previous = 0
    for n in shown:
        if n - previous == 2:
            numbers.append(n - 1)  # a gap of one number: show it rather than "…"
        elif n - previous > 2:
            numbers.append(None)
        numbers.append(n)
        previous = n
    return numbers


def requested(param: str = "page") -> int:
    """The page number asked for in the query string; 1 when absent or not a number."""
    raw = request.args.get(param, "").strip()
    if not (raw.isascii() and raw.isdigit()):
        return 1
    return int(raw) if len(raw) <= 9 else 10**9  # absurdly large: clamped to the last


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list. `number` is already clamped; `first` and `last` count from 1
    (both 0 for an empty list)."""

    items: Sequence[T]
    number: int
    per_page: int
    total: int
    param: str = "page"
    anchor: str | None = None

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def first(self) -> int:
        return self.offset + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.offset + self.per_page, self.total)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    def numbers(self) -> list[int | None]:
        return window(self.number, self.pages)

    def url(self, number: int) -> str:
        """This page's address showing page `number`, the other query arguments kept
        (a filter, another list's page), the first page without the argument."""
        args = [(key, value) for key, value in request.args.items(multi=True) if key != self.param]
        if number > 1:
            args.append((self.param, str(number)))
        path = url_for(request.endpoint or "", **(request.view_args or {}))
        query = f"?{urlencode(args)}" if args else ""
        return path + query + (f"#{self.anchor}" if self.anchor else "")

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


def paginate(
    items: Sequence[T],
    *,
    per_page: int = PER_PAGE,
    param: str = "page",
    anchor: str | None = None,
    number: int | None = None,
) -> Page[T]:
    """A page of a list already in memory."""
    total = len(items)
    number = clamp(requested(param) if number is None else number, total, per_page)
    start = (number - 1) * per_page
    return Page(items[start : start + per_page], number, per_page, total, param, anchor)


def paginate_query(
    query: Select[Any],
    *,
    per_page: int = PER_PAGE,
    param: str = "page",
    anchor: str | None = None,
    scalars: bool = True,
    number: int | None = None,
) -> Page[Any]:
    """A page of an ordered query: one count, then LIMIT/OFFSET of the clamped page."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    number = clamp(requested(param) if number is None else number, total or 0, per_page)
    paged = query.limit(per_page).offset((number - 1) * per_page)
    rows = db.session.scalars(paged).all() if scalars else db.session.execute(paged).all()
    return Page(list(rows), number, per_page, total or 0, param, anchor)
