"""`undertone scheduler`: RQ's cron scheduler, started again after a Redis outage instead of exiting."""
from __future__ import annotations

from redis import Redis
from rq.cron import CronScheduler
from rq.exceptions import SchedulerNotFound, StopRequested

from workers.redis_wait import REDIS_DOWN, wait_for_redis


class TolerantCronScheduler(CronScheduler):
    """A CronScheduler whose sign-off does not fail when Redis is gone or came back empty."""

    def register_death(self, pipeline=None) -> None:
        try:
            super().register_death(pipeline)
        except (SchedulerNotFound, *REDIS_DOWN):  # the registry entry expires by itself
            self.log.info("CronScheduler %s: nothing to unregister", self.name)


def run_cron(redis: Redis, config: str) -> None:
    """Run the timetable in `config` (a module path) until SIGTERM/SIGINT, through Redis outages.

    Due jobs keep their next run time across an outage: a sweep missed while Redis was down runs as
    soon as it is back. RQ's start() installs handlers that raise StopRequested on SIGTERM/SIGINT;
    they stay installed while this waits, so a stop during an outage ends the wait too.
    """
    cron = TolerantCronScheduler(connection=redis)
    cron.load_config_from_file(config)
    while True:
        try:
            cron.start()  # returns when stopped; raises when Redis fails
            return
        except REDIS_DOWN as exc:
            try:
                wait_for_redis(redis, exc, who=f"CronScheduler {cron.name}")
            except (StopRequested, KeyboardInterrupt):
                return
