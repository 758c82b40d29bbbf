"""The alert outbox against a real receiver on 127.0.0.1: signed, retried, exactly once, nothing lost."""

from __future__ import annotations

import base64
import json
import logging
import os
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from gpuprices.alerts.channels import build_request, channel_secrets, parse_retry_after, redact_url, scrub, send
from gpuprices.alerts.outbox import Alert, Outbox, new_webhook_id
from gpuprices.alerts.settings import AlertsSettings, ChannelSettings
from gpuprices.storage.factory import open_store
from tests.httpserver import Reply
from tests.webhook_receiver import WebhookReceiver

SLACK_TOKEN_PATH = "/services/T000/B000/XXXXSECRET"


def _cli() -> Any:
    from gpuprices.cli import cli  # imported late: the CLI loads every command family

    return cli


def _secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


class FakeClock:
    """Scheduling time under the test's control; ``sleep`` advances it instead of waiting."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)


def _alert(n: int = 0, **extra: Any) -> Alert:
    return Alert(rule="cheap-h100", kind="new_listing_below", key=f"h100-80gb-pcie|{n}", dedupe_key=f"d-{n}",
                 title=f"H100 PCIe listed at $21,000 (#{n})",
                 payload={"unit_price_usd": "21000.00", "url": "https://www.ebay.com/itm/1", **extra})


@pytest.fixture(autouse=True)
def _backend(database: str | Path) -> None:
    """Every test here runs on both backends: ``_outbox`` opens the test's database."""
    _DATABASE["current"] = database


_DATABASE: dict[str, str | Path] = {}


def _database(tmp_path: Path, name: str) -> str | Path:
    """The test's database: the file ``name`` in ``tmp_path`` on SQLite, else its PostgreSQL URL."""
    database = _DATABASE["current"]
    return tmp_path / name if isinstance(database, Path) else database


def _outbox(tmp_path: Path, channels: list[dict[str, Any]], clock: FakeClock, **settings: Any) -> Outbox:
    config = AlertsSettings(channels=[ChannelSettings(**c) for c in channels], **settings)
    store = open_store(_database(tmp_path, "alerts.db"))
    return Outbox(store, config, clock=clock, sleep=clock.sleep, rng=random.Random(7))


def _deliveries(outbox: Outbox) -> list[dict[str, Any]]:
    return outbox.store.query("SELECT * FROM deliveries ORDER BY id")  # type: ignore[attr-defined, no-any-return]


def _due(outbox: Outbox, clock: FakeClock) -> None:
    """Move the fake clock to the next due attempt."""
    upcoming = outbox.next_due()
    assert upcoming is not None
    clock.now = max(clock.now, upcoming)


# (1) ------------------------------------------------------------------------------------------
def test_signature_is_real_standard_webhooks(tmp_path: Path) -> None:
    secret = _secret()
    clock = FakeClock()
    with WebhookReceiver(secret) as rx:
        outbox = _outbox(tmp_path, [{"name": "ops", "kind": "webhook", "url": rx.url + "/hook", "secret": secret}],
                         clock)
        outbox.enqueue(_alert(), ["ops"])
        assert outbox.deliver_due().delivered == 1
        [attempt] = rx.attempts
        assert attempt.verified is True
        assert attempt.headers["content-type"] == "application/json"
        assert attempt.headers["user-agent"].startswith("gpuprices/")
        assert attempt.webhook_id is not None and attempt.webhook_id.startswith("msg_")
        body = json.loads(attempt.body)
        assert body["type"] == "gpuprices.alert"
        assert body["data"]["rule"] == "cheap-h100" and body["data"]["unit_price_usd"] == "21000.00"

        # Independent check with the reference implementation, then tampering.
        Webhook(secret).verify(attempt.body, attempt.headers)
        tampered = attempt.body.replace(b"21000.00", b"1.00")
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(tampered, attempt.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(_secret()).verify(attempt.body, attempt.headers)
        # Replayed to the live receiver, the tampered body is refused.
        replay = {k: v for k, v in attempt.headers.items() if k.startswith("webhook-") or k == "content-type"}
        response = httpx.post(rx.url + "/hook", content=tampered, headers=replay)
        assert response.status_code == 401 and rx.attempts[-1].verified is False
        assert len(rx.accepted[attempt.webhook_id]) == 1
    outbox.store.close()


def test_wrong_secret_is_refused_and_unsigned_webhook_has_id_headers(tmp_path: Path) -> None:
    with WebhookReceiver(_secret()) as rx:
        channel = ChannelSettings(name="ops", kind="webhook", url=rx.url, secret=_secret())
        row = {"rule": "r", "kind": "k", "key": "x", "title": "t", "payload": "{}", "created_at": None}
        with httpx.Client() as client:
            result = send(channel, row, "msg_1", datetime.now(UTC), client)
        assert not result.ok and result.status == 401 and result.permanent
    unsigned = ChannelSettings(name="plain", kind="webhook", url="http://127.0.0.1:1/")
    _, headers = build_request(unsigned, row, "msg_2", datetime.now(UTC))
    assert headers["webhook-id"] == "msg_2" and headers["webhook-timestamp"].isdigit()
    assert "webhook-signature" not in headers


# (2) ------------------------------------------------------------------------------------------
def test_down_then_500_then_429_then_accepted_exactly_once(tmp_path: Path) -> None:
    secret = _secret()
    clock = FakeClock()
    with WebhookReceiver(secret) as rx:
        # Tiny backoff, so only an honoured Retry-After can push the next attempt 2 s out.
        outbox = _outbox(tmp_path, [{"name": "ops", "kind": "webhook", "url": rx.url, "secret": secret}], clock,
                         backoff_initial_seconds=0.1, backoff_max_seconds=0.5)
        outbox.enqueue(_alert(), ["ops"])
        [row] = _deliveries(outbox)
        webhook_id = row["webhook_id"]

        rx.down()
        assert outbox.deliver_due().retried == 1
        [row] = _deliveries(outbox)
        assert row["status"] == "pending" and row["attempts"] == 1 and "Connect" in row["last_error"]
        assert outbox.deliver_due().retried == 0  # not due yet: nothing is sent early

        rx.up()
        rx.script(Reply(b"oops", 500), Reply(b"slow down", 429, {"Retry-After": "2"}))
        _due(outbox, clock)
        assert outbox.deliver_due().retried == 1
        assert _deliveries(outbox)[0]["last_status"] == 500

        _due(outbox, clock)
        now = clock.now
        assert outbox.deliver_due().retried == 1
        [row] = _deliveries(outbox)
        assert row["last_status"] == 429
        assert datetime.fromisoformat(row["next_attempt_at"]) >= now + timedelta(seconds=2)

        clock.advance(1.9)
        assert outbox.deliver_due().retried == 0  # Retry-After not over yet
        _due(outbox, clock)
        report = outbox.deliver_due()
        assert (report.delivered, report.pending) == (1, 0)
        [row] = _deliveries(outbox)
        assert row["status"] == "delivered" and row["attempts"] == 4 and row["delivered_at"]
        assert outbox.deliver_due(clock.now + timedelta(days=2)).delivered == 0

    assert [a.status for a in rx.attempts] == [500, 429, 200]
    assert {a.webhook_id for a in rx.attempts} == {webhook_id}
    assert all(a.verified for a in rx.attempts)
    assert list(rx.accepted) == [webhook_id] and len(rx.accepted[webhook_id]) == 1
    outbox.store.close()


def test_retry_after_http_date_and_cap(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert parse_retry_after("7", now) == 7 and parse_retry_after("soon", now) is None
    clock = FakeClock()
    with WebhookReceiver() as rx:
        outbox = _outbox(tmp_path, [{"name": "ops", "kind": "webhook", "url": rx.url}], clock,
                         max_retry_after_seconds=60)
        outbox.enqueue(_alert(), ["ops"])
        rx.script(Reply(b"", 503, {"Retry-After": "86400"}))
        outbox.deliver_due()
        next_at = datetime.fromisoformat(_deliveries(outbox)[0]["next_attempt_at"])
        assert next_at <= clock.now + timedelta(seconds=60 * 1.5)  # a day-long Retry-After is capped
    outbox.store.close()


# (3) ------------------------------------------------------------------------------------------
def test_many_alerts_two_channels_flapping_receiver_each_arrives_once(tmp_path: Path) -> None:
    secret = _secret()
    clock = FakeClock()
    with WebhookReceiver(secret) as rx:
        channels = [{"name": "a", "kind": "webhook", "url": rx.url + "/a", "secret": secret},
                    {"name": "b", "kind": "webhook", "url": rx.url + "/b", "secret": secret}]
        outbox = _outbox(tmp_path, channels, clock, backoff_initial_seconds=0.5, backoff_max_seconds=2)
        for n in range(20):
            outbox.enqueue(_alert(n), ["a", "b"])
        ids = {row["webhook_id"] for row in _deliveries(outbox)}
        assert len(ids) == 40
        rx.decider = lambda number: Reply(b"busy", 503) if number % 3 != 2 else None  # 2 of 3 fail
        for round_ in range(40):
            if round_ % 4 == 3:
                rx.down()
            else:
                rx.up()
            outbox.deliver_due()
            if outbox.summary()["pending"] == 0:
                break
            clock.advance(3)
        assert outbox.summary() == {"pending": 0, "delivered": 40, "dead": 0}
    assert set(rx.accepted) == ids
    assert all(len(bodies) == 1 for bodies in rx.accepted.values())
    assert any(a.status == 503 for a in rx.attempts)
    by_path = {a.webhook_id: a.path for a in rx.attempts}
    assert {p for p in by_path.values()} == {"/a", "/b"}
    outbox.store.close()


# (4) ------------------------------------------------------------------------------------------
def test_down_for_whole_window_is_dead_then_retry_delivers_same_id(tmp_path: Path) -> None:
    clock = FakeClock()
    secret = _secret()
    with WebhookReceiver(secret) as rx:
        outbox = _outbox(tmp_path, [{"name": "ops", "kind": "webhook", "url": rx.url, "secret": secret}], clock,
                         max_delivery_hours=0.25, backoff_initial_seconds=10, backoff_max_seconds=120)
        outbox.enqueue(_alert(), ["ops"])
        webhook_id = _deliveries(outbox)[0]["webhook_id"]
        rx.down()
        report = outbox.drain(max_seconds=3600)  # fake sleep: an hour passes instantly
        assert report.dead == 1 and report.retried >= 3
        [row] = _deliveries(outbox)
        assert row["status"] == "dead" and "gave up" in row["last_error"]
        assert outbox.summary()["dead"] == 1 and outbox.recent()[0]["status"] == "dead"
        assert outbox.deliver_due(clock.now + timedelta(days=1)).delivered == 0  # dead stays dead

        rx.up()
        assert outbox.retry() == 1
        assert outbox.deliver_due().delivered == 1
    assert _deliveries(outbox)[0]["webhook_id"] == webhook_id
    assert list(rx.accepted) == [webhook_id]
    outbox.store.close()


# (5) ------------------------------------------------------------------------------------------
def test_restart_keeps_pending_deliveries(tmp_path: Path) -> None:
    clock = FakeClock()
    with WebhookReceiver() as rx:
        first = _outbox(tmp_path, [{"name": "ops", "kind": "webhook", "url": rx.url}], clock)
        first.enqueue(_alert(1), ["ops"])  # never attempted before the "crash"
        first.enqueue(_alert(2), ["ops"])
        rx.down()
        assert first.deliver_due().retried == 2  # attempted, failed
        first.store.close()

        rx.up()
        second = _outbox(tmp_path, [{"name": "ops", "kind": "webhook", "url": rx.url}], clock)
        assert second.summary()["pending"] == 2
        report = second.deliver_due(clock.now + timedelta(hours=1))
        assert (report.delivered, report.pending) == (2, 0)
    assert sorted(rx.accepted) == sorted(r["webhook_id"] for r in _deliveries(second))
    second.store.close()


# (6) ------------------------------------------------------------------------------------------
def test_enqueue_is_idempotent_by_dedupe_key(tmp_path: Path) -> None:
    outbox = _outbox(tmp_path, [{"name": "ops", "kind": "webhook", "url": "http://127.0.0.1:9/"}], FakeClock())
    first = outbox.enqueue(_alert(), ["ops", "ops"])
    assert isinstance(first, int)
    assert outbox.enqueue(_alert(), ["ops"]) is None
    assert len(outbox.store.query("SELECT id FROM alerts")) == 1 and len(_deliveries(outbox)) == 1  # type: ignore[attr-defined]
    assert len({new_webhook_id() for _ in range(1000)}) == 1000
    outbox.store.close()


# (7) ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "dead"), [(404, True), (401, True), (410, True), (408, False), (429, False),
                                              (409, False), (503, False)])
def test_permanent_4xx_is_dead_at_once(tmp_path: Path, status: int, dead: bool) -> None:
    with WebhookReceiver() as rx:
        outbox = _outbox(tmp_path, [{"name": "ops", "kind": "webhook", "url": rx.url}], FakeClock())
        outbox.enqueue(_alert(), ["ops"])
        rx.script(Reply(b"no such hook", status))
        outbox.deliver_due()
    [row] = _deliveries(outbox)
    assert row["status"] == ("dead" if dead else "pending") and row["attempts"] == 1
    assert ("permanent" in row["last_error"]) is dead
    outbox.store.close()


def test_unknown_channel_waits_until_deadline(tmp_path: Path) -> None:
    clock = FakeClock()
    outbox = _outbox(tmp_path, [], clock, max_delivery_hours=0.1)
    outbox.enqueue(_alert(), ["removed"])
    outbox.deliver_due()
    assert _deliveries(outbox)[0]["status"] == "pending"
    assert _deliveries(outbox)[0]["last_error"] == "channel not configured"
    outbox.drain(max_seconds=3600)
    assert _deliveries(outbox)[0]["status"] == "dead"
    outbox.store.close()


# (8) ------------------------------------------------------------------------------------------
def _config(tmp_path: Path, rx_url: str, secret: str) -> Path:
    config = tmp_path / "gpuprices.toml"
    config.write_text(f"""
[storage]
database = "{_database(tmp_path, 'cli.db')}"

[[alerts.channels]]
name = "slack"
kind = "slack"
url = "{rx_url}{SLACK_TOKEN_PATH}"

[[alerts.channels]]
name = "ops"
kind = "webhook"
url = "{rx_url}/hook?token=QUERYSECRET"
secret = "{secret}"

[[alerts.channels]]
name = "apprise"
kind = "apprise"
url = "{rx_url.replace('http://', 'json://')}/apprise/APPRISESECRET"
""")
    return config


def test_secrets_never_shown(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = _secret()
    forbidden = ["XXXXSECRET", "QUERYSECRET", "APPRISESECRET", secret, secret.removeprefix("whsec_")]
    runner = CliRunner()
    with WebhookReceiver() as rx:
        # A receiver that echoes the request line back, and a redirect to another host carrying the token.
        rx.decider = lambda n: Reply(f"error for {rx.url}{SLACK_TOKEN_PATH} ?token=QUERYSECRET".encode(), 500)
        config = _config(tmp_path, rx.url, secret)
        tested = runner.invoke(_cli(), ["--config", str(config), "alerts", "test"])
        assert tested.exit_code == 1, tested.output
        assert tested.output.count("failed: ") == 3

        rx.decider = None
        rx.script(Reply(b"", 302, {"Location": f"http://evil.example{SLACK_TOKEN_PATH}"}))
        tested_again = runner.invoke(_cli(), ["--config", str(config), "alerts", "test", "--channel", "slack"])
        assert "redirect not followed" in tested_again.output
        rx.down()
        down = runner.invoke(_cli(), ["--config", str(config), "alerts", "test"])
        assert down.exit_code == 1
        listed = [runner.invoke(_cli(), ["--config", str(config), "alerts", "list", "--format", fmt])
                  for fmt in ("table", "json", "csv")]
    assert all(result.exit_code == 0 for result in listed)
    assert "127.0.0.1" in listed[0].output and "dead" in listed[0].output
    with open_store(_database(tmp_path, "cli.db")) as store:
        errors = [row["last_error"] for row in store.query("SELECT last_error FROM deliveries")]
    assert len(errors) == 7 and all(errors)
    shown = "\n".join([*errors, caplog.text, tested.output, tested_again.output, down.output,
                       *(r.output for r in listed)])
    for token in forbidden:
        assert token not in shown


def test_scrub_and_redact() -> None:
    channel = ChannelSettings(name="s", kind="apprise", url="tgram://123456:ABCDEFSECRET/987654")
    text = scrub("failed posting to tgram://123456:ABCDEFSECRET/987654 and https://h.example/x/TOKEN1234", [
        *channel_secrets(channel)])
    assert "ABCDEFSECRET" not in text and "TOKEN1234" not in text and "https://h.example" in text
    assert redact_url("https://user:pw@hooks.slack.com:8443/services/T/B/X?a=b") == "https://hooks.slack.com:8443"
    assert redact_url("discord://id/token") == "discord://***"
    assert "\n" not in scrub("a\nb\r\nc" * 200, []) and len(scrub("x" * 1000, [])) <= 300


# (9) ------------------------------------------------------------------------------------------
def test_slack_and_discord_payloads(tmp_path: Path) -> None:
    clock = FakeClock()
    with WebhookReceiver() as slack, WebhookReceiver(accept=Reply(b"", 204, {})) as discord:
        outbox = _outbox(tmp_path, [{"name": "slack", "kind": "slack", "url": slack.url + SLACK_TOKEN_PATH},
                                    {"name": "discord", "kind": "discord", "url": discord.url + "/api/webhooks/1/t"}],
                         clock, backoff_initial_seconds=0.1, backoff_max_seconds=0.5)
        outbox.enqueue(_alert(title_note="<!channel> @everyone"), ["slack", "discord"])
        discord.script(Reply(json.dumps({"message": "You are being rate limited.", "retry_after": 30.5,
                                         "global": False}).encode(), 429, {"Content-Type": "application/json"}))
        now = clock.now
        report = outbox.deliver_due()
        assert (report.delivered, report.retried) == (1, 1)
        retry_row = next(r for r in _deliveries(outbox) if r["channel"] == "discord")
        assert datetime.fromisoformat(retry_row["next_attempt_at"]) >= now + timedelta(seconds=30.5)
        _due(outbox, clock)
        assert outbox.deliver_due().delivered == 1  # Discord's 204 is success

    body = json.loads(slack.attempts[0].body)
    assert body["text"].startswith("H100 PCIe listed")
    assert body["blocks"][0]["type"] == "header"
    fields = body["blocks"][1]["fields"]
    assert any("&lt;!channel&gt;" in f["text"] for f in fields)  # no channel-wide ping from listing text
    body = json.loads(discord.attempts[-1].body)
    assert body["content"].startswith("H100 PCIe listed") and body["allowed_mentions"] == {"parse": []}
    embed = body["embeds"][0]
    assert embed["title"] == body["content"] and {"name": "unit_price_usd", "value": "21000.00",
                                                   "inline": True} in embed["fields"]
    assert [a.status for a in discord.attempts] == [429, 204]
    outbox.store.close()


# (10) -----------------------------------------------------------------------------------------
def test_apprise_json_channel_delivers(tmp_path: Path) -> None:
    clock = FakeClock()
    with WebhookReceiver() as rx:
        url = rx.url.replace("http://", "json://") + "/notify"
        outbox = _outbox(tmp_path, [{"name": "ap", "kind": "apprise", "url": url}], clock)
        outbox.enqueue(_alert(), ["ap"])
        rx.script(Reply(b"down", 500))
        assert outbox.deliver_due().retried == 1
        assert "500" in _deliveries(outbox)[0]["last_error"]
        _due(outbox, clock)
        assert outbox.deliver_due().delivered == 1
    [attempt] = [a for a in rx.attempts if a.status == 200]
    assert attempt.path == "/notify"
    body = json.loads(attempt.body)
    assert body["title"].startswith("H100 PCIe listed") and "unit_price_usd: 21000.00" in body["message"]
    outbox.store.close()


def test_cli_test_delivers_and_list_shows_it(tmp_path: Path) -> None:
    secret = _secret()
    with WebhookReceiver(secret) as rx:
        config = tmp_path / "c.toml"
        config.write_text(f'[storage]\ndatabase = "{_database(tmp_path, "c.db")}"\n[[alerts.channels]]\nname = "ops"\n'
                          f'kind = "webhook"\nurl = "{rx.url}"\nsecret = "{secret}"\n')
        result = CliRunner().invoke(_cli(), ["--config", str(config), "alerts", "test"])
        assert result.exit_code == 0 and result.output.strip() == "ops: delivered"
        assert rx.attempts[0].verified
        listed = CliRunner().invoke(_cli(), ["--config", str(config), "alerts", "list", "--format", "json"])
        [row] = [json.loads(line) for line in listed.output.splitlines() if line.startswith("{")]
        assert row["status"] == "delivered" and row["channel"] == "ops"
        retried = CliRunner().invoke(_cli(), ["--config", str(config), "alerts", "retry"])
        assert retried.exit_code == 0 and "re-queued 0" in retried.output
