"""Browser tests: the app on a real server thread, driven by Debian's Chromium through Playwright.

SQLite only (the pages' queries run on both databases in tests/integration/web/admin); a real Redis.
Chromium is /usr/bin/chromium (apt `chromium`; never `playwright install`); axe-core comes from npm
into .npm/ (`make browser-deps`). Missing either, the tests skip, except in CI
(UNDERTONE_REQUIRE_POSTGRES=1 or UNDERTONE_REQUIRE_BROWSER=1), where they fail.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from integration.settings import Settings
from tests import keys
from tests.conftest import _empty_tables

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
AXE = ROOT / ".npm" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _missing(what: str):
    if os.environ.get("UNDERTONE_REQUIRE_BROWSER") == "1" or os.environ.get("UNDERTONE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{what} is missing; `make browser-deps` installs it")
    pytest.skip(f"{what} is missing; `make browser-deps` installs it")


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module. Playwright's sync API keeps an asyncio loop running in this thread while it
    is open, so it must be closed before other modules' tests call asyncio.run (the MCP client tests do)."""
    if not Path(CHROMIUM).exists():
        _missing(CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        _missing(str(AXE))
    return AXE.read_text()


@pytest.fixture
def live(sqlite_url, redis_url, tmp_path):
    """The console served by werkzeug on a free port; yields (base URL, app)."""
    from integration.web.app import create_app

    _empty_tables(sqlite_url)
    settings = Settings(database_url=sqlite_url, redis_url=redis_url, var_dir=tmp_path,
                        quo_webhook_secret=f"{keys.QUO_CLASSIC},{keys.QUO_STANDARD}",
                        secret_key="browser test secret key, long enough", _env_file=None)
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    thread.join(timeout=5)
    app.extensions["undertone"].db.dispose()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()
