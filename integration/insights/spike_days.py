"""Spikes (Q14) from compact rows: how many different customers were negative about each theme since a day,
without reading the window's negative rows.

`insight_spike_days` holds per theme and day: `customers`, the contacts whose LATEST negative interaction
carrying the theme falls on that day, and `interactions`, the negative interactions carrying it on that day.
So the customers negative about a theme at or after the window's first day are the sum of `customers` over
the days from it on (each contact counted once, on its latest day): 14-odd rows per theme, whatever the volume.

A day here is the window's day, `day_of`: the last local day whose midnight (`window.local_midnight`) is at or
before the moment, so "day >= D" is exactly "at >= local_midnight(D)", the bound the answer used before (the
local date alone is not, where a DST change at midnight turns the clock back into the previous day).

The window ends at `until` (now), not at the last stored row: rows at or after `until` (dated in the future) are
read from `insight_themes` and taken off, and a contact whose latest is after `until` is counted back when it
also has one inside the window. That read is as small as the rows after `until`, so only windows that end now
are answered this way (`topics.spikes`); a window in the past reads its rows as before.

`rollup.reindex` keeps the rows by deltas: the negative theme rows it removes and adds move `interactions`;
for every (theme, contact) they touch, the latest negative moment is read before and after (index
`ix_insight_themes_contact`) and the contact moved from the old latest day to the new one.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integration.insights import definitions as d
from integration.insights.base import aware
from integration.insights.tables import InsightSpikeDay, InsightTheme
from integration.insights.window import Window, local_midnight

CONTACTS_PER_READ = 1000


@lru_cache(maxsize=4096)
def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return local_midnight(day, tz)


def day_of(at: datetime, tz: ZoneInfo) -> date:
    """The last local day whose midnight is at or before `at` (aware)."""
    day = at.astimezone(tz).date()
    while _midnight(day + timedelta(days=1), tz) <= at:
        day += timedelta(days=1)
    while _midnight(day, tz) > at:
        day -= timedelta(days=1)
    return day


class Change:
    """What one reindexed batch does to the spike days: call `before` with the theme rows about to be
    deleted (read before deleting them) and `after` once the new ones are written."""

    def __init__(self, tz: ZoneInfo, deltas: dict):
        self.tz, self.deltas = tz, deltas  # (theme, day) -> [customers, interactions]
        self.pairs: set[tuple[str, int]] = set()
        self.latest_before: dict[tuple[str, int], datetime] = {}

    def before(self, session: Session, old_rows: list[tuple], new_rows: list[dict]) -> None:
        """old_rows: (theme, label, contact_id, at) stored now; new_rows: the theme rows about to replace them."""
        for theme, label, contact_id, at in old_rows:
            self._row(theme, label, contact_id, aware(at), -1)
        for row in new_rows:
            self._row(row["theme"], row["label"], row["contact_id"], row["at"], +1)
        self.latest_before = latest(session, self.pairs)

    def after(self, session: Session) -> None:
        latest_after = latest(session, self.pairs)
        for theme, contact_id in self.pairs:
            old, new = self.latest_before.get((theme, contact_id)), latest_after.get((theme, contact_id))
            old_day = None if old is None else day_of(old, self.tz)
            new_day = None if new is None else day_of(new, self.tz)
            if old_day != new_day:
                if old_day is not None:
                    self.deltas[(theme, old_day)][0] -= 1
                if new_day is not None:
                    self.deltas[(theme, new_day)][0] += 1

    def _row(self, theme: str, label: str, contact_id: int | None, at: datetime, sign: int) -> None:
        if label != d.NEGATIVE:
            return
        self.deltas[(theme, day_of(at, self.tz))][1] += sign
        if contact_id is not None:
            self.pairs.add((theme, contact_id))


def latest(session: Session, pairs: set[tuple[str, int]]) -> dict[tuple[str, int], datetime]:
    """(theme, contact) -> the latest negative interaction carrying the theme, for these pairs (those with one)."""
    contacts = sorted({contact_id for _, contact_id in pairs})
    it, found = InsightTheme, {}
    for start in range(0, len(contacts), CONTACTS_PER_READ):
        stmt = select(it.theme, it.contact_id, func.max(it.at)).where(
            it.contact_id.in_(contacts[start:start + CONTACTS_PER_READ]), it.label == d.NEGATIVE
        ).group_by(it.theme, it.contact_id)
        for theme, contact_id, at in session.execute(stmt):
            if (theme, contact_id) in pairs:
                found[(theme, contact_id)] = aware(at)
    return found


def counts(session: Session, window: Window) -> dict[str, tuple[int, int]]:
    """theme -> (different customers, interactions) negative about it in the window (its `since` must be the
    local midnight of its first day), from the spike days and the rows at or after `until`."""
    if window.until <= window.since:
        return {}  # a window that starts after now holds nothing
    sd, it = InsightSpikeDay, InsightTheme
    totals = defaultdict(lambda: [0, 0])
    for theme, customers, interactions in session.execute(
            select(sd.theme, func.sum(sd.customers), func.sum(sd.interactions)).where(
                sd.day >= window.first_day).group_by(sd.theme)):
        totals[theme][0] += int(customers or 0)
        totals[theme][1] += int(interactions or 0)
    later = defaultdict(set)  # theme -> contacts with a negative row at or after `until`
    for theme, contact_id in session.execute(select(it.theme, it.contact_id).where(
            it.label == d.NEGATIVE, it.at >= window.until)):
        totals[theme][1] -= 1
        if contact_id is not None:
            later[theme].add(contact_id)
    for theme, contact_ids in later.items():
        inside = _inside(session, theme, sorted(contact_ids), window)
        totals[theme][0] -= len(contact_ids) - len(inside)
    return {theme: (customers, interactions) for theme, (customers, interactions) in totals.items() if interactions}


def _inside(session: Session, theme: str, contact_ids: list[int], window: Window) -> set[int]:
    """Which of these contacts have a negative row carrying the theme inside the window."""
    it, found = InsightTheme, set()
    for start in range(0, len(contact_ids), CONTACTS_PER_READ):
        found.update(session.scalars(select(it.contact_id).distinct().where(
            it.contact_id.in_(contact_ids[start:start + CONTACTS_PER_READ]), it.theme == theme,
            it.label == d.NEGATIVE, it.at >= window.since, it.at < window.until)))
    return found


def first_last(session: Session, theme: str, window: Window) -> tuple[datetime | None, datetime | None]:
    """The first and last negative interaction carrying the theme in the window (index probes)."""
    it = InsightTheme
    return tuple(session.execute(select(func.min(it.at), func.max(it.at)).where(
        it.theme == theme, it.label == d.NEGATIVE, it.at >= window.since, it.at < window.until)).one())

