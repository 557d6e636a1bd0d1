"""/admin/tokens: the insights API's tokens listed for everyone signed in; admins create (shown once) and revoke."""
from __future__ import annotations

import html

from bs4 import BeautifulSoup

from integration.store import api_tokens
from tests.integration.web.admin.console import make_user, post, sign_in


def test_create_shows_the_token_once_and_it_works_until_revoked(app, client):
    sign_in(client, make_user(app))
    db = app.extensions["undertone"].db
    answer = post(client, "/admin/tokens/", {"name": "dashboard"}, token_from="/admin/tokens/")
    assert answer.status_code == 200
    soup = BeautifulSoup(answer.get_data(as_text=True), "html.parser")
    token = soup.find(id="token-value")["value"]
    assert token.startswith(api_tokens.TOKEN_PREFIX) and api_tokens.verify(db, token) is not None
    assert client.get("/api/v1/insights/mix", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    listing = client.get("/admin/tokens/").get_data(as_text=True)
    assert token not in listing and "dashboard" in listing and "active" in listing

    answer = post(client, "/admin/tokens/revoke", {"name": "dashboard"}, token_from="/admin/tokens/")
    assert answer.status_code == 302
    page = html.unescape(client.get("/admin/tokens/").get_data(as_text=True))
    assert "Revoked 'dashboard': it stops working at once." in page and "revoked" in page
    assert api_tokens.verify(db, token) is None


def test_a_taken_or_empty_name_is_refused_with_a_message(app, client):
    sign_in(client, make_user(app))
    post(client, "/admin/tokens/", {"name": "dashboard"}, token_from="/admin/tokens/")
    again = post(client, "/admin/tokens/", {"name": "dashboard"}, token_from="/admin/tokens/")
    assert again.status_code == 400
    assert "a token named 'dashboard' exists; revoke it first" in html.unescape(again.get_data(as_text=True))
    empty = post(client, "/admin/tokens/", {"name": "  "}, token_from="/admin/tokens/")
    assert empty.status_code == 400 and "a token name is 1 to 64 characters" in empty.get_data(as_text=True)
    unknown = post(client, "/admin/tokens/revoke", {"name": "nobody"}, token_from="/admin/tokens/")
    assert "no active token named" in html.unescape(client.get(unknown.headers["Location"]).get_data(as_text=True))
    assert [name for name, _, _ in api_tokens.names(app.extensions["undertone"].db)] == ["dashboard"]


def test_a_viewer_sees_the_list_and_changes_nothing(app, client):
    db = app.extensions["undertone"].db
    token = api_tokens.create(db, "reporting")
    make_user(app)
    sign_in(client, make_user(app, "viewer@example.com", "viewer"))
    page = client.get("/admin/tokens/").get_data(as_text=True)
    assert "reporting" in page and "Create token" not in page and "Revoke" not in page
    assert post(client, "/admin/tokens/", {"name": "mine"}, token_from="/admin/tokens/").status_code == 403
    assert post(client, "/admin/tokens/revoke", {"name": "reporting"}, token_from="/admin/tokens/").status_code == 403
    assert api_tokens.verify(db, token) is not None
    assert [name for name, _, _ in api_tokens.names(db)] == ["reporting"]
