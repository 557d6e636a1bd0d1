"""Every tunable number of the service in one place: timeouts, tolerances, retry intervals, batch sizes, limits.

Provider tunables (HTTP timeouts, HubSpot limits) live beside the connectors: `connectors/common/defaults.py`
and `connectors/hubspot/defaults.py`.
"""

# Ingest
MAX_WEBHOOK_BYTES = 1024 * 1024  # larger bodies get 413 before anything parses them
SIGNATURE_TOLERANCE_S = 300  # replay window for timestamped signature schemes, both directions
MAX_JSON_DEPTH = 64  # a body nested deeper is refused (400) before it is parsed; real payloads stay under 10

# Database: a database that accepts connections but never answers must not hang a request
DB_CONNECT_TIMEOUT_S = 2  # PostgreSQL connect_timeout (the whole set-up; libpq's minimum); a settings check and a
# store may each wait this once in a request, still inside the 5 s a sender allows
DB_STATEMENT_TIMEOUT_S = 4  # PostgreSQL statement_timeout, set per connection
DB_POOL_TIMEOUT_S = 3  # waiting for a free pooled connection
# Client-side bounds (integration/store/pg_waits.py): the server's statement_timeout cannot fire when the server is
# stuck or the path to it swallows packets. Every PostgreSQL wait ends after DB_CLIENT_WAIT_S (above the server's
# own timeout, so a slow statement still gets the server's error), and all the waits of a webhook or /healthz
# request together end after DB_REQUEST_DEADLINE_S, inside the 5 s a sender allows.
DB_CLIENT_WAIT_S = DB_STATEMENT_TIMEOUT_S + 2
DB_REQUEST_DEADLINE_S = 3.5
DB_FAIL_FAST_S = 2  # after the database did not answer, a web request's connect fails at once for this long
SQLITE_BUSY_TIMEOUT_S = 2  # SQLite waits this long for another connection's write lock (transactions are short)

# Queues and jobs
EVENTS_QUEUE = "events"
CRM_QUEUE = "crm"
PROCESS_JOB_TIMEOUT_S = 300
SYNC_JOB_TIMEOUT_S = 300
# Backoff between attempts; jitter is added per job. Length = retries after the first attempt.
PROCESS_RETRY_INTERVALS_S = (10, 60, 300, 900)
SYNC_RETRY_INTERVALS_S = (15, 60, 300, 900, 1800)
RETRY_JITTER_FRACTION = 0.2
# A process job takes its own event and up to PROCESS_BATCH - 1 other pending first attempts (PROCESS_BATCH overrides;
# 1: one event per job), claimed in the inbox for CLAIM_LEASE_S, and scores their texts in one model call. A heartbeat
# renews the lease every CLAIM_RENEW_S while the batch runs (workers/claim_lease.py), so a slow batch keeps its events
# and a killed worker's claims expire CLAIM_LEASE_S after its last beat; the events are then taken again.
PROCESS_BATCH = 16
CLAIM_LEASE_S = 8
CLAIM_RENEW_S = 2
# A batch stores its events (and then writes their scores) in shared transactions, a savepoint per event; a shared
# transaction commits once it has run BATCH_TRANSACTION_S, and the next event starts another. SQLite has one write
# lock: once a web request waits for it (sqlite_turn's hurry flag), a worker's transaction commits as soon as it has
# run BATCH_TRANSACTION_YIELD_S, so the web's inserts are not kept waiting. PostgreSQL locks rows only (the web's
# inserts never wait for them).
BATCH_TRANSACTION_S = 1.0
BATCH_TRANSACTION_YIELD_S = 0.02
CLAIM_POLL_S = 0.5  # a job whose event is in another job's batch checks this often whether it is done (or the lease ended)
SCORE_ATTEMPTS = 3  # an interaction that changed while it was scored is scored again this often, then the job retries
JOB_RESULT_TTL_S = 3600
JOB_FAILURE_TTL_S = 14 * 24 * 3600  # failed jobs stay visible (and requeueable) for two weeks
SYNC_COALESCE_TTL_S = 60  # the "CRM flush already requested" marker expires after this (a lost job is replaced)

# Scheduler
SWEEP_INTERVAL_S = 30
SWEEP_GRACE_S = 30  # a pending event younger than this is probably still being enqueued by the web process
SWEEP_BATCH = 500
PRUNE_INTERVAL_S = 3600
PRUNE_BATCH = 1000  # rows deleted per statement, so a prune never holds a long lock

# Retention of raw event bodies once processed or ignored (EVENT_RETENTION_DAYS overrides)
EVENT_RETENTION_DAYS = 30

# Scoring and follow-up (task rules, SLAs and thresholds are data: integration/sync/follow_up_rules.json)
NEGATIVE_WINDOW_DAYS = 30

# Insights (the definitions themselves are in integration/insights/definitions.py)
TIMEZONE = "UTC"  # TIMEZONE overrides: the IANA zone the business's days and weeks are counted in

# Outbound HTTP (CRM, help desks, Slack)
HTTP_CONNECT_TIMEOUT_S = 5
HTTP_READ_TIMEOUT_S = 20
HTTP_MAX_ATTEMPTS = 3  # in-call attempts for 429/5xx before the job's own retry takes over
HTTP_MAX_INLINE_WAIT_S = 10  # longer Retry-After waits are left to the job retry, not slept in a worker
HUBSPOT_API_BASE = "https://api.hubapi.com"

# Embedded services for `make run`
EMBEDDED_REDIS_PORT = 6380

# HubSpot write-back
CONTACT_CACHE_TTL_S = 24 * 3600  # phone/email -> HubSpot id cache in Redis (the database keeps the link)
CRM_FLUSH_DELAY_S = 2  # a CRM flush waits this long after the first change, to batch what follows
CRM_FLUSH_BATCH = 100  # contacts per round of a flush (HubSpot's batch size)
CRM_FLUSH_MAX_S = 240  # a flush hands over to a fresh job after this long (stays under the job timeout)

# Riding out faults without a supervisor (issue 9): Redis outages, killed workers
REDIS_RECONNECT_FIRST_S = 0.5  # first pause before pinging a lost Redis again; doubles per attempt...
REDIS_RECONNECT_MAX_S = 10  # ...up to this, so a worker resumes within ~10 s of Redis coming back
REDIS_RECONNECT_JITTER = 0.5  # each pause is shortened by up to this fraction, so workers do not reconnect together
REDIS_PROBE_TIMEOUT_S = 2  # connect/read timeout of the ping that tells whether Redis is back
WORKER_TTL_S = 25  # RQ worker registration TTL; an idle worker wakes every WORKER_TTL_S - 15 s (RQ's rule)
WORKER_MAINTENANCE_INTERVAL_S = 10  # RQ maintenance: abandoned jobs, and taking over a dead worker's scheduler lock
SCHEDULER_LOCK_STALE_S = 10  # a scheduler lock not refreshed this long (RQ refreshes it every second) is released
CRM_FLUSH_LOCK_TTL_S = 15  # the one-flush-at-a-time lock expires this soon after its worker dies...
CRM_FLUSH_LOCK_RENEW_S = 5  # ...and is renewed this often while the flush runs
# Insights API, CLI and MCP
INSIGHTS_DEFAULT_LIMIT = 20  # rows an answer lists unless asked for more
INSIGHTS_MAX_LIMIT = 500
INSIGHTS_MAX_DAYS = 3660
INSIGHTS_QUOTE_CHARS = 280  # a quote in an answer is cut to this length
INSIGHTS_EXAMPLES = 2  # example quotes per theme
INSIGHTS_REFRESH_MARGIN_S = 300  # the theme index re-reads changes this far behind its watermark (late commits)
INSIGHTS_REFRESH_BATCH = 2000  # interactions re-indexed per statement
API_RATE_LIMIT_PER_MINUTE = 120  # requests per token per minute (API_RATE_LIMIT_PER_MINUTE overrides)
# Admin console
LOGIN_WINDOW_S = 15 * 60  # failed sign-ins are counted over this window
LOGIN_MAX_PER_ADDRESS = 20  # failed sign-ins from one address in the window before it is refused
LOGIN_MAX_PER_ACCOUNT = 5  # failed sign-ins on one account in the window before it is refused
SETTINGS_REFRESH_S = 3  # every process checks the settings version at most this often
TRY_RULES_WAIT_S = 10  # the console's "try a sentence" waits this long for a worker to answer
ADMIN_PAGE_SIZE = 50  # rows per page of a console list
REFUSALS_WINDOW_H = 24  # refused deliveries (bad signature) are counted per hour over this many hours
TEST_DELIVERY_TIMEOUT_S = 10  # HubSpot "test connection" waits at most this long
CONTACT_TREND_POINTS = 10  # a contact's trend: the least-squares slope over their last this many scores...
CONTACT_TREND_MIN_POINTS = 3  # ...when they have at least this many (else "not enough data")...
CONTACT_TREND_SLOPE = 0.05  # ...beyond +/- this per interaction is improving / declining, else steady
CONTACT_SPARK_POINTS = 30  # scores drawn in a contact's sentiment chart

# Alerts (issue 13).
SPIKE_MIN_CUSTOMERS = 5  # SPIKE_MIN_CUSTOMERS: this many different customers negative about one theme ...
SPIKE_WINDOW_DAYS = 14  # SPIKE_WINDOW_DAYS: ... within this many days raise one spike alert per theme and window
ALERTS_QUEUE = CRM_QUEUE  # outbound like the CRM writes: every deployed worker already takes it (see decisions)
ALERT_RETRY_INTERVALS_S = (10, 30, 120, 600, 1800)  # 429/5xx/unreachable; a longer Retry-After stretches one
ALERT_JOB_TIMEOUT_S = 60
ALERT_SWEEP_GRACE_S = 30  # a pending alert older than this with no job is queued again by the sweep

# Weekly digest and no one left waiting (issue 13).
DIGEST_TICK_INTERVAL_S = 300  # the scheduler checks this often whether a digest is due (DIGEST_SCHEDULE says when)
FOLLOW_UP_INTERVAL_S = 24 * 3600  # the no-one-left-waiting job runs daily (and once when the scheduler starts)
FOLLOW_UP_LOCK_WAIT_S = 120  # it waits this long for a running CRM flush to finish, then tries at its next run
UNCERTAIN_CONFIDENCE = 0.6  # a score below this confidence is called uncertain in the CRM note (issue 14; MODEL_CARD.md)

# Workers run this much nicer than the web process (os.nice at start): on shared cores a scoring worker gives way
# to acknowledgements, which are short and timed by the sender, and still gets every cycle the web leaves idle.
WORKER_NICE = 10
# torch intra-op threads per worker process (WORKER_TORCH_THREADS overrides). One: with 2 workers on 2 shared cores,
# 2 threads each oversubscribe the cores, and torch's threads then wait on each other: a MiniLM pass over one short
# text took 640-855 ms with 2 threads and 53-59 ms with 1 on this machine under load (docs/decisions.md, "Batching").
WORKER_TORCH_THREADS = 1
