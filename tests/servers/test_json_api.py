"""The generic local JSON API server, exercised through the service's own ProviderAPI client."""
import pytest

from connectors.common.http import ProviderAPI, ProviderError
from tests.servers.json_api import JsonAPIServer


@pytest.fixture
def api():
    with JsonAPIServer(auth=lambda h: h.get("Authorization") == "Bearer good") as server:
        server.route("GET", "/users/<user_id>.json", lambda req, user_id: (200, {"id": user_id}))
        yield server


def client(api, token="good") -> ProviderAPI:
    return ProviderAPI(api.base_url, headers={"Authorization": f"Bearer {token}"}, sleep=lambda s: None)


def test_route_params_and_request_log(api):
    assert client(api).get_json("/users/42.json") == {"id": "42"}
    assert [(r.method, r.path, r.status) for r in api.requests] == [("GET", "/users/42.json", 200)]


def test_429_with_retry_after_then_success(api):
    slept = []
    api.fail_next("/users/", 429, headers={"Retry-After": "3"})
    provider = ProviderAPI(api.base_url, headers={"Authorization": "Bearer good"}, sleep=slept.append)
    assert provider.get_json("/users/7.json") == {"id": "7"}
    assert slept == [3.0]
    assert [r.status for r in api.requests] == [429, 200]


@pytest.mark.parametrize("status, retryable", [(401, False), (404, False), (409, False), (500, True), (503, True)])
def test_errors_are_classified(api, status, retryable):
    api.fail_next("/users/", status, count=5)
    with pytest.raises(ProviderError) as caught:
        client(api).get_json("/users/1.json")
    assert caught.value.status == status and caught.value.retryable is retryable
    assert len(api.requests) == (3 if retryable else 1)


def test_wrong_token_is_401_not_retried(api):
    with pytest.raises(ProviderError) as caught:
        client(api, token="bad").get_json("/users/1.json")
    assert caught.value.status == 401 and not caught.value.retryable


def test_urls_on_other_hosts_are_refused_before_any_request(api):
    with pytest.raises(ProviderError, match="not the provider's API host"):
        client(api).get_json("http://169.254.169.254/latest/meta-data")
    assert api.requests == []


def test_error_list_messages_are_reported(api):
    api.fail_next("/users/", 401, body={"type": "error.list",
                                        "errors": [{"code": "unauthorized", "message": "Access Token Invalid"}]})
    with pytest.raises(ProviderError, match="Access Token Invalid"):
        client(api).get_json("/users/1.json")
