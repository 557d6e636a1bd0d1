"""HubSpot's address and the limits the write-back keeps to."""

HUBSPOT_API_BASE = "https://api.hubapi.com"
HUBSPOT_SEARCHES_PER_S = 4  # HubSpot allows about 5 per second per account; keep one spare
HUBSPOT_MAX_SLOT_WAIT_S = 20  # a worker waits this long for a rate-limit slot before its job retries later
HUBSPOT_DAILY_LIMIT_WAIT_S = 3600  # after a DAILY 429, when no Retry-After says otherwise
HUBSPOT_SEARCH_CONTACTS = 30  # contacts looked up per search request (their phones and emails in IN filters)
HUBSPOT_SEARCH_PAGES = 5  # pages of 100 results followed per search at most
