"""A timetable for the fault tests (`undertone scheduler --config tests.workers.fast_cron`): a sweep every second.

RQ's cron config modules register at import, like workers/cron.py.
"""
from rq import cron

from integration import defaults
from workers.jobs import sweep

cron.register(sweep, queue_name=defaults.EVENTS_QUEUE, interval=1, job_timeout=60, result_ttl=600)
