"""The CRM and jobs pages: HubSpot status, test connection, setup and scopes; failed jobs requeued or deleted."""
from __future__ import annotations

from redis import Redis
from rq import Queue
from rq.registry import FailedJobRegistry

from integration import defaults
from integration.store.models import Contact, utcnow
from tests.integration.web.admin.console import failed_job, make_user, post, sign_in
from tests.servers.hubspot import HubSpotTestServer


def test_failed_jobs_are_listed_with_their_error_and_can_be_requeued(app, client, redis_url):
    job_id = failed_job(redis_url)
    sign_in(client, make_user(app))
    page = client.get("/admin/jobs/").get_data(as_text=True)
    assert "flush CRM changes (test)" in page and "RuntimeError: the CRM said no (test)" in page
    answer = post(client, f"/admin/jobs/{defaults.CRM_QUEUE}/{job_id}/requeue", token_from="/admin/jobs/")
    assert answer.status_code == 302
    redis = Redis.from_url(redis_url)
    assert job_id not in FailedJobRegistry(defaults.CRM_QUEUE, connection=redis).get_job_ids()
    assert job_id in Queue(defaults.CRM_QUEUE, connection=redis).job_ids
    assert "is queued again" in client.get("/admin/jobs/").get_data(as_text=True)
    again = post(client, f"/admin/jobs/{defaults.CRM_QUEUE}/{job_id}/requeue", token_from="/admin/jobs/")
    assert again.status_code == 404  # no longer failed: a clear answer, nothing changes


def test_a_failed_job_can_be_deleted(app, client, redis_url):
    job_id = failed_job(redis_url)
    sign_in(client, make_user(app))
    assert post(client, f"/admin/jobs/{defaults.CRM_QUEUE}/{job_id}/delete", token_from="/admin/jobs/"
                ).status_code == 302
    redis = Redis.from_url(redis_url)
    assert FailedJobRegistry(defaults.CRM_QUEUE, connection=redis).count == 0
    assert redis.exists(f"rq:job:{job_id}") == 0
    assert post(client, f"/admin/jobs/nosuchqueue/{job_id}/delete", token_from="/admin/jobs/").status_code == 404


def test_crm_page_without_a_token_says_the_sink_is_used(app, client):
    db = app.extensions["undertone"].db
    with db.session() as session:
        session.add_all([Contact(name="Dana Lee", crm_status="unmatched", created_at=utcnow()),
                         Contact(name="Sam", crm_status="error", crm_error="PROPERTY_DOESNT_EXIST: x",
                                 created_at=utcnow())])
    sign_in(client, make_user(app))
    page = client.get("/admin/crm/").get_data(as_text=True)
    assert "No token" in page and "built-in CRM sink" in page
    assert "Dana Lee" in page and "PROPERTY_DOESNT_EXIST: x" in page and "unmatched: 1" in page


def test_crm_test_connection_and_setup_against_a_local_hubspot(app, client):
    with HubSpotTestServer(scopes=["crm.objects.contacts.read", "crm.objects.contacts.write"]) as hubspot:
        sign_in(client, make_user(app))
        post(client, "/admin/crm/", {"hubspot_access_token": "test-token", "hubspot_api_base": hubspot.base_url},
             token_from="/admin/crm/")
        page = client.get("/admin/crm/").get_data(as_text=True)
        assert "A token is set" in page and "test-token" not in page
        checked = post(client, "/admin/crm/test", token_from="/admin/crm/").get_data(as_text=True)
        assert "the token can read contact properties" in checked
        assert "Missing required scopes: crm.schemas.contacts.write" in checked
        done = post(client, "/admin/crm/setup", token_from="/admin/crm/").get_data(as_text=True)
        assert "Setup done:" in done and "undertone_sentiment" in hubspot.properties
        post(client, "/admin/crm/", {"hubspot_access_token": "wrong-token"}, token_from="/admin/crm/")
        refused = post(client, "/admin/crm/test", token_from="/admin/crm/").get_data(as_text=True)
        assert "HubSpot answered 401" in refused
