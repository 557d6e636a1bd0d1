"""The public dev sets: converting a source CSV, the folder layout `evaluate --public-dev` reads, and skipping
cleanly when the folder is absent. Tiny synthetic files written to tmp_path, never the real data."""
from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from click.testing import CliRunner

from scoring.training.commands import evaluate
from scoring.training.evaluation import read_labelled
from scoring.training.public_dev import SETS, PublicSet, convert, find_sets, write_set

DIALOGUE = PublicSet(name="tiny_dialogue", repo="someone/tiny", commit="0" * 40, path="dev.csv", sha256="",
                     licence="test", about="a synthetic dialogue set", text_column="Utterance",
                     label_column="Sentiment")
TWEETS = PublicSet(name="tiny_tweets", repo="someone/tweets", commit="1" * 40, path="t.csv", sha256="",
                   licence="test", about="synthetic tweets", text_column="text", label_column="airline_sentiment",
                   id_column="tweet_id")
DIALOGUE_CSV = ('Sr No.,Utterance,Speaker,Sentiment\n'
                '1,"Oh no, the\n  heater broke again.",Sam,negative\n'
                '2,Sure.,Alex,Neutral\n'
                '3,"That\'s wonderful, thanks!",Sam,positive\n'
                '4,"   ",Alex,neutral\n')
TWEETS_CSV = ('tweet_id,airline_sentiment,text\n'
              '101,negative,@air my bag is lost and nobody answers\n'
              '102,neutral,@air do you fly to Boise?\n'
              '101,positive,@air a repeated id keeps its first row\n'
              '103,positive,@air great crew today\n')


def test_convert_flattens_whitespace_lowercases_labels_and_skips_blank_and_repeated_rows():
    rows = convert(DIALOGUE, DIALOGUE_CSV)
    assert rows == [{"id": "1", "text": "Oh no, the heater broke again.", "label": "negative"},
                    {"id": "2", "text": "Sure.", "label": "neutral"},
                    {"id": "3", "text": "That's wonderful, thanks!", "label": "positive"}]
    assert [(r["id"], r["label"]) for r in convert(TWEETS, TWEETS_CSV)] == [
        ("101", "negative"), ("102", "neutral"), ("103", "positive")]


def test_convert_names_a_bad_label_and_a_missing_column():
    with pytest.raises(ValueError, match="row 3: label 'angry'"):
        convert(TWEETS, "tweet_id,airline_sentiment,text\n1,negative,a\n2,angry,b\n")
    with pytest.raises(ValueError, match="columns \\['airline_sentiment'\\]"):
        convert(TWEETS, "tweet_id,sentiment,text\n1,negative,a\n")


def test_write_set_then_find_sets_reads_back_the_layout(tmp_path):
    data = DIALOGUE_CSV.encode()
    pinned = dataclasses.replace(DIALOGUE, sha256=hashlib.sha256(data).hexdigest())
    folder = write_set(pinned, data, tmp_path / "public")
    write_set(TWEETS, TWEETS_CSV.encode(), tmp_path / "public")
    (tmp_path / "public" / "half_written").mkdir()  # no dev.jsonl: ignored
    source = (folder / "SOURCE.txt").read_text()
    assert "commit: " + "0" * 40 in source and "licence: test" in source and "DEV ONLY" in source
    found = find_sets(tmp_path / "public")
    assert list(found) == ["public tiny_dialogue", "public tiny_tweets"]
    texts, labels = read_labelled(found["public tiny_dialogue"])
    assert texts[0] == "Oh no, the heater broke again." and labels == ["negative", "neutral", "positive"]
    assert json.loads((folder / "dev.jsonl").read_text().splitlines()[1])["id"] == "2"
    assert find_sets(tmp_path / "absent") == {}


def test_write_set_refuses_bytes_that_differ_from_the_pinned_digest(tmp_path):
    pinned = dataclasses.replace(DIALOGUE, sha256="f" * 64)
    with pytest.raises(ValueError, match="not the pinned"):
        write_set(pinned, DIALOGUE_CSV.encode(), tmp_path)
    assert not (tmp_path / DIALOGUE.name / "dev.jsonl").exists()


def test_shipped_sets_are_pinned():
    for spec in SETS:
        assert len(spec.commit) == 40 and len(spec.sha256) == 64 and spec.licence and spec.repo.count("/") == 1


def test_evaluate_scores_public_sets_and_skips_an_absent_folder(tmp_path):
    write_set(TWEETS, TWEETS_CSV.encode(), tmp_path / "public")
    result = CliRunner().invoke(evaluate, ["--scorer", "lexicon", "--reliability", "--public-dev",
                                           str(tmp_path / "public")])
    assert result.exit_code == 0, result.output
    assert "| public tiny_tweets / lexicon | 3 |" in result.output  # the product table
    assert "reliability of `confidence` on public tiny_tweets | lexicon: ECE" in result.output

    labelled = tmp_path / "a.tsv"
    labelled.write_text("negative\tthis is awful\npositive\tlove it\n")
    absent = str(tmp_path / "nowhere")
    result = CliRunner().invoke(evaluate, ["--scorer", "lexicon", "--public-dev", absent, str(labelled)])
    assert result.exit_code == 0, result.output
    assert "public dev sets: none in" in result.stderr and "| a.tsv / lexicon | 2 |" in result.output
    alone = CliRunner().invoke(evaluate, ["--scorer", "lexicon"], env={"UNDERTONE_PUBLIC_DEV": absent})
    assert alone.exit_code != 0 and "--public-dev" in alone.output


def test_evaluate_takes_the_folder_from_the_environment(tmp_path):
    write_set(TWEETS, TWEETS_CSV.encode(), tmp_path / "public")
    result = CliRunner().invoke(evaluate, ["--scorer", "lexicon"], env={"UNDERTONE_PUBLIC_DEV": str(tmp_path / "public")})
    assert result.exit_code == 0, result.output
    assert "| public tiny_tweets | 3 |" in result.output
    labelled = tmp_path / "sst.txt"
    labelled.write_text("0 awful , awful film\n4 a triumph\n")
    five = CliRunner().invoke(evaluate, ["--scorer", "lexicon", "--levels", "5", str(labelled)],
                              env={"UNDERTONE_PUBLIC_DEV": str(tmp_path / "public")})
    assert five.exit_code == 0, five.output
    assert "three classes only" in five.stderr and "public tiny_tweets" not in five.output
