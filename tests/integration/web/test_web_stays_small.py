"""The web process never imports torch or the scorers: it starts fast and stays small."""
import subprocess
import sys
import textwrap


def test_serving_a_webhook_imports_no_scorer_and_no_torch(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from integration.web.app import create_app
        from integration.store.migrate import upgrade
        from integration.settings import Settings
        url = "sqlite:///{tmp_path}/web.db"
        upgrade(url)
        app = create_app(Settings(database_url=url, redis_url="redis://127.0.0.1:1/0", quo_webhook_secret="c2VjcmV0",
                                  secret_key="k" * 32, _env_file=None))
        client = app.test_client()
        assert client.post("/webhooks/quo", data=b"{{}}", headers={{"openphone-signature": "hmac;1;1;x"}}).status_code == 401
        assert client.get("/healthz").status_code == 200
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "flair", "transformers", "vaderSentiment")
                       or m.startswith("scoring.lexicon") or m.startswith("scoring.flair"))
        print(",".join(heavy))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == ""
