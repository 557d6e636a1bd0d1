"""Slack: where alerts and digests go."""
