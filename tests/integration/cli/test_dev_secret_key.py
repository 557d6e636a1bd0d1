"""`make run` generates SECRET_KEY into var/ once, also into a dev-secrets file from before the console."""
from integration.cli.devserver import DEV_SECRETS_FILE, dev_secrets


def test_a_secret_key_is_generated_once_and_kept(tmp_path):
    first = dev_secrets(tmp_path)
    assert len(first["SECRET_KEY"]) >= 48 and first["QUO_WEBHOOK_SECRET"]
    assert dev_secrets(tmp_path) == first


def test_an_older_file_gets_a_secret_key_and_keeps_its_webhook_secret(tmp_path):
    (tmp_path / DEV_SECRETS_FILE).write_text("QUO_WEBHOOK_SECRET=c2VjcmV0\n")
    values = dev_secrets(tmp_path)
    assert values["QUO_WEBHOOK_SECRET"] == "c2VjcmV0" and values["SECRET_KEY"]
    assert dev_secrets(tmp_path)["SECRET_KEY"] == values["SECRET_KEY"]
