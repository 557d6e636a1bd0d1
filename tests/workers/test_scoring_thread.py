"""Model work on a thread of its own at SCHED_IDLE (workers/scoring_thread.py): results, errors, policy, forks."""
from __future__ import annotations

import os
import threading

import pytest

from workers import context
from workers.scoring_thread import AnalyzerOnThread, ScoringThread


def test_runs_on_its_own_thread_and_returns_the_result():
    thread = ScoringThread(idle=False)
    assert thread.run(lambda a, b: (a + b, threading.get_native_id()), 2, 3) == (5, thread.native_id)
    assert thread.native_id != threading.get_native_id()


def test_an_error_reaches_the_caller_and_the_thread_goes_on():
    thread = ScoringThread(idle=False)
    with pytest.raises(ZeroDivisionError):
        thread.run(lambda: 1 / 0)
    assert thread.run(lambda: "still serving") == "still serving"


def test_idle_thread_is_sched_idle_and_the_caller_is_not():
    thread = ScoringThread(idle=True)
    assert thread.run(lambda: os.sched_getscheduler(0)) == os.SCHED_IDLE
    assert os.sched_getscheduler(0) != os.SCHED_IDLE


def test_not_idle_keeps_the_ordinary_policy():
    thread = ScoringThread(idle=False)
    assert thread.run(lambda: os.sched_getscheduler(0)) == os.SCHED_OTHER


def test_a_forked_child_gets_a_thread_of_its_own():
    """RQ's --fork work horses: the parent's thread does not exist in the child, which must not wait on it."""
    thread = ScoringThread(idle=True)
    parent_thread = thread.run(threading.get_native_id)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's result travels through the pipe
        try:
            os.write(write, str(thread.run(threading.get_native_id)).encode())
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(child, 0)
    answer = os.read(read, 64).decode()
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0
    assert answer.isdigit() and int(answer) != parent_thread


class _RecordingAnalyzer:
    scorer = "the scorer"

    def analyse(self, turns, summary, history):
        return ("one", turns, summary, history, threading.get_native_id())

    def analyse_many(self, items):
        return [("many", item, threading.get_native_id()) for item in items]


def test_analyzer_on_thread_runs_analyses_there_and_passes_the_rest_through():
    thread = ScoringThread(idle=True)
    analyzer = AnalyzerOnThread(_RecordingAnalyzer(), thread)
    assert analyzer.scorer == "the scorer"
    one = analyzer.analyse(["t"], "s", "h")
    many = analyzer.analyse_many([("a",), ("b",)])
    assert one == ("one", ["t"], "s", "h", thread.native_id)
    assert many == [("many", ("a",), thread.native_id), ("many", ("b",), thread.native_id)]


def test_worker_context_wraps_its_analyzer_once_asked(monkeypatch, sqlite_url):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SCORER", "lexicon")
    context.reset()
    try:
        assert not isinstance(context.analyzer(), AnalyzerOnThread)
        context.score_on_own_thread(idle=True)
        analyzer = context.analyzer()
        assert isinstance(analyzer, AnalyzerOnThread)
        [analysis] = analyzer.analyse_many([([{"speaker": "customer", "text": "This is ridiculous."}], None, None)])
        assert analysis.scored.overall.label == "negative"
    finally:
        context.reset()
