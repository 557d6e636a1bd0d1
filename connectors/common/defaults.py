"""Tunables of every outbound call to a provider: timeouts, attempts, waits."""

HTTP_CONNECT_TIMEOUT_S = 5
HTTP_READ_TIMEOUT_S = 20
HTTP_MAX_ATTEMPTS = 3  # in-call attempts for 429/5xx before the job's own retry takes over
HTTP_MAX_INLINE_WAIT_S = 10  # longer Retry-After waits are left to the job retry, not slept in a worker
NAME_CACHE_TTL_S = 3600  # a line's or agent's name fetched from a provider's API is reused this long per process
