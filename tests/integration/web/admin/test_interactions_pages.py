"""/admin/interactions and /admin/interactions/<id> on both databases: filters, keyset pages, the detail
(turns, flags, themes, CRM, raw events with secrets hidden) and correcting the label (stored, refused for
viewers and bad labels, followed by the CRM sink through a real worker)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from integration.store.models import Contact, Interaction, LabelCorrection, SinkContact
from tests.integration.web.admin.console import make_user, post, sign_in
from tests.integration.web.admin.interactions_data import SECRET, T0, add, contact, say
from tests.workers.helpers import drain

REFUND = [{"rule": "refund", "reason": "asked for a refund", "evidence": "I want a refund"}]
LEGAL = [{"rule": "legal", "reason": "mentioned a lawyer", "evidence": "my lawyer"}]


def ids_on(page: str) -> list[int]:
    """Interaction ids linked from a list page, in order."""
    return [int(i) for i in re.findall(r'href="/admin/interactions/(\d+)"', page)]


@pytest.fixture
def db(app):
    return app.extensions["undertone"].db


@pytest.fixture
def admin(app, client):
    sign_in(client, make_user(app))
    return client


def test_every_filter_narrows_the_list(admin, db):
    dana = contact(db)
    a = add(db, 1, text="I want a refund now", flags=REFUND, themes=["billing"], line="+15550001", agent="quo:U1",
            contact_id=dana)
    b = add(db, 2, source="zendesk", channel="ticket", label="positive", score=0.7, text="Thank you, great work",
            themes=["staff"])
    c = add(db, 3, channel="sms", label="neutral", score=0.0, text="When do you open?", flags=LEGAL,
            at=T0 - timedelta(days=10))
    d = add(db, 4, label=None, text="hello")  # not scored yet: listed, but never by a score filter
    everything = ids_on(admin.get("/admin/interactions/").get_data(as_text=True))
    assert everything == [a, b, d, c]  # newest first
    cases = {"source=zendesk": [b], "channel=sms": [c], "line=%2B15550001": [a], "agent=quo:U1": [a],
             "sentiment=positive": [b], "sentiment=negative": [a], "flag=any": [a, c], "flag=legal": [c],
             "theme=billing": [a], "text=REFUND": [a], "text=thank": [b],
             "since=2026-11-09&until=2026-11-11": [c], "source=quo&flag=any&text=open": [c]}
    for args, expected in cases.items():
        answer = admin.get(f"/admin/interactions/?{args}")
        assert answer.status_code == 200, args
        assert ids_on(answer.get_data(as_text=True)) == expected, args
    page = admin.get("/admin/interactions/").get_data(as_text=True)
    assert 'value="billing"' in page and 'value="refund"' in page and 'value="zendesk"' in page  # the choices


def test_bad_filters_are_refused_with_a_clear_message(admin, db):
    add(db, 1)
    for args, message in (("until=2026-11-01", "To: give From as well"), ("since=yesterday", "From:"),
                          ("flag=Not+a+rule!", "Flag:"), ("text=a", "Words:"), ("sentiment=angry", "Sentiment:")):
        answer = admin.get(f"/admin/interactions/?{args}")
        page = answer.get_data(as_text=True)
        assert answer.status_code == 400, args
        assert message in page and ids_on(page) == [], args


def test_pages_walk_older_and_back_newer_by_keyset(admin, db, monkeypatch):
    from integration import defaults

    monkeypatch.setattr(defaults, "ADMIN_PAGE_SIZE", 50)
    same_minute = T0 - timedelta(hours=1)
    ids = [add(db, n, at=same_minute if n % 3 == 0 else None) for n in range(120)]  # ties on time are ordered by id
    with db.session() as session:
        expected = [row.id for row in sorted(session.scalars(select(Interaction)),
                                             key=lambda r: (r.occurred_at, r.id), reverse=True)]
    assert sorted(expected) == sorted(ids)
    for start in ("/admin/interactions/?channel=call", "/admin/interactions/?text=FINE"):  # by index; by scan
        seen, url, pages = [], start, []
        while url:
            page = admin.get(url).get_data(as_text=True)
            pages.append(page)
            seen += ids_on(page)
            older = re.search(r'href="([^"]+)" rel="next"', page)
            url = older.group(1).replace("&amp;", "&") if older else None
            assert start.split("?")[1] in (url or start)  # the filters travel with the page
        assert seen == expected and len(pages) == 3, start
        newer = re.search(r'href="([^"]+)" rel="prev"', pages[2]).group(1).replace("&amp;", "&")
        assert ids_on(admin.get(newer).get_data(as_text=True)) == expected[50:100], start
        assert 'rel="prev"' not in pages[0]


def test_the_detail_shows_turns_scores_flags_themes_crm_and_raw_events_with_secrets_hidden(
        admin, app, db, redis_conn, worker_env, settings):
    settings.generic_webhook_secret = SecretStr(SECRET)
    say(admin, "This is ridiculous, I want a refund <script>alert(1)</script>", thread="th-1",
        extra={"api_token": "tok-do-not-show", "note": f"copy of {SECRET}"})
    drain(redis_conn)
    with db.session() as session:
        interaction = session.scalars(select(Interaction)).one()
    answer = admin.get(f"/admin/interactions/{interaction.id}")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "refund" in page and "label-negative" in page  # the turn with its score, the flag
    assert "Written to the CRM" in page and "undertone_sentiment" in page  # the sink's properties
    assert "Undertone: " in page  # the note's text
    assert "tok-do-not-show" not in page and SECRET not in page and SECRET.removeprefix("whsec_") not in page
    assert "[hidden]" in page and "webhook-signature" in page
    assert admin.get("/admin/interactions/999999").status_code == 404


def test_an_admin_corrects_the_label_and_the_crm_sink_follows(admin, app, db, redis_conn, worker_env, settings):
    settings.generic_webhook_secret = SecretStr(SECRET)
    settings.crm_flush_delay_s = 0  # the burst worker runs no scheduled jobs
    say(admin, "Terrible, the leak is worse and nobody called me back. Awful.")
    drain(redis_conn)
    with db.session() as session:
        interaction = session.scalars(select(Interaction)).one()
        assert interaction.score.label == "negative"
        model_score = interaction.score.score
        sink = session.scalar(select(SinkContact).where(SinkContact.contact_id == interaction.contact_id))
        assert sink.properties["undertone_sentiment"] in ("negative", "very_negative")
    path = f"/admin/interactions/{interaction.id}"
    answer = post(admin, f"{path}/label", {"label": "positive", "note": "sarcasm: they were joking"}, token_from=path)
    assert answer.status_code == 302
    with db.session() as session:
        stored = session.scalars(select(LabelCorrection)).one()
        assert (stored.old_label, stored.new_label, stored.user_email, stored.note) == (
            "negative", "positive", "owner@example.com", "sarcasm: they were joking")
        score = session.get(Interaction, interaction.id).score
        assert (score.label, score.model_label, score.model_score) == ("positive", "negative", model_score)
        assert score.score > 0 and score.intensity == "positive"
    drain(redis_conn)  # the flush the correction asked for, by a real worker
    with db.session() as session:
        sink = session.scalar(select(SinkContact).where(SinkContact.contact_id == interaction.contact_id))
        assert sink.properties["undertone_sentiment"] == "positive"
        assert sink.properties["undertone_negative_count_30d"] == "0"
        contact_row = session.get(Contact, interaction.contact_id)
        assert contact_row.synced_at >= contact_row.needs_sync_at
    page = admin.get(path).get_data(as_text=True)
    assert "Label corrected from negative to positive." in page
    assert "the scorer said negative" in page and "sarcasm: they were joking" in page
    # A second correction keeps the history; the latest applies.
    post(admin, f"{path}/label", {"label": "neutral"}, token_from=path)
    with db.session() as session:
        assert session.scalar(select(LabelCorrection.new_label).order_by(LabelCorrection.id.desc()).limit(1)) == "neutral"
        assert len(session.scalars(select(LabelCorrection)).all()) == 2
        assert session.get(Interaction, interaction.id).score.label == "neutral"


def test_the_corrected_label_is_what_the_insights_count(admin, app, db):
    from integration.insights import registry
    from integration.insights.params import MixQuery

    a = add(db, 1, at=T0 + timedelta(days=5))
    add(db, 2, at=T0 + timedelta(days=5))
    settings = app.extensions["undertone"].settings

    def mix() -> dict:
        return registry.answer("mix", MixQuery(since=(T0 + timedelta(days=4)).date()), db, settings,
                               now=T0 + timedelta(days=6))["counts"]

    assert mix() == {"positive": 0, "neutral": 0, "negative": 2}
    path = f"/admin/interactions/{a}"
    post(admin, f"{path}/label", {"label": "positive"}, token_from=path)
    assert mix() == {"positive": 1, "neutral": 0, "negative": 1}
    listed = admin.get("/admin/interactions/?sentiment=positive").get_data(as_text=True)
    assert ids_on(listed) == [a] and "0.05, corrected" in listed


@pytest.mark.parametrize("label", ["", "angry", "POSITIVE!"])
def test_a_bad_label_is_refused_with_a_clear_message_and_nothing_changes(admin, db, label):
    a = add(db, 1)
    path = f"/admin/interactions/{a}"
    answer = post(admin, f"{path}/label", {"label": label}, token_from=path)
    assert answer.status_code == 400
    assert "The label must be one of negative, neutral, positive" in answer.get_data(as_text=True)
    with db.session() as session:
        assert session.scalars(select(LabelCorrection)).all() == []
        score = session.get(Interaction, a).score
        assert (score.label, score.model_label, score.score) == ("negative", None, -0.5)


def test_an_unscored_interaction_cannot_be_corrected(admin, db):
    a = add(db, 1, label=None)
    answer = post(admin, f"/admin/interactions/{a}/label", {"label": "positive"}, token_from=f"/admin/interactions/{a}")
    assert answer.status_code == 400 and "has not been scored yet" in answer.get_data(as_text=True)
    assert post(admin, "/admin/interactions/424242/label", {"label": "positive"}).status_code == 404


def test_a_viewer_sees_the_pages_but_cannot_correct(app, client, db):
    make_user(app)
    sign_in(client, make_user(app, "viewer@example.com", "viewer"))
    a = add(db, 1)
    path = f"/admin/interactions/{a}"
    page = client.get(path).get_data(as_text=True)
    assert "only an admin can change it" in page and "Save the label" not in page
    assert client.get("/admin/interactions/").status_code == 200
    assert post(client, f"{path}/label", {"label": "positive"}, token_from=path).status_code == 403
    with db.session() as session:
        assert session.scalars(select(LabelCorrection)).all() == []
        assert session.get(Interaction, a).score.label == "negative"


def test_the_pages_need_a_sign_in(client, db):
    a = add(db, 1)
    for path in ("/admin/interactions/", f"/admin/interactions/{a}"):
        answer = client.get(path)
        assert answer.status_code == 302 and "/admin/login" in answer.headers["Location"]


def test_a_tagged_help_desk_ticket_is_queued_for_new_tags(admin, db, redis_conn):
    from rq import Queue

    from integration import defaults

    a = add(db, 1, source="zendesk", channel="ticket")
    with db.session() as session:
        session.get(Interaction, a).helpdesk_tags = ["sentiment_negative"]
    b = add(db, 2, source="zendesk", channel="ticket")  # never tagged (no help-desk credentials then): left alone
    for interaction_id in (a, b):
        path = f"/admin/interactions/{interaction_id}"
        assert post(admin, f"{path}/label", {"label": "positive"}, token_from=path).status_code == 302
    queued = Queue(defaults.CRM_QUEUE, connection=redis_conn).job_ids
    assert [j for j in queued if j.startswith(f"tag-{a}-")] and not [j for j in queued if j.startswith(f"tag-{b}-")]


def test_without_redis_the_correction_is_kept_and_the_sweep_will_sync_it(admin, db, monkeypatch):
    from redis.exceptions import ConnectionError as RedisDown

    from integration.web.admin import interactions

    def down(*_args, **_kwargs):
        raise RedisDown("Redis is down (test)")

    monkeypatch.setattr(interactions.queues, "request_flush", down)
    dana = contact(db)
    a = add(db, 1, contact_id=dana)
    path = f"/admin/interactions/{a}"
    answer = post(admin, f"{path}/label", {"label": "neutral"}, token_from=path)
    assert answer.status_code == 302
    assert "The CRM will follow when the queue is back" in admin.get(path).get_data(as_text=True)
    with db.session() as session:
        assert session.get(Interaction, a).score.label == "neutral"
        assert session.get(Contact, dana).needs_sync_at is not None  # what the sweep looks for
