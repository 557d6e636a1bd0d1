"""/admin/interactions (filters, pages by keyset) and /admin/interactions/<id> (turns, scores, flags, themes,
what went to the CRM, the raw events), where an admin corrects the label."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from pydantic import ValidationError
from redis.exceptions import RedisError

from integration import queues
from integration.insights import browse, rollup
from integration.insights.params import BrowseQuery
from integration.insights.window import resolve
from integration.pipeline import corrections
from integration.web.admin import interaction_detail
from integration.web.admin.auth import admin_required, login_required, runtime

bp = Blueprint("admin_interactions", __name__, url_prefix="/admin/interactions")
log = logging.getLogger(__name__)
FILTERS = ("since", "until", "source", "channel", "line", "agent", "sentiment", "flag", "theme", "text")
FIELD_NAMES = {"since": "From", "until": "To", "text": "Words", "flag": "Flag", "theme": "Theme",
               "sentiment": "Sentiment", "source": "Source", "channel": "Channel", "line": "Line", "agent": "Agent"}


@bp.get("/")
@login_required
def index():
    """The list: every filter at once, newest first, a page at a time."""
    rt = runtime()
    given = {k: request.args.get(k, "").strip() for k in FILTERS}
    given = {k: v for k, v in given.items() if v}
    rollup.refresh(rt.db, rt.settings.tzinfo)  # the theme filter and the choices read the insights' tables
    errors, page = [], {"interactions": [], "older": None, "newer": None}
    try:
        query = BrowseQuery.model_validate(given)
    except ValidationError as exc:
        query, errors = None, [_message(e) for e in exc.errors()]
    with rt.db.session() as session:
        choices = browse.options(session)
        if query is not None:
            window = resolve(query, rt.settings.tzinfo) if query.since or query.days else None
            newer = "after" in request.args
            cursor = browse.Cursor.parse(request.args.get("after") or request.args.get("before"))
            page = browse.browse(session, query, window, rt.settings, cursor, newer=newer and cursor is not None)
    status = 400 if errors else 200
    return render_template("admin/interactions.html", given=given, errors=errors, page=page, choices=choices,
                           filtered=bool(given), labels=corrections.LABELS), status


@bp.get("/<int:interaction_id>")
@login_required
def detail(interaction_id: int):
    return _detail(interaction_id)


@bp.post("/<int:interaction_id>/label")
@admin_required
def correct(interaction_id: int):
    """Store the correction (who, when, from, to), apply it, and have the contact's CRM fields follow."""
    rt, form = runtime(), request.form
    try:
        with rt.db.session() as session:
            done = corrections.correct(session, interaction_id, form.get("label", ""), current_user.id,
                                       current_user.email, form.get("note"))
    except corrections.NoSuchInteraction as exc:
        abort(404, str(exc))
    except corrections.CorrectionError as exc:
        return _detail(interaction_id, error=str(exc), status=400)
    flash(f"Label corrected from {done.old_label} to {done.new_label}." + _follow(rt, done))
    return redirect(url_for(".detail", interaction_id=interaction_id))


def _follow(rt, done: corrections.Corrected) -> str:
    """Ask for the CRM flush (and help-desk tags) now; without Redis the sweep asks within a minute."""
    try:
        if done.contact_id is not None:
            queues.request_flush(rt.redis, rt.settings.crm_flush_delay_s)
        if done.helpdesk_tagged:
            queues.enqueue_tagging(rt.redis, done.interaction_id)
    except RedisError as exc:
        log.warning("correction %s stored; could not queue its sync: %s", done.correction_id, exc)
        return " The CRM will follow when the queue is back (the sweep retries)."
    return " The contact's CRM fields follow at the next sync." if done.contact_id is not None else ""


def _detail(interaction_id: int, error: str | None = None, status: int = 200):
    rt = runtime()
    with rt.db.session() as session:
        view = interaction_detail.load(session, interaction_id, rt.settings)
    if view is None:
        abort(404, f"There is no interaction {interaction_id}.")
    return render_template("admin/interaction.html", v=view, error=error, labels=corrections.LABELS,
                           chosen=request.form.get("label") if error else None,
                           note=request.form.get("note", "") if error else ""), status


def _message(error: dict) -> str:
    field = error["loc"][0] if error.get("loc") else ""
    name = FIELD_NAMES.get(field, str(field))
    text = error.get("msg", "is not valid").removeprefix("Value error, ")
    for word, label in (("until:", "To:"), ("since", "From"), ("days", "the number of days")):
        text = text.replace(word, label)
    return f"{name}: {text}" if name else text
