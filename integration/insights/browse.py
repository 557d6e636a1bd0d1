"""The console's interaction list: every filter at once, newest first, a page at a time by keyset.

The page is found by (when, id) against the index on (coalesce(occurred_at, created_at), id), so the
thousandth page costs what the first does; "newer" walks the same index the other way. Interactions not
scored yet are listed too (label None) unless a filter needs a score. Themes come from the insights'
theme index (`insight_themes`): call `rollup.refresh` first, as every insight does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, cast, exists, literal, literal_column, select, text, tuple_, type_coerce
from sqlalchemy.orm import Session

from integration.insights.base import AT, aware, contacts, evidence, filters, interactions, iso
from integration.insights.lookup import text_matches
from integration.insights.params import BrowseQuery
from integration.insights.tables import InsightName, InsightTheme
from integration.insights.window import Window
from integration.settings import Settings
from integration.store.models import Interaction, InteractionScore, UTCDateTime


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: just past the interaction at (at, id), toward older or newer ones."""

    at: datetime
    id: int

    def token(self) -> str:
        return f"{iso(self.at)}~{self.id}"

    @classmethod
    def parse(cls, token: str | None) -> "Cursor | None":
        """A cursor from its token; None for none or a malformed one (the first page is shown)."""
        try:
            at, _, ident = (token or "").partition("~")
            moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
            return cls(moment, int(ident)) if moment.tzinfo is not None else None
        except ValueError:
            return None


def browse(session: Session, query: BrowseQuery, window: Window | None, settings: Settings,
           cursor: Cursor | None = None, newer: bool = False) -> dict:
    """One page of interactions matching every filter given, newest first, with cursors to the pages beside it."""
    dialect = session.get_bind().dialect.name
    at = AT
    if query.text and dialect == "sqlite":
        # A word search reads every row whatever the order: in table order and sorted after, it is the same 0.1 s
        # whether the word is common or nowhere, where walking the time index row by row took 0.6 s for a rare
        # one (random reads of large rows). `|| ''` keeps SQLite off the index; the stored text sorts as the time.
        at = type_coerce(AT.op("||")(literal_column("''")), UTCDateTime)
    stmt = (select(Interaction.id, at.label("at")).select_from(Interaction).outerjoin(InteractionScore)
            .where(*terms(query, window, dialect)))
    key = tuple_(at, Interaction.id)
    mark = None if cursor is None else tuple_(literal(cursor.at, UTCDateTime), literal(cursor.id))
    if newer and mark is not None:
        stmt = stmt.where(key > mark).order_by(at.asc(), Interaction.id.asc())
    else:
        stmt = stmt.where(key < mark) if mark is not None else stmt
        stmt = stmt.order_by(at.desc(), Interaction.id.desc())
    found = list(session.execute(stmt.limit(query.rows + 1)))
    more = len(found) > query.rows
    found = found[:query.rows]
    if newer and mark is not None:
        found.reverse()
    ids = [row.id for row in found]
    rows = interactions(session, ids)
    people = contacts(session, sorted({rows[i].contact_id for i in ids if rows[i].contact_id}), settings)
    first, last = (Cursor(aware(found[0].at), found[0].id), Cursor(aware(found[-1].at), found[-1].id)) if found else (None, None)
    return {
        "interactions": [{**evidence(rows[i]), "contact": people.get(rows[i].contact_id),
                          "corrected": rows[i].score is not None and rows[i].score.model_label is not None}
                         for i in ids],
        "older": last.token() if last and (more or newer and mark is not None) else None,
        "newer": first.token() if first and mark is not None and (more or not newer) else None,
    }


def terms(query: BrowseQuery, window: Window | None, dialect: str) -> list:
    """WHERE terms for the window (when given) and every filter given."""
    out = filters(query)
    if window is not None:
        out += [AT >= window.since, AT < window.until]
    if query.sentiment != "any":
        # SQLite, with no statistics, would take the label index (a third of all rows) and sort them; `|| ''`
        # keeps it walking by time. PostgreSQL knows how common each label is and chooses well by itself.
        label = InteractionScore.label.concat("") if dialect == "sqlite" else InteractionScore.label
        out.append(label == query.sentiment)
    if query.flag:
        out.append(InteractionScore.escalation_reason.is_not(None))
        if query.flag != "any":  # flags are [{"rule": ..., ...}]; both databases print JSON with ": "
            out.append(cast(InteractionScore.flags, String).like(f'%"rule": "{query.flag}"%'))
    if query.theme:  # probed per interaction (primary key), walking newest first
        out.append(exists().where(InsightTheme.interaction_id == Interaction.id, InsightTheme.theme == query.theme))
    if query.text:
        out.append(text_matches(query.text, dialect))
    return out


def options(session: Session) -> dict:
    """What the filters offer: the sources, channels, lines, agents and themes seen, each read off an index."""
    names = {(kind, key): name for kind, key, name in session.execute(
        select(InsightName.kind, InsightName.key, InsightName.name))}

    def seen(table: str, column: str, kind: str | None = None) -> list[tuple[str, str]]:
        """(value, what to show) pairs: a line's or an agent's name when known."""
        return [(v, names.get((kind, v)) or v) for v in distinct(session, table, column)]

    return {
        "sentiment": [(label, label) for label in ("negative", "neutral", "positive")],
        "source": seen("interactions", "source"), "channel": seen("interactions", "channel"),
        "line": seen("interactions", "line", "line"), "agent": seen("interactions", "agent", "agent"),
        "theme": seen("insight_themes", "theme"),
        "flag": [("any", "Any flag")] + [(rule, rule) for rule in flag_rules(session)],
    }


def distinct(session: Session, table: str, column: str, limit: int = 500) -> list[str]:
    """The distinct non-null values of an indexed column, one index probe each (a loose index scan, which
    neither database does by itself): a few hundred values cost a few hundred probes, not a scan of the table."""
    sql = text(f"WITH RECURSIVE seen(v, n) AS (SELECT min({column}), 1 FROM {table} "
               f"UNION ALL SELECT (SELECT min({column}) FROM {table} WHERE {column} > seen.v), n + 1 FROM seen "
               f"WHERE seen.v IS NOT NULL AND n < :limit) SELECT v FROM seen WHERE v IS NOT NULL AND v <> ''")
    return list(session.scalars(sql, {"limit": limit}))


def flag_rules(session: Session, recent: int = 500) -> list[str]:
    """Escalation rules seen on the most recent escalated interactions (for the flag filter)."""
    stmt = (select(InteractionScore.flags).where(InteractionScore.escalation_reason.is_not(None))
            .order_by(InteractionScore.id.desc()).limit(recent))
    return sorted({f.get("rule") for flags in session.scalars(stmt) for f in flags or [] if f.get("rule")})


def is_filtered(query: BrowseQuery) -> bool:
    return any(getattr(query, name) for name in ("source", "channel", "line", "agent", "flag", "theme", "text",
                                                  "days", "since")) or query.sentiment != "any"

