"""A running CRM flush paces its rounds: changes trickling in are batched by the flush they asked for."""
from __future__ import annotations

from datetime import timedelta

from integration.store.models import Contact, utcnow
from integration.sync import flush


def _due(db, *ages_s: float) -> None:
    """Contacts whose last change (not yet synced) happened `age` seconds ago."""
    now = utcnow()
    with db.session() as session:
        session.add_all(Contact(name=f"c{i}", needs_sync_at=now - timedelta(seconds=age))
                        for i, age in enumerate(ages_s))


def test_nothing_due_ends_the_flush(db):
    assert flush.another_round_now(db, utcnow(), settle_s=2) is False


def test_changes_younger_than_the_flush_and_the_delay_wait_for_their_own_flush(db):
    started = utcnow() - timedelta(seconds=5)
    _due(db, 0.5, 0.2)
    assert flush.another_round_now(db, started, settle_s=2) is False


def test_a_change_older_than_the_flush_is_synced_now(db):
    """Its own request for a flush found the marker set before this flush began: no other flush is coming."""
    _due(db, 1.0, 0.1)
    assert flush.another_round_now(db, utcnow() - timedelta(seconds=0.5), settle_s=2) is True


def test_a_change_that_waited_the_delay_is_synced_now(db):
    _due(db, 3.0, 0.1)
    assert flush.another_round_now(db, utcnow() - timedelta(seconds=10), settle_s=2) is True


def test_a_full_batch_goes_at_once(db):
    _due(db, 0.3, 0.2, 0.1)
    started = utcnow() - timedelta(seconds=10)
    assert flush.another_round_now(db, started, settle_s=2, limit=3) is True
    assert flush.another_round_now(db, started, settle_s=2, limit=4) is False


def test_without_a_delay_every_change_goes_at_once(db):
    _due(db, 0.0)
    assert flush.another_round_now(db, utcnow() - timedelta(seconds=10), settle_s=0) is True
