"""The alert outbox: every alert is stored before it is sent, and each delivery retries until its deadline.

One ``deliveries`` row per alert × channel carries the whole delivery state (status, attempts, next
attempt, deadline, last error), so a restart or reboot loses nothing. Each row keeps one ``webhook-id``
for every attempt: receivers deduplicate on it, which turns at-least-once into exactly-once.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import httpx

from gpuprices.alerts.channels import USER_AGENT, SendResult, protect, scrub, send
from gpuprices.alerts.deadline import deadline_transport
from gpuprices.alerts.settings import AlertsSettings, ChannelSettings
from gpuprices.storage.base import Store

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
STATUSES = ("pending", "delivered", "dead")
RECENT_COLUMNS = ("delivery_id", "alert_id", "created_at", "rule", "kind", "key", "title", "channel", "status",
                  "attempts", "next_attempt_at", "deadline_at", "last_status", "last_error", "delivered_at",
                  "webhook_id")
"""Keys of :meth:`Outbox.recent` rows, in order."""
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# A claimed delivery is hidden from other processes while it is sent (up to 3 same-host redirects, each
# within the channel timeout); after a crash mid-send it becomes due again once the lease ends.
_LEASE_MARGIN_SECONDS = 60.0


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    # Fixed width (microseconds, +00:00) so text comparison in SQL orders like time.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def new_webhook_id(moment: datetime | None = None) -> str:
    """``msg_`` + a ULID: 48-bit milliseconds then 80 random bits, Crockford base32 (sortable, unique)."""
    millis = int((moment or utc_now()).timestamp() * 1000) & ((1 << 48) - 1)
    value = (millis << 80) | secrets.randbits(80)
    return "msg_" + "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


@attrs.frozen
class Alert:
    """One alert, as a rule fired it."""

    rule: str
    """Name of the rule that fired."""
    kind: str
    """The rule kind (``price_cross``, ``health`` …)."""
    key: str
    """What the rule watched, e.g. ``h100-80gb-pcie|asking|all``."""
    dedupe_key: str
    """Unique per firing: enqueueing the same key again does nothing."""
    title: str
    """One human line: what happened."""
    payload: dict[str, Any]
    """JSON-serializable details (Decimals as strings)."""


@attrs.define
class DeliveryReport:
    """What one ``deliver_due`` run did; ``pending`` counts deliveries still waiting afterwards."""

    delivered: int = 0
    retried: int = 0
    dead: int = 0
    pending: int = 0

    def add(self, other: DeliveryReport) -> None:
        self.delivered += other.delivered
        self.retried += other.retried
        self.dead += other.dead
        self.pending = other.pending


_SHARED: httpx.Client | None = None
_SHARED_LOCK = threading.Lock()


def shared_client() -> httpx.Client:
    """One HTTP client for the process (thread-safe), created on first use."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            # The transport enforces each attempt's total deadline (alerts.deadline).
            _SHARED = httpx.Client(headers={"user-agent": USER_AGENT}, follow_redirects=False,
                                   transport=deadline_transport())
        return _SHARED


class _InlineExecutor(Executor):
    """Runs each call at once in the caller's thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class Outbox:
    """Store alerts, deliver what is due, re-queue what died. Time comes from ``clock`` (tests use a fake one)."""

    def __init__(self, store: Store, settings: AlertsSettings, *, clock: Clock = utc_now,
                 client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep,
                 wall_clock: Clock = utc_now, rng: random.Random | None = None) -> None:
        self.store = store
        self.settings = settings
        self._clock = clock
        # Signatures carry the real send time: receivers compare it with their own clock.
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        # A receiver may echo any URL back; errors are scrubbed of every configured channel's secrets.
        self._secrets = protect(settings.channels)
        # Without a client, the process-wide one is used: building one costs ~10 ms (TLS context), and
        # reusing it keeps connections to receivers alive between cycles of the daemon.
        self._client = client

    def close(self) -> None:
        """Nothing to release (kept so ``with Outbox(...)`` reads naturally)."""

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------------
    def enqueue(self, alert: Alert, channels: list[str]) -> int | None:
        """Store ``alert`` and one pending delivery per channel in one transaction; None if already stored."""
        now = self._clock()
        deadline = now + timedelta(hours=self.settings.max_delivery_hours)
        alert_row = {"rule": alert.rule, "kind": alert.kind, "key": alert.key, "dedupe_key": alert.dedupe_key,
                     "created_at": _iso(now), "title": alert.title,
                     "payload": json.dumps(alert.payload, ensure_ascii=False, sort_keys=True, default=str)}
        deliveries = [{"channel": channel, "webhook_id": new_webhook_id(now), "next_attempt_at": _iso(now),
                       "deadline_at": _iso(deadline), "created_at": _iso(now)} for channel in dict.fromkeys(channels)]
        return self.store.enqueue_alert(alert_row, deliveries)

    def retry(self, delivery_ids: list[int] | None = None) -> int:
        """Re-queue dead deliveries (all when None): due now, a fresh deadline and backoff, the same webhook-id."""
        now = self._clock()
        deadline = now + timedelta(hours=self.settings.max_delivery_hours)
        return self.store.retry_dead_deliveries(_iso(now), _iso(deadline), delivery_ids)

    def abandon(self, alert_id: int, note: str) -> int:
        """Mark the alert's still-pending deliveries dead (``alerts test`` does not retry a sample alert)."""
        return self.store.abandon_deliveries(alert_id, note)

    # -- sending ----------------------------------------------------------------------------
    def deliver_due(self, now: datetime | None = None, *, alert_id: int | None = None,
                    stop: threading.Event | None = None) -> DeliveryReport:
        """Send every pending delivery whose next attempt is due (only ``alert_id``'s when given).

        Each delivery is claimed, sent and recorded in its own transactions, so a crash affects only
        the one in flight (it becomes due again after a short lease and is resent with its webhook-id).
        Channels are sent to in parallel, one worker each, so a slow receiver delays only its own
        deliveries; the database is only touched from this thread. ``stop`` ends the run early.
        """
        now = now or self._clock()
        queues: dict[str, deque[int]] = {}
        for delivery_id, channel_name in self.store.due_deliveries(_iso(now), alert_id):
            queues.setdefault(channel_name, deque()).append(delivery_id)
        report = DeliveryReport()
        if queues:
            self._send_per_channel(queues, now, self._client or shared_client(), report, stop)
        report.pending = self.summary()["pending"]
        return report

    def _send_per_channel(self, queues: dict[str, deque[int]], now: datetime, client: httpx.Client,
                          report: DeliveryReport, stop: threading.Event | None) -> None:
        channels = {channel.name: channel for channel in self.settings.channels}
        # One channel due: sent from this thread (no worker to start, the latency of a lone alert stays low).
        pool = (ThreadPoolExecutor(max_workers=len(queues), thread_name_prefix="delivery") if len(queues) > 1
                else _InlineExecutor())
        with pool:
            running: dict[Future[SendResult], dict[str, Any]] = {}

            def start_next(channel_name: str) -> None:
                queue = queues[channel_name]
                while queue and not (stop is not None and stop.is_set()):
                    row = self._claim(queue.popleft(), now, channels)
                    if row is not None:
                        running[pool.submit(self._send, channels.get(channel_name), row, client)] = row
                        return

            for channel_name in queues:
                start_next(channel_name)
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    row = running.pop(future)
                    outcome = self._record(row, future.result(), now)
                    if outcome == "delivered":
                        report.delivered += 1
                    elif outcome == "dead":
                        report.dead += 1
                    else:
                        report.retried += 1
                    start_next(row["channel"])

    def _send(self, channel: ChannelSettings | None, row: dict[str, Any], client: httpx.Client) -> SendResult:
        if channel is None:
            return SendResult(ok=False, error="channel not configured")
        return send(channel, row, row["webhook_id"], self._wall_clock(), client)

    def drain(self, max_seconds: float) -> DeliveryReport:
        """Deliver, sleeping until the next attempt is due, until nothing is due within ``max_seconds``."""
        until = self._clock() + timedelta(seconds=max_seconds)
        total = DeliveryReport()
        while True:
            total.add(self.deliver_due())
            upcoming = self.next_due()
            if upcoming is None or upcoming > until:
                return total
            self._sleep(max(0.0, (upcoming - self._clock()).total_seconds()))

    def _claim(self, delivery_id: int, now: datetime, channels: dict[str, ChannelSettings]) -> dict[str, Any] | None:
        # The lease covers up to 3 same-host redirects, each within the channel timeout.
        leases = {name: _iso(now + timedelta(seconds=_LEASE_MARGIN_SECONDS + 3 * channel.timeout))
                  for name, channel in channels.items()}
        rows = self.store.claim_due_deliveries([delivery_id], _iso(now), leases,
                                               _iso(now + timedelta(seconds=_LEASE_MARGIN_SECONDS)))
        return rows[0] if rows else None  # None: another process took it, or it was delivered meanwhile

    def _record(self, row: dict[str, Any], result: SendResult, now: datetime) -> str:
        attempts = int(row["attempts"]) + 1
        where = f"delivery {row['id']} (alert {row['alert_id']}) to channel {row['channel']!r}"
        if result.ok:
            status, next_at, error = "delivered", None, None
            logger.info("%s delivered after %d attempt(s)", where, attempts)
        else:
            error = scrub(result.error or (f"HTTP {result.status}" if result.status else "failed"), self._secrets)
            deadline = datetime.fromisoformat(row["deadline_at"])
            next_moment = now + timedelta(seconds=self._backoff(attempts, result.retry_after))
            if result.permanent:
                status, next_at = "dead", None
            elif next_moment > deadline:
                status, next_at = "dead", None
                error += f"; gave up after {attempts} attempt(s), deadline {deadline:%Y-%m-%d %H:%M}Z passed"
            else:
                status, next_at = "pending", _iso(next_moment)
            log = logger.warning if status == "dead" else logger.info
            log("%s %s: %s", where, "dead" if status == "dead" else "will retry", error)
        self.store.record_delivery(row["id"], status=status, attempts=attempts, next_attempt_at=next_at,
                                   last_status=result.status, last_error=error,
                                   delivered_at=_iso(now) if result.ok else None)
        return status

    def _backoff(self, attempts: int, retry_after: float | None) -> float:
        """min(max, initial × 2^(attempts-1)) × jitter(0.5–1.5), but at least the (capped) Retry-After."""
        s = self.settings
        base = min(s.backoff_max_seconds, s.backoff_initial_seconds * 2.0 ** min(attempts - 1, 60))
        delay = base * self._rng.uniform(0.5, 1.5)
        if retry_after is not None:
            delay = max(delay, min(retry_after, s.max_retry_after_seconds))
        return delay

    # -- reading ----------------------------------------------------------------------------
    def summary(self) -> dict[str, int]:
        """Deliveries by status (pending, delivered, dead always present)."""
        return self.store.delivery_summary()

    def next_due(self) -> datetime | None:
        moment = self.store.next_delivery_due()
        return datetime.fromisoformat(moment) if moment else None

    def recent(self, limit: int = 20, *, alert_id: int | None = None,
               status: str | None = None) -> list[dict[str, Any]]:
        """Newest alerts first, one row per delivery: alert fields plus the delivery state (only ``status``);
        keys :data:`RECENT_COLUMNS`."""
        return self.store.recent_deliveries(limit, alert_id, status)
