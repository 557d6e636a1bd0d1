"""The admin console: sign-in, CSRF, security headers and one blueprint per page group."""
from __future__ import annotations

from flask import Flask, request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from integration.settings import Settings

csrf = CSRFProtect()

# No inline script or style anywhere: everything comes from /static (vendored, no CDN).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self';"
       " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def init_app(app: Flask, settings: Settings) -> None:
    """Sessions, CSRF on every console form, headers on every response, the console's blueprints."""
    from integration.web.admin import alerts, auth, connectors, contacts, crm, interactions, jobs, pages, rules, tokens, users

    behind_https = (settings.public_base_url or "").startswith("https://")
    app.config.update(
        SESSION_COOKIE_NAME="undertone_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=behind_https,
        WTF_CSRF_CHECK_DEFAULT=False,  # webhooks are signed, not CSRF-protected; the console checks below
        WTF_CSRF_SSL_STRICT=behind_https,
    )
    csrf.init_app(app)
    login = LoginManager(app)
    login.login_view = "admin_auth.login"
    login.login_message = "Please sign in."
    login.session_protection = "basic"
    login.user_loader(auth.load_user)
    app.before_request(_protect_console_forms)
    app.after_request(_security_headers)
    for module in (auth, pages, interactions, contacts, connectors, crm, jobs, users, alerts, rules, tokens):
        app.register_blueprint(module.bp)


def _protect_console_forms():
    """Every POST under /admin carries a valid CSRF token, and only admins may change anything."""
    if request.method == "POST" and request.path.startswith("/admin"):
        csrf.protect()
        from integration.web.admin.auth import refuse_viewer_changes

        return refuse_viewer_changes()
    return None


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/admin"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
