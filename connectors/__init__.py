"""Connectors: one module per outside system, behind the small interfaces in `connectors.base`."""
