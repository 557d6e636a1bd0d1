"""Every tunable number in one place: timeouts, tolerances, retry intervals, batch sizes, limits."""

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

# Scoring and follow-up (task rules, SLAs and thresholds are data: integration/data/follow_up_rules.json)
NEGATIVE_WINDOW_DAYS = 30

# Insights (the definitions themselves are in integration/insights/definitions.py)
TIMEZONE = "UTC"  # TIMEZONE overrides: the IANA zone the business's days and weeks are counted in
NAME_CACHE_TTL_S = 3600  # a line's or agent's name fetched from a provider's API is reused this long per process

# Outbound HTTP (CRM, help desks, Slack)
HTTP_CONNECT_TIMEOUT_S = 5
HTTP_READ_TIMEOUT_S = 20
HTTP_MAX_ATTEMPTS = 3  # in-call attempts for 429/5xx before the job's own retry takes over
HTTP_MAX_INLINE_WAIT_S = 10  # longer Retry-After waits are left to the job retry, not slept in a worker
HUBSPOT_API_BASE = "https://api.hubapi.com"

# Embedded services for `make run`
EMBEDDED_REDIS_PORT = 6380

# HubSpot write-back
HUBSPOT_SEARCHES_PER_S = 4  # HubSpot allows about 5 per second per account; keep one spare
HUBSPOT_MAX_SLOT_WAIT_S = 20  # a worker waits this long for a rate-limit slot before its job retries later
HUBSPOT_DAILY_LIMIT_WAIT_S = 3600  # after a DAILY 429, when no Retry-After says otherwise
HUBSPOT_SEARCH_CONTACTS = 30  # contacts looked up per search request (their phones and emails in IN filters)
HUBSPOT_SEARCH_PAGES = 5  # pages of 100 results followed per search at most
CONTACT_CACHE_TTL_S = 24 * 3600  # phone/email -> HubSpot id cache in Redis (the database keeps the link)
CRM_FLUSH_DELAY_S = 2  # a CRM flush waits this long after the first change, to batch what follows
CRM_FLUSH_BATCH = 100  # contacts per round of a flush (HubSpot's batch size)
CRM_FLUSH_MAX_S = 240  # a flush hands over to a fresh job after this long (stays under the job timeout)

# Insights API, CLI and MCP
INSIGHTS_DEFAULT_LIMIT = 20  # rows an answer lists unless asked for more
INSIGHTS_MAX_LIMIT = 500
INSIGHTS_MAX_DAYS = 3660
INSIGHTS_QUOTE_CHARS = 280  # a quote in an answer is cut to this length
INSIGHTS_EXAMPLES = 2  # example quotes per theme
INSIGHTS_REFRESH_MARGIN_S = 300  # the theme index re-reads changes this far behind its watermark (late commits)
INSIGHTS_REFRESH_BATCH = 2000  # interactions re-indexed per statement
API_RATE_LIMIT_PER_MINUTE = 120  # requests per token per minute (API_RATE_LIMIT_PER_MINUTE overrides)
