"""`undertone corrections export FILE`: one row per corrected interaction, the latest correction winning, as TSV
(text<TAB>label first, a header line) or JSON Lines, on both databases."""
from __future__ import annotations

import json

from click.testing import CliRunner

from integration.cli import main
from integration.pipeline import corrections
from integration.store.models import Interaction
from tests.integration.web.admin.interactions_data import add


def _correct(db, interaction_id: int, label: str, who: str, note: str | None = None) -> None:
    with db.session() as session:
        corrections.correct(session, interaction_id, label, None, who, note)


def _export(monkeypatch, database_url, *args) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["corrections", "export", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_tsv_has_one_row_per_corrected_interaction_latest_wins(db, database_url, monkeypatch, tmp_path):
    a = add(db, 1, text="Great,\tjust great.\nAnother  outage!", source="quo", channel="call")
    b = add(db, 2, text="Thank you so much", source="zendesk", channel="ticket", label="positive", score=0.6)
    add(db, 3, text="never corrected")
    _correct(db, a, "positive", "first@example.com")
    _correct(db, b, "neutral", "ann@example.com", "polite,\nnot happy")
    _correct(db, a, "negative", "owner@example.com", "sarcasm")
    out = tmp_path / "corrections.tsv"
    said = _export(monkeypatch, database_url, str(out))
    assert "Wrote 2 corrected interaction(s)" in said
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["text", "label", "source", "channel", "at", "corrected_by", "corrected_at",
                                    "interaction_id", "model_label", "note"]
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(r) == 10 for r in rows)
    assert [r[:4] for r in rows] == [["Thank you so much", "neutral", "zendesk", "ticket"],
                                     ["Great, just great. Another outage!", "negative", "quo", "call"]]
    assert rows[1][5] == "owner@example.com" and rows[1][7] == str(a) and rows[1][8] == "negative"
    assert rows[1][9] == "sarcasm" and rows[0][9] == "polite, not happy" and rows[0][8] == "positive"
    assert rows[1][4].endswith("Z") and rows[1][6].endswith("Z")


def test_jsonl_by_extension_and_stdout(db, database_url, monkeypatch, tmp_path):
    a = add(db, 1, text="Not bad at all")
    _correct(db, a, "positive", "owner@example.com")
    out = tmp_path / "c.jsonl"
    _export(monkeypatch, database_url, str(out))
    row = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert (row["text"], row["label"], row["corrected_by"], row["interaction_id"]) == (
        "Not bad at all", "positive", "owner@example.com", a)
    printed = _export(monkeypatch, database_url, "-", "--format", "tsv")
    assert "Not bad at all\tpositive\t" in printed


def test_an_interaction_without_text_is_skipped_and_counted(db, database_url, monkeypatch, tmp_path):
    a = add(db, 1, text="Fine")
    _correct(db, a, "neutral", "owner@example.com")
    with db.session() as session:
        session.get(Interaction, a).turns = []
    said = _export(monkeypatch, database_url, str(tmp_path / "x.tsv"))
    assert "Wrote 0 corrected interaction(s)" in said and "1 skipped" in said
    assert (tmp_path / "x.tsv").read_text().splitlines()[1:] == []


def test_a_missing_folder_is_a_clear_error_and_writes_nothing(database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["corrections", "export", str(tmp_path / "nope" / "c.tsv")])
    assert result.exit_code == 2 and "does not exist" in result.output
