"""Database models: the durable truth (the inbox, contacts, interactions, scores, CRM writes, tasks)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    cast,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC everywhere (SQLite has no time zones); always read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict: JSON, list: JSON}


class WebhookEvent(Base):
    """The inbox: one row per sender event, unique on (source, event_id) — the dedupe record."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("source", "event_id", name="uq_webhook_events_source_event"),
        Index("ix_webhook_events_status_received", "status", "received_at"),
        Index("ix_webhook_events_source_received", "source", "received_at"),  # the connectors pages
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|processed|ignored|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]
    # A worker processing a batch of pending events claims them for a lease (integration/store/claims.py)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]


class Contact(Base):
    """A customer as we know them; identities (phone, email, provider ids) live in ContactIdentity."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    crm_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    needs_sync_at: Mapped[datetime | None]  # set when something to write back changed
    synced_at: Mapped[datetime | None]  # the needs_sync_at value the last completed sync covered
    crm_status: Mapped[str | None] = mapped_column(String(16))  # matched | created | unmatched | error
    crm_error: Mapped[str | None] = mapped_column(Text)  # the CRM's own message, for the admin page

    identities: Mapped[list["ContactIdentity"]] = relationship(back_populates="contact", lazy="selectin")


class ContactIdentity(Base):
    """One way to recognise a contact: kind 'phone' (E.164), 'email' (lower-case) or '<source>:<kind>'."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_contact_identities_kind_value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(320))

    contact: Mapped[Contact] = relationship(back_populates="identities")


class Interaction(Base):
    """A conversation (call, message, ticket...); events with the same (source, thread_key) merge into it."""

    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("source", "thread_key", name="uq_interactions_source_thread"),
        Index("ix_interactions_contact_occurred", "contact_id", "occurred_at"),
        Index("ix_interactions_line_occurred", "line", "occurred_at"),
        Index("ix_interactions_agent_occurred", "agent", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    thread_key: Mapped[str] = mapped_column(String(255))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str | None] = mapped_column(String(16))
    occurred_at: Mapped[datetime | None]
    turns: Mapped[list | None]  # [{"speaker": "customer"|"agent"|"bot", "text": ..., "at": iso}]
    summary: Mapped[str | None] = mapped_column(Text)
    source_ids: Mapped[dict] = mapped_column(default=dict)
    url: Mapped[str | None] = mapped_column(String(1024))
    helpdesk_tags: Mapped[list] = mapped_column(default=list)  # tags we set on the source ticket
    line: Mapped[str | None] = mapped_column(String(128))  # business number (E.164) or "<source>:<kind>:<id>"
    line_name: Mapped[str | None] = mapped_column(String(255))
    agent: Mapped[str | None] = mapped_column(String(128))  # "<source>:<provider user id>"
    agent_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    score: Mapped["InteractionScore | None"] = relationship(back_populates="interaction", lazy="selectin")


# The console's interaction list pages by (when, id), newest first, also within one source, channel, line or agent;
# these also give each filter's choices (migration 0009).
_AT = func.coalesce(Interaction.occurred_at, Interaction.created_at)
Index("ix_interactions_at_id", _AT, Interaction.id)
Index("ix_interactions_source_at_id", Interaction.source, _AT, Interaction.id)
Index("ix_interactions_channel_at_id", Interaction.channel, _AT, Interaction.id)
Index("ix_interactions_line_at_id", Interaction.line, _AT, Interaction.id)
Index("ix_interactions_agent_at_id", Interaction.agent, _AT, Interaction.id)
# PostgreSQL only: trigram indexes for word searches (ILIKE '%word%') of turns and summaries (migration 0009).
Index("ix_interactions_turns_trgm", cast(Interaction.turns, String), postgresql_using="gin",
      postgresql_ops={"turns": "gin_trgm_ops"}).ddl_if(dialect="postgresql")
Index("ix_interactions_summary_trgm", cast(Interaction.summary, String), postgresql_using="gin",
      postgresql_ops={"summary": "gin_trgm_ops"}).ddl_if(dialect="postgresql")


class InteractionScore(Base):
    """The current score of an interaction (re-scored in place when new turns arrive)."""

    __tablename__ = "interaction_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), unique=True)
    scorer: Mapped[str] = mapped_column(String(32))
    basis: Mapped[str] = mapped_column(String(32))  # customer_turns | all_turns | summary
    label: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    intensity: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    signals: Mapped[list] = mapped_column(default=list)
    turn_scores: Mapped[list] = mapped_column(default=list)
    escalation_reason: Mapped[str | None] = mapped_column(String(255))
    flags: Mapped[list] = mapped_column(default=list)  # [{"rule", "reason", "evidence"}]
    themes: Mapped[list] = mapped_column(default=list)  # [{"theme", "how", "evidence"}]
    start_score: Mapped[float | None] = mapped_column(Float)  # first customer turn
    end_score: Mapped[float | None] = mapped_column(Float)  # last customer turn
    trajectory: Mapped[str | None] = mapped_column(String(16))  # recovered | soured | steady | single
    content_hash: Mapped[str] = mapped_column(String(64))  # what was scored; same hash = nothing to redo
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set only while a person's label correction overrides the scorer (label/score/intensity then hold the
    # corrected, effective values; these keep what the scorer said). See integration/pipeline/corrections.py.
    model_label: Mapped[str | None] = mapped_column(String(16))
    model_score: Mapped[float | None] = mapped_column(Float)

    interaction: Mapped[Interaction] = relationship(back_populates="score")


class Touch(Base):
    """Something the business did toward a contact (outbound call or text, agent reply); never scored."""

    __tablename__ = "touches"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_touches_source_external"),
        Index("ix_touches_contact_occurred", "contact_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))  # outbound_call | outbound_text | outbound_email | agent_reply
    occurred_at: Mapped[datetime]
    external_id: Mapped[str] = mapped_column(String(255))  # the provider's id of the act: dedupes redelivery
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id", ondelete="SET NULL"))
    line: Mapped[str | None] = mapped_column(String(128))
    agent: Mapped[str | None] = mapped_column(String(128))


class CrmWrite(Base):
    """The CRM write log; the unique key makes a repeated write a no-op."""

    __tablename__ = "crm_writes"
    __table_args__ = (Index("ix_crm_writes_contact_created", "contact_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    crm: Mapped[str] = mapped_column(String(32))
    operation: Mapped[str] = mapped_column(String(32))  # update_contact | create_task | find_contact
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    payload: Mapped[dict] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16))  # done | unmatched | failed
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FollowUpTask(Base):
    """A follow-up task we opened; at most one open task per (contact, reason)."""

    __tablename__ = "follow_up_tasks"
    __table_args__ = (
        Index(
            "uq_follow_up_tasks_open",
            "contact_id",
            "reason",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(64))
    crm: Mapped[str] = mapped_column(String(32))
    crm_task_id: Mapped[str | None] = mapped_column(String(64))  # None until the CRM confirmed it
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    subject: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[datetime]
    priority: Mapped[str | None] = mapped_column(String(16))
    task_type: Mapped[str | None] = mapped_column(String(16))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    resolution_noted_for: Mapped[int | None]  # the later interaction already noted on this task as a resolution
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def ref(self) -> str:
        return f"task-{self.id}"


class CrmNote(Base):
    """The timeline note written for an interaction: one per interaction and CRM, updated in place."""

    __tablename__ = "crm_notes"
    __table_args__ = (UniqueConstraint("crm", "interaction_id", name="uq_crm_notes_crm_interaction"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    crm: Mapped[str] = mapped_column(String(32))
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    crm_note_id: Mapped[str | None] = mapped_column(String(64))  # None until the CRM confirmed it
    body_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def ref(self) -> str:
        return self.ref_for(self.id)

    @staticmethod
    def ref_for(note_id: int) -> str:
        """The ref written into the CRM note (how a crashed flush finds it again), from the row's id."""
        return f"note-{note_id}"


class SinkNote(Base):
    """The built-in CRM sink: timeline notes."""

    __tablename__ = "sink_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SinkContact(Base):
    """The built-in CRM sink: the properties we would have written to a CRM contact."""

    __tablename__ = "sink_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), unique=True)
    properties: Mapped[dict] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SinkTask(Base):
    """The built-in CRM sink: follow-up tasks, as a CRM would hold them."""

    __tablename__ = "sink_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16))
    task_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="NOT_STARTED")
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Setting(Base):
    """Settings stored by the admin page; secret values are encrypted with a key derived from SECRET_KEY."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    is_secret: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdminUser(Base):
    """A person who signs in to the admin console; role 'admin' changes things, 'viewer' only looks."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-case
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, self-describing (parameters and salt)
    role: Mapped[str] = mapped_column(String(16), default="viewer")  # admin | viewer
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
class LabelCorrection(Base):
    """A person's correction of an interaction's label; every one is kept (history), the latest applies."""

    __tablename__ = "label_corrections"
    __table_args__ = (Index("ix_label_corrections_interaction_created", "interaction_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"))
    old_label: Mapped[str | None] = mapped_column(String(16))  # the effective label before this correction
    new_label: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id", ondelete="SET NULL"))
    user_email: Mapped[str] = mapped_column(String(320))  # kept as written: the user may be removed later
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InteractionEvent(Base):
    """Which stored webhook events made an interaction (the console shows them); pruned with the event."""

    __tablename__ = "interaction_events"
    __table_args__ = (Index("ix_interaction_events_event", "event_id"),)

    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"), primary_key=True)


class Alert(Base):
    """An alert to deliver (escalation or spike): the row comes first, then the job; `key` makes it once only."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_status_deliver_after", "status", "deliver_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)  # escalation:<interaction>:<rule> | spike:<theme>:<window>
    kind: Mapped[str] = mapped_column(String(16))  # escalation | spike
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(255))
    theme: Mapped[str | None] = mapped_column(String(128))
    evidence: Mapped[str | None] = mapped_column(Text)
    facts: Mapped[dict] = mapped_column(default=dict)  # what the message shows, captured when raised
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | held | sending | sent | refused | unsent
    deliver_after: Mapped[datetime | None] = mapped_column()  # end of quiet hours for a held alert
    deliveries: Mapped[dict] = mapped_column(default=dict)  # destination -> "sent" | "refused: ..." | "failed: ..."
    claim: Mapped[str | None] = mapped_column(String(32))  # the job sending it now (status "sending")
    claimed_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()


class DigestSend(Base):
    """One weekly digest to one destination: claimed (status `sending`) before the send, so the unique
    (week, destination) key lets a week go out once however often the scheduler runs."""

    __tablename__ = "digest_sends"
    __table_args__ = (UniqueConstraint("week", "destination", name="uq_digest_sends_week_destination"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(10))  # ISO week of the week the digest covers, e.g. 2026-W48
    destination: Mapped[str] = mapped_column(String(16))  # slack | teams | email | notion
    status: Mapped[str] = mapped_column(String(16))  # sending | sent | failed (retried) | refused (permanent)
    claim: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict] = mapped_column(default=dict)  # headline numbers of what was sent
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
