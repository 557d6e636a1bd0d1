"""The scheduler's timetable, loaded by `undertone scheduler` (RQ's CronScheduler; `rq cron` works too)."""
from rq import cron

from integration import defaults
from workers.jobs import prune_events, sweep

# Sweep pending events and contacts whose sync never ran (Redis was down, or a job was lost).
cron.register(sweep, queue_name=defaults.EVENTS_QUEUE, interval=defaults.SWEEP_INTERVAL_S,
              job_timeout=defaults.PROCESS_JOB_TIMEOUT_S, result_ttl=defaults.JOB_RESULT_TTL_S)

# Delete raw bodies of events processed or ignored more than EVENT_RETENTION_DAYS ago.
cron.register(prune_events, queue_name=defaults.EVENTS_QUEUE, interval=defaults.PRUNE_INTERVAL_S,
              job_timeout=defaults.PROCESS_JOB_TIMEOUT_S, result_ttl=defaults.JOB_RESULT_TTL_S)
