"""Queue names, enqueue helpers and the retry policy. Imported by the web process: keep it light.

Jobs are named by dotted path so the web process never imports the job modules (or the scorers).
"""
from __future__ import annotations

import json
import random
import uuid
import zlib
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Sequence

from redis import Redis
from redis.commands.core import Script
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.utils import now as rq_now

from integration import defaults

PROCESS_EVENT = "workers.jobs.process_event"
FLUSH_CRM = "workers.jobs.flush_crm"
TAG_TICKET = "workers.jobs.tag_ticket"

ACTIVE_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def queue(redis: Redis, name: str) -> Queue:
    return Queue(name, connection=redis)


def jittered(intervals: Sequence[int], fraction: float = defaults.RETRY_JITTER_FRACTION) -> list[int]:
    """Backoff intervals with random jitter, so retries of many jobs do not arrive together."""
    return [round(i * (1 + random.uniform(-fraction, fraction))) if i else 0 for i in intervals]


def event_job_id(event_row_id: int) -> str:
    return f"event-{event_row_id}"


def enqueue_event(redis: Redis, event_row_id: int) -> Job:
    """Queue processing of one stored event. Raises redis errors: the caller leaves the row pending."""
    return queue(redis, defaults.EVENTS_QUEUE).enqueue(PROCESS_EVENT, event_row_id, **_event_job_options(event_row_id))


def enqueue_events(redis: Redis, event_row_ids: Sequence[int]) -> None:
    """Queue several stored events in one Redis round trip, atomically (one script: all of them or none).

    This is the webhook's hot path, so it skips RQ's `Queue.enqueue` (a Job object, its validation and
    `to_dict` per event: two thirds of the enqueue's CPU) and writes what that writes: the same job hash
    (`_EventJobs`, built from RQ's own Job once per process), SADD of the queue to `rq:queues`, RPUSH of
    the job id. One EVALSHA instead of a MULTI/EXEC pipeline of SADD, HSET and RPUSH: one command and one
    reply instead of five (bench/webhook_cpu.py --instructions). Raises redis errors; the rows stay pending
    for the sweep.
    """
    if not event_row_ids:
        return
    jobs = _event_jobs(len(defaults.PROCESS_RETRY_INTERVALS_S), defaults.PROCESS_JOB_TIMEOUT_S,
                       defaults.JOB_RESULT_TTL_S, defaults.JOB_FAILURE_TTL_S)
    keys: list = [Queue.redis_queues_keys, jobs.queue_key]
    args: list = []
    for row_id in event_row_ids:
        keys.append(Job.key_for(event_job_id(row_id)))
        args += jobs.arguments(row_id)
    jobs.script(keys=keys, args=args, client=redis)


# KEYS: rq:queues, the queue's list, then each job's hash; ARGV per job: its id, then the hash fields that differ
# between two jobs (_EventJobs.arguments). What RQ's enqueue writes (SADD of the queue, HSET of the hash, RPUSH of
# the id), atomically. The hash's other fields are the same in every job: _EventJobs writes them into the script
# (`{same}`), so that a request sends five values per job instead of forty (each costs the client about 2.4 K
# instructions: bench/webhook_cpu.py --instructions).
_ENQUEUE = """
redis.call('SADD', KEYS[1], KEYS[2])
for i = 3, #KEYS do
  local at = 5 * (i - 3)
  redis.call('HSET', KEYS[i], 'created_at', ARGV[at + 2], 'enqueued_at', ARGV[at + 2], 'data', ARGV[at + 3],
             'description', ARGV[at + 4], 'retry_intervals', ARGV[at + 5], {same})
  redis.call('RPUSH', KEYS[2], ARGV[at + 1])
end
return #KEYS - 2
"""
_PER_JOB = ("created_at", "enqueued_at", "data", "description", "retry_intervals")


def _lua_string(value: bytes) -> str:
    """A Lua string literal of these bytes: printable ASCII as it is, any other byte (and a quote or backslash) as
    a three-digit decimal escape."""
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in b'"\\' else f"\\{b:03d}" for b in value) + '"'


# Removes a queued job (its id from the queue's list, then its hash) only if it is still waiting in the queue: a job
# a worker has already taken is left alone.
_DROP_QUEUED = """
local dropped = 0
for i, job_id in ipairs(ARGV) do
  if redis.call('LREM', KEYS[1], 1, job_id) == 1 then
    redis.call('DEL', KEYS[i + 1])
    dropped = dropped + 1
  end
end
return dropped
"""


def drop_event_jobs(redis: Redis, event_row_ids: Sequence[int]) -> int:
    """Take the still-queued jobs of these events out of the events queue, in one round trip; how many it took.

    For events another job's batch has processed and committed: their own jobs would only find them done, at the
    cost of a worker's turn each (RQ's dequeue, heartbeats and result: about twenty Redis commands, and a read of
    the event). A job a worker has already taken runs and finds its event done, as before."""
    if not event_row_ids:
        return 0
    events = Queue(defaults.EVENTS_QUEUE, connection=redis)
    job_ids = [event_job_id(row_id) for row_id in event_row_ids]
    return int(redis.eval(_DROP_QUEUED, 1 + len(job_ids), events.key, *(Job.key_for(j) for j in job_ids), *job_ids))


class _EventJobs:
    """RQ's job hash for `process_event(row_id)` on the events queue, less its per-job work.

    The hash RQ writes for such a job differs between two events only in `data` (the call: function name and
    row id, serialised and compressed as RQ does), `description`, the jittered `retry_intervals` and the two
    timestamps (_PER_JOB); everything else is taken once from a Job that RQ itself builds with the same options,
    encoded as redis-py would send it, and written into the enqueue script (`script`, one per set of options).
    tests/integration/test_queues.py compares the result with RQ's own enqueue, field by field.
    """

    def __init__(self) -> None:
        events = Queue(defaults.EVENTS_QUEUE, connection=Redis())  # never used for I/O: nothing here talks to Redis
        options = _event_job_options(0)
        options["timeout"] = options.pop("job_timeout")  # enqueue's name for create_job's `timeout`
        job = events.create_job(PROCESS_EVENT, args=(0,), **options)
        job.origin = events.name
        job.enqueued_at = rq_now()
        self.queue_key = events.key
        self._serializer = job.serializer
        template = job.to_dict()
        missing = set(_PER_JOB) - set(template)
        if missing:  # an RQ upgrade that stopped writing one: the script would write what RQ no longer does
            raise RuntimeError(f"RQ's job hash has no {sorted(missing)}: integration/queues.py needs updating")
        encode = events.connection.get_encoder().encode
        same = ", ".join(_lua_string(encode(item)) for name, value in template.items() if name not in _PER_JOB
                         for item in (name, value))
        # The script is bytes, so no client's encoder is needed; redis-py sends it by its SHA1 (EVALSHA) and loads
        # it again where the server lacks it (a restarted Redis).
        self.script = Script(None, _ENQUEUE.replace("{same}", same).encode())

    def arguments(self, row_id: int) -> tuple:
        """The script's ARGV for one job: its id, its timestamp (created and enqueued), data, description and
        retry intervals."""
        return (event_job_id(row_id), _stamp(rq_now()),
                _compressed(self._serializer.dumps((PROCESS_EVENT, None, (row_id,), {}))), _description(row_id),
                json.dumps(jittered(defaults.PROCESS_RETRY_INTERVALS_S)))


@lru_cache(maxsize=4)
def _event_jobs(*_options) -> _EventJobs:
    """The template for the job options in force (`_options`: the defaults it is built from, so that a changed
    default, e.g. in a test, gets a template of its own)."""
    return _EventJobs()


def _compressed(data: bytes) -> bytes:
    """`zlib.compress(data)`, as RQ stores a job's call, byte for byte, at a quarter of its CPU for a call's 60-odd
    bytes. zlib.compress sets deflate up for any input (memLevel 8: a 64 KB hash table zeroed and a 16 K-symbol
    buffer allocated per call); memLevel 1 has a 256-entry table and room for 127 symbols. memLevel is not written
    in the stream and changes only which candidate matches share a hash chain and when a block is cut: the same
    bytes come out while the input is under 127 bytes and no chain holds more candidates than level 6 compares
    (32 at least; a job's call has at most 12 in one bucket). tests/integration/test_queues.py compares the two."""
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, zlib.MAX_WBITS, 1)
    return compressor.compress(data) + compressor.flush()


def _event_job_options(event_row_id: int) -> dict:
    return dict(
        job_id=event_job_id(event_row_id),
        retry=Retry(max=len(defaults.PROCESS_RETRY_INTERVALS_S), interval=jittered(defaults.PROCESS_RETRY_INTERVALS_S)),
        job_timeout=defaults.PROCESS_JOB_TIMEOUT_S,
        result_ttl=defaults.JOB_RESULT_TTL_S,
        failure_ttl=defaults.JOB_FAILURE_TTL_S,
        description=_description(event_row_id),
    )


def _stamp(moment: datetime) -> str:
    """RQ's `utcformat` (strftime '%Y-%m-%dT%H:%M:%S.%fZ' of a UTC time) at a fifth of its CPU."""
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _description(event_row_id: int) -> str:
    return f"process event {event_row_id}"


def event_job_status(redis: Redis, event_row_id: int) -> JobStatus | None:
    """The RQ status of an event's job, or None when Redis has no such job (lost, expired, never queued)."""
    try:
        return Job.fetch(event_job_id(event_row_id), connection=redis).get_status(refresh=False)
    except Exception:  # rq raises NoSuchJobError; a half-written hash raises others
        return None


FLUSH_MARKER = "undertone:crm-flush-requested"


def request_flush(redis: Redis, delay_s: float | None = None) -> bool:
    """Make sure a CRM flush is coming (coalescing: one pending flush for any number of changes).

    The flush waits `delay_s` (CRM_FLUSH_DELAY_S) so that changes arriving together go out in one
    batch. True when this call queued it. The marker expires, so a lost job is replaced by the sweep.
    """
    delay_s = defaults.CRM_FLUSH_DELAY_S if delay_s is None else delay_s
    if not redis.set(FLUSH_MARKER, "1", nx=True, ex=defaults.SYNC_COALESCE_TTL_S):
        return False
    options = dict(
        job_id=f"flush-{uuid.uuid4().hex[:12]}",
        retry=Retry(max=len(defaults.SYNC_RETRY_INTERVALS_S), interval=jittered(defaults.SYNC_RETRY_INTERVALS_S)),
        job_timeout=defaults.SYNC_JOB_TIMEOUT_S,
        result_ttl=defaults.JOB_RESULT_TTL_S,
        failure_ttl=defaults.JOB_FAILURE_TTL_S,
        description="flush CRM changes",
    )
    crm = queue(redis, defaults.CRM_QUEUE)
    try:
        if delay_s > 0:
            crm.enqueue_in(timedelta(seconds=delay_s), FLUSH_CRM, **options)
        else:
            crm.enqueue(FLUSH_CRM, **options)
    except Exception:
        redis.delete(FLUSH_MARKER)
        raise
    return True


def enqueue_tagging(redis: Redis, interaction_id: int) -> Job:
    """Queue writing sentiment tags onto the help-desk ticket an interaction came from."""
    return queue(redis, defaults.CRM_QUEUE).enqueue(
        TAG_TICKET,
        interaction_id,
        job_id=f"tag-{interaction_id}-{uuid.uuid4().hex[:8]}",
        retry=Retry(max=len(defaults.SYNC_RETRY_INTERVALS_S), interval=jittered(defaults.SYNC_RETRY_INTERVALS_S)),
        job_timeout=defaults.SYNC_JOB_TIMEOUT_S,
        result_ttl=defaults.JOB_RESULT_TTL_S,
        failure_ttl=defaults.JOB_FAILURE_TTL_S,
        description=f"tag ticket of interaction {interaction_id}",
    )


SEND_ALERT = "workers.jobs.send_alert"
SEND_HELD_ALERTS = "workers.jobs.send_held_alerts"


def enqueue_alert(redis: Redis, alert_id: int) -> Job:
    """Queue delivery of one alert row (the row's claim makes a duplicate job harmless)."""
    return queue(redis, defaults.ALERTS_QUEUE).enqueue(
        SEND_ALERT, alert_id, job_id=f"alert-{alert_id}-{uuid.uuid4().hex[:8]}",
        **_alert_options(f"send alert {alert_id}"))


def enqueue_held_alerts(redis: Redis, at) -> Job | None:
    """Queue, at `at` (end of quiet hours), one job sending every held alert as one message."""
    job_id = f"held-alerts-{int(at.timestamp())}"
    if redis.set(f"undertone:{job_id}", "1", nx=True, ex=defaults.JOB_RESULT_TTL_S * 4 + 86400) is None:
        return None  # already scheduled for this end of quiet hours
    return queue(redis, defaults.ALERTS_QUEUE).enqueue_at(at, SEND_HELD_ALERTS, job_id=job_id,
                                                           **_alert_options("send alerts held in quiet hours"))


def _alert_options(description: str) -> dict:
    intervals = defaults.ALERT_RETRY_INTERVALS_S
    return dict(retry=Retry(max=len(intervals), interval=jittered(intervals)),
                job_timeout=defaults.ALERT_JOB_TIMEOUT_S, result_ttl=defaults.JOB_RESULT_TTL_S,
                failure_ttl=defaults.JOB_FAILURE_TTL_S, description=description)


TRY_RULES = "workers.jobs.try_rules"


def try_rules(redis: Redis, documents: dict, text: str, wait_s: float | None = None) -> dict | None:
    """Ask a worker to judge `text` with rules as edited (not stored) and wait for its answer.

    The web process may not load a scorer, so the console's "try a sentence" runs where the scorer lives:
    first in line on the events queue, dropped if no worker starts it within `wait_s` (then None). A job
    that failed raises RuntimeError with the worker's last line.
    """
    import time

    wait_s = defaults.TRY_RULES_WAIT_S if wait_s is None else wait_s
    job = queue(redis, defaults.EVENTS_QUEUE).enqueue(
        TRY_RULES, documents, text, at_front=True, ttl=max(1, int(wait_s)), result_ttl=60, failure_ttl=300,
        job_timeout=30, description="try a sentence against edited rules (console)")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        status = job.get_status(refresh=True)
        if status == JobStatus.FINISHED:
            return job.return_value()
        if status == JobStatus.FAILED:
            info = (job.latest_result().exc_string if job.latest_result() else "") or "the worker failed"
            raise RuntimeError(info.strip().splitlines()[-1][:500])
        time.sleep(0.05)
    job.cancel()
    return None
