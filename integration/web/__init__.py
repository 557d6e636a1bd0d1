"""Web blueprints beyond webhooks and health: the insights API."""
