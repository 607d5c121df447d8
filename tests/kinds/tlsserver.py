"""A local HTTPS server with certificates made for the test: a CA, and leaves it signs.

The server records what it receives (method, path, headers, body) and answers one JSON body,
so a test can check what a real client sent over a real TLS connection.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
_DAY = datetime.timedelta(days=1)
# How often the serving thread looks for shutdown; the default half second would slow every test.
_POLL = 0.02
_HANDSHAKE_TIMEOUT = 3.0


@dataclass(frozen=True)
class Leaf:
    """A server certificate and its key, as files a server context loads."""

    cert: Path
    key: Path
    der: bytes


@dataclass
class CA:
    """A certificate authority made for one test; ``cafile`` is what a client would trust."""

    folder: Path
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    cafile: Path
    _issued: int = 0

    def issue(self, host: str = HOST) -> Leaf:
        """A new leaf for ``host`` with a new key (so a new public-key pin)."""
        self._issued += 1
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _DAY)
            .not_valid_after(now + _DAY)
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_path = self.folder / f"leaf{self._issued}.pem"
        key_path = self.folder / f"leaf{self._issued}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return Leaf(cert_path, key_path, cert.public_bytes(serialization.Encoding.DER))


def make_ca(folder: Path) -> CA:
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _DAY)
        .not_valid_after(now + _DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cafile = folder / "ca.pem"
    cafile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return CA(folder, key, cert, cafile)


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    url: str
    port: int
    requests: list[Received] = field(default_factory=list)
    handshakes: int = 0


def server_context(leaf: Leaf, maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(leaf.cert, leaf.key)
    if maximum is not None:
        # An old protocol needs OpenSSL's lowest security level, on this side at least.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.maximum_version = maximum
    return context


@contextmanager
def https_server(
    leaf: Leaf, reply: Any = None, maximum: ssl.TLSVersion | None = None
) -> Iterator[Server]:
    """Serve HTTPS on 127.0.0.1 with ``leaf``; every request is recorded and answered ``reply``."""
    body = json.dumps(reply if reply is not None else {}).encode()
    context = server_context(leaf, maximum)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            server.requests.append(
                Received(self.command, self.path, dict(self.headers), self.rfile.read(length))
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = do_PUT = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class TLSServer(ThreadingHTTPServer):
        def get_request(self) -> tuple[Any, Any]:
            sock, address = self.socket.accept()
            sock.settimeout(_HANDSHAKE_TIMEOUT)  # a client that never says hello must not hang us
            try:
                tls = context.wrap_socket(sock, server_side=True)
            except OSError:
                sock.close()
                raise
            server.handshakes += 1
            return tls, address

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass

    httpd = TLSServer((HOST, 0), Handler)
    port = httpd.server_address[1]
    server = Server(f"https://{HOST}:{port}", port)
    thread = threading.Thread(target=httpd.serve_forever, args=(_POLL,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
