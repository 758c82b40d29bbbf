"""A real webhook receiver on 127.0.0.1 for delivery tests.

It verifies Standard Webhooks signatures (when given a secret), can be taken down (the port is closed:
connections are refused) and brought back on the same port, answers scripted replies (500, 429 with
``Retry-After`` …) and otherwise accepts. Every accepted delivery is recorded by its ``webhook-id``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.httpserver import Reply


@attrs.define
class Attempt:
    """One request that reached the receiver, and what it answered."""

    path: str
    webhook_id: str | None
    headers: dict[str, str]
    """Lower-case names."""
    body: bytes
    status: int
    verified: bool | None
    """Signature check result; None when the receiver has no secret."""
    whole: bool = True
    """The body arrived as long as its ``Content-Length`` said: False when the sender died mid-request."""


Decider = Callable[[int], Reply | None]
"""Given the request number (0-based), a reply to send instead of accepting, or None to accept."""


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that hung up mid-request is part of what these tests do


class WebhookReceiver:
    """``with WebhookReceiver(secret) as rx:`` — ``rx.url``, ``rx.down()``, ``rx.up()``, ``rx.script(...)``."""

    def __init__(self, secret: str | None = None, *, accept: Reply | None = None) -> None:
        self.secret = secret
        self.accept = accept or Reply(b'{"ok":true}', 200, {"Content-Type": "application/json"})
        self.attempts: list[Attempt] = []
        self.accepted: dict[str, list[bytes]] = {}
        """webhook-id → bodies accepted with it (a second entry would be a duplicate delivery)."""
        self.decider: Decider | None = None
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._httpd: _QuietServer | None = None
        self._thread: threading.Thread | None = None
        with socket.socket() as probe:  # pick a free port once; down()/up() keep it
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    # -- scripting ----------------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order; then accept again."""
        with self._lock:
            self._script.extend(replies)

    def up(self) -> None:
        if self._httpd is not None:
            return
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0: one request per connection, so down() really cuts every client off.
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {key.lower(): value for key, value in self.headers.items()}
                reply = receiver._handle(self.path, headers, body, whole=bool(length) and len(body) == length)
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = _QuietServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def down(self) -> None:
        """Close the listening socket: connecting now fails with 'connection refused'."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None

    @property
    def is_up(self) -> bool:
        return self._httpd is not None

    # -- what arrived -------------------------------------------------------------------------
    def verify(self, body: bytes, headers: dict[str, str]) -> Any:
        """Standard Webhooks verification; raises WebhookVerificationError."""
        assert self.secret is not None
        return Webhook(self.secret).verify(body, headers)

    def _handle(self, path: str, headers: dict[str, str], body: bytes, *, whole: bool = True) -> Reply:
        verified: bool | None = None
        if self.secret is not None:
            try:
                self.verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        with self._lock:
            number = len(self.attempts)
            if verified is False:
                reply = Reply(b"bad signature", 401, {"Content-Type": "text/plain"})
            elif self._script:
                reply = self._script.pop(0)
            else:
                reply = (self.decider(number) if self.decider else None) or self.accept
            webhook_id = headers.get("webhook-id")
            self.attempts.append(Attempt(path, webhook_id, headers, body, reply.status, verified, whole))
            if 200 <= reply.status < 300:
                self.accepted.setdefault(webhook_id or "", []).append(body)
        return reply

    def attempts_for(self, webhook_id: str) -> list[Attempt]:
        return [a for a in self.attempts if a.webhook_id == webhook_id]

    def __enter__(self) -> WebhookReceiver:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()
