"""Phone number normalisation shared by connectors: anything a provider sends -> E.164 or None.

Phone numbers are how calls and texts find their CRM contact, so every connector hands the
matcher the same canonical form. Numbers are checked with `is_possible_number` (length rules),
not `is_valid_number`: validity metadata changes between `phonenumbers` releases and a number a
carrier actually delivered from should not be dropped because the library has not caught up.
"""
from __future__ import annotations

import phonenumbers


def to_e164(raw: object, default_region: str = "US") -> str | None:
    """The E.164 form of `raw` (e.g. "+13125550147"), or None when it is not a phone number."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw.strip(), default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
