"""`undertone insights <name>` (table and --json) and `undertone api-token create|revoke`."""
from __future__ import annotations

import json

from click.testing import CliRunner

from integration.cli import main
from integration.store import api_tokens
from tests.integration.insights.dataset import L1, L3


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_json_answers_match_the_constructed_data(env_db, data):
    mix = json.loads(run("insights", "mix", "--days", "30", "--json").output)
    assert (mix["total"], mix["complaint_to_compliment"]) == (16, 5.5)
    lines = json.loads(run("insights", "lines", "--json").output)["lines"]
    assert [line["line"] for line in lines] == [L3, L1, "+13125550200", None]
    callbacks = json.loads(run("insights", "callbacks", "--line", L1, "--json").output)
    assert callbacks["total"] == 1 and callbacks["top_issue"] == "billing"
    change = json.loads(run("insights", "change", "--theme", "wait time", "--days", "14", "--json").output)
    assert change["verdict"] == "increased"


def test_readable_tables(env_db, data):
    output = run("insights", "themes", "--sentiment", "negative", "--limit", "3").output
    rows = output.splitlines()
    assert rows[0].startswith("themes: ") and "(UTC)" in rows[0]
    table = rows[rows.index(next(r for r in rows if r.strip().startswith("rank"))) + 1:]
    assert [r.split()[1] for r in table] == ["wait", "billing", "scheduling"]
    customers = run("insights", "customers").output
    assert "Ann Angry" in customers and "I was charged twice" in customers
    assert "(none)" in run("insights", "unanswered", "--since", "2020-01-01", "--until", "2020-01-02").output


def test_bad_option_names_the_option(env_db):
    result = CliRunner().invoke(main, ["insights", "mix", "--days", "7", "--since", "2026-01-01"])
    assert result.exit_code == 2 and "--days" in result.output


def test_api_token_create_prints_the_token_alone_on_the_last_line_and_revoke_works(env_db, settings):
    from integration.store.db import Database

    output = run("api-token", "create", "laptop").output
    token = output.rstrip("\n").splitlines()[-1]
    assert token.startswith("ut_") and " " not in token
    db = Database(settings.database_url)
    try:
        assert api_tokens.verify(db, token) is not None
        assert token not in str(api_tokens.names(db))  # only the hash is stored
        again = CliRunner().invoke(main, ["api-token", "create", "laptop"])
        assert again.exit_code == 1 and "exists" in again.output
        assert "revoked" in run("api-token", "revoke", "laptop").output
        assert api_tokens.verify(db, token) is None
    finally:
        db.dispose()


def test_refresh_catches_up_once_and_rebuild_re_reads_everything(env_db, data):
    first = run("insights", "refresh")
    assert first.exit_code == 0 and first.output.startswith("re-read 16 interactions")
    assert run("insights", "refresh").output.startswith("re-read 0 interactions")
    assert run("insights", "refresh", "--rebuild").output.startswith("re-read 16 interactions")
    callbacks = json.loads(run("insights", "callbacks", "--line", L1, "--json").output)
    assert callbacks["total"] == 1 and callbacks["recurring_themes"] == [{"theme": "billing", "pairs": 1}]
