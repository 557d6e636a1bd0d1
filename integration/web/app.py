"""The Flask app factory: settings, per-process services, blueprints and JSON error pages."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from integration.runtime import Runtime
from integration.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the web app. Connections open lazily, so this is cheap and never touches the network."""
    settings = settings or Settings()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_webhook_bytes
    if settings.secret_key is not None:
        app.config["SECRET_KEY"] = settings.secret_key.get_secret_value()
    app.extensions["undertone"] = Runtime(settings)

    from integration.web import health, webhooks

    app.register_blueprint(webhooks.bp)
    app.register_blueprint(health.bp)
    from integration.web import api
    api.init_app(app)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _http_error(exc: HTTPException):
    return jsonify(error=exc.name, detail=exc.description), exc.code


def _unexpected_error(exc: Exception):
    log.exception("unhandled error")
    return jsonify(error="Internal Server Error", detail="unexpected error; it has been logged"), 500
