"""`undertone hubspot setup` against the local HubSpot server, through hubspot-api-client."""
import pytest
from click.testing import CliRunner

from connectors.hubspot.schema import CONTACT_PROPERTIES
from integration.cli import main
from tests.servers.hubspot import HubSpotTestServer


def run_setup(monkeypatch, server):
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", server.access_token)
    monkeypatch.setenv("HUBSPOT_API_BASE", server.base_url)
    return CliRunner().invoke(main, ["hubspot", "setup"])


def test_setup_creates_everything_once_then_changes_nothing(monkeypatch):
    with HubSpotTestServer() as server:
        first = run_setup(monkeypatch, server)
        assert first.exit_code == 0, first.output
        names = [p["name"] for p in CONTACT_PROPERTIES]
        assert all(server.properties[n]["groupName"] == "undertone" for n in names)
        assert [o["value"] for o in server.properties["undertone_sentiment"]["options"]] == [
            "very_negative", "negative", "neutral", "positive", "very_positive"]
        assert "undertone" in server.property_groups
        assert "created" in first.output and "scopes    ok" in first.output
        server.clear_requests()
        second = run_setup(monkeypatch, server)
        assert second.exit_code == 0 and "created" not in second.output
        assert f"unchanged {', '.join(names)}" in second.output
        assert not [r for r in server.requests if r.method == "PATCH"]


def test_a_changed_definition_is_updated(monkeypatch):
    with HubSpotTestServer() as server:
        server.define_property("undertone_trend", "enumeration", "select", options=["up", "down"])
        result = run_setup(monkeypatch, server)
        assert result.exit_code == 0, result.output
        assert "updated   undertone_trend" in result.output
        assert [o["value"] for o in server.properties["undertone_trend"]["options"]] == ["improving", "steady", "declining"]


def test_missing_scopes_are_named(monkeypatch):
    with HubSpotTestServer(scopes=["crm.objects.contacts.read"]) as server:
        result = run_setup(monkeypatch, server)
    assert result.exit_code != 0
    assert "crm.objects.contacts.write, crm.schemas.contacts.write" in result.output


@pytest.mark.parametrize("token", [None, "wrong"])
def test_no_or_wrong_token_is_a_clear_error(monkeypatch, token):
    with HubSpotTestServer() as server:
        monkeypatch.setenv("HUBSPOT_API_BASE", server.base_url)
        if token is None:
            monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
        else:
            monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", token)
        result = CliRunner().invoke(main, ["hubspot", "setup"])
    assert result.exit_code != 0
    assert ("HUBSPOT_ACCESS_TOKEN" in result.output) if token is None else ("HubSpot refused: 401" in result.output)
