"""`undertone run`: everything on one machine with embedded defaults, so a newcomer needs no setup.

SQLite under var/ when DATABASE_URL is unset, an embedded Redis when REDIS_URL is unset, the built-in
CRM sink when HUBSPOT_ACCESS_TOKEN is unset, and generated development webhook secrets for the demo
when QUO_WEBHOOK_SECRET is unset, and a SECRET_KEY for the admin console when SECRET_KEY is unset.
Then honcho runs the Procfile (web, worker, scheduler).
"""
from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

from integration import defaults
from integration.cli.embedded_redis import EmbeddedRedis, free_port
from integration.settings import Settings
from integration.store.migrate import upgrade

DEV_SECRETS_FILE = "dev-secrets.env"


def run_all(settings: Settings) -> int:
    """Start every process and block until they stop (Ctrl-C). Returns the exit status."""
    procfile = Path.cwd() / "Procfile"
    if not procfile.exists():
        print("run this from the project directory (no Procfile here)", file=sys.stderr)
        return 2
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)  # the Procfile's commands live beside this interpreter
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env.setdefault("DATABASE_URL", settings.effective_database_url)
    env.update({k: v for k, v in dev_secrets(settings.var_dir).items() if not env.get(k)})
    redis = None
    if not settings.redis_url:
        redis = _start_embedded_redis(settings.var_dir)
        env["REDIS_URL"] = redis.url
    try:
        upgrade(env["DATABASE_URL"])
        _banner(settings, env, embedded_redis=redis is not None)
        honcho = Path(sys.executable).with_name("honcho")
        return subprocess.call([str(honcho), "start", "-f", str(procfile), "-p", str(settings.port),
                                "web", "worker", "scheduler"], env=env)  # not `release`: it exits, and honcho would stop all
    except KeyboardInterrupt:
        return 0
    finally:
        if redis is not None:
            redis.stop()


def dev_secrets(var_dir: Path) -> dict[str, str]:
    """Development webhook secrets and SECRET_KEY, generated once into var/ (never used when the variable is set)."""
    path = var_dir / DEV_SECRETS_FILE
    if not path.exists():
        classic = base64.b64encode(secrets.token_bytes(32)).decode()
        standard = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        path.write_text(f"QUO_WEBHOOK_SECRET={classic},{standard}\n")
        path.chmod(0o600)
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    values = {key.strip(): value.strip() for key, value in pairs}
    if "SECRET_KEY" not in values:  # files from before the console had none: add one, keep the rest
        values["SECRET_KEY"] = secrets.token_urlsafe(48)
        with path.open("a") as handle:
            handle.write(f"SECRET_KEY={values['SECRET_KEY']}\n")
    return values


def _start_embedded_redis(var_dir: Path) -> EmbeddedRedis:
    port = defaults.EMBEDDED_REDIS_PORT
    try:
        return EmbeddedRedis(port=port, data_dir=var_dir / "redis", persist=True).start()
    except RuntimeError:  # the usual port is taken: any free one will do
        return EmbeddedRedis(port=free_port(), data_dir=var_dir / "redis", persist=True).start()


def _banner(settings: Settings, env: dict, embedded_redis: bool) -> None:
    crm = "HubSpot" if env.get("HUBSPOT_ACCESS_TOKEN") else "built-in CRM sink (set HUBSPOT_ACCESS_TOKEN for HubSpot)"
    lines = [
        f"Undertone is starting on http://127.0.0.1:{settings.port}  (webhooks: /webhooks/<source>, health: /healthz)",
        f"  database: {env['DATABASE_URL'].split('@')[-1]}",
        f"  redis:    {env['REDIS_URL'] if 'REDIS_URL' in env else 'redis://127.0.0.1:6379/0'}"
        + ("  (embedded)" if embedded_redis else ""),
        f"  CRM:      {crm}",
        "  try it:   in another terminal, `make demo`",
    ]
    print("\n".join(lines), flush=True)
