"""No provider call follows a redirect: every hydrating source and every tag writer, against a local server
that answers 302 to another local server (issue 9, finding 5).

The second server is the source's own test API with its credential check switched off, i.e. an
attacker's copy that would answer the lookup: before the fix `requests` followed the 302 there and
the hydrated item carried whatever it said. Now the 302 is a ProviderError that is not retried, and the
other server sees no request at all.
"""
from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

import tests.connectors.aircall.test_inbound as aircall
import tests.connectors.dialpad.test_inbound as dialpad
import tests.connectors.freshdesk.test_inbound as freshdesk
import tests.connectors.freshdesk.test_tags as freshdesk_tags
import tests.connectors.hubspot.test_inbound as hubspot
import tests.connectors.intercom.test_inbound as intercom
import tests.connectors.intercom.test_tags as intercom_tags
import tests.connectors.twilio.test_inbound as twilio
import tests.connectors.zendesk.test_inbound as zendesk
import tests.connectors.zendesk.test_tags as zendesk_tags
from connectors.common.http import ProviderAPI, ProviderError
from tests.connectors.aircall.test_inbound import aircall_api  # noqa: F401  (fixtures)
from tests.connectors.dialpad.test_inbound import dialpad_api  # noqa: F401
from tests.connectors.freshdesk.test_inbound import fd_api  # noqa: F401
from tests.connectors.freshdesk.test_tags import freshdesk as freshdesk_tickets  # noqa: F401
from tests.connectors.hubspot.test_inbound import hubspot_api  # noqa: F401
from tests.connectors.intercom.test_inbound import intercom_api  # noqa: F401
from tests.connectors.intercom.test_tags import intercom as intercom_conversations  # noqa: F401
from tests.connectors.twilio.test_inbound import twilio_api  # noqa: F401
from tests.connectors.zendesk.test_inbound import users_api  # noqa: F401
from tests.connectors.zendesk.test_tags import zendesk as zendesk_tickets  # noqa: F401
from tests.servers.json_api import JsonAPIServer


class _Quiet(WSGIRequestHandler):
    def log(self, *args, **kwargs) -> None:
        pass


class Redirector:
    """Answers every request with `status` and a Location on `target` (same path and query); counts them."""

    def __init__(self, target: str, status: int = 302):
        self.target, self.status, self.seen = target, status, []
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_Quiet)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def _wsgi(self, environ, start_response):
        path = environ.get("PATH_INFO", "/") + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
        self.seen.append((environ["REQUEST_METHOD"], path))
        start_response(f"{self.status} Redirect", [("Location", self.target + path), ("Content-Length", "0")])
        return [b""]

    def stop(self) -> None:
        self._server.shutdown()


def _attacker(server: JsonAPIServer) -> JsonAPIServer:
    server.auth = None  # the other host answers anyone, as an attacker's would
    return server


def _at(url: str, server=None):
    """A stand-in for a test API object whose base_url is the redirecting server."""
    return SimpleNamespace(base_url=url, server=SimpleNamespace(base_url=url))


# Each case: (fixture giving the attacker's API, its JsonAPIServer, call made against a base URL).
CASES = {
    "twilio": ("twilio_api", lambda f: f,
               lambda url: twilio.hydrate(twilio.hydrating(_at(url)), twilio.fixture("recording_completed"))),
    "aircall": ("aircall_api", lambda f: f, lambda url: aircall.hydrate(_at(url), "transcription_created", slept=[])),
    "dialpad": ("dialpad_api", lambda f: f,
                lambda url: dialpad.hydrate(_at(url), dialpad.claims_of("call_transcription"), slept=[])),
    "zendesk": ("users_api", lambda f: f,
                lambda url: zendesk.hydrate_fixture(zendesk.hydrating(_at(url))[0])),
    "intercom": ("intercom_api", lambda f: f, lambda url: intercom.hydrated(_at(url))),
    "freshdesk": ("fd_api", lambda f: f,
                  lambda url: freshdesk.hydrate(freshdesk.hydrating(_at(url))[0], freshdesk.fixture("status_changed"))),
    "hubspot": ("hubspot_api", lambda f: f,
                lambda url: hubspot.hydrate(_at(url), hubspot.element("new_message"), waits=[])),
    "zendesk_tags": ("zendesk_tickets", lambda f: f.server, lambda url: zendesk_tags.writer(_at(url))[0].apply_tags(
        {"ticket_id": zendesk_tags.TICKET}, add=["sentiment_negative"], remove=[])),
    "intercom_tags": ("intercom_conversations", lambda f: f.server,
                      lambda url: intercom_tags.writer(_at(url))[0].apply_tags(
                          {"conversation_id": intercom_tags.CONVERSATION}, add=["sentiment_negative"], remove=[])),
    "freshdesk_tags": ("freshdesk_tickets", lambda f: f.server,
                       lambda url: freshdesk_tags.writer(_at(url))[0].apply_tags(
                           {"ticket_id": freshdesk_tags.TICKET}, add=["sentiment_negative"], remove=[])),
}


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("source", sorted(CASES))
def test_a_redirect_to_another_host_is_refused_and_not_followed(request, source, status):
    fixture_name, server_of, call = CASES[source]
    attacker = _attacker(server_of(request.getfixturevalue(fixture_name)))
    redirector = Redirector(attacker.base_url, status)
    try:
        with pytest.raises(ProviderError) as raised:
            call(redirector.base_url)
    finally:
        redirector.stop()
    assert attacker.requests == []  # nothing reached the other host
    assert raised.value.status == status and raised.value.retryable is False
    assert len(redirector.seen) == 1  # asked once: a redirect is not retried
    assert "redirect" in str(raised.value)


def test_a_redirect_within_the_providers_own_host_is_not_followed_either():
    with JsonAPIServer() as api:
        api.route("GET", "/new", lambda req: (200, {"ok": True}))
        api.route("GET", "/old", lambda req: (301, {}, {"Location": f"{api.base_url}/new"}))
        with pytest.raises(ProviderError) as raised:
            ProviderAPI(api.base_url, sleep=lambda s: None).get_json("/old")
        assert [r.path for r in api.requests] == ["/old"]
        assert raised.value.status == 301 and not raised.value.retryable
