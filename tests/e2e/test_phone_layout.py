"""On a phone (390 px wide) the staff pages never scroll sideways: wide tables scroll in
their own box, and the top bar's links fold behind a menu toggle that needs no script.
Each role's pages are reached from its home page, one link deep."""

from __future__ import annotations

import pytest

from tests.e2e.test_journeys import log_in

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN"}
# Pages that are not staff pages to lay out (downloads, printing, the logout button).
SKIPPED = (".xlsx", ".csv", "/slips", "/notices", "/letters", "/logout", "/language/")


def _overflow(page) -> int:
    """How far the page reaches past the viewport's right edge, in CSS pixels."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


# The elements that reach past the right edge and are not inside a box that scrolls or
# clips within the viewport: what to fix when a page is too wide.
WIDE_ELEMENTS = """() => {
  const edge = window.innerWidth + 0.5, found = [];
  for (const element of document.querySelectorAll('body *')) {
    const box = element.getBoundingClientRect();
    if (box.right <= edge) continue;
    let parent = element.parentElement, contained = false;
    for (; parent; parent = parent.parentElement) {
      if (getComputedStyle(parent).overflowX !== 'visible'
          && parent.getBoundingClientRect().right <= edge) { contained = true; break; }
    }
    if (!contained) found.push(`${element.tagName.toLowerCase()}.${element.className}`
                               + `#${element.id} (${Math.round(box.width)} px)`);
  }
  return found.slice(0, 5);
}"""


def _links(page) -> list[str]:
    hrefs = page.locator("main a[href^='/']").evaluate_all("links => links.map(a => a.href)")
    return [h for h in dict.fromkeys(hrefs) if not any(s in h for s in SKIPPED)]


@pytest.mark.parametrize("username", ["teacher", "doctor", "counselor", "admin"])
def test_no_page_scrolls_sideways_on_a_phone(new_page, second_factors, username):
    page = new_page(**PHONE)
    log_in(page, username, second_factors)
    seen, wide = set(), []
    for first in [page.url, *_links(page)]:
        page.goto(first)
        for url in [page.url, *_links(page)][:12]:
            if url in seen:
                continue
            seen.add(url)
            response = page.goto(url)
            if response is None or response.status != 200:
                continue
            if _overflow(page) > 0:
                wide.append((url, _overflow(page), page.evaluate(WIDE_ELEMENTS)))
    assert len(seen) >= 4
    assert wide == [], f"pages wider than the phone: {wide}"


def test_the_menu_folds_on_a_phone_and_opens_without_script(new_page, second_factors):
    page = new_page(**PHONE, java_script_enabled=False)
    log_in(page, "teacher", second_factors)
    logout = page.get_by_role("button", name="退出登录")
    assert not logout.is_visible()
    page.locator("label.menu-button").click()
    assert logout.is_visible()
    assert page.locator("#topnav").get_by_role("link", name="消息").is_visible()


def test_the_menu_is_open_on_a_wide_screen(new_page, second_factors):
    page = new_page(viewport={"width": 1366, "height": 800}, locale="zh-CN")
    log_in(page, "teacher", second_factors)
    assert page.get_by_role("button", name="退出登录").is_visible()
    assert not page.locator("label.menu-button").is_visible()
