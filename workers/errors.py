"""Which job errors can never succeed on a retry (fail the job at once) and which may (let RQ retry)."""
from __future__ import annotations

import requests
from redis.exceptions import RedisError
from sqlalchemy.exc import DataError, OperationalError, StatementError

from connectors.base import MalformedPayload
from connectors.common.http import ProviderError
from connectors.crm import CRMError


def is_permanent(exc: BaseException) -> bool:
    """True for errors of the input itself: bad data, parsing, scoring (ValueError, TypeError,
    UnicodeError), a database refusing the data (DataError), MalformedPayload, and provider or CRM
    errors marked not retryable. Connection, timeout, lock and Redis trouble stays retryable."""
    if isinstance(exc, (ProviderError, CRMError)):
        return not exc.retryable
    if isinstance(exc, (requests.RequestException, RedisError, OperationalError)):
        return False  # includes requests' JSONDecodeError: a provider answering HTML mid-outage may recover
    if isinstance(exc, (MalformedPayload, DataError)):
        return True
    if isinstance(exc, StatementError) and exc.orig is not None:
        return is_permanent(exc.orig)  # e.g. a value the driver could not encode
    return isinstance(exc, (ValueError, TypeError))
