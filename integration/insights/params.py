"""The parameters of every insight, as pydantic models: they validate API, CLI and MCP input and make the
OpenAPI document, so the three cannot drift apart."""
from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from integration import defaults

Sentiment = Literal["negative", "neutral", "positive", "any"]


class Query(BaseModel):
    """The window and filters every insight takes."""

    model_config = ConfigDict(extra="forbid")
    default_days: ClassVar[int] = 30
    default_limit: ClassVar[int] = defaults.INSIGHTS_DEFAULT_LIMIT

    days: int | None = Field(None, ge=1, le=defaults.INSIGHTS_MAX_DAYS,
                             description="Look back this many days from now (default depends on the question).")
    since: date | None = Field(None, description="First day of the window (ISO date, in TIMEZONE); instead of days.")
    until: date | None = Field(None, description="Last day of the window, inclusive (ISO date); default: today.")
    source: str | None = Field(None, max_length=32, description="Only this source, e.g. quo, zendesk.")
    channel: str | None = Field(None, max_length=16, description="Only this channel, e.g. call, sms, chat.")
    line: str | None = Field(None, max_length=128, description=(
        "Only this line: its key (business number or inbox id) or its name, e.g. a Quo line's number."))
    agent: str | None = Field(None, max_length=128, description="Only this agent (`<source>:<user id>`).")
    limit: int | None = Field(None, ge=1, le=defaults.INSIGHTS_MAX_LIMIT, description="How many rows at most.")

    @model_validator(mode="after")
    def _one_window(self):
        if self.days is not None and (self.since is not None or self.until is not None):
            raise ValueError("days: give either days or since/until, not both")
        if self.until is not None and self.since is None:
            raise ValueError("until: give since as well")
        if self.since and self.until and self.until < self.since:
            raise ValueError("until: must not be before since")
        return self

    @property
    def rows(self) -> int:
        return self.limit or self.default_limit


class CustomersQuery(Query):
    """Q1: customers who used negative or frustrated language."""

    default_days: ClassVar[int] = 7


class UnansweredQuery(Query):
    """Q10: customers with negative sentiment we have not contacted since."""

    default_days: ClassVar[int] = 7


class LinesQuery(Query):
    """Q2: lines ranked by negative interactions."""


class AgentsQuery(Query):
    """Q13: each agent's conversations."""


class MixQuery(Query):
    """Q5/Q6: sentiment mix and complaints to compliments."""


class TrendQuery(Query):
    """Q9: weekly sentiment and the verdict."""

    default_days: ClassVar[int] = 60


class ThemesQuery(Query):
    """Q3/Q7/Q8/Q12: themes by volume, among interactions of one sentiment or all."""

    default_limit: ClassVar[int] = 5
    sentiment: Sentiment = Field("any", description="Count themes among interactions of this sentiment only.")


class CallbacksQuery(Query):
    """Q4: unresolved interactions followed by a callback within 48 hours."""


class ChangeQuery(Query):
    """Q11: complaints (about a theme) in the window against the same length just before it."""

    theme: str | None = Field(None, max_length=64, description="Only complaints with this theme, e.g. billing.")


class SpikesQuery(Query):
    """Q14: themes with several different customers negative about them."""

    default_days: ClassVar[int] = 14
    min_customers: int | None = Field(None, ge=1, le=1000, description="Customers that make a spike (default 5).")


class EscalationsQuery(Query):
    """Open escalations: flagged interactions with no touch and no positive interaction of the contact since."""

    default_days: ClassVar[int] = 14


class SearchQuery(Query):
    """Text search over what customers said and the summaries."""

    default_days: ClassVar[int] = 90
    text: str = Field(..., min_length=2, max_length=200, description="Words to look for (case-insensitive).")
    sentiment: Sentiment = Field("any", description="Only interactions of this sentiment.")


class BrowseQuery(Query):
    """The console's interaction list: every filter at once, newest first, a page at a time (no default window:
    without days or since it covers all time)."""

    default_limit: ClassVar[int] = defaults.ADMIN_PAGE_SIZE
    sentiment: Sentiment = Field("any", description="Only interactions of this (effective) sentiment.")
    flag: str | None = Field(None, pattern=r"^(any|[a-z0-9_]{1,64})$",
                             description="Only escalated interactions: 'any' flag, or one rule, e.g. refund.")
    theme: str | None = Field(None, max_length=64, description="Only interactions carrying this theme.")
    text: str | None = Field(None, min_length=2, max_length=200, description="Words they contain (any case).")
