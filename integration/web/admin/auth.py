"""Sign-in and sign-out, the current user, and the guards every console page uses."""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from integration.runtime import Runtime
from integration.store import users
from integration.web.admin import throttle

bp = Blueprint("admin_auth", __name__, url_prefix="/admin")
OPEN_POSTS = {"/admin/login", "/admin/logout"}  # anyone may sign in or out; every other POST changes something

__all__ = ["admin_required", "login_required", "runtime", "bp"]


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in person as Flask-Login sees them."""

    id: int
    email: str
    role: str
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def get_id(self) -> str:
        return str(self.id)


def runtime() -> Runtime:
    return current_app.extensions["undertone"]


def load_user(user_id: str) -> ConsoleUser | None:
    """Read on every request, so a removed user or a changed role takes effect at once."""
    try:
        user = users.get(runtime().db, int(user_id))
    except ValueError:
        return None
    return ConsoleUser(user.id, user.email, user.role) if user else None


def admin_required(view):
    """Signed in and an admin (viewers get 403)."""
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403, "Only admins can do this; your account can look but not change anything.")
        return view(*args, **kwargs)
    return wrapped


def refuse_viewer_changes():
    """Run before every console POST: a viewer (or nobody) changes nothing, whatever the route."""
    if request.path in OPEN_POSTS:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403, "Only admins can do this; your account can look but not change anything.")
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The only console page open to everyone."""
    if request.method == "GET":
        return render_template("admin/login.html", email="")
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    rt, address = runtime(), request.remote_addr or "unknown"
    wait = throttle.blocked_for(rt.redis, address, email)
    if wait:
        minutes = max(1, round(wait / 60))
        return render_template("admin/login.html", email=email,
                               error=f"Too many failed sign-ins. Try again in about {minutes} minute(s)."), 429
    user = users.authenticate(rt.db, email, password) if email and password else None
    if user is None:
        throttle.record_failure(rt.redis, address, email)
        return render_template("admin/login.html", email=email, error="Wrong email or password."), 401
    throttle.clear_account(rt.redis, email)
    session.clear()  # a fresh session: nothing from before sign-in carries over
    login_user(ConsoleUser(user.id, user.email, user.role))
    return redirect(_safe_next(request.args.get("next")))


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("Signed out.")
    return redirect(url_for("admin_auth.login"))


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host) is followed after sign-in."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("admin_connectors.index")
