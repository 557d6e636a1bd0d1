"""Start a service process (`gunicorn ...` or `undertone ...`) with some `integration.defaults` overridden.

The fault suite compresses time for a few scenarios: an hour of HubSpot outage runs in well under a
minute when the retry delays that wait it out are scaled by the same factor. Our code reads those
delays from `integration.defaults`; this launcher sets them from UNDERTONE_DEFAULTS_OVERRIDE (a JSON
object, name -> value) before anything imports them, then runs the real entry point unchanged.

    UNDERTONE_DEFAULTS_OVERRIDE='{"SYNC_RETRY_INTERVALS_S": [1, 1, 3]}' python -m bench.faultlib.launch undertone worker
"""
from __future__ import annotations

import json
import os
import sys

ENV = "UNDERTONE_DEFAULTS_OVERRIDE"


def apply_overrides(raw: str | None) -> dict:
    """Set the named defaults (lists become tuples); an unknown name is an error, not a silent no-op.

    A name is looked up in the service's defaults, then in the providers' (`connectors/*/defaults.py`).
    """
    from connectors.common import defaults as http_defaults
    from connectors.hubspot import defaults as hubspot_defaults
    from integration import defaults

    overrides = json.loads(raw) if raw else {}
    for name, value in overrides.items():
        module = next((m for m in (defaults, hubspot_defaults, http_defaults) if hasattr(m, name)), None)
        if module is None:
            raise SystemExit(f"{ENV}: no defaults module has {name}")
        setattr(module, name, tuple(value) if isinstance(value, list) else value)
    return overrides


def main(argv: list[str]) -> None:
    """`launch gunicorn ARGS...` or `launch undertone ARGS...`."""
    if not argv or argv[0] not in ("gunicorn", "undertone"):
        raise SystemExit("usage: python -m bench.faultlib.launch gunicorn|undertone ARGS...")
    apply_overrides(os.environ.get(ENV))
    sys.argv = argv
    if argv[0] == "gunicorn":
        from gunicorn.app.wsgiapp import run

        run()
    else:
        from integration.cli import main as undertone

        undertone()


if __name__ == "__main__":
    main(sys.argv[1:])
