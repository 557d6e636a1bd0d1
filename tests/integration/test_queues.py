"""Enqueue helpers: the webhook queues a request's events in one atomic Redis command."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job
from rq.utils import utcformat

from integration import defaults, queues


def _calls(redis: Redis) -> dict[str, int]:
    return {name.removeprefix("cmdstat_"): int(stats["calls"]) for name, stats in redis.info("commandstats").items()}


def test_events_are_queued_in_one_command(redis_conn):
    """One atomic script call for the whole request, as the webhook's single round trip."""
    queues.enqueue_events(redis_conn, [1])  # the first call may load the script
    before = _calls(redis_conn)
    queues.enqueue_events(redis_conn, [7, 8, 9])
    after = _calls(redis_conn)
    sent = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    # one EVALSHA from us (INFO: the `before` reading above); inside it what RQ's enqueue writes, per job
    assert sent == {"evalsha": 1, "info": 1, "sadd": 1, "hset": 3, "rpush": 3}
    events = Queue(defaults.EVENTS_QUEUE, connection=redis_conn)
    assert events.job_ids == ["event-1", "event-7", "event-8", "event-9"]
    job = Job.fetch("event-8", connection=redis_conn)
    assert (job.func_name, job.args) == (queues.PROCESS_EVENT, (8,))
    assert job.retries_left == len(defaults.PROCESS_RETRY_INTERVALS_S)
    assert job.timeout == defaults.PROCESS_JOB_TIMEOUT_S and job.failure_ttl == defaults.JOB_FAILURE_TTL_S


def test_a_redis_that_lost_the_script_gets_it_again(redis_conn):
    """A restarted (or flushed) Redis no longer knows the script: the enqueue loads it again and queues, once."""
    queues.enqueue_events(redis_conn, [1])
    redis_conn.script_flush()
    queues.enqueue_events(redis_conn, [2])
    assert Queue(defaults.EVENTS_QUEUE, connection=redis_conn).job_ids == ["event-1", "event-2"]
    assert Job.fetch("event-2", connection=redis_conn).args == (2,)


@pytest.mark.parametrize("moment", [datetime(2026, 12, 1, 23, 4, 5, 123456, tzinfo=timezone.utc),
                                    datetime(2026, 1, 2, 3, 4, 5, 0, tzinfo=timezone.utc),
                                    datetime(2027, 10, 20, 13, 14, 15, 7, tzinfo=timezone.utc)])
def test_the_fast_timestamp_is_rqs_own(moment):
    assert queues._stamp(moment) == utcformat(moment)


def test_nothing_to_queue_sends_nothing(redis_conn):
    before = int(redis_conn.info("stats")["total_commands_processed"])
    queues.enqueue_events(redis_conn, [])
    assert int(redis_conn.info("stats")["total_commands_processed"]) - before == 1  # the INFO call itself


def test_redis_down_raises_and_queues_nothing(redis_server, redis_url):
    redis_server.stop()
    try:
        with pytest.raises(RedisError):
            queues.enqueue_events(Redis.from_url(redis_url, socket_connect_timeout=0.5), [1, 2])
    finally:
        redis_server.start()
    assert Queue(defaults.EVENTS_QUEUE, connection=Redis.from_url(redis_url)).count == 0


def _rq_enqueued(redis: Redis, row_id: int) -> dict:
    """The hash and commands of RQ's own enqueue of the same job, for comparison with the fast path."""
    Queue(defaults.EVENTS_QUEUE, connection=redis).enqueue(queues.PROCESS_EVENT, row_id,
                                                           **queues._event_job_options(row_id))
    return redis.hgetall(Job.key_for(queues.event_job_id(row_id)))


_PER_JOB = {b"created_at", b"enqueued_at", b"retry_intervals"}  # timestamps and jitter: differ between two enqueues


def test_fast_enqueue_writes_the_job_hash_rq_writes(redis_conn):
    """queues.enqueue_events skips RQ's Job object; the hash it writes must still be RQ's, field by field (this
    fails on an RQ upgrade that changes the hash, before a worker meets a job it cannot read)."""
    queues.enqueue_events(redis_conn, [41])
    fast = redis_conn.hgetall(Job.key_for("event-41"))
    redis_conn.delete(Job.key_for("event-41"), Queue(defaults.EVENTS_QUEUE, connection=redis_conn).key)
    ours = _rq_enqueued(redis_conn, 41)
    assert set(fast) == set(ours)
    assert {k: v for k, v in fast.items() if k not in _PER_JOB} == {k: v for k, v in ours.items() if k not in _PER_JOB}
    job = Job.fetch("event-41", connection=redis_conn)
    assert len(job.retry_intervals) == len(defaults.PROCESS_RETRY_INTERVALS_S)
    for jittered, interval in zip(job.retry_intervals, defaults.PROCESS_RETRY_INTERVALS_S):
        assert abs(jittered - interval) <= interval * defaults.RETRY_JITTER_FRACTION + 1


def test_fast_enqueued_job_is_read_and_run_by_rq(redis_conn):
    """A real RQ worker takes the job off the queue and calls the function with the row id; its status,
    registries and result behave as for a job RQ enqueued itself."""
    from rq import SimpleWorker

    queues.enqueue_events(redis_conn, [5])
    events = Queue(defaults.EVENTS_QUEUE, connection=redis_conn)
    job = Job.fetch("event-5", connection=redis_conn)
    assert job.get_status() == "queued" and job.origin == defaults.EVENTS_QUEUE
    assert job.description == "process event 5" and job.result_ttl == defaults.JOB_RESULT_TTL_S
    assert job.enqueued_at is not None and job.created_at is not None
    assert events.name in [q.name for q in Queue.all(connection=redis_conn)]
    assert job.args == (5,)  # read before the stand-in below keeps them
    job.func_name = "builtins.str"  # run a stand-in for the real job (which needs a database and a scorer)
    job.save()
    SimpleWorker([events], connection=redis_conn).work(burst=True)
    job = Job.fetch("event-5", connection=redis_conn)
    assert job.get_status() == "finished" and job.return_value() == "5"
    assert events.count == 0


def test_fast_enqueue_follows_the_job_options_in_force(redis_conn, monkeypatch):
    """The per-process template must not freeze the options it was first built with (tests and settings change
    them): a job queued after the retry policy changed carries the new one."""
    before = (len(defaults.PROCESS_RETRY_INTERVALS_S), defaults.PROCESS_JOB_TIMEOUT_S)
    queues.enqueue_events(redis_conn, [1])
    monkeypatch.setattr(defaults, "PROCESS_RETRY_INTERVALS_S", (0, 0))
    monkeypatch.setattr(defaults, "PROCESS_JOB_TIMEOUT_S", 17)
    queues.enqueue_events(redis_conn, [2])
    first, second = (Job.fetch(f"event-{i}", connection=redis_conn) for i in (1, 2))
    assert (first.retries_left, first.timeout) == before
    assert (second.retries_left, second.retry_intervals, second.timeout) == (2, [0, 0], 17)


def test_the_jobs_call_is_compressed_as_rq_compresses_it():
    """The cheaper deflate set-up gives zlib.compress's own bytes for a job's call, whatever the row id's size."""
    import zlib

    from rq.serializers import DefaultSerializer

    row_ids = [*range(3000), *(2**bits + step for bits in range(8, 65, 4) for step in (-1, 0, 1))]
    for row_id in row_ids:
        call = DefaultSerializer.dumps((queues.PROCESS_EVENT, None, (row_id,), {}))
        assert queues._compressed(call) == zlib.compress(call), row_id


def test_values_written_into_the_script_reach_redis_unchanged(redis_conn):
    """The job hash's fixed fields are Lua literals in the enqueue script: any byte must come back as it was."""
    for value in (b"", b"events", b'say "hi" \\ bye', bytes(range(256)), "caf\u00e9 \u2603".encode(), b"\\0001"):
        assert redis_conn.eval(f"return {queues._lua_string(value)}", 0) == value
