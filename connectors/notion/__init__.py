"""Notion: where alerts and digests go."""
