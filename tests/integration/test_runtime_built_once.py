"""The Runtime's engine and Redis clients are built once, even when gunicorn's threads ask for them together."""
from __future__ import annotations

import threading
import time

from integration.runtime import Runtime, built_once
from integration.settings import Settings


class Slow:
    def __init__(self) -> None:
        self.builds = 0

    @built_once
    def client(self) -> object:
        self.builds += 1
        time.sleep(0.05)  # long enough for every thread to arrive while the first one builds
        return object()


def test_threads_asking_at_once_share_one_build():
    slow = Slow()
    start = threading.Barrier(8)
    got: list[object] = []

    def ask() -> None:
        start.wait()
        got.append(slow.client)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert slow.builds == 1 and len({id(g) for g in got}) == 1 and len(got) == 8


def test_the_runtime_builds_its_database_once_across_threads(tmp_path):
    runtime = Runtime(Settings(database_url=f"sqlite:///{tmp_path / 'u.db'}", var_dir=tmp_path))
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(runtime.db)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(g) for g in got}) == 1
    runtime.db.engine.dispose()
