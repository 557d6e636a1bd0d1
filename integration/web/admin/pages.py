"""The console's home and its error page."""
from __future__ import annotations

from flask import Blueprint, render_template

from integration.web.admin.auth import login_required

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")


@bp.get("/")
@login_required
def home():
    """Where the console starts (the overview of insights will live here); links to every page."""
    return render_template("admin/home.html")


def error_page(code: int | None, name: str, description: str | None):
    """An HTML error inside the console's layout."""
    return render_template("admin/error.html", code=code, name=name, description=description), code or 500
