"""The scheduler's timetable, loaded by `undertone scheduler` (RQ's CronScheduler; `rq cron` works too)."""
from rq import cron

from integration import defaults
from workers.jobs import follow_up_waiting, prune_events, send_digest_if_due, sweep

# Sweep pending events and contacts whose sync never ran (Redis was down, or a job was lost).
cron.register(sweep, queue_name=defaults.EVENTS_QUEUE, interval=defaults.SWEEP_INTERVAL_S,
              job_timeout=defaults.PROCESS_JOB_TIMEOUT_S, result_ttl=defaults.JOB_RESULT_TTL_S)

# Delete raw bodies of events processed or ignored more than EVENT_RETENTION_DAYS ago.
cron.register(prune_events, queue_name=defaults.EVENTS_QUEUE, interval=defaults.PRUNE_INTERVAL_S,
              job_timeout=defaults.PROCESS_JOB_TIMEOUT_S, result_ttl=defaults.JOB_RESULT_TTL_S)

# The weekly digest: every DIGEST_TICK_INTERVAL_S, send the week DIGEST_SCHEDULE says is due to each destination
# that has not had it (the digest_sends table makes a week go out once per destination, however often this runs).
cron.register(send_digest_if_due, queue_name=defaults.CRM_QUEUE, interval=defaults.DIGEST_TICK_INTERVAL_S,
              job_timeout=defaults.SYNC_JOB_TIMEOUT_S, result_ttl=defaults.JOB_RESULT_TTL_S)

# No one left waiting: daily, a follow-up task for each customer left without a reply after a negative interaction.
cron.register(follow_up_waiting, queue_name=defaults.CRM_QUEUE, interval=defaults.FOLLOW_UP_INTERVAL_S,
              job_timeout=defaults.SYNC_JOB_TIMEOUT_S, result_ttl=defaults.JOB_RESULT_TTL_S)
