"""CRM notes are found again by their ref line after a crash, and keep it when updated (issue 9, finding 7).

The built-in sink stores its note and commits before the flush records the note's id in `crm_notes`;
a worker killed between the two left a pending row, and the next flush wrote the note a second time.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from connectors.crm import NoteSpec, ref_line
from integration.store.models import Contact, CrmNote, SinkNote
from integration.sync.sink import SinkWriter
from tests.quo_requests import classic_headers, fixture_body
from tests.servers.hubspot import HubSpotTestServer
from tests.workers.helpers import drain
from workers import jobs


def _one_flushed_note(client, db, redis_conn) -> tuple[int, str]:
    body = fixture_body("call_transcript_completed.json")
    assert client.post("/webhooks/quo", data=body, headers=classic_headers(body)).status_code == 200
    drain(redis_conn)
    with db.session() as session:
        [note] = session.scalars(select(CrmNote)).all()
        [sink] = session.scalars(select(SinkNote)).all()
        assert note.crm_note_id == str(sink.id)
        return sink.id, note.ref


def _flush_again(db, **note_changes) -> None:
    """Put the database back where a given moment left it, and mark the contact due again."""
    with db.session() as session:
        note = session.scalar(select(CrmNote))
        for name, value in note_changes.items():
            setattr(note, name, value)
        session.scalar(select(Contact)).synced_at = None
    jobs.flush_crm()


def test_a_sink_note_written_before_a_crash_is_found_by_its_ref_not_written_twice(client, db, redis_conn, worker_env):
    sink_id, ref = _one_flushed_note(client, db, redis_conn)
    _flush_again(db, crm_note_id=None)  # the crash window: note stored in the sink, its id never recorded
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(SinkNote)) == 1
        assert session.scalar(select(CrmNote.crm_note_id)) == str(sink_id)
        assert session.get(SinkNote, sink_id).body.endswith(ref_line(ref))


def test_an_updated_sink_note_keeps_its_ref_line_and_is_still_found_after_a_crash(client, db, redis_conn, worker_env):
    sink_id, ref = _one_flushed_note(client, db, redis_conn)
    with db.session() as session:
        original = session.get(SinkNote, sink_id).body
    _flush_again(db, body_hash="changed-since")  # the flush rewrites the note's body
    with db.session() as session:
        body = session.get(SinkNote, sink_id).body
        assert body == original and body.splitlines()[-1] == ref_line(ref)
        assert session.scalar(select(CrmNote.body_hash)) != "changed-since"
    _flush_again(db, crm_note_id=None)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(SinkNote)) == 1


def test_sink_find_refs_matches_whole_ref_lines_of_that_contact_only(db):
    writer = SinkWriter(db)
    with db.session() as session:
        first, second = Contact(), Contact()
        session.add_all([first, second])
        session.flush()
        ids = first.id, second.id
    at = datetime(2026, 11, 30, tzinfo=timezone.utc)
    made = writer.create_notes([NoteSpec(str(ids[0]), "a", at, "note-1"), NoteSpec(str(ids[0]), "b", at, "note-12"),
                                NoteSpec(str(ids[1]), "c", at, "note-3")])
    assert writer.find_refs("notes", str(ids[0]), ["note-1", "note-3", "note-2"]) == {"note-1": made["note-1"]}
    assert writer.find_refs("notes", str(ids[0]), ["note-12"]) == {"note-12": made["note-12"]}


def test_hubspot_update_notes_keeps_the_ref_line():
    from connectors.hubspot.writer import HubSpotWriter

    with HubSpotTestServer(access_token="pat-test") as server:
        contact = server.add_contact({"email": "ana@example.com"})
        writer = HubSpotWriter("pat-test", host=server.base_url)
        at = datetime(2026, 11, 30, tzinfo=timezone.utc)
        made = writer.create_notes([NoteSpec(contact, "first body", at, "note-7")])
        writer.update_notes({made["note-7"]: NoteSpec(contact, "second body", at, "note-7")})
        body = server.notes[made["note-7"]]["hs_note_body"]
        assert body == "second body\n" + ref_line("note-7")
        assert writer.find_refs("notes", contact, ["note-7"]) == {"note-7": made["note-7"]}
