"""Keep a batch's claims alive while the batch runs: a heartbeat thread renews their lease.

A claim's lease (CLAIM_LEASE_S) only has to outlive the worker, not the batch: while the job runs, this thread
renews it every CLAIM_RENEW_S, so a slow batch (a provider slow to answer during hydration) keeps its events, and
a worker killed mid-batch frees them one short lease after its last beat. A renewal that fails (the database is
away) is tried again at the next beat; if the lease runs out meanwhile, another worker may repeat part of the
batch, never store it twice (processing checks each event's status under its row lock).
"""
from __future__ import annotations

import logging
import threading

from integration import defaults
from integration.store import claims
from integration.store.db import Database

log = logging.getLogger(__name__)


class LeaseRenewal:
    """`with LeaseRenewal(db, row_ids, token): ...` renews those claims until the block ends."""

    def __init__(self, db: Database, row_ids: list[int], token: str, lease_s: float | None = None,
                 renew_s: float | None = None):
        self._db, self._row_ids, self._token = db, list(row_ids), token
        self._lease_s = defaults.CLAIM_LEASE_S if lease_s is None else lease_s
        self._renew_s = defaults.CLAIM_RENEW_S if renew_s is None else renew_s
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "LeaseRenewal":
        if self._row_ids:
            self._thread = threading.Thread(target=self._renew, name="claim-lease", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=self._lease_s)  # a renewal stuck on a hung database: past the lease it is moot

    def _renew(self) -> None:
        while not self._done.wait(self._renew_s):
            try:
                if not claims.renew(self._db, self._row_ids, self._token, self._lease_s):
                    return  # all done (or taken by another job after a lapse): nothing left to keep
            except Exception as exc:  # the database is away: the next beat tries again
                log.warning("could not renew the claims of a batch of %d events: %s", len(self._row_ids),
                            type(exc).__name__)
