"""/admin/tokens: the insights API's bearer tokens. Everyone signed in sees the list; admins create and revoke.

A new token is shown once, in the page that answers the create (never flashed: the flash lives in the
session cookie), and only its hash is stored (integration/store/api_tokens.py, as `undertone api-token`).
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from integration.store import api_tokens
from integration.web.admin.auth import admin_required, login_required, runtime

bp = Blueprint("admin_tokens", __name__, url_prefix="/admin/tokens")


def _render(created: tuple[str, str] | None = None, error: str | None = None, name: str = "", status: int = 200):
    rows = api_tokens.names(runtime().db)
    return render_template("admin/tokens.html", rows=rows, created=created, error=error, name=name), status


@bp.get("/")
@login_required
def index():
    return _render()


@bp.post("/")
@admin_required
def create():
    name = request.form.get("name", "").strip()
    try:
        token = api_tokens.create(runtime().db, name)
    except api_tokens.TokenError as exc:
        return _render(error=f"Not created: {exc}.", name=name, status=400)
    return _render(created=(name, token))


@bp.post("/revoke")
@admin_required
def revoke():
    name = request.form.get("name", "")
    try:
        api_tokens.revoke(runtime().db, name)
    except api_tokens.TokenError as exc:
        flash(f"Not revoked: {exc}.", "error")
    else:
        flash(f"Revoked {name!r}: it stops working at once.")
    return redirect(url_for(".index"))
