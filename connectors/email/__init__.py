"""Email: where alerts and digests go."""
