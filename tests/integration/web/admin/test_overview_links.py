"""The Overview's themes, praise, spikes and escalations link to the interactions list filtered as each answer
counted (theme, sentiment, flag, from the answer's first day), and following a link lists exactly those
interactions, on SQLite and PostgreSQL (the data set of tests/integration/insights, answers known by
construction)."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from bs4 import BeautifulSoup

from integration.insights.registry import answer
from integration.store.models import utcnow
from integration.web.admin import overview
from tests.integration.insights import dataset
from tests.integration.web.admin.console import make_user, sign_in


def ids_on(page: str) -> list[int]:
    """Interaction ids linked from a list page, in order (newest first)."""
    return [int(i) for i in re.findall(r'href="/admin/interactions/(\d+)"', page)]


def links(page: BeautifulSoup, selector: str) -> dict[str, str]:
    """Link text -> href of the links found by `selector`."""
    return {" ".join(a.get_text().split()): a["href"] for a in page.select(selector)}


def test_the_overview_links_to_the_interactions_it_counted(app, client, db, settings):
    ids = dataset.build(db)
    sign_in(client, make_user(app))
    home = client.get("/admin/")
    assert home.status_code == 200
    page = BeautifulSoup(home.get_data(as_text=True), "html.parser")
    now = utcnow()
    first = {key: answer(name, query, db, settings, now)["window"]["first_day"]
             for key, (name, query) in overview.asks(settings.tzinfo, now).items()}
    i = lambda *keys: [ids[f"I-{k}"] for k in keys]  # noqa: E731

    # What each link asks for, and the interactions it must list (newest first), by the data set's construction.
    expected = {
        "#themes > li .theme a": {
            "billing": ({"theme": "billing", "since": first["themes"]}, i("C1", "C2", "C8", "C6b", "C6")),
            "wait time": ({"theme": "wait time", "since": first["themes"]}, i("C2", "S1", "S2", "S3", "S4", "S5")),
            "scheduling": ({"theme": "scheduling", "since": first["themes"]}, i("C3", "C7")),
            "staff": ({"theme": "staff", "since": first["themes"]}, i("C4", "C7b"))},
        "#praise > li .theme a": {
            "staff": ({"theme": "staff", "sentiment": "positive", "since": first["praise"]}, i("C4", "C7b"))},
        "#spikes > li .theme a": {
            "wait time": ({"theme": "wait time", "sentiment": "negative", "since": first["spikes"]},
                          i("C2", "S1", "S2", "S3", "S4", "S5"))},
        "#escalations a.flag-link": {
            "refund: every conversation so flagged in the last 14 days": (
                {"flag": "refund", "since": first["escalations"]}, i("C1"))},
        "#escalations-all": {
            "Every flagged conversation of the last 14 days": ({"flag": "any", "since": first["escalations"]},
                                                              i("C1"))},
    }
    for selector, wanted in expected.items():
        found = links(page, selector)
        assert set(found) == set(wanted), selector
        for name, (filters, rows) in wanted.items():
            href = found[name]
            assert urlsplit(href).path == "/admin/interactions/"
            assert {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()} == filters, (selector, name)
            listed = client.get(href)
            assert listed.status_code == 200, href
            assert ids_on(listed.get_data(as_text=True)) == rows, (selector, name)

    # The rows listed are as many as the overview's figures say.
    for key in ("themes", "praise"):
        for li in page.select(f"#{key} > li"):
            shown = client.get(li.select_one(".theme a")["href"]).get_data(as_text=True)
            assert len(ids_on(shown)) == int(li.select_one(".figure").get_text()), (key, li.get_text())
