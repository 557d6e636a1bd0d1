"""Top themes and recurring topics from stored interactions (the `undertone themes` command)."""
from click.testing import CliRunner

from integration.cli import main
from tests.quo_requests import classic_headers
from tests.workers.helpers import drain


def send_message(client, index: int, text: str) -> None:
    import json

    from tests.quo_requests import fixture_body

    body = json.loads(fixture_body("message_received.json"))
    body["id"] = f"EVinsight{index}"
    body["data"]["object"]["id"] = f"ACinsight{index}"
    body["data"]["object"]["from"] = f"+1312555{index:04d}"
    body["data"]["object"]["text"] = text
    raw = json.dumps(body).encode()
    assert client.post("/webhooks/quo", data=raw, headers=classic_headers(raw)).status_code == 200


def test_themes_command_counts_taxonomy_and_finds_recurring_topics(client, redis_conn, worker_env):
    texts = [
        "I was charged twice for the water heater install, this is ridiculous.",
        "The water heater install left a leak under the sink.",
        "Thanks, the water heater install went great!",
        "When is my appointment on Friday?",
    ]
    for index, text in enumerate(texts):
        send_message(client, index, text)
    drain(redis_conn)
    output = CliRunner().invoke(main, ["themes", "--days", "7", "--top", "3"]).output
    lines = output.splitlines()
    assert lines[0].startswith("Top themes, last 7 days")
    billing = next(line for line in lines if line.strip().startswith("billing"))
    assert billing.split()[1:] == ["1", "1"]  # one interaction, negative
    # Noun phrases: the tagger reads "install" as a verb, so the topic is the water heater, in all three messages.
    assert any(line.strip().startswith("water heater ") and " 3  e.g." in line for line in lines)
    assert not any(line.strip().startswith(("friday ", "appointment ")) for line in lines)  # one message: no topic
