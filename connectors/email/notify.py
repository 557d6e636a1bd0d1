"""E-mail over SMTP: STARTTLS, then login; the digest as HTML with a plain-text alternative."""
from __future__ import annotations

import html
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from connectors.common import defaults
from connectors.common.config import reveal
from connectors.email.config import EmailConfig
from connectors.notify import AlertMessage, DeliveryError, DigestMessage


class EmailNotifier:
    """Sends through SMTP_URL (smtp://user:pass@host:587) from DIGEST_EMAIL_FROM to DIGEST_EMAIL_TO."""

    name = "email"

    def __init__(self, config: EmailConfig, tls_context: ssl.SSLContext | None = None):
        url = urlsplit(reveal(config.smtp_url))
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise DeliveryError("SMTP_URL must look like smtp://user:pass@host:587", retryable=False)
        self._host, self._port = url.hostname, url.port or 587
        self._user, self._password = unquote(url.username or ""), unquote(url.password or "")
        self._to = [a.strip() for a in (config.digest_email_to or "").split(",") if a.strip()]
        self._from = config.digest_email_from or self._user
        if not self._to or not self._from:
            raise DeliveryError("DIGEST_EMAIL_TO and DIGEST_EMAIL_FROM must be set", retryable=False)
        self._tls = tls_context or ssl.create_default_context()

    def send_alert(self, alert: AlertMessage) -> None:
        """An alert as a short e-mail."""
        lines = [alert.title, ""]
        for item in alert.items:
            lines += [item["heading"], *(f"{k}: {v}" for k, v in item.get("facts", ()))]
            lines += [f'"{item["quote"]}"'] if item.get("quote") else []
            lines += [f"{label}: {url}" for label, url in item.get("links", ()) if url] + [""]
        self._send(alert.title, "\n".join(lines), None)

    def send_digest(self, digest: DigestMessage) -> None:
        """HTML body (tables and bar charts in HTML) with a plain-text alternative."""
        from connectors.email.digest_html import render

        text = digest.text or "\n\n".join(
            [digest.title] + [f"{h}\n" + "\n".join(lines) for h, lines in digest.sections])
        self._send(digest.title, text, digest.html or (render(digest) if digest.parts else _html(digest)))

    def _send(self, subject: str, text: str, html_body: str | None) -> None:
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = subject, self._from, ", ".join(self._to)
        message.set_content(text)
        if html_body:
            message.add_alternative(html_body, subtype="html")
        try:
            with smtplib.SMTP(self._host, self._port, timeout=defaults.HTTP_READ_TIMEOUT_S) as smtp:
                smtp.ehlo()
                smtp.starttls(context=self._tls)  # never log in or send in the clear
                smtp.ehlo()
                if self._user:
                    smtp.login(self._user, self._password)
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login refused: {exc.smtp_code}", exc.smtp_code, retryable=False) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError("the SMTP server does not offer STARTTLS", retryable=False) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipients refused: {sorted(exc.recipients)}", retryable=False) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {exc.smtp_code}", exc.smtp_code, retryable=exc.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP failed: {type(exc).__name__}") from None


def _html(digest: DigestMessage) -> str:
    parts = [f"<h1>{html.escape(digest.title)}</h1>"]
    for heading, lines in digest.sections:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
        parts.append(f"<h2>{html.escape(heading)}</h2><ul>{items}</ul>")
    return "<html><body style=\"font-family:sans-serif\">" + "".join(parts) + "</body></html>"
