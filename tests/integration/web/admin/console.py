"""Helpers for console tests: users, sign-in and the CSRF token a page carries."""
from __future__ import annotations

import re

from redis import Redis
from rq import Queue, SimpleWorker
from rq.registry import FailedJobRegistry

from integration import defaults
from integration.store import users

PASSWORD = "correct horse battery staple"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_user(app, email: str = "owner@example.com", role: str = "admin") -> str:
    users.create(app.extensions["undertone"].db, email, PASSWORD, role)
    return email


def csrf_token(client, path: str = "/admin/login") -> str:
    page = client.get(path)
    match = TOKEN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def sign_in(client, email: str, password: str = PASSWORD):
    return client.post("/admin/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})


def post(client, path: str, data: dict | None = None, token_from: str = "/admin/"):
    """A console form post with the token a page of the console hands out."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, token_from)})


def fail_job():
    """An RQ job that always fails (the failed-jobs page needs one)."""
    raise RuntimeError("the CRM said no (test)")


def failed_job(redis_url: str) -> str:
    """Run `fail_job` through a real RQ worker so it lands in the CRM queue's failed registry."""
    redis = Redis.from_url(redis_url)
    job = Queue(defaults.CRM_QUEUE, connection=redis).enqueue("tests.integration.web.admin.console.fail_job",
                                                              description="flush CRM changes (test)")
    SimpleWorker([defaults.CRM_QUEUE], connection=redis).work(burst=True)
    assert job.id in FailedJobRegistry(defaults.CRM_QUEUE, connection=redis).get_job_ids()
    return job.id
