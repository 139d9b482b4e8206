"""The home page leads each role to its campaign pages, and shows a counselor how many
crisis alerts wait for acknowledgement."""

from __future__ import annotations

import re

from tests.conftest import login
from tests.wellbeing.campaigns.conftest import answer_all, target_of
from wellbeing.campaigns import services
from wellbeing.clock import utcnow


def test_counselor_home_counts_open_alerts(client, world, campaign):
    for key in ("A1-0", "A1-1"):
        target = target_of(campaign, world.students[key])
        answer_all(target, 0)
        services.autosave(target, "phq9", "phq9_9", 1)
        services.submit(target, utcnow())
    login(client, "counselor")
    page = client.get("/home").get_data(as_text=True)
    alerts_link = f'href="/schools/{world.schools["A"].id}/alerts"'
    assert alerts_link in page
    assert re.search(r'class="badge">2</span>', page)


def test_roles_with_campaigns_see_the_link_and_others_do_not(client, world):
    for username, sees in (
        ("admin", True),
        ("monitor", True),
        ("teacher", True),
        ("doctor", False),
        ("committee", False),
    ):
        login(client, username)
        page = client.get("/home").get_data(as_text=True)
        assert ('href="/campaigns/"' in page) is sees, username
        client.post("/logout")
