"""Label corrections: the effective score agrees with the corrected label, a re-score keeps the correction,
and each delivery is linked to the interaction it made."""
from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from integration.pipeline import corrections
from integration.store.models import Interaction, InteractionEvent, LabelCorrection, WebhookEvent
from scoring import base
from tests.integration.web.admin.interactions_data import SECRET, add, say
from tests.workers.helpers import drain


def test_the_band_edges_repeated_for_the_web_path_are_the_scorers():
    assert (corrections.NEUTRAL_BAND, corrections.STRONG_BAND) == (base.NEUTRAL_BAND, base.STRONG_BAND)
    assert corrections.LABELS == tuple(sorted(base.LABELS))
    for step in range(-100, 101):
        assert corrections.intensity_for(step / 100) == base.intensity_for(step / 100)


@pytest.mark.parametrize("label, model, effective", [
    ("positive", -0.62, 0.05), ("positive", 0.4, 0.4), ("negative", 0.3, -0.05), ("negative", -0.9, -0.9),
    ("neutral", 0.7, 0.0), ("neutral", -0.02, -0.02), ("neutral", -0.05, 0.0)])
def test_the_effective_score_is_the_nearest_that_agrees_with_the_label(label, model, effective):
    assert corrections.effective_score(label, model) == effective
    assert base.label_for(corrections.effective_score(label, model)) == label


def test_correcting_needs_a_known_label_and_a_scored_interaction(db):
    scored, unscored = add(db, 1), add(db, 2, label=None)
    with db.session() as session:
        for interaction_id, label, message in ((scored, "angry", "must be one of"), (unscored, "positive", "not been"),
                                               (999, "positive", "no interaction")):
            with pytest.raises(corrections.CorrectionError, match=message):
                corrections.correct(session, interaction_id, label, None, "a@example.com")
        with pytest.raises(corrections.CorrectionError, match="at most 2000"):
            corrections.correct(session, scored, "positive", None, "a@example.com", "x" * 2001)
    with db.session() as session:
        assert session.scalars(select(LabelCorrection)).all() == []


def test_a_rescore_keeps_the_correction_and_records_what_the_scorer_now_says(client, db, redis_conn, worker_env,
                                                                             settings):
    settings.generic_webhook_secret = SecretStr(SECRET)
    say(client, "This is awful, the heater broke again.", thread="th-9")
    drain(redis_conn)
    with db.session() as session:
        row = session.scalars(select(Interaction)).one()
        first = row.score.score
        corrections.correct(session, row.id, "neutral", None, "owner@example.com", "just reporting")
    say(client, "Thanks, it is great now, wonderful!", thread="th-9", extra={"append": True})
    drain(redis_conn)
    with db.session() as session:
        row = session.get(Interaction, row.id)
        assert len(row.turns) == 2 and row.score.label == "neutral" and row.score.intensity == "neutral"
        assert row.score.model_score is not None and row.score.model_score != first  # what the re-score said
        assert row.score.model_label == base.label_for(row.score.model_score)
        links = session.scalars(select(InteractionEvent.event_id).where(InteractionEvent.interaction_id == row.id))
        assert sorted(links) == sorted(session.scalars(select(WebhookEvent.id)))  # both deliveries linked
