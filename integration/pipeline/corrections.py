"""A person's correction of an interaction's label, and the effective label that follows it everywhere.

The correction is stored (every one: history) and applied to the interaction's current score in the same
transaction: `label` becomes the corrected label, `score` the nearest score that agrees with it (the scorer's
own score when it already does, else the edge of the label's band), `intensity` that score's band. What the
scorer said stays in `model_label` / `model_score`. Everything that reads the score (the CRM properties,
notes and follow-up tasks, help-desk tags, alerts' spike counts, the insights' rollups) so follows the
correction with no change of its own. A later re-score (new turns) keeps the correction: the latest one wins
until another is made.

Imported by the web process: no scorer here (import-linter forbids `scoring` on the web path), so the two
band edges are repeated from `scoring.base`; a test keeps them equal.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from integration.store.models import Contact, Interaction, InteractionScore, LabelCorrection, utcnow

LABELS = ("negative", "neutral", "positive")
NEUTRAL_BAND = 0.05  # = scoring.base.NEUTRAL_BAND
STRONG_BAND = 0.6  # = scoring.base.STRONG_BAND
NOTE_CHARS = 2000


class CorrectionError(ValueError):
    """The correction was refused (nothing was changed); the message says why, for the person."""


class NoSuchInteraction(CorrectionError):
    """The interaction does not exist (any more)."""


@dataclass(frozen=True)
class Corrected:
    correction_id: int
    interaction_id: int
    contact_id: int | None
    old_label: str | None
    new_label: str
    source: str
    helpdesk_tagged: bool  # tags were written on the source ticket before: they must follow too


def correct(session: Session, interaction_id: int, label: str, user_id: int | None, user_email: str,
            note: str | None = None) -> Corrected:
    """Store the correction, apply it to the score and mark the contact for a CRM sync; raises CorrectionError."""
    label = (label or "").strip().lower()
    if label not in LABELS:
        raise CorrectionError(f"The label must be one of {', '.join(LABELS)}; {label or 'nothing'!r} was given.")
    note = (note or "").strip() or None
    if note and len(note) > NOTE_CHARS:
        raise CorrectionError(f"The note is {len(note)} characters long; at most {NOTE_CHARS} are kept.")
    row = session.scalar(select(Interaction).where(Interaction.id == interaction_id).with_for_update())
    if row is None:
        raise NoSuchInteraction(f"There is no interaction {interaction_id}.")
    score = row.score
    if score is None:
        raise CorrectionError("This interaction has not been scored yet (it has no customer words), so it has no "
                              "label to correct.")
    old = score.label
    record = LabelCorrection(interaction_id=row.id, old_label=old, new_label=label, user_id=user_id,
                             user_email=user_email, note=note, created_at=utcnow())
    session.add(record)
    apply(score, label)
    row.updated_at = record.created_at  # the insights' rollups re-read the interaction
    if row.contact_id is not None:
        session.get(Contact, row.contact_id).needs_sync_at = record.created_at  # the CRM fields follow
    session.flush()
    return Corrected(record.id, row.id, row.contact_id, old, label, row.source, bool(row.helpdesk_tags))


def reapply(session: Session, score: InteractionScore) -> None:
    """After a re-score wrote the scorer's new result: the latest correction still holds (when there is one)."""
    latest = latest_label(session, score.interaction_id)
    if latest is not None:
        apply(score, latest)


def latest_label(session: Session, interaction_id: int) -> str | None:
    return session.scalar(select(LabelCorrection.new_label).where(LabelCorrection.interaction_id == interaction_id)
                          .order_by(LabelCorrection.created_at.desc(), LabelCorrection.id.desc()).limit(1))


def apply(score: InteractionScore, label: str) -> None:
    """Make `label` the score's effective label; the scorer's own label and score are kept beside it."""
    if score.model_label is None:  # first correction since the scorer wrote: remember what it said
        score.model_label, score.model_score = score.label, score.score
    score.label = label
    score.score = effective_score(label, score.model_score)
    score.intensity = intensity_for(score.score)


def effective_score(label: str, model_score: float) -> float:
    """The nearest score to the scorer's that agrees with `label`: unchanged when it already does."""
    if label == "positive":
        return max(model_score, NEUTRAL_BAND)
    if label == "negative":
        return min(model_score, -NEUTRAL_BAND)
    return model_score if -NEUTRAL_BAND < model_score < NEUTRAL_BAND else 0.0


def intensity_for(score: float) -> str:
    """The five-level band of a score, as scoring.base.intensity_for with the default bands."""
    if score <= -STRONG_BAND:
        return "very_negative"
    if score <= -NEUTRAL_BAND:
        return "negative"
    if score < NEUTRAL_BAND:
        return "neutral"
    return "positive" if score < STRONG_BAND else "very_positive"


def history(session: Session, interaction_id: int) -> list[LabelCorrection]:
    """Every correction of one interaction, newest first."""
    return list(session.scalars(select(LabelCorrection).where(LabelCorrection.interaction_id == interaction_id)
                                .order_by(LabelCorrection.created_at.desc(), LabelCorrection.id.desc())))
