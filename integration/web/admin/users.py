"""/admin/users (admins only): who can sign in, with which role; add, change role, remove."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from integration.store import users
from integration.web.admin.auth import admin_required, runtime

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")


@bp.get("/")
@admin_required
def index():
    return render_template("admin/users.html", users=users.all_users(runtime().db), roles=users.ROLES)


@bp.post("/")
@admin_required
def create():
    form = request.form
    try:
        user = users.create(runtime().db, form.get("email", ""), form.get("password", ""), form.get("role", ""))
    except users.UserError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Added {user.email} ({user.role}).")
    return redirect(url_for(".index"))


@bp.post("/<int:user_id>/role")
@admin_required
def change_role(user_id: int):
    try:
        users.set_role(runtime().db, user_id, request.form.get("role", ""))
    except users.UserError as exc:
        flash(str(exc), "error")
    else:
        flash("Role changed.")
    return redirect(url_for(".index"))


@bp.post("/<int:user_id>/delete")
@admin_required
def remove(user_id: int):
    if user_id == current_user.id:
        flash("You cannot remove yourself; ask another admin.", "error")
        return redirect(url_for(".index"))
    try:
        users.remove(runtime().db, user_id)
    except users.UserError as exc:
        flash(str(exc), "error")
    else:
        flash("User removed.")
    return redirect(url_for(".index"))
