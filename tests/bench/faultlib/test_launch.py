"""The launcher that starts services with some integration.defaults changed (the fault suite's fake clock)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.faultlib.launch import ENV

ROOT = Path(__file__).resolve().parents[3]


def run_launch(overrides: dict, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, ENV: json.dumps(overrides), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bench.faultlib.launch", *argv], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_overrides_reach_the_real_entry_point():
    """The named defaults hold the new values (lists as tuples) for everything imported afterwards."""
    probe = ("import json, sys; from bench.faultlib.launch import apply_overrides; "
             "from integration import defaults; apply_overrides(sys.argv[1]); "
             "print(json.dumps([defaults.SYNC_RETRY_INTERVALS_S, defaults.SWEEP_GRACE_S]))")
    result = subprocess.run([sys.executable, "-c", probe, json.dumps({"SYNC_RETRY_INTERVALS_S": [1, 2],
                                                                      "SWEEP_GRACE_S": 3})],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert json.loads(result.stdout) == [[1, 2], 3], result.stderr


def test_an_unknown_default_is_an_error_not_ignored():
    result = run_launch({"NO_SUCH_DEFAULT": 1}, "undertone", "--help")
    assert result.returncode != 0 and "NO_SUCH_DEFAULT" in result.stderr


@pytest.mark.parametrize("argv", [("undertone", "--help"), ("gunicorn", "--help")])
def test_runs_the_named_entry_point(argv):
    result = run_launch({}, *argv)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout or "usage" in result.stdout


def test_only_our_two_entry_points():
    assert run_launch({}, "python", "-c", "1").returncode != 0
