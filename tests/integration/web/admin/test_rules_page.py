"""/admin/rules: the owner's escalation, follow-up and theme rules, stored in the database over the shipped JSON,
validated with clear messages (nothing changes on an error), picked up by workers without a restart, reset."""
from __future__ import annotations

import html
import json

import pytest
from bs4 import BeautifulSoup

from integration.runtime import Runtime
from integration.store import rules as owner_rules
from integration.store import settings_store
from scoring.base import Score
from scoring.escalation import EscalationRules
from tests.integration.web.admin.console import make_user, sign_in

NEUTRAL = Score("neutral", 0.0, "neutral", 0.5)


def form_of(page: str) -> dict[str, str]:
    """The rules form's fields as a browser would post them (checked boxes only, selected options)."""
    form = BeautifulSoup(page, "html.parser").find("form", id="rules-form")
    fields: dict[str, str] = {}
    for element in form.find_all(["input", "textarea", "select"]):
        name = element.get("name")
        if not name or element.has_attr("disabled"):
            continue
        if element.name == "textarea":
            fields[name] = element.text
        elif element.name == "select":
            chosen = element.find("option", selected=True) or element.find("option")
            fields[name] = chosen.get("value", "")
        elif element.get("type") == "checkbox":
            if element.has_attr("checked"):
                fields[name] = "on"
        else:
            fields[name] = element.get("value", "")
    return fields


def rules_form(client) -> dict[str, str]:
    page = client.get("/admin/rules/")
    assert page.status_code == 200
    return form_of(page.get_data(as_text=True))


def submit(client, fields: dict[str, str], path: str = "/admin/rules/"):
    return client.post(path, data=fields)


def _admin(app, client):
    sign_in(client, make_user(app))


def test_the_page_shows_the_shipped_rules(app, client):
    _admin(app, client)
    page = html.unescape(client.get("/admin/rules/").get_data(as_text=True))
    shipped = json.loads(owner_rules.SHIPPED["escalation"].read_text())
    for rule in shipped["rules"]:
        assert f'id="rule-{rule["name"]}"' in page
    assert "Negative-score threshold" in page and 'value="-0.6"' in page
    assert "Call {who} back today: {escalation}" in page
    assert 'id="theme-billing"' in page and "The shipped defaults." in page
    fields = form_of(page)
    assert fields["esc.anger.enabled"] == "on" and fields["fu.0.priority"] == "HIGH"


def test_saving_stores_the_edits_and_every_process_uses_them(app, client, settings):
    _admin(app, client)
    fields = rules_form(client)
    fields["esc.anger.phrases"] = "bananas\nup the wall"
    fields.pop("esc.refund.enabled")  # switched off
    fields["threshold"] = "-0.45"
    fields["competitors"] = "Acme Plumbing\nRotoRapid"
    fields["fu.1.due_hours"] = "2"
    fields["fu.1.owner_id"] = "12345"
    fields["fu.1.subject"] = "Ring {who} about {themes}"
    fields["th.0.keywords"] = fields["th.0.keywords"] + "\nstatement"
    fields.update({"th.new.theme": "parking", "th.new.label": "Parking", "th.new.keywords": "parking\ndriveway",
                   "th.new.examples": "The van blocked my driveway"})
    answer = submit(client, fields)
    assert answer.status_code == 302
    page = html.unescape(client.get("/admin/rules/").get_data(as_text=True))
    assert "Saved escalation rules, follow-up task rules, themes." in page
    assert "Edited here" in page

    other = Runtime(settings)  # another process (a worker) reads the database, not this page
    stored = other.stored_rules
    escalation = owner_rules.effective("escalation", other.settings, stored)
    anger = next(r for r in escalation["rules"] if r["name"] == "anger")
    assert anger["phrases"] == ["bananas", "up the wall"]
    assert next(r for r in escalation["rules"] if r["name"] == "refund")["enabled"] is False
    assert next(r for r in escalation["rules"] if r["kind"] == "score")["below"] == -0.45
    assert escalation["competitors"] == ["Acme Plumbing", "RotoRapid"]
    follow_up = owner_rules.effective("follow_up", other.settings, stored)["rules"][1]
    assert (follow_up["due_hours"], follow_up["owner_id"], follow_up["subject"]) == (2, "12345", "Ring {who} about {themes}")
    themes = owner_rules.effective("themes", other.settings, stored)["themes"]
    assert "statement" in themes[0]["keywords"] and themes[-1]["theme"] == "parking"

    rules = EscalationRules.from_document(escalation)
    fired = {f.rule: f.evidence for f in rules.evaluate(["Honestly this is bananas. I want a refund."], NEUTRAL)}
    assert fired == {"anger": "Honestly this is bananas."}  # refund is off
    assert "competitor" in {f.rule for f in rules.evaluate(["RotoRapid quoted less"], NEUTRAL)}
    other.db.dispose()


def test_workers_pick_up_a_change_without_a_restart(app, client, worker_env):
    from workers import context

    _admin(app, client)
    before = context.analyzer()
    assert not before.rules.evaluate(["this is bananas"], NEUTRAL)
    fields = rules_form(client)
    fields["esc.anger.phrases"] = "bananas"
    assert submit(client, fields).status_code == 302
    context.runtime().refresh_s = 0  # as if SETTINGS_REFRESH_S had passed since the last check
    after = context.analyzer()
    assert after is not before
    assert [f.rule for f in after.rules.evaluate(["this is bananas"], NEUTRAL)] == ["anger"]
    assert context.analyzer() is after  # unchanged rules: the same analyzer, not rebuilt per job
    assert context.sync_options().rules == owner_rules.default("follow_up", context.runtime().settings)


@pytest.mark.parametrize("edit, message", [
    ({"esc.anger.pattern": r"\b(?:furious"}, "Rule 'anger': the pattern is not a valid regular expression"),
    ({"esc.anger.phrases": "!!!"}, "Rule 'anger': phrase 1 has no letter or digit"),
    ({"esc.anger.phrases": "", "esc.anger.pattern": ""}, "Rule 'anger' is on but has no phrases and no pattern"),
    ({"threshold": "0.4"}, "the negative-score threshold must be a number from -1 up to (not including) 0; got 0.4"),
    ({"threshold": "-1.5"}, "got -1.5"),
    ({"threshold": "very low"}, "The negative-score threshold must be a number; got 'very low'"),
    ({"fu.0.subject": "Call {customer} now"}, "Follow-up rule 'escalation': subject uses unknown placeholder"
                                              " {customer}; the placeholders are {who}"),
    ({"fu.1.body": "Broken {who"}, "Follow-up rule 'negative_sentiment': body is not a valid template"),
    ({"fu.0.subject": "  "}, "Follow-up rule 'escalation': subject is empty."),
    ({"fu.1.due_hours": "0"}, "the SLA (due in hours) must be more than 0"),
    ({"fu.0.owner_id": "Dana"}, "the owner must be a HubSpot owner ID"),
    ({"fu.1.threshold": "2"}, "the score threshold must be a number from -1 to 1"),
    ({"th.0.keywords": "bill(ing"}, "Theme 'billing': keyword 1 is not a valid regular expression"),
    ({"th.0.keywords": "", "th.0.examples": ""}, "Theme 'billing' has no keywords and no examples"),
    ({"th.new.keywords": "parking"}, "The new theme needs a name"),
    ({"th.new.theme": "Parking Lot", "th.new.keywords": "parking"}, "Theme name 'Parking Lot'"),
    ({"th.new.theme": "billing", "th.new.keywords": "parking"}, "There are two themes called 'billing'."),
])
def test_invalid_edits_are_refused_with_a_clear_message_and_change_nothing(app, client, edit, message):
    _admin(app, client)
    db = app.extensions["undertone"].db
    version = settings_store.version(db)
    fields = rules_form(client)
    fields["fu.1.due_hours"] = "6"  # a valid edit beside the bad one is not stored either
    fields.update(edit)
    answer = submit(client, fields)
    page = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 400
    assert "Nothing was saved." in page and message in page, page[page.find("rule-errors"):][:1500]
    assert settings_store.version(db) == version
    assert owner_rules.stored_rules(db) == {}
    if "th.new.keywords" in edit:  # what was typed for the new theme is kept in the form
        assert "parking</textarea>" in page


def test_a_valid_form_left_unchanged_stores_nothing(app, client):
    _admin(app, client)
    answer = submit(client, rules_form(client))
    assert answer.status_code == 302
    assert "Nothing changed." in client.get("/admin/rules/").get_data(as_text=True)
    assert owner_rules.stored_rules(app.extensions["undertone"].db) == {}


def test_reset_to_defaults(app, client):
    _admin(app, client)
    db = app.extensions["undertone"].db
    fields = rules_form(client)
    fields["esc.anger.phrases"] = "bananas"
    fields["th.1.label"] = "Prices"
    assert submit(client, fields).status_code == 302
    assert set(owner_rules.stored_rules(db)) == {"rules:escalation", "rules:themes"}
    assert client.post("/admin/rules/reset", data={"kind": "escalation", "csrf_token": fields["csrf_token"]}
                       ).status_code == 302
    assert set(owner_rules.stored_rules(db)) == {"rules:themes"}
    client.post("/admin/rules/reset", data={"kind": "all", "csrf_token": fields["csrf_token"]})
    assert owner_rules.stored_rules(db) == {}
    page = client.get("/admin/rules/").get_data(as_text=True)
    assert "Reset to defaults: escalation rules, follow-up task rules, themes." in page
    assert "bananas" not in page


def test_a_viewer_sees_the_rules_and_changes_nothing(app, client):
    make_user(app)
    sign_in(client, make_user(app, "viewer@example.com", "viewer"))
    page = client.get("/admin/rules/").get_data(as_text=True)
    assert "only an admin can change it" in page and "Save rules" not in page and "Try it" not in page
    token = BeautifulSoup(page, "html.parser").find("input", {"name": "csrf_token"})["value"]
    for path, data in (("/admin/rules/", {"esc.anger.present": "1", "esc.anger.phrases": "bananas"}),
                       ("/admin/rules/try", {"sentence": "this is bananas"}),
                       ("/admin/rules/reset", {"kind": "all"})):
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403
    assert owner_rules.stored_rules(app.extensions["undertone"].db) == {}


def test_a_rules_file_set_in_the_environment_wins_and_is_read_only(settings, tmp_path):
    from integration.web.app import create_app

    path = tmp_path / "escalation.json"
    document = json.loads(owner_rules.SHIPPED["escalation"].read_text())
    document["rules"][1]["phrases"] = ["from the file"]
    path.write_text(json.dumps(document))
    application = create_app(_with_path(settings, path))
    application.config["TESTING"] = True
    client = application.test_client()
    sign_in(client, make_user(application))
    page = client.get("/admin/rules/").get_data(as_text=True)
    origin = BeautifulSoup(page, "html.parser").find(id="origin-escalation").get_text(" ", strip=True)
    assert origin.startswith(f"Set in the environment ({path}): read only here")
    fields = form_of(page)
    assert "esc.anger.phrases" not in fields  # disabled
    fields["fu.1.due_hours"] = "3"
    assert submit(client, fields).status_code == 302
    db = application.extensions["undertone"].db
    assert set(owner_rules.stored_rules(db)) == {"rules:follow_up"}
    rt = application.extensions["undertone"]
    assert owner_rules.effective("escalation", rt.settings, owner_rules.stored_rules(db)) == document
    application.extensions["undertone"].db.dispose()


def _with_path(settings, path):
    """Settings as if ESCALATION_RULES_PATH were set in the environment (a field the caller set)."""
    values = {name: getattr(settings, name) for name in settings.model_fields_set}
    return type(settings)(**values, escalation_rules_path=path, _env_file=None)


def test_a_stored_copy_that_no_longer_validates_falls_back_to_the_defaults(app, settings, caplog):
    db = app.extensions["undertone"].db
    settings_store.save(db, None, owner_rules.key("themes"), json.dumps({"themes": []}), secret=False)
    stored = owner_rules.stored_rules(db)
    assert owner_rules.effective("themes", settings, stored) == owner_rules.default("themes", settings)
    assert "stored themes rules are not valid" in caplog.text


def test_the_template_placeholders_are_exactly_what_the_sync_fills():
    from integration.sync import content

    class Stub:  # the attributes _template_values reads
        channel, source, url, summary, turns = "call", "quo", None, "s", []
        occurred_at = created_at = __import__("datetime").datetime(2026, 1, 1)

        class score:  # noqa: N801
            score, intensity, escalation_reason, themes, flags, turn_scores = -0.5, "negative", None, [], [], []

    assert tuple(content._template_values(Stub, "Dana")) == owner_rules.PLACEHOLDERS


def test_try_a_sentence_uses_the_rules_as_edited_and_stores_nothing(app, client, settings, redis_conn, tmp_path):
    from rq import Worker

    from tests.workers.processes import Process, environment, wait_until

    worker = Process(["worker"], environment(settings.database_url, settings.redis_url), tmp_path / "worker.log")
    try:
        wait_until(lambda: Worker.all(connection=redis_conn), 60, what="a worker registered")
        _admin(app, client)
        fields = rules_form(client)
        fields["esc.anger.phrases"] = "bananas"  # edited, not saved
        fields["fu.0.priority"] = "LOW"
        fields["sentence"] = "Honestly, this is bananas. Third time I am asking for my refund!"
        answer = submit(client, fields, "/admin/rules/try")
        page = answer.get_data(as_text=True)
        assert answer.status_code == 200, page[page.find("try-result"):][:800] + worker.log()[-2000:]
        result = BeautifulSoup(page, "html.parser").find(id="try-result").get_text(" ", strip=True)
        assert "anger (anger or frustration): “Honestly, this is bananas.”" in result
        assert "refund (asked for a refund): “Third time I am asking for my refund!”" in result
        assert "scorer lexicon" in result and "Score -" in result
        assert "Themes: billing (keyword: “Third time I am asking for my refund!”)" in result
        assert "Follow-up task: escalation , priority LOW, due in 4 h" in result
        assert "bananas</textarea>" in page  # the form keeps the edits
        assert owner_rules.stored_rules(app.extensions["undertone"].db) == {}

        for rule in ("anger", "refund", "contacted_repeatedly"):  # "Third time I am asking" is a repeated contact too
            fields.pop(f"esc.{rule}.enabled")
        answer = submit(client, fields, "/admin/rules/try")
        result = BeautifulSoup(answer.get_data(as_text=True), "html.parser").find(id="try-result").get_text(" ", strip=True)
        assert "No escalation rule fires." in result
    finally:
        worker.stop()


def test_try_a_sentence_without_a_worker_says_so(app, client, redis_conn, monkeypatch):
    from integration import defaults

    monkeypatch.setattr(defaults, "TRY_RULES_WAIT_S", 0.5)
    _admin(app, client)
    fields = rules_form(client)
    fields["sentence"] = "This is bananas."
    answer = submit(client, fields, "/admin/rules/try")
    assert answer.status_code == 503
    assert "No worker answered within 0.5 seconds" in html.unescape(answer.get_data(as_text=True))
    assert redis_conn.llen(f"rq:queue:{defaults.EVENTS_QUEUE}") == 0  # the unanswered request does not linger


def test_try_a_sentence_refuses_invalid_rules_and_an_empty_sentence(app, client):
    _admin(app, client)
    fields = rules_form(client)
    fields["esc.anger.pattern"] = "(unclosed"
    answer = submit(client, fields, "/admin/rules/try")
    page = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 400
    assert "Type a sentence to try." in page and "the pattern is not a valid regular expression" in page


def test_a_task_owner_hubspot_does_not_know_is_refused(settings):
    """HubSpot refuses a task for an unknown owner, so the rules page asks HubSpot's owners list first."""
    from pydantic import SecretStr

    from integration.web.app import create_app
    from tests.servers.hubspot import HubSpotTestServer

    with HubSpotTestServer(access_token="pat-test") as hubspot:
        configured = settings.model_copy(update={"hubspot_access_token": SecretStr("pat-test"),
                                                 "hubspot_api_base": hubspot.base_url})
        application = create_app(configured)
        client = application.test_client()
        sign_in(client, make_user(application))
        db = application.extensions["undertone"].db
        fields = rules_form(client)
        fields["fu.0.owner_id"] = "777"
        answer = submit(client, fields)
        page = html.unescape(answer.get_data(as_text=True))
        assert answer.status_code == 400
        assert "Follow-up rule 'escalation': HubSpot has no owner with ID 777 (its owners: 501 Olive Owner" in page
        assert owner_rules.stored_rules(db) == {}
        fields["fu.0.owner_id"] = "501"
        assert submit(client, fields).status_code == 302
        stored = json.loads(owner_rules.stored_rules(db)["rules:follow_up"])
        assert stored["rules"][0]["owner_id"] == "501"
        db.dispose()
