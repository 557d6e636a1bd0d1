"""RQ job functions, queue names, retry policy and the scheduler. Jobs are thin and idempotent."""
