"""The alert outbox's SQL (``alerts`` and ``deliveries``), called by the store methods of the same names.

Times are ISO strings of fixed width (microseconds, ``+00:00``), so SQLite's text comparison orders like
PostgreSQL's ``timestamptz``. A claim re-checks the row inside its transaction; on PostgreSQL it also
takes the row with ``FOR UPDATE SKIP LOCKED``, so two deliverers never send one delivery twice and never
wait on each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .common import SqlStore  # relative: the folder is also type-checked as the package "storage"

STATUSES = ("pending", "delivered", "dead")
_RECORDED = ("status", "attempts", "next_attempt_at", "last_status", "last_error", "delivered_at")


def enqueue(store: SqlStore, alert: dict[str, Any], deliveries: list[dict[str, Any]]) -> int | None:
    """Store an alert and its pending deliveries in one transaction; None if its dedupe key is stored."""
    with store._transaction():
        row = store._execute(
            "INSERT INTO alerts (rule, kind, key, dedupe_key, created_at, title, payload)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING RETURNING id",
            [alert["rule"], alert["kind"], alert["key"], alert["dedupe_key"], alert["created_at"], alert["title"],
             alert["payload"]]).fetchone()
        if row is None:
            return None
        alert_id = int(row[0])
        for delivery in deliveries:
            store._execute(
                "INSERT INTO deliveries (alert_id, channel, webhook_id, status, attempts, next_attempt_at,"
                " deadline_at, created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)",
                [alert_id, delivery["channel"], delivery["webhook_id"], delivery["next_attempt_at"],
                 delivery["deadline_at"], delivery["created_at"]])
    return alert_id


def due(store: SqlStore, now: str, alert_id: int | None) -> list[tuple[int, str]]:
    """``(id, channel)`` of the pending deliveries due at ``now``, oldest due first."""
    sql = "SELECT id, channel FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?"
    params: list[Any] = [now]
    if alert_id is not None:
        sql += " AND alert_id = ?"
        params.append(alert_id)
    return [(int(row[0]), str(row[1]))
            for row in store._execute(sql + " ORDER BY next_attempt_at, id", params).fetchall()]


def claim(store: SqlStore, ids: Sequence[int], now: str, leases: dict[str, str],
          default_lease: str) -> list[dict[str, Any]]:
    """Take the deliveries among ``ids`` still pending and due: each gets its channel's lease as next attempt.

    Rows another process claimed (or delivered) meanwhile are left out.
    """
    if not ids:
        return []
    lock = " FOR UPDATE OF d SKIP LOCKED" if store.backend == "postgresql" else ""
    with store._transaction():
        rows = store._query(
            "SELECT d.id, d.channel, d.webhook_id, d.attempts, d.deadline_at, a.id AS alert_id, a.rule, a.kind,"
            " a.key, a.title, a.payload, a.created_at FROM deliveries d JOIN alerts a ON a.id = d.alert_id"
            f" WHERE d.id IN ({', '.join('?' for _ in ids)}) AND d.status = 'pending' AND d.next_attempt_at <= ?"
            f" ORDER BY d.next_attempt_at, d.id{lock}", [*ids, now])
        for row in rows:
            store._execute("UPDATE deliveries SET next_attempt_at = ? WHERE id = ?",
                           [leases.get(row["channel"], default_lease), row["id"]])
    return rows


def record(store: SqlStore, delivery_id: int, fields: dict[str, Any]) -> None:
    """The outcome of one attempt: status, attempts, next attempt, last HTTP status and error, delivery time."""
    unknown = set(fields) - set(_RECORDED)
    if unknown:
        raise ValueError(f"not a delivery outcome field: {', '.join(sorted(unknown))}")
    columns = [c for c in _RECORDED if c in fields]
    with store._transaction():
        store._execute(f"UPDATE deliveries SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
                       [*(fields[c] for c in columns), delivery_id])


def retry_dead(store: SqlStore, now: str, deadline: str, ids: Sequence[int] | None) -> int:
    """Re-queue dead deliveries (all when ``ids`` is None): due now, a fresh deadline, the same webhook-id."""
    sql = ("UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, deadline_at = ?"
           " WHERE status = 'dead'")
    params: list[Any] = [now, deadline]
    if ids is not None:
        if not ids:
            return 0
        sql += f" AND id IN ({', '.join('?' for _ in ids)})"
        params += list(ids)
    with store._transaction():
        return int(store._execute(sql, params).rowcount)


def abandon(store: SqlStore, alert_id: int, note: str) -> int:
    with store._transaction():
        return int(store._execute(
            "UPDATE deliveries SET status = 'dead', last_error = COALESCE(last_error || '; ', '') || ?"
            " WHERE alert_id = ? AND status = 'pending'", [note, alert_id]).rowcount)


def summary(store: SqlStore) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in store._execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall():
        counts[status] = int(count)
    return counts


def next_due(store: SqlStore) -> str | None:
    row = store._execute("SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'").fetchone()
    return str(row[0]) if row and row[0] is not None else None


def recent(store: SqlStore, limit: int, alert_id: int | None, status: str | None = None) -> list[dict[str, Any]]:
    conditions = [(sql, value) for sql, value in (("a.id = ?", alert_id), ("d.status = ?", status))
                  if value is not None]
    where = ("WHERE " + " AND ".join(sql for sql, _ in conditions)) if conditions else ""
    params: list[Any] = [value for _, value in conditions]
    return store._query(
        "SELECT d.id AS delivery_id, a.id AS alert_id, a.created_at, a.rule, a.kind, a.key, a.title,"
        " d.channel, d.status, d.attempts, d.next_attempt_at, d.deadline_at, d.last_status, d.last_error,"
        " d.delivered_at, d.webhook_id FROM deliveries d JOIN alerts a ON a.id = d.alert_id"
        f" {where} ORDER BY a.created_at DESC, a.id DESC, d.id LIMIT ?", [*params, limit])
