"""A real HTTP server on 127.0.0.1 for end-to-end tests: scripted responses per path.

Each route is a list of responses served in order; the last one repeats. Every request is
recorded (method, path, query, headers, body) so tests can check what the spiders sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs


@attrs.define
class Reply:
    """One scripted response."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = attrs.Factory(lambda: {"Content-Type": "text/html; charset=utf-8"})
    delay: float = 0.0
    """Seconds to wait before answering (a slow or hanging site)."""


@attrs.define
class Seen:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Request headers with lower-case names."""
    body: bytes
    at: float
    """time.monotonic() when it arrived."""


Matcher = Callable[[str, dict[str, list[str]]], bool]


class LocalServer:
    """``with LocalServer() as server: server.route(...)``; ``server.url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self) -> None:
        self.routes: list[tuple[Matcher, list[Reply]]] = []
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                headers = {key.lower(): value for key, value in self.headers.items()}
                reply = server._reply(self.command, parts.path, query, headers, body)
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def route(self, matcher: Matcher | str, *replies: Reply) -> None:
        """Serve ``replies`` (in order, the last repeating) for requests the matcher accepts.

        A string matcher matches the path exactly. Earlier routes win.
        """
        if isinstance(matcher, str):
            path = matcher
            matcher = lambda p, q: p == path  # noqa: E731
        self.routes.append((matcher, list(replies)))

    def _reply(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
               body: bytes) -> Reply:
        with self._lock:
            self.requests.append(Seen(method, path, query, headers, body, time.monotonic()))
            for matcher, replies in self.routes:
                if matcher(path, query):
                    return replies.pop(0) if len(replies) > 1 else replies[0]
        return Reply(b"not found", 404, {"Content-Type": "text/plain"})

    def seen(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
