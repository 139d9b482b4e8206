"""The shared pager (wellbeing/paging.py): page numbers clamp into range whatever is
asked, the pages of a list cover it exactly once, the numbers shown always include the
first, the last and the current page, and links keep the page's other query arguments."""

from __future__ import annotations

import itertools
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wellbeing.paging import clamp, page_count, paginate, window

totals = st.integers(min_value=0, max_value=5_000)
sizes = st.integers(min_value=1, max_value=200)
asked = st.integers(min_value=-(10**12), max_value=10**12)


@given(totals, sizes, asked)
def test_a_page_number_always_clamps_into_range(total, per_page, number):
    pages = page_count(total, per_page)
    page = clamp(number, total, per_page)
    assert 1 <= page <= pages
    if 1 <= number <= pages:
        assert page == number
    assert pages == max(1, -(-total // per_page))


@given(totals, sizes)
def test_the_pages_of_a_list_cover_it_once_in_order(total, per_page):
    items = list(range(total))
    seen = []
    for number in range(1, page_count(total, per_page) + 1):
        page = paginate(items, per_page=per_page, number=number)
        assert page.number == number and page.total == total
        assert 0 < len(page) <= per_page or total == 0
        assert list(page) == items[page.first - 1 : page.last]
        assert page.first == ((number - 1) * per_page + 1 if total else 0)
        assert page.last == min(number * per_page, total)
        assert page.has_previous == (number > 1)
        assert page.has_next == (number < page.pages)
        seen.extend(page.items)
    assert seen == items


@given(totals, sizes, asked)
def test_an_out_of_range_page_shows_the_nearest_end(total, per_page, number):
    page = paginate(list(range(total)), per_page=per_page, number=number)
    assert page.number == clamp(number, total, per_page)
    assert len(page) == (page.last - page.first + 1 if total else 0)


@given(st.integers(min_value=1, max_value=10_000), st.data())
def test_the_numbers_shown_keep_the_ends_and_the_neighbours(pages, data):
    number = data.draw(st.integers(min_value=1, max_value=pages))
    shown = window(number, pages)
    numbers = [n for n in shown if n is not None]
    assert numbers == sorted(set(numbers))
    assert {1, pages, number} <= set(numbers)
    assert set(range(max(1, number - 2), min(pages, number + 2) + 1)) <= set(numbers)
    # "…" stands for two or more numbers, never one, and never opens or closes the row.
    assert shown[0] == 1 and shown[-1] == pages
    for before, gap, after in zip(shown, shown[1:], shown[2:], strict=False):
        if gap is None:
            assert after - before > 2
    for before, after in itertools.pairwise(shown):
        if before is not None and after is not None:
            assert after == before + 1
    assert len(shown) <= 9


@pytest.mark.app
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2", 2),
        ("", 1),
        ("abc", 1),
        ("-3", 1),
        ("0", 1),
        ("2.5", 1),
        ("１", 1),  # a full-width digit is not a page number
        ("99999999999999999999999", 3),
        ("7", 3),
    ],
)
def test_a_bad_page_number_in_the_address_reads_as_a_page(app, raw, expected):
    with app.test_request_context("/inbox", query_string={"page": raw}):
        assert paginate(list(range(120)), per_page=50).number == expected


@pytest.mark.app
def test_links_keep_the_other_query_arguments_and_the_anchor(app):
    query = "state=absent&state=exempt&missing_page=2&page=4&q=%E4%B8%83"
    with app.test_request_context(f"/coverage/schools/3/campaigns/5?{query}"):
        page = paginate(list(range(500)), per_page=50, param="missing_page", anchor="missing")
        assert page.number == 2
        link = urlsplit(page.url(3))
        assert link.path == "/coverage/schools/3/campaigns/5" and link.fragment == "missing"
        assert parse_qsl(link.query) == [
            ("state", "absent"),
            ("state", "exempt"),
            ("page", "4"),
            ("q", "七"),
            ("missing_page", "3"),
        ]
        # The first page drops its argument: one address per page.
        assert "missing_page" not in page.url(1)
