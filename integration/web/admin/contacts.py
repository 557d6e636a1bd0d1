"""/admin/contacts: contacts most recently active first or found by a search, each with latest sentiment,
trend and CRM status; /admin/contacts/<id>: their sentiment over time, CRM status and writes, timeline."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from integration.web.admin import charts, contact_state
from integration.web.admin.auth import login_required, runtime

bp = Blueprint("admin_contacts", __name__, url_prefix="/admin/contacts")
SEARCH_MAX = 200
CHANNELS = {"call": "Call", "sms": "Text message", "chat": "Chat", "ticket": "Ticket", "email": "E-mail",
            "survey": "Survey"}
TOUCH_KINDS = {"outbound_call": "Outbound call", "outbound_text": "Text sent", "outbound_email": "E-mail sent",
               "agent_reply": "Agent reply"}


@bp.get("/")
@login_required
def index():
    query = request.args.get("q", "").strip()
    if len(query) > SEARCH_MAX:
        abort(400, f"Search for at most {SEARCH_MAX} characters.")
    rt = runtime()
    with rt.db.session() as session:
        if query:
            before = _int_arg("before")
            ids, next_before = contact_state.search(session, query, before)
            next_args = {"q": query, "before": next_before} if next_before else None
            paged = before is not None
        else:
            cursor = _cursor()
            ids, next_cursor = contact_state.recent(session, cursor)
            next_args = {"cursor": next_cursor.encode()} if next_cursor else None
            paged = cursor is not None
        rows = contact_state.describe(session, ids)
    return render_template("admin/contacts.html", rows=rows, query=query, next_args=next_args, paged=paged)


@bp.get("/<int:contact_id>")
@login_required
def detail(contact_id: int):
    rt = runtime()
    cursor = _cursor()
    with rt.db.session() as session:
        described = contact_state.describe(session, [contact_id])
        if not described:
            abort(404, f"No contact #{contact_id}.")
        contact = described[0]
        identities = contact_state.identities(session, contact_id)
        points = contact_state.scores(session, contact_id)
        writes = contact_state.crm_writes(session, contact_id)
        items, next_cursor = contact_state.timeline(session, contact_id, cursor)
        crm_id = contact_state.crm_link(session, contact_id, rt.settings)
        page = render_template(
            "admin/contact.html", c=contact, identities=identities, points=points, writes=writes, items=items,
            next_cursor=next_cursor.encode() if next_cursor else None, paged=cursor is not None, crm=crm_id,
            spark=charts.score_line([(p["at"].strftime("%b %-d"), p["score"],
                                      f"{p['at']:%Y-%m-%d}: {p['label']} {p['score']:+.2f}") for p in points],
                                    width=360, height=110, tick_labels=False),
            touch_kinds=TOUCH_KINDS, channels=CHANNELS)
    return page


def _cursor():
    try:
        return contact_state.Cursor.decode(request.args.get("cursor"))
    except contact_state.BadCursor as exc:
        abort(400, str(exc))


def _int_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if not value.isdigit():
        abort(400, f"{name}: a page link is a whole number.")
    return int(value)
