"""bench/public_dev.py: a pinned file is read out of a local git mirror at its commit; a missing mirror or commit is
reported and skipped (exit code 1). A tiny synthetic repository made in tmp_path, never the real data."""
from __future__ import annotations

import dataclasses
import hashlib
import subprocess

from bench import public_dev
from scoring.training.public_dev import PublicSet, find_sets

CSV_V1 = "tweet_id,airline_sentiment,text\n1,negative,@air still no bag\n2,neutral,@air which gate?\n"
CSV_V2 = CSV_V1 + "3,positive,@air thanks!\n"


def git(repo, *args) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def test_extracts_the_pinned_commit_and_skips_what_is_missing(tmp_path, capsys):
    repo = tmp_path / "mirror" / "someone+tweets" / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / "t.csv").write_text(CSV_V1)
    git(repo, "add", "t.csv")
    git(repo, "commit", "-q", "-m", "v1")
    pinned_commit = git(repo, "rev-parse", "HEAD")
    (repo / "t.csv").write_text(CSV_V2)  # a later commit: the pinned one is still what is read
    git(repo, "commit", "-q", "-am", "v2")
    spec = PublicSet(name="tweets", repo="someone/tweets", commit=pinned_commit, path="t.csv",
                     sha256=hashlib.sha256(CSV_V1.encode()).hexdigest(), licence="test", about="synthetic",
                     text_column="text", label_column="airline_sentiment", id_column="tweet_id")
    absent = dataclasses.replace(spec, name="absent", repo="nobody/absent")
    wrong_commit = dataclasses.replace(spec, name="wrong_commit", commit="a" * 40)
    out = tmp_path / "public"
    code = public_dev.main(["--mirror", str(tmp_path / "mirror"), "--out", str(out)],
                           sets=(spec, absent, wrong_commit))
    assert code == 1
    err = capsys.readouterr().err
    assert "absent: no mirror of nobody/absent" in err and "wrong_commit:" in err
    assert list(find_sets(out)) == ["public tweets"]
    assert len((out / "tweets" / "dev.jsonl").read_text().splitlines()) == 2
    assert public_dev.main(["--mirror", str(tmp_path / "mirror"), "--out", str(out)], sets=(spec,)) == 0
