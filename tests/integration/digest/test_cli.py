"""`undertone digest --preview` prints the digest; `--send [--to ...]` sends it now, once per week and destination."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from integration.cli import main
from tests.integration.insights import dataset
from tests.servers.slack import SlackServer


@pytest.fixture
def env(monkeypatch, settings):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    for name in ("HUBSPOT_ACCESS_TOKEN", "TIMEZONE", "SLACK_WEBHOOK_URL", "SMTP_URL", "NOTION_TOKEN",
                 "DIGEST_DESTINATIONS", "DIGEST_SCHEDULE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_preview_prints_every_part(db, env):
    dataset.build(db)
    result = CliRunner().invoke(main, ["digest", "--preview", "--week", "2026-W48"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Undertone weekly digest, 2026-W48\n")
    for heading in ("Sentiment mix, this week against last", "Week-over-week trend", "Top five themes",
                    "Issues ranked across negative interactions", "Customers who expressed frustration",
                    "Negative customers not heard back within 7 days", "Callbacks within 48 hours",
                    "Spiking issues", "What customers praised", "Per line", "Per agent", "No one left waiting"):
        assert f"\n{heading}" in result.output
    html = CliRunner().invoke(main, ["digest", "--preview", "--html", "--week", "2026-11-25"])
    assert html.exit_code == 0 and html.output.startswith("<!doctype html>")
    bad = CliRunner().invoke(main, ["digest", "--week", "soon"])
    assert bad.exit_code == 2 and "2026-W48" in bad.output


def test_send_now_once_and_a_clear_error_without_a_destination(db, env):
    dataset.build(db)
    nowhere = CliRunner().invoke(main, ["digest", "--send"])
    assert nowhere.exit_code == 1 and "no configured destination" in nowhere.output
    with SlackServer() as slack:
        env.setenv("SLACK_WEBHOOK_URL", slack.hook_url())
        first = CliRunner().invoke(main, ["digest", "--send", "--to", "slack", "--week", "2026-W48"])
        again = CliRunner().invoke(main, ["digest", "--send", "--to", "slack", "--week", "2026-W48"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output) == {"week": "2026-W48", "deliveries": {"slack": "sent"}}
    assert json.loads(again.output)["deliveries"]["slack"].startswith("skipped")
    assert len(slack.messages) == 1
