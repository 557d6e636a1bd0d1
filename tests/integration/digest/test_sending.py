"""Sending the digest: once per (week, destination) however often the scheduler runs, and every destination's
failure modes against the local Slack, SMTP and Notion servers (refused for good, or retried after a backoff)."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from pydantic import SecretStr
from rq import Queue, SimpleWorker
from sqlalchemy import select

from integration import defaults
from integration.digest import sending
from integration.store.models import DigestSend, utcnow
from tests.integration.insights import dataset
from tests.servers.notion import NotionServer
from tests.servers.slack import SlackServer
from tests.servers.smtp import SMTPServer
from workers import context


@pytest.fixture
def servers(monkeypatch):
    with SlackServer() as slack, SMTPServer() as smtp, NotionServer() as notion:
        monkeypatch.setenv("SSL_CERT_FILE", str(smtp.cert_path))  # the default TLS context trusts the test CA
        slack.url = slack.hook_url()
        yield slack, smtp, notion


def configured(settings, slack, smtp, notion, **changes):
    values = dict(slack_webhook_url=SecretStr(slack.url), smtp_url=SecretStr(smtp.url()),
                  digest_email_to="team@example.com", digest_email_from="undertone@example.com",
                  notion_token=SecretStr(notion.token), notion_database_id=notion.database_id,
                  notion_api_base=notion.base_url, digest_destinations="slack,email,notion",
                  public_base_url="https://undertone.example")
    return settings.model_copy(update={**values, **changes})


def rows(db) -> dict[str, DigestSend]:
    with db.session() as session:
        found = {r.destination: r for r in session.scalars(select(DigestSend))}
        session.expunge_all()
    return found


def test_two_scheduler_runs_send_each_destination_once(db, redis_conn, settings, servers, worker_env):
    slack, smtp, notion = servers
    dataset.build(db)
    for name, value in (("SLACK_WEBHOOK_URL", slack.url), ("SMTP_URL", smtp.url()),
                        ("DIGEST_EMAIL_TO", "team@example.com"), ("DIGEST_EMAIL_FROM", "undertone@example.com"),
                        ("NOTION_TOKEN", notion.token), ("NOTION_DATABASE_ID", notion.database_id),
                        ("NOTION_API_BASE", notion.base_url), ("PUBLIC_BASE_URL", "https://undertone.example")):
        worker_env.setenv(name, value)
    context.reset()
    queue = Queue(defaults.CRM_QUEUE, connection=redis_conn)
    first = queue.enqueue("workers.jobs.send_digest_if_due")
    second = queue.enqueue("workers.jobs.send_digest_if_due")  # the scheduler ran twice
    SimpleWorker([defaults.CRM_QUEUE], connection=redis_conn).work(burst=True)
    queue.enqueue("workers.jobs.send_digest_if_due")  # and once more, later
    SimpleWorker([defaults.CRM_QUEUE], connection=redis_conn).work(burst=True)
    assert len(slack.messages) == len(smtp.messages) == len(notion.pages) == 1
    assert first.latest_result().return_value["deliveries"] == {"slack": "sent", "email": "sent", "notion": "sent"}
    assert second.latest_result().return_value["status"] == "nothing to send"
    week = sending.due_week(context.runtime().settings)
    assert {(r.week, r.status, r.attempts) for r in rows(db).values()} == {(week, "sent", 1)}
    assert slack.messages[0]["blocks"][0]["text"]["text"] == f"Undertone weekly digest, {week}"
    assert rows(db)["slack"].summary["interactions"] >= 0


def test_concurrent_sends_claim_once(db, settings, servers):
    slack, smtp, notion = servers
    settings = configured(settings, slack, smtp, notion, digest_destinations="slack")
    results = []
    threads = [threading.Thread(target=lambda: results.append(sending.send(db, settings, "2026-W48", ["slack"])))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = sorted(r["deliveries"]["slack"] for r in results)
    assert outcomes == ["sent"] + ["skipped: sent already or being sent"] * 3
    assert len(slack.messages) == 1
    assert sending.send(db, settings, "2026-W48", ["slack"])["deliveries"]["slack"].startswith("skipped")


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_slack_refusals_are_recorded_and_not_retried_by_the_scheduler(db, settings, servers, status):
    slack, smtp, notion = servers
    url = slack.hook_url()
    if status == 400:
        slack.fail_next(400)
    elif status == 404:
        url += "x"  # no such hook
    else:
        slack.revoke(url, status)
    settings = configured(settings, slack, smtp, notion, slack_webhook_url=SecretStr(url), digest_destinations="slack")
    result = sending.scheduled(db, settings)
    assert result["deliveries"]["slack"].startswith(f"refused: {status}")
    row = rows(db)["slack"]
    assert row.status == "refused" and str(status) in row.last_error and url.rsplit("/", 1)[-1] not in row.last_error
    assert sending.scheduled(db, settings, utcnow() + timedelta(days=1))["status"] == "nothing to send"
    fixed = configured(settings, slack, smtp, notion, digest_destinations="slack")  # a live hook again
    week = result["week"]
    assert sending.send(db, fixed, week, ["slack"])["deliveries"] == {"slack": "sent"}  # `digest --send` retries
    assert len(slack.messages) == 1


def test_slack_rate_limit_is_retried_after_the_backoff_and_sent_once(db, settings, servers):
    slack, smtp, notion = servers
    settings = configured(settings, slack, smtp, notion, digest_destinations="slack")
    slack.fail_next(429, retry_after=30)
    assert sending.scheduled(db, settings)["deliveries"]["slack"].startswith("failed: 429")
    assert rows(db)["slack"].status == "failed"
    assert sending.scheduled(db, settings)["status"] == "nothing to send"  # inside the backoff
    later = utcnow() + timedelta(seconds=sending.RETRY_AFTER_S[0] + 1)
    assert sending.scheduled(db, settings, later)["deliveries"] == {"slack": "sent"}
    assert sending.scheduled(db, settings, later + timedelta(hours=1))["status"] == "nothing to send"
    assert len(slack.messages) == 1 and rows(db)["slack"].attempts == 2


def test_smtp_login_failure_is_refused_without_the_password(db, settings, servers):
    slack, smtp, notion = servers
    settings = configured(settings, slack, smtp, notion, smtp_url=SecretStr(smtp.url(password="not-the-pass-77")),
                          digest_destinations="email")
    result = sending.scheduled(db, settings)
    assert result["deliveries"]["email"].startswith("refused") and "SMTP login refused: 535" in result["deliveries"]["email"]
    row = rows(db)["email"]
    assert row.status == "refused" and "not-the-pass-77" not in row.last_error
    assert smtp.messages == [] and smtp.logins and all(not ok for _, ok in smtp.logins)  # smtplib tries PLAIN, LOGIN


def test_email_is_html_with_a_plain_text_alternative(db, settings, servers):
    slack, smtp, notion = servers
    dataset.build(db)
    settings = configured(settings, slack, smtp, notion, digest_destinations="email")
    assert sending.scheduled(db, settings)["deliveries"] == {"email": "sent"}
    (message,) = smtp.messages
    plain, html = message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()
    assert "Sentiment mix, this week against last" in plain and "Per agent" in plain
    assert "<h2" in html and "bgcolor=" in html and "<script" not in html
    assert "https://undertone.example/admin/interactions/" in html


@pytest.mark.parametrize("status, outcome", [(401, "refused"), (429, "failed"), (400, "refused")])
def test_notion_failures(db, settings, servers, status, outcome):
    slack, smtp, notion = servers
    changes = {"digest_destinations": "notion"}
    if status == 401:
        changes["notion_token"] = SecretStr("secret_wrong_token")
    elif status == 429:
        notion.fail_next("/v1/pages", 429, headers={"Retry-After": "2"},
                         body={"object": "error", "status": 429, "code": "rate_limited", "message": "slow down"})
    else:
        notion.fail_next("/v1/pages", 400, body={"object": "error", "status": 400, "code": "validation_error",
                                                 "message": "body failed validation"})
    settings = configured(settings, slack, smtp, notion, **changes)
    result = sending.scheduled(db, settings)
    assert result["deliveries"]["notion"].startswith(f"{outcome}: {status}")
    row = rows(db)["notion"]
    assert row.status == outcome and "secret_wrong_token" not in row.last_error and notion.pages == []
    later = utcnow() + timedelta(seconds=sending.RETRY_AFTER_S[0] + 1)
    retried = sending.scheduled(db, settings, later)
    if outcome == "failed":
        assert retried["deliveries"] == {"notion": "sent"} and len(notion.pages) == 1
    else:
        assert retried["status"] == "nothing to send" and notion.pages == []


def test_no_destination_configured_sends_nothing(db, settings):
    assert sending.destinations(settings) == []
    assert sending.scheduled(db, settings)["status"] == "nothing to send"
    assert rows(db) == {}
