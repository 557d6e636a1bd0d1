"""WebhookRequest: the URL a connector sees, built only when a connector reads it; headers looked up once."""
from __future__ import annotations

from connectors.base import WebhookRequest


def test_a_url_given_as_a_function_is_built_on_first_use_and_once():
    built = []

    def build() -> str:
        built.append(1)
        return "https://undertone.example/webhooks/twilio?x=1"

    request = WebhookRequest(b"{}", {}, build)
    assert built == []  # a sender that does not sign the URL never pays for it
    assert request.url == "https://undertone.example/webhooks/twilio?x=1"
    assert request.url == "https://undertone.example/webhooks/twilio?x=1"
    assert built == [1]


def test_a_url_given_as_text_is_kept_and_the_body_stays_out_of_the_repr():
    request = WebhookRequest(body=b'{"token": "secret-value"}', headers={"X-A": "1"}, url="http://x/webhooks/quo")
    assert request.url == "http://x/webhooks/quo" and request.method == "POST"
    assert request.header("x-a") == "1"
    assert "secret-value" not in repr(request)


def test_each_header_is_looked_up_once_present_or_absent():
    """verify() and events() both ask for the scheme's headers: the request's mapping answers each name once."""
    from werkzeug.datastructures import Headers

    asked: list[str] = []

    class CountingHeaders(Headers):
        def get(self, key, default=None, type=None):
            asked.append(key)
            return super().get(key, default, type)

    request = WebhookRequest(b"{}", CountingHeaders({"Webhook-Id": "msg_1"}), "http://x/webhooks/quo")
    for _ in range(3):
        assert request.header("webhook-id") == "msg_1"
        assert request.header("webhook-signature") is None
    assert asked == ["webhook-id", "webhook-signature"]
