"""Every tunable number of the service in one place: timeouts, tolerances, retry intervals, batch sizes, limits.

Provider tunables (HTTP timeouts, HubSpot limits) live beside the connectors: `connectors/common/defaults.py`
and `connectors/hubspot/defaults.py`.
"""

# Ingest
MAX_WEBHOOK_BYTES = 1024 * 1024  # larger bodies get 413 before anything parses them
SIGNATURE_TOLERANCE_S = 300  # replay window for timestamped signature schemes, both directions

# Queues and jobs
EVENTS_QUEUE = "events"
CRM_QUEUE = "crm"
PROCESS_JOB_TIMEOUT_S = 300
SYNC_JOB_TIMEOUT_S = 300
# Backoff between attempts; jitter is added per job. Length = retries after the first attempt.
PROCESS_RETRY_INTERVALS_S = (10, 60, 300, 900)
SYNC_RETRY_INTERVALS_S = (15, 60, 300, 900, 1800)
RETRY_JITTER_FRACTION = 0.2
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

# Admin console
LOGIN_WINDOW_S = 15 * 60  # failed sign-ins are counted over this window
LOGIN_MAX_PER_ADDRESS = 20  # failed sign-ins from one address in the window before it is refused
LOGIN_MAX_PER_ACCOUNT = 5  # failed sign-ins on one account in the window before it is refused
SETTINGS_REFRESH_S = 3  # every process checks the settings version at most this often
ADMIN_PAGE_SIZE = 50  # rows per page of a console list
REFUSALS_WINDOW_H = 24  # refused deliveries (bad signature) are counted per hour over this many hours
TEST_DELIVERY_TIMEOUT_S = 10  # HubSpot "test connection" waits at most this long
