"""Real `undertone worker` / `undertone scheduler` processes for the fault tests, and waiting on them."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Process:
    """An `undertone` subcommand in its own process group, its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path):
        self.log_path = log_path
        undertone = Path(sys.executable).with_name("undertone")
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen([str(undertone), *args], env=env, cwd=ROOT, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill_group(self) -> None:
        """kill -9 of the process and everything it started (RQ's scheduler process), as a host crash does."""
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, timeout_s: float = 30) -> int:
        """SIGTERM, as honcho or systemd sends; the exit status (SIGKILL if it does not stop in time)."""
        if self.alive():
            self.popen.terminate()
            try:
                return self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
                raise
        return self.popen.returncode


def environment(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SCORER": "lexicon",
           "PYTHONPATH": str(ROOT), **extra}
    for name in ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_API_BASE"):
        env.pop(name, None)
    return env


def wait_until(condition, timeout_s: float, every_s: float = 0.2, what: str = "condition"):
    """Poll `condition()` until it returns something truthy; that value, or AssertionError after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(every_s)
