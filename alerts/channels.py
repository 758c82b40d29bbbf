"""What each channel kind receives, and the one call that sends it.

Channel URLs (Slack, Discord and Apprise URLs carry tokens) and webhook secrets are secrets: nothing this
module returns, raises or logs contains them — errors go through :func:`scrub` first.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from math import floor
from typing import Any
from urllib.parse import urljoin, urlsplit

import attrs
import httpx
from standardwebhooks.webhooks import Webhook

from gpuprices.alerts.deadline import deadline
from gpuprices.alerts.settings import ChannelSettings

logger = logging.getLogger(__name__)

try:
    USER_AGENT = f"gpuprices/{version('gpuprices')}"
except PackageNotFoundError:  # running from a source tree that is not installed
    USER_AGENT = "gpuprices/0"

_RETRYABLE_4XX = frozenset({408, 409, 425, 429})
_CORE = ("rule", "kind", "key", "title")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_MAX_ERROR = 300


class PermanentError(Exception):
    """A channel problem retrying cannot fix (bad secret). The message is safe to show."""


@attrs.frozen
class SendResult:
    """The outcome of one delivery attempt."""

    ok: bool
    status: int | None = None
    """HTTP status, when a response came back."""
    retry_after: float | None = None
    """Seconds the receiver asked us to wait (``Retry-After`` or Discord's JSON ``retry_after``)."""
    error: str | None = None
    """One line, secrets removed."""
    permanent: bool = False
    """Retrying cannot help (e.g. 404, 401): the delivery is dead at once."""


def redact_url(url: str) -> str:
    """``https://hooks.slack.com/services/T/B/X`` → ``https://hooks.slack.com``; other schemes keep only the scheme.

    Apprise URLs such as ``tgram://TOKEN/CHAT`` put tokens where the host would be.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<url>"
    scheme = parts.scheme.lower()
    if scheme in ("http", "https") and parts.hostname:
        return f"{scheme}://{parts.hostname}" + (f":{port}" if port else "")
    return f"{scheme}://***" if scheme else "<url>"


def channel_secrets(channel: ChannelSettings) -> list[str]:
    """Every string that must never be shown for ``channel``: the URL, its parts that may be tokens, the secret."""
    url = channel.url.get_secret_value()
    found = [url]
    try:
        parts = urlsplit(url)
        found += [parts.path, parts.query, parts.fragment, parts.password or "", parts.username or ""]
        found += [p for p in re.split(r"[/?&=#]", f"{parts.path}?{parts.query}") if len(p) >= 6]
        # Apprise URLs often put a token where the host goes (tgram://TOKEN/…, discord://ID/TOKEN);
        # a dotted name (json://hooks.example.com, mailto://…@gmail.com) is a host.
        if parts.scheme.lower() not in ("http", "https") and "." not in (parts.hostname or ""):
            found.append(parts.netloc)
    except ValueError:
        pass
    if channel.secret is not None:
        secret = channel.secret.get_secret_value()
        found += [secret, secret.removeprefix("whsec_")]
    # Longest first, so a part never leaves the rest of a longer secret behind.
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def scrub(text: str, secrets: Sequence[str], *, max_length: int | None = _MAX_ERROR) -> str:
    """One line (at most ``max_length`` characters) with secrets replaced and URLs reduced to scheme+host."""
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    for secret in secrets:  # then whatever was not written as a URL
        text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if max_length is None or len(text) <= max_length else text[: max_length - 1] + "…"


class _RedactingFilter(logging.Filter):
    """Removes known channel secrets from records of libraries that log request URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, secrets: list[str]) -> None:
        if set(secrets) <= set(self.secrets):
            return
        with self._lock:
            self.secrets = tuple(sorted({*self.secrets, *secrets}, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self.secrets  # one read: add() swaps the whole tuple
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:
            return True
        if any(secret in message for secret in secrets):
            record.msg, record.args = scrub(message, secrets, max_length=None), None
        return True


_REDACTOR = _RedactingFilter()
# httpx logs every request URL at INFO, httpcore/urllib3 (Apprise uses requests) at DEBUG, Apprise its
# target URLs. Filters on the emitting loggers run before any handler, the application's or a test's.
for _name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy",
              "httpcore.socks", "urllib3.connectionpool", "apprise"):
    logging.getLogger(_name).addFilter(_REDACTOR)


def protect(channels: list[ChannelSettings]) -> list[str]:
    """Secrets of every channel, longest first; from now on they are also removed from library log records."""
    secrets = sorted({s for channel in channels for s in channel_secrets(channel)}, key=len, reverse=True)
    _REDACTOR.add(secrets)
    return secrets


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def alert_data(alert_row: dict[str, Any]) -> dict[str, Any]:
    """The alert as one flat dict: rule, kind, key, title, then the payload (which cannot override those)."""
    payload = json.loads(alert_row.get("payload") or "{}")
    data = {name: alert_row.get(name) for name in _CORE}
    data.update({k: v for k, v in payload.items() if k not in data})
    return data


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _extras(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(k), _text(v)) for k, v in data.items() if k not in _CORE and v is not None]


def _slack_escape(text: str) -> str:
    # Titles are written by sellers; Slack treats <...> as links and mentions.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_body(data: dict[str, Any], created_at: str | None) -> dict[str, Any]:
    return {"type": "gpuprices.alert", "timestamp": created_at, "data": data}


def slack_body(data: dict[str, Any]) -> dict[str, Any]:
    title = _slack_escape(_text(data.get("title") or ""))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(_text(data.get("title") or "-"), 150)}}]
    fields = [{"type": "mrkdwn", "text": _cut(f"*{_slack_escape(k)}*\n{_slack_escape(v)}", 2000)}
              for k, v in _extras(data)[:10]]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    context = _slack_escape(f"{data.get('rule')} · {data.get('kind')} · {data.get('key')}")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(context, 2000)}]})
    return {"text": _cut(title, 3000), "blocks": blocks}


def discord_body(data: dict[str, Any], created_at: str | None) -> dict[str, Any]:
    title = _text(data.get("title") or "-")
    embed: dict[str, Any] = {
        "title": _cut(title, 256),
        "description": _cut(f"{data.get('rule')} · {data.get('kind')} · {data.get('key')}", 4096),
        "fields": [{"name": _cut(k, 256), "value": _cut(v, 1024) or "-", "inline": True}
                   for k, v in _extras(data)[:25]],
    }
    if created_at:
        embed["timestamp"] = created_at
    # No @everyone / role pings from seller-written titles.
    return {"content": _cut(title, 2000), "embeds": [embed], "allowed_mentions": {"parse": []}}


def build_request(channel: ChannelSettings, alert_row: dict[str, Any], webhook_id: str,
                  timestamp: datetime) -> tuple[bytes, dict[str, str]]:
    """The exact body bytes and headers sent to an HTTP channel (signed for webhooks with a secret)."""
    data = alert_data(alert_row)
    created_at = alert_row.get("created_at")
    if channel.kind == "slack":
        body = slack_body(data)
    elif channel.kind == "discord":
        body = discord_body(data, created_at)
    else:
        body = webhook_body(data, created_at)
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
    timestamp = timestamp.astimezone(UTC)
    headers = {"content-type": "application/json", "user-agent": USER_AGENT,
               "webhook-id": webhook_id, "webhook-timestamp": str(floor(timestamp.timestamp()))}
    if channel.kind == "webhook" and channel.secret is not None:
        try:
            signer = Webhook(channel.secret.get_secret_value())
        except Exception:  # the message could quote the secret
            raise PermanentError("webhook secret is not valid whsec_<base64>") from None
        headers["webhook-signature"] = signer.sign(webhook_id, timestamp, text)
    return text.encode(), headers


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def _post(client: httpx.Client, url: str, body: bytes, headers: dict[str, str], timeout: float) -> httpx.Response:
    # Only 307/308 keep method and body; a redirect to another host could hand the payload to a stranger.
    for _ in range(3):
        response = client.post(url, content=body, headers=headers, timeout=timeout, follow_redirects=False)
        location = response.headers.get("location")
        if response.status_code not in (307, 308) or not location:
            return response
        target = urljoin(url, location)
        if not _same_origin(url, target):
            return response
        url = target
    return response


def _from_response(response: httpx.Response, now: datetime, secrets: list[str]) -> SendResult:
    status = response.status_code
    if 200 <= status < 300:
        return SendResult(ok=True, status=status)
    retry_after = parse_retry_after(response.headers.get("retry-after"), now)
    if status == 429 and "json" in response.headers.get("content-type", ""):
        try:
            seconds = float(response.json().get("retry_after"))
            retry_after = max(retry_after or 0.0, seconds)
        except (ValueError, TypeError, AttributeError):
            pass
    if 300 <= status < 400:
        return SendResult(ok=False, status=status, permanent=True,
                          error=f"HTTP {status} redirect not followed (only same-host 307/308 are); permanent")
    permanent = 400 <= status < 500 and status not in _RETRYABLE_4XX
    detail = scrub(response.text[:200], secrets)
    error = f"HTTP {status}" + (f": {_cut(detail, 120)}" if detail else "")
    return SendResult(ok=False, status=status, retry_after=retry_after, permanent=permanent,
                      error=error + ("; permanent, not retried" if permanent else ""))


def _send_apprise(channel: ChannelSettings, data: dict[str, Any], secrets: list[str]) -> SendResult:
    """Apprise does its own networking (timeouts per operation): it runs on a helper thread that the
    attempt waits for at most the channel's timeout."""
    outcome: list[SendResult] = []

    def notify() -> None:
        try:
            outcome.append(_notify_apprise(channel, data, secrets))
        except Exception as exc:  # reported like any other failed attempt
            outcome.append(SendResult(ok=False, error=scrub(f"Apprise: {type(exc).__name__}: {exc}", secrets)))

    worker = threading.Thread(target=notify, name="apprise", daemon=True)
    worker.start()
    worker.join(channel.timeout)
    if not outcome:
        return SendResult(ok=False, error=f"timeout after {channel.timeout:g}s (Apprise did not finish)")
    return outcome[0]


def _notify_apprise(channel: ChannelSettings, data: dict[str, Any], secrets: list[str]) -> SendResult:
    import apprise  # slow to import; only Apprise channels need it

    title = _text(data.get("title") or "gpuprices alert")
    body = "\n".join([f"{data.get('rule')} · {data.get('kind')} · {data.get('key')}",
                      *(f"{k}: {v}" for k, v in _extras(data))])
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        notifier = apprise.Apprise()
        if not notifier.add(channel.url.get_secret_value()):
            return SendResult(ok=False, permanent=True, error="Apprise URL not recognised; permanent")
        for server in notifier:
            server.socket_connect_timeout = server.socket_read_timeout = channel.timeout
        ok = bool(notifier.notify(title=title, body=body))
    if ok:
        return SendResult(ok=True)
    lines = [line for line in captured.getvalue().splitlines() if line.strip()]
    return SendResult(ok=False, error=scrub("Apprise: " + (lines[-1] if lines else "notify failed"), secrets))


def send(channel: ChannelSettings, alert_row: dict[str, Any], webhook_id: str, timestamp: datetime,
         client: httpx.Client) -> SendResult:
    """Deliver one stored alert (a row of ``alerts``) to ``channel``; never raises for delivery problems.

    ``timestamp`` is the wall-clock send time: it goes into ``webhook-timestamp`` (receivers reject
    signatures older than a few minutes) and dates an HTTP-date ``Retry-After``.
    """
    secrets = channel_secrets(channel)
    _REDACTOR.add(secrets)
    try:
        if channel.kind == "apprise":
            return _send_apprise(channel, alert_data(alert_row), secrets)
        body, headers = build_request(channel, alert_row, webhook_id, timestamp)
        # One deadline for the whole attempt (redirects included), not per read.
        with deadline(channel.timeout):
            response = _post(client, channel.url.get_secret_value(), body, headers, channel.timeout)
        return _from_response(response, timestamp, secrets)
    except PermanentError as exc:
        return SendResult(ok=False, permanent=True, error=f"{exc}; permanent")
    except httpx.TimeoutException as exc:
        return SendResult(ok=False, error=scrub(f"timeout after {channel.timeout:g}s ({type(exc).__name__})", secrets))
    except httpx.InvalidURL as exc:
        return SendResult(ok=False, permanent=True, error=scrub(f"invalid URL: {exc}; permanent", secrets))
    except (httpx.HTTPError, httpx.StreamError) as exc:
        return SendResult(ok=False, error=scrub(f"{type(exc).__name__}: {exc}", secrets))
    except Exception as exc:  # one broken channel must not stop the delivery loop
        logger.debug("unexpected %s sending to channel %s", type(exc).__name__, channel.name)
        return SendResult(ok=False, error=scrub(f"{type(exc).__name__}: {exc}", secrets))
