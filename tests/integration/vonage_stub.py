"""A local HTTPS stand-in for Vonage's Voice REST API (the SDK only speaks https).

`POST /v1/calls` answers like Vonage's create-call (201: uuid, status, direction,
conversation_uuid); `PUT /v1/calls/{uuid}` (transfer) answers 204; `GET /v1/calls/{uuid}`
answers the call detail set in `legs` (404 otherwise). Requests are kept
with their JSON body and Authorization header. The certificate is self-signed and made
at start; `env()` gives the settings that point the app (and requests' CA bundle) at it.
The Vonage application's private key is generated here too, never stored in the repo.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(directory: Path) -> tuple:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "vonage-stub.pem", directory / "vonage-stub.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def application_key() -> str:
    """A Vonage application private key (PEM), made for this test run."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


class VonageStub:
    def __init__(self, directory: Path) -> None:
        self.requests: List[Dict[str, Any]] = []
        self.legs: Dict[str, Dict[str, Any]] = {}     # GET /v1/calls/{uuid} answers (call detail bodies)
        self.port = _free_port()
        self.cert, key = self_signed(directory)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _body(self) -> Any:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                return json.loads(raw) if raw else None

            def _record(self, body: Any) -> None:
                stub.requests.append({"method": self.command, "path": self.path, "body": body,
                                      "authorization": self.headers.get("Authorization")})

            def do_POST(self) -> None:
                body = self._body()
                self._record(body)
                if self.path != "/v1/calls":
                    return self._send(404, {"title": "Not found"})
                self._send(201, {"uuid": str(uuid.uuid4()), "status": "started", "direction": "outbound",
                                 "conversation_uuid": "CON-" + str(uuid.uuid4())})

            def do_GET(self) -> None:
                self._record(None)
                leg = stub.legs.get(self.path.rsplit("/", 1)[-1]) if self.path.startswith("/v1/calls/") else None
                if leg is None:
                    return self._send(404, {"type": "https://developer.nexmo.com/api-errors#not-found",
                                            "title": "Not Found", "detail": "Call not found"})
                self._send(200, {"_links": {"self": {"href": self.path}}, **leg})

            def do_PUT(self) -> None:
                self._record(self._body())
                self._send(204, None)

            def _send(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert), str(key))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "VonageStub":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def env(self) -> Dict[str, str]:
        return {"VONAGE_APPLICATION_ID": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
                "VONAGE_PRIVATE_KEY": application_key(), "VONAGE_API_HOST": f"127.0.0.1:{self.port}",
                "REQUESTS_CA_BUNDLE": str(self.cert)}

    def created(self) -> List[Dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "POST" and r["path"] == "/v1/calls"]

    def transfers(self) -> List[Dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "PUT"]
