"""`undertone import`: CSV and JSONL history through the same pipeline, idempotent and resumable."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from rq import Queue
from sqlalchemy import func, select

from integration import backfill, defaults
from integration.cli import main
from integration.models import Interaction, SinkContact, SinkTask, WebhookEvent

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"


def count(db, model, *where) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def run_import(*args: str):
    return CliRunner().invoke(main, ["import", *args], catch_exceptions=False)


def test_csv_rows_of_one_thread_become_one_interaction(db, worker_env):
    result = run_import(str(FIXTURES / "history.csv"), "--inline")
    assert result.exit_code == 0, result.output
    assert "5 rows: 5 new, 0 already imported" in result.output
    assert count(db, Interaction) == 3  # ticket-1 (three turns), a call, an SMS
    with db.session() as session:
        ticket = session.scalar(select(Interaction).where(Interaction.thread_key == "email:ticket-1"))
        assert [t["speaker"] for t in ticket.turns] == ["customer", "agent", "customer"]
        assert ticket.score.basis == "customer_turns" and ticket.score.turn_scores[-1]["label"] == "positive"
    # Old history updates the CRM properties but opens no follow-up task.
    assert count(db, SinkContact) == 2
    assert count(db, SinkTask) == 0


def test_importing_the_same_file_twice_adds_nothing(db, worker_env):
    assert run_import(str(FIXTURES / "history.jsonl"), "--inline").exit_code == 0
    before = (count(db, WebhookEvent), count(db, Interaction))
    again = run_import(str(FIXTURES / "history.jsonl"), "--inline")
    assert "3 rows: 0 new, 3 already imported; 0 waiting" in again.output
    assert (count(db, WebhookEvent), count(db, Interaction)) == before == (3, 3)


def test_an_invalid_row_imports_nothing_and_names_the_line(db, worker_env, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "fine"}\n{"id": "b", "channel": "fax", "text": "x"}\nnot json\n')
    result = CliRunner().invoke(main, ["import", str(bad)])
    assert result.exit_code != 0
    assert "line 2: channel must be one of" in result.output and "line 3: not valid JSON" in result.output
    assert "nothing was imported" in result.output
    assert count(db, WebhookEvent) == 0


def test_csv_with_unknown_columns_is_refused(db, worker_env, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,customer_words\n1,hello\n")
    result = CliRunner().invoke(main, ["import", str(bad)])
    assert result.exit_code != 0 and "unknown columns customer_words" in result.output


def test_queue_mode_hands_rows_to_workers_and_resumes(db, worker_env, redis_conn):
    rows = backfill.read_rows(FIXTURES / "history.jsonl")
    backfill.store(db, rows[:2])  # an earlier run stored two rows, then stopped before queueing
    result = run_import(str(FIXTURES / "history.jsonl"))
    assert "3 rows: 1 new, 2 already imported; 3 waiting to be scored" in result.output
    assert Queue(defaults.EVENTS_QUEUE, connection=redis_conn).count == 3


@pytest.mark.parametrize("name", ["history.csv", "history.jsonl"])
def test_row_ids_are_stable_across_reads(name):
    first = [r.event_id for r in backfill.read_rows(FIXTURES / name)]
    assert first == [r.event_id for r in backfill.read_rows(FIXTURES / name)]
    assert len(set(first)) == len(first)


def test_import_with_line_and_agent_columns(db, worker_env, tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text(
        "id,occurred_at,channel,direction,thread_id,contact_phone,speaker,text,line,line_name,agent,agent_name\n"
        "a1,2026-06-01T14:00:00Z,call,inbound,,+1 415 555 0123,customer,Nobody came.,+1 617 555 0100,Main,sam,Sam\n"
        "a2,2026-06-02T14:00:00Z,sms,inbound,,+1 415 555 0124,customer,All good thanks!,,,,\n")
    result = run_import(str(path), "--inline")
    assert result.exit_code == 0, result.output
    with db.session() as session:
        rows = {i.source_ids["id"]: (i.line, i.line_name, i.agent, i.agent_name)
                for i in session.scalars(select(Interaction))}
    assert rows == {"a1": ("+16175550100", "Main", "sam", "Sam"), "a2": (None, None, None, None)}


def test_jsonl_import_with_line_and_agent(db, worker_env, tmp_path):
    path = tmp_path / "lines.jsonl"
    path.write_text('{"id": "j1", "channel": "email", "text": "Thanks!", "contact": {"email": "a@example.com"}, '
                    '"line": "support@brightline.example", "agent": "dana"}\n')
    assert run_import(str(path), "--inline").exit_code == 0
    with db.session() as session:
        assert session.scalar(select(Interaction.line)) == "support@brightline.example"
        assert session.scalar(select(Interaction.agent)) == "dana"
