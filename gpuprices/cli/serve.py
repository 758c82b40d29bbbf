"""``gpuprices serve``: the dashboard, JSON API and /metrics on the database the daemon writes."""

from __future__ import annotations

import ipaddress
from typing import Any

import click


def bind_warning(host: str, *, has_token: bool) -> str | None:
    """The one line printed when the dashboard is reachable beyond this machine and has no token."""
    if has_token or _loopback(host):
        return None
    return (f"gpuprices: warning: serving on {host} without [web] token: anyone who can reach it reads the"
            " dashboard (it stays read-only)")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--host", default=None, help="Address to bind (default: [web] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default: [web] port, 8000).")
@click.pass_obj
def serve(app: Any, host: str | None, port: int | None) -> None:
    """Serve the dashboard, the JSON API (/api/, schema at /api/openapi.json), /metrics and /healthz.

    Read-only unless [web] token is set; then dead alert deliveries can be re-queued from the
    Alerts page with that token. Run it beside the daemon (`gpuprices run`) on the same database.
    """
    import uvicorn  # heavy imports only for this command

    from gpuprices.web.app import create_app

    settings = app.settings
    host = host or settings.web.host
    port = port or settings.web.port
    warning = bind_warning(host, has_token=settings.web.token is not None)
    if warning:
        click.echo(warning, err=True)
    click.echo(f"gpuprices: serving http://{host}:{port}/ (database {settings.storage.database})", err=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info" if app.verbose else "warning",
                access_log=app.verbose, server_header=False)


COMMANDS = [serve]
