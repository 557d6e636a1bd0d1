"""The HubSpot property contract: names and meanings are fixed (workflows and reports depend on them).

Definitions are in the shape of `POST /crm/v3/properties/contacts`; the setup command creates them.
"""
from __future__ import annotations

GROUP = {"name": "undertone", "label": "Undertone", "displayOrder": -1}

INTENSITY_OPTIONS = ["very_negative", "negative", "neutral", "positive", "very_positive"]

CONTACT_PROPERTIES: list[dict] = [
    {"name": "undertone_sentiment", "label": "Sentiment (latest)", "type": "enumeration", "fieldType": "select",
     "options": INTENSITY_OPTIONS, "description": "Sentiment of the contact's latest interaction."},
    {"name": "undertone_sentiment_score", "label": "Sentiment score (latest)", "type": "number", "fieldType": "number",
     "description": "Score of the latest interaction, from -1 (very negative) to 1 (very positive)."},
    {"name": "undertone_last_interaction_at", "label": "Last interaction", "type": "datetime", "fieldType": "date",
     "description": "When the latest scored interaction happened."},
    {"name": "undertone_escalation", "label": "Escalation", "type": "enumeration", "fieldType": "booleancheckbox",
     "options": ["true", "false"], "description": "Whether the latest interaction needs a person's attention now."},
    {"name": "undertone_escalation_reason", "label": "Escalation reason", "type": "string", "fieldType": "text",
     "description": "Why the latest interaction was escalated."},
    {"name": "undertone_negative_count_30d", "label": "Negative interactions (30 days)", "type": "number",
     "fieldType": "number", "description": "Negative interactions in the last 30 days."},
    {"name": "undertone_score_30d", "label": "Sentiment score (30 days)", "type": "number", "fieldType": "number",
     "description": "Mean score of the interactions in the last 30 days, from -1 to 1."},
    {"name": "undertone_trend", "label": "Sentiment trend", "type": "enumeration", "fieldType": "select",
     "options": ["improving", "steady", "declining"],
     "description": "The last 14 days against the 16 before them (a change of 0.15 in mean score or more)."},
    {"name": "undertone_top_theme", "label": "Top theme (30 days)", "type": "string", "fieldType": "text",
     "description": "What this contact's interactions in the last 30 days were most often about."},
]
