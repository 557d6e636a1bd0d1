"""Alerts: raised as rows (escalations from the pipeline, spikes after scoring), then delivered by jobs."""
