"""The Overview and the contacts pages through the Flask test client, on SQLite and PostgreSQL: the overview's
figures are the insights' answers; contacts page by index without repeating or skipping anyone."""
from __future__ import annotations

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup

from integration import defaults
from integration.insights.registry import answer
from integration.store.models import Contact, ContactIdentity, CrmWrite, Interaction, InteractionScore, Touch, utcnow
from integration.web.admin import overview
from tests.integration.insights import dataset
from tests.integration.web.admin.console import make_user, sign_in


def soup(client, path: str, status: int = 200) -> BeautifulSoup:
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def text(page: BeautifulSoup, selector: str) -> str:
    found = page.select_one(selector)
    assert found is not None, selector
    return " ".join(found.get_text(" ").split())


def pct(value) -> str:
    return "—" if value is None else f"{value:.1f}%"


def test_the_overview_shows_the_insights_answers(app, client, db, settings):
    ids = dataset.build(db)
    sign_in(client, make_user(app))
    page = soup(client, "/admin/")
    now = utcnow()
    expected = {key: answer(name, query, db, settings, now) for key, (name, query) in
                overview.asks(settings.tzinfo, now).items()}
    for key in ("this_week", "last_week"):
        mix = expected[key]
        assert text(page, f"#{key}-total") == str(mix["total"])
        for label in ("positive", "neutral", "negative"):
            assert text(page, f"#{key}-{label}-n") == str(mix["counts"][label])
            assert text(page, f"#{key}-{label}-pct") == pct(mix["percent"][label])
        ratio = mix["complaint_to_compliment"]
        assert text(page, f"#{key}-ratio") == ("— (no compliments)" if ratio is None else f"{ratio:.2f}")
    assert expected["this_week"]["total"] + expected["last_week"]["total"] > 0  # the data set is seen
    assert text(page, "#trend-verdict") == expected["trend"]["verdict"]
    rows = page.select("#trend-table tbody tr")
    assert len(rows) == len(expected["trend"]["weeks"]) == overview.TREND_WEEKS
    assert [int(r.select("td")[0].get_text()) for r in rows] == [w["interactions"] for w in expected["trend"]["weeks"]]
    chart = page.select_one("svg#trend-chart")
    assert chart["role"] == "img" and chart.select_one("title").get_text() and chart.select_one("desc").get_text()
    assert len(chart.select("circle.dot")) == sum(1 for w in expected["trend"]["weeks"] if w["interactions"])
    assert [li.select_one(".theme").get_text() for li in page.select("#themes > li")] == [
        t["theme"] for t in expected["themes"]["themes"]]
    assert [li.select_one(".figure").get_text() for li in page.select("#themes > li")] == [
        str(t["interactions"]) for t in expected["themes"]["themes"]]
    assert [li.select_one(".theme").get_text() for li in page.select("#praise > li")] == [
        t["theme"] for t in expected["praise"]["themes"]] == ["staff"]
    assert [(li.select_one(".theme").get_text(), li.select_one(".figure").get_text())
            for li in page.select("#spikes > li")] == [("wait time", "6")]
    waiting = [a["href"] for a in page.select("#unanswered > li > a:first-child")]
    assert waiting == [f"/admin/contacts/{c['contact_id']}" for c in expected["unanswered"]["customers"]]
    assert waiting == [f"/admin/contacts/{ids['C1']}", f"/admin/contacts/{ids['C3']}"]
    escalations = page.select("#escalations > li")
    assert len(escalations) == len(expected["escalations"]["escalations"]) == 1
    assert f'/admin/interactions/{ids["I-C1"]}' in str(escalations[0]) and "asked for a refund" in str(escalations[0])


def test_the_overview_with_no_data_says_so(app, client):
    sign_in(client, make_user(app))
    page = soup(client, "/admin/")
    assert text(page, "#this_week-total") == "0" and text(page, "#this_week-ratio") == "— (no compliments)"
    assert text(page, "#trend-verdict") == "not enough data"
    assert text(page, "#escalations") == "None open." and text(page, "#unanswered") == "Nobody is waiting."
    assert page.select("svg#trend-chart circle") == []


def test_console_pages_need_a_sign_in(client):
    for path in ("/admin/", "/admin/contacts/", "/admin/contacts/1"):
        assert client.get(path).headers["Location"].startswith("/admin/login")


def people(db, count: int) -> list[int]:
    """`count` contacts, contact n last active n hours ago (so newest first is the order made); every third
    also has an older interaction, which must not list them twice."""
    now, ids = utcnow(), []
    with db.session() as s:
        for n in range(count):
            contact = Contact(name=f"Person {n:02d}")
            s.add(contact)
            s.flush()
            ids.append(contact.id)
            times = [now - timedelta(hours=n + 1)] + ([now - timedelta(days=30 + n)] if n % 3 == 0 else [])
            for k, at in enumerate(times):
                it = Interaction(source="quo", thread_key=f"p{n}-{k}", contact_id=contact.id, channel="call",
                                 occurred_at=at, source_ids={})
                s.add(it)
                s.flush()
                s.add(score(it.id, "negative" if k else "positive", -0.5 if k else 0.5))
    return ids


def score(interaction_id: int, label: str, value: float) -> InteractionScore:
    return InteractionScore(interaction_id=interaction_id, scorer="lexicon", basis="customer_turns", label=label,
                            score=value, intensity="moderate", confidence=0.9, signals=[], turn_scores=[],
                            flags=[], themes=[], trajectory="single", content_hash=str(interaction_id))


def listed(page: BeautifulSoup) -> list[int]:
    return [int(row["id"].removeprefix("contact-")) for row in page.select("#contacts tbody tr")]


def test_contacts_page_newest_activity_first_without_repeats(app, client, db, monkeypatch):
    monkeypatch.setattr(defaults, "ADMIN_PAGE_SIZE", 4)
    ids = people(db, 11)
    sign_in(client, make_user(app))
    seen, path, pages = [], "/admin/contacts/", 0
    while path:
        page = soup(client, path)
        seen += listed(page)
        following = page.select_one("a[rel=next]")
        path = following["href"] if following else None
        pages += 1
    assert seen == ids and pages == 3
    first = soup(client, "/admin/contacts/")
    row = first.select_one(f"#contact-{ids[0]}")
    assert "positive" in row.get_text() and "Not synced yet" in row.get_text()


def test_contacts_search_by_email_phone_id_and_name(app, client, db, monkeypatch):
    ids = people(db, 5)
    with db.session() as s:
        s.add_all([ContactIdentity(contact_id=ids[1], kind="email", value="dana@example.com"),
                   ContactIdentity(contact_id=ids[2], kind="phone", value="+13125550147")])
    sign_in(client, make_user(app))
    assert listed(soup(client, "/admin/contacts/?q=Dana@Example.com")) == [ids[1]]
    assert listed(soup(client, "/admin/contacts/?q=(312) 555-0147")) == [ids[2]]
    assert listed(soup(client, f"/admin/contacts/?q=%23{ids[3]}")) == [ids[3]]
    assert listed(soup(client, "/admin/contacts/?q=person 0")) == ids[::-1]
    assert listed(soup(client, "/admin/contacts/?q=son 04")) == [ids[4]]
    assert listed(soup(client, "/admin/contacts/?q=50%25_off")) == []
    assert "No contact matches." in text(soup(client, "/admin/contacts/?q=nobody"), "#contacts")
    monkeypatch.setattr(defaults, "ADMIN_PAGE_SIZE", 2)
    page = soup(client, "/admin/contacts/?q=person")
    assert listed(page) == ids[:-3:-1]
    assert listed(soup(client, page.select_one("a[rel=next]")["href"])) == ids[2:0:-1]


@pytest.mark.parametrize("path, status", [
    ("/admin/contacts/?cursor=yesterday", 400), ("/admin/contacts/?cursor=2026-01-01T00:00:00~1~x", 400),
    ("/admin/contacts/?q=a&before=-3", 400), ("/admin/contacts/?q=" + "x" * 201, 400),
    ("/admin/contacts/999999", 404), ("/admin/contacts/abc", 404)])
def test_bad_contact_links_get_a_clear_answer(app, client, path, status):
    sign_in(client, make_user(app))
    page = soup(client, path, status)
    assert page.select_one("h1") is not None


def test_contact_page_shows_the_crm_error_the_trend_and_the_timeline(app, client, db, monkeypatch):
    now = utcnow()
    with db.session() as s:
        contact = Contact(name="Ann Angry", crm_id="hubspot:501", crm_status="error",
                          crm_error="Property values were not valid: undertone_sentiment")
        s.add(contact)
        s.flush()
        s.add(ContactIdentity(contact_id=contact.id, kind="phone", value="+13125550001"))
        made = []
        for n, value in enumerate((0.6, 0.3, 0.0, -0.4, -0.8)):
            it = Interaction(source="quo", thread_key=f"a{n}", contact_id=contact.id, channel="call",
                             direction="inbound", occurred_at=now - timedelta(days=10 - n), source_ids={},
                             turns=[{"speaker": "customer", "text": f"words {n}", "at": None}])
            s.add(it)
            s.flush()
            s.add(score(it.id, "negative" if value < -0.05 else "positive" if value > 0.05 else "neutral", value))
            made.append(it.id)
        s.add(Touch(contact_id=contact.id, source="quo", kind="outbound_text", occurred_at=now - timedelta(days=1),
                    external_id="t1", interaction_id=made[-1]))
        s.add(CrmWrite(contact_id=contact.id, crm="hubspot", operation="update_contact", idempotency_key="k1",
                       payload={}, status="done", created_at=now - timedelta(days=2)))
        contact_id = contact.id
    sign_in(client, make_user(app))
    page = soup(client, f"/admin/contacts/{contact_id}")
    assert text(page, "h1") == "Ann Angry"
    assert text(page, "#crm-status") == "Error : Property values were not valid: undertone_sentiment"
    assert "update contact in hubspot, done" in text(page, "#crm-writes")
    assert "declining" in text(page, "#trend") and "negative (-0.80)" in text(page, "#latest")
    chart = page.select_one("svg#contact-chart")
    assert chart["role"] == "img" and len(chart.select("circle.dot")) == 5
    items = page.select("#timeline > li")
    assert [i.select_one(".kind").get_text() for i in items] == ["Text sent"] + ["Call"] * 5
    assert [a["href"] for a in page.select("#timeline > li > a")] == [
        f"/admin/interactions/{i}" for i in [made[-1]] + made[::-1]]
    monkeypatch.setattr(defaults, "ADMIN_PAGE_SIZE", 4)
    first = soup(client, f"/admin/contacts/{contact_id}")
    second = soup(client, first.select_one("#timeline-h ~ nav a[rel=next]")["href"])
    assert [a["href"] for a in first.select("#timeline a") + second.select("#timeline a")] == [
        a["href"] for a in page.select("#timeline a")]
    assert second.select_one("#timeline-h ~ nav a[rel=next]") is None
    listed_row = soup(client, "/admin/contacts/").select_one(f"#contact-{contact_id}").get_text(" ")
    assert "Error" in listed_row and "Property values were not valid" in listed_row and "declining" in listed_row


def test_a_viewer_sees_the_pages(app, client, db):
    people(db, 2)
    make_user(app)
    sign_in(client, make_user(app, "viewer@example.com", "viewer"))
    for path in ("/admin/", "/admin/contacts/"):
        assert client.get(path).status_code == 200
