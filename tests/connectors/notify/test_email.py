"""The e-mail notifier against a local aiosmtpd server that requires STARTTLS and login."""
from __future__ import annotations

import pytest

from connectors.email.config import EmailConfig
from connectors.email.notify import EmailNotifier
from connectors.notify import AlertMessage, DeliveryError, DigestMessage
from tests.servers.smtp import SMTPServer

DIGEST = DigestMessage("Undertone weekly digest, 2026-W48", "2026-W48",
                       (("Mix", ("12 negative (last week 9)", "30 positive")), ("Top themes", ("billing: 5",))))


def notifier(smtp: SMTPServer, url: str | None = None, to: str = "team@example.com, boss@example.com"):
    config = EmailConfig(smtp_url=url or smtp.url(), digest_email_to=to, digest_email_from="undertone@example.com",
                         _env_file=None)
    return EmailNotifier(config, tls_context=smtp.client_context())


def test_digest_is_html_with_plain_text_alternative_after_starttls_and_login():
    with SMTPServer() as smtp:
        notifier(smtp).send_digest(DIGEST)
        assert smtp.logins == [("digest", True)]
        (message,) = smtp.messages
        assert smtp.envelopes[0] == ("undertone@example.com", ["team@example.com", "boss@example.com"])
        assert message["Subject"] == DIGEST.title
        assert message.get_content_type() == "multipart/alternative"
        plain = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert "12 negative (last week 9)" in plain and "<h2>Top themes</h2>" in html


def test_wrong_password_is_permanent_and_not_in_the_error():
    with SMTPServer() as smtp:
        with pytest.raises(DeliveryError) as caught:
            notifier(smtp, smtp.url(password="wrong-pass-123")).send_digest(DIGEST)
        assert caught.value.retryable is False and "wrong-pass-123" not in str(caught.value)
        assert smtp.messages == []


def test_server_without_starttls_is_refused_before_login():
    with SMTPServer(starttls=False) as smtp:
        with pytest.raises(DeliveryError, match="STARTTLS"):
            notifier(smtp).send_alert(AlertMessage("t", ({"heading": "h"},)))
        assert smtp.logins == [] and smtp.messages == []


def test_untrusted_certificate_is_an_error():
    with SMTPServer() as smtp:
        config = EmailConfig(smtp_url=smtp.url(), digest_email_to="a@example.com", digest_email_from="b@example.com",
                             _env_file=None)
        with pytest.raises(DeliveryError):
            EmailNotifier(config).send_digest(DIGEST)  # the default context does not trust a self-signed cert
        assert smtp.messages == []


def test_unreachable_server_is_retryable():
    with SMTPServer() as smtp:
        url = smtp.url()
    with pytest.raises(DeliveryError) as caught:
        EmailNotifier(EmailConfig(smtp_url=url, digest_email_to="a@example.com", digest_email_from="b@example.com",
                                  _env_file=None)).send_digest(DIGEST)
    assert caught.value.retryable is True


@pytest.mark.parametrize("values", [{"smtp_url": "http://x"}, {"smtp_url": "smtp://u:p@h:587"}])
def test_incomplete_settings_are_clear(values):
    with pytest.raises(DeliveryError):
        EmailNotifier(EmailConfig(_env_file=None, **values))
