"""A new conversation is one INSERT with everything its event gives (no INSERT of a bare row and an UPDATE after it,
no read of a score it cannot have yet); an existing one is merged as before. Both databases."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from sqlalchemy import event, select

from connectors.base import InboundEvent
from integration.pipeline import processing
from integration.store import inbox
from integration.store.models import Interaction


def stored(db, document: dict) -> tuple[list[str], Interaction]:
    """Store one generic event's interaction (parse and store, no scoring): the statements it ran and the row."""
    event_ = InboundEvent(document["id"], "interaction", json.dumps(document).encode())
    [row_id] = inbox.accept(db, "generic", [event_], lambda _type: True).new
    statements = []
    listener = lambda _c, _cur, statement, *_: statements.append(" ".join(statement.split()))  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        processing.prepare(db, row_id, "generic", event_, "lexicon")
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    with db.session() as session:
        return statements, session.scalars(select(Interaction).order_by(Interaction.id.desc())).first()


def message(text: str, **extra) -> dict:
    return {"id": uuid.uuid4().hex, "channel": "sms", "text": text, "contact": {"phone": "+14155550100"},
            "occurred_at": datetime(2026, 11, 30, 9, tzinfo=timezone.utc).isoformat(), **extra}


def test_a_new_conversation_is_one_insert_with_all_its_fields(db):
    statements, row = stored(db, message("The sink still leaks."))
    assert len([s for s in statements if s.startswith("INSERT INTO interactions ")]) == 1
    assert not [s for s in statements if s.startswith("UPDATE interactions ")]
    assert not [s for s in statements if "FROM interaction_scores" in s and "JOIN" not in s]
    assert row.contact_id is not None and row.direction and row.turns[0]["text"] == "The sink still leaks."
    assert row.occurred_at == datetime(2026, 11, 30, 9, tzinfo=timezone.utc)


def test_a_later_event_of_the_same_conversation_is_merged_into_its_row(db):
    _, first = stored(db, message("The sink still leaks.", thread_id="t-1"))
    statements, row = stored(db, message("And now the tap drips too.", thread_id="t-1", append=True))
    assert row.id == first.id
    assert not [s for s in statements if s.startswith("INSERT INTO interactions ")]
    assert [t["text"] for t in row.turns] == ["The sink still leaks.", "And now the tap drips too."]


def test_the_insert_applies_the_models_defaults_to_what_the_row_leaves_unset(db):
    """What an ORM insert would fill in from the model's defaults, the one-statement insert fills in too (a column
    added later with a default must not arrive as NULL)."""
    from integration.pipeline.interactions import _insert_unless_exists

    row = Interaction(source="generic", thread_key=uuid.uuid4().hex, channel="sms")  # no source_ids, tags, times
    with db.session() as session:
        assert _insert_unless_exists(session, row)
    with db.session() as session:
        stored_row = session.get(Interaction, row.id)
        assert stored_row.source_ids == {} and stored_row.helpdesk_tags == []
        assert stored_row.created_at is not None and stored_row.updated_at is not None
