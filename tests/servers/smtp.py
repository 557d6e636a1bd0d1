"""A local SMTP server (aiosmtpd) that requires STARTTLS and then login, with a self-signed certificate.

The certificate is generated at test time with `cryptography`; clients trust it through `client_context()`.
Messages accepted are kept in `messages` (email.message.EmailMessage).

    with SMTPServer(user="u", password="p") as smtp:
        url = smtp.url()                   # smtp://u:p@127.0.0.1:<port>
        ... smtp.messages ...
"""
from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import tempfile
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A key and a certificate for 127.0.0.1 / localhost, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


class _Handler:
    def __init__(self, server: "SMTPServer"):
        self.server = server

    async def handle_DATA(self, server, session, envelope):
        self.server.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class SMTPServer:
    """aiosmtpd on 127.0.0.1: STARTTLS required before AUTH and MAIL; LOGIN/PLAIN checked against one user."""

    def __init__(self, user: str = "digest", password: str = "s3cret pass", starttls: bool = True):
        self.user, self.password, self.starttls = user, password, starttls
        self.messages: list = []
        self.envelopes: list = []
        self.logins: list[tuple[str, bool]] = []
        self._dir = tempfile.TemporaryDirectory()
        self.key_path, self.cert_path = self_signed(Path(self._dir.name))
        self._controller = None

    def url(self, user: str | None = None, password: str | None = None) -> str:
        from urllib.parse import quote

        return f"smtp://{quote(user or self.user)}:{quote(password or self.password, safe='')}@127.0.0.1:{self.port}"

    def client_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts this server's certificate (and checks the host name)."""
        return ssl.create_default_context(cafile=str(self.cert_path))

    def start(self) -> "SMTPServer":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(str(self.cert_path), str(self.key_path))
        options = dict(tls_context=tls, require_starttls=True, auth_require_tls=True) if self.starttls else {}
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, authenticator=self._auth,
                                      auth_required=True, server_hostname="localhost", **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self._dir.cleanup()

    def __enter__(self) -> "SMTPServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _auth(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login.decode() == self.user and auth_data.password.decode() == self.password
        self.logins.append((auth_data.login.decode(), ok))
        return AuthResult(success=ok, handled=False)
