"""Secrets stored by the admin page are encrypted at rest and never shown in full."""
import pytest
from sqlalchemy import select

from integration.settings import Settings
from integration.store import settings_store
from integration.store.models import Setting
from integration.store.secret_box import SecretBox, SecretKeyMissing, masked


def test_secret_is_encrypted_at_rest_and_reads_back(db):
    box = SecretBox("a long random secret key")
    settings_store.save(db, box, "quo_webhook_secret", "c2VjcmV0LXNpZ25pbmcta2V5", secret=True)
    settings_store.save(db, box, "negative_threshold", "-0.2", secret=False)
    with db.session() as session:
        stored = session.scalar(select(Setting.value).where(Setting.key == "quo_webhook_secret"))
    assert "c2VjcmV0" not in stored
    assert settings_store.load(db, box, "quo_webhook_secret") == "c2VjcmV0LXNpZ25pbmcta2V5"
    assert settings_store.load(db, box, "negative_threshold") == "-0.2"
    assert settings_store.load(db, box, "missing") is None


def test_wrong_key_cannot_read_and_rotation_can(db):
    settings_store.save(db, SecretBox("old key"), "token", "pat-123", secret=True)
    with pytest.raises(ValueError, match="cannot be decrypted"):
        settings_store.load(db, SecretBox("new key"), "token")
    assert settings_store.load(db, SecretBox("new key", previous=["old key"]), "token") == "pat-123"


def test_secret_needs_a_key(db):
    with pytest.raises(SecretKeyMissing):
        SecretBox(None)
    with pytest.raises(ValueError):
        settings_store.save(db, None, "token", "pat-123", secret=True)


def test_secrets_never_print():
    settings = Settings(hubspot_access_token="pat-na1-very-secret", quo_webhook_secret="abc,def", _env_file=None)
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings.model_dump())
    assert settings.source_secrets("quo") == ("abc", "def")
    assert settings.source_secrets("twilio") == ()
    assert masked("pat-na1-very-secret") == "pat…et" and "secret" not in masked("short")


def test_the_web_paths_secrets_are_those_of_each_vendors_own_settings():
    """Settings.source_secrets reads the secret field alone; a vendor's config gives the same secrets."""
    from connectors.registry import VENDOR_CONFIGS

    values = {config.secret_field: f" {source}-one ,{source}-two,, " for source, config in VENDOR_CONFIGS.items()
              if config.secret_field}
    settings = Settings(**values, _env_file=None)
    for source, config in VENDOR_CONFIGS.items():
        expected = config.from_values(settings).webhook_secrets()
        assert settings.source_secrets(source) == expected
        assert expected == ((f"{source}-one", f"{source}-two") if config.secret_field else ())
