"""Access and safety: sign-in, rate limits, CSRF, viewers, headers, cookies, SECRET_KEY and the CLI."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from integration.store.models import AdminUser
from integration.web.app import create_app
from tests.integration.web.admin.console import PASSWORD, csrf_token, make_user, post, sign_in

PAGES = ["/admin/", "/admin/connectors/", "/admin/connectors/quo", "/admin/crm/", "/admin/jobs/", "/admin/users/"]


def test_every_page_but_login_needs_a_session(client):
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 302 and "/admin/login" in answer.headers["Location"], path
    assert client.get("/admin/login").status_code == 200


def test_sign_in_and_a_wrong_password(app, client):
    email = make_user(app)
    wrong = sign_in(client, email, "not the password at all")
    assert wrong.status_code == 401 and "Wrong email or password" in wrong.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    right = sign_in(client, email)
    assert right.status_code == 302
    assert client.get("/admin/").status_code == 200
    with app.extensions["undertone"].db.session() as session:
        assert session.scalar(select(AdminUser.last_login_at).where(AdminUser.email == email)) is not None
    assert client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")}).status_code == 302
    assert client.get("/admin/").status_code == 302


def test_unknown_email_is_refused_like_a_wrong_password(app, client):
    make_user(app)
    assert sign_in(client, "nobody@example.com").status_code == 401


def test_failed_sign_ins_are_limited_per_account_even_with_the_right_password(app, client):
    email = make_user(app)
    for _ in range(5):
        assert sign_in(client, email, "wrong password 123").status_code == 401
    blocked = sign_in(client, email)
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.get_data(as_text=True)
    other = make_user(app, "office@example.com")
    assert sign_in(client, other).status_code == 302  # another account from the same address still works


def test_failed_sign_ins_are_limited_per_address(app, client, monkeypatch):
    from integration import defaults

    monkeypatch.setattr(defaults, "LOGIN_MAX_PER_ADDRESS", 3)
    email = make_user(app)
    for n in range(3):
        assert sign_in(client, f"guess{n}@example.com", "wrong password 123").status_code == 401
    assert sign_in(client, email).status_code == 429


def test_a_form_without_its_csrf_token_is_refused(app, client):
    email = make_user(app)
    refused = client.post("/admin/login", data={"email": email, "password": PASSWORD})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    assert sign_in(client, email).status_code == 302
    before = client.get("/admin/users/").get_data(as_text=True)
    answer = client.post("/admin/users/", data={"email": "new@example.com", "password": PASSWORD, "role": "admin"})
    assert answer.status_code == 400
    assert "new@example.com" not in client.get("/admin/users/").get_data(as_text=True)
    assert "owner@example.com" in before


def test_webhooks_need_no_csrf_token(client):
    assert client.post("/webhooks/quo", data=b"{}").status_code == 401  # the signature decides, not CSRF


def test_a_viewer_sees_pages_but_changes_nothing(app, client):
    make_user(app)
    viewer = make_user(app, "viewer@example.com", "viewer")
    assert sign_in(client, viewer).status_code == 302
    for path in PAGES[:-1]:
        assert client.get(path).status_code == 200, path
    assert client.get("/admin/users/").status_code == 403
    attempts = {
        "/admin/users/": {"email": "x@example.com", "password": PASSWORD, "role": "admin"},
        "/admin/users/1/role": {"role": "admin"},
        "/admin/users/1/delete": {},
        "/admin/connectors/generic": {"generic_webhook_secret": "whsec_c2VjcmV0"},
        "/admin/connectors/quo/test": {},
        "/admin/crm/": {"hubspot_tier": "enterprise"},
        "/admin/crm/setup": {},
        "/admin/crm/test": {},
        "/admin/jobs/events/any/requeue": {},
        "/admin/jobs/events/any/delete": {},
    }
    for path, data in attempts.items():
        assert post(client, path, data).status_code == 403, path
    db = app.extensions["undertone"].db
    with db.session() as session:
        assert session.scalars(select(AdminUser.role).order_by(AdminUser.email)).all() == ["admin", "viewer"]
    page = client.get("/admin/connectors/generic").get_data(as_text=True)
    assert "only an admin can change it" in page and "Send a test delivery</button>" not in page


def test_security_headers_and_cookie_flags(app, client):
    email = make_user(app)
    answer = sign_in(client, email)
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/admin/connectors/")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff" and page.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in page.get_data(as_text=True) and " style=" not in page.get_data(as_text=True)


def test_session_cookie_is_secure_behind_https(settings):
    app = create_app(settings.model_copy(update={"public_base_url": "https://undertone.example.com"}))
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_without_secret_key_the_console_refuses_and_webhooks_still_work(settings, caplog):
    app = create_app(settings.model_copy(update={"secret_key": None}))
    assert "SECRET_KEY is not set" in caplog.text
    client = app.test_client()
    for path in ("/admin/", "/admin/login", "/admin/connectors/quo"):
        answer = client.get(path)
        assert answer.status_code == 503 and "make run" in answer.get_json()["error"]
    assert client.post("/admin/login", data={"email": "a@b.c", "password": "x" * 12}).status_code == 503
    assert client.get("/healthz").status_code in (200, 503)  # the web process itself is up
    assert client.post("/webhooks/quo", data=b"{}").status_code == 401  # and webhooks are still checked


def test_cli_creates_users_from_stdin_and_refuses_bad_input(settings, monkeypatch):
    from integration.cli import main
    from integration.store import users
    from integration.store.db import Database

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    runner = CliRunner()
    made = runner.invoke(main, ["admin", "create", "Boss@Example.com", "--password-stdin"], input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    assert "created admin boss@example.com" in made.output
    again = runner.invoke(main, ["admin", "create", "boss@example.com", "--password-stdin"], input=PASSWORD + "\n")
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(main, ["admin", "create", "v@example.com", "--role", "viewer", "--password-stdin"],
                          input="short\n")
    assert short.exit_code != 0 and "at least 12" in short.output
    prompted = runner.invoke(main, ["admin", "create", "v@example.com", "--role", "viewer"],
                             input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    db = Database(settings.database_url)
    assert [(u.email, u.role) for u in users.all_users(db)] == [("boss@example.com", "admin"),
                                                                ("v@example.com", "viewer")]
    assert users.authenticate(db, "BOSS@example.com", PASSWORD) is not None
    db.dispose()


def test_the_last_admin_stays_an_admin(app, client):
    email = make_user(app)
    sign_in(client, email)
    with app.extensions["undertone"].db.session() as session:
        user_id = session.scalar(select(AdminUser.id))
    post(client, f"/admin/users/{user_id}/role", {"role": "viewer"})
    assert "the last admin cannot become a viewer" in client.get("/admin/users/").get_data(as_text=True)
    assert post(client, "/admin/users/", {"email": "b@example.com", "password": PASSWORD, "role": "viewer"}
                ).status_code == 302
    assert "b@example.com" in client.get("/admin/users/").get_data(as_text=True)


def test_after_sign_in_only_a_path_on_this_site_is_followed(app, client):
    email = make_user(app)
    for target, expected in (("/admin/jobs/", "/admin/jobs/"), ("//evil.example.com/x", "/admin/connectors/"),
                             ("https://evil.example.com/", "/admin/connectors/")):
        token = csrf_token(client)
        answer = client.post(f"/admin/login?next={target}", data={"email": email, "password": PASSWORD,
                                                                   "csrf_token": token})
        assert answer.headers["Location"] == expected, target
        client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
