"""The Flask app factory: settings, per-process services, blueprints and error pages."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from integration.runtime import Runtime
from integration.settings import Settings

log = logging.getLogger(__name__)

SECRET_KEY_MISSING = (
    "SECRET_KEY is not set. The admin console signs its sessions and encrypts stored secrets with it, so it"
    " refuses to start without one (webhooks, /healthz and the insights API keep working). Set SECRET_KEY to a"
    " long random value (for example the output of `python -c 'import secrets; print(secrets.token_urlsafe(48))'`);"
    " `make run` generates one into var/."
)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the web app. Connections open lazily, so this is cheap and never touches the network."""
    settings = settings or Settings()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_webhook_bytes
    app.extensions["undertone"] = Runtime(settings)

    from integration.web import admin, api, health, webhooks

    app.register_blueprint(webhooks.bp)
    app.register_blueprint(health.bp)
    api.init_app(app)
    if settings.secret_key is not None and settings.secret_key.get_secret_value().strip():
        app.config["SECRET_KEY"] = settings.secret_key.get_secret_value()
        admin.init_app(app, settings)
    else:  # a missing console key must never cost a webhook: the console alone refuses, saying why
        log.error(SECRET_KEY_MISSING)
        app.add_url_rule("/admin/", "admin_refused", _console_refused)
        app.add_url_rule("/admin/<path:rest>", "admin_refused_any", _console_refused, methods=["GET", "POST"])
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _console_refused(rest: str = ""):
    return jsonify(error=SECRET_KEY_MISSING), 503


def _http_error(exc: HTTPException):
    if request.path.startswith("/admin"):
        from integration.web.admin.pages import error_page

        return error_page(exc.code, exc.name, exc.description)
    return jsonify(error=exc.name, detail=exc.description), exc.code


def _unexpected_error(exc: Exception):
    log.exception("unhandled error")
    if request.path.startswith("/admin"):
        from integration.web.admin.pages import error_page

        return error_page(500, "Internal Server Error", "Something went wrong; it has been logged.")
    return jsonify(error="Internal Server Error", detail="unexpected error; it has been logged"), 500
