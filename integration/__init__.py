"""The web side and the durable store: app factory, blueprints, settings, models, migrations, CLI.

Importing this package does nothing; `integration.web.app.create_app()` builds the Flask app.
"""
