"""Teams: where alerts and digests go."""
