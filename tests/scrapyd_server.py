"""A real Scrapyd (the ``scrapyd`` package) on 127.0.0.1 for worker tests: start, kill, start again.

The service's environment is the worker's configuration: the database URL and the API credentials
live there and nowhere in the jobs. Its eggs, logs and job database stay in one folder, so a restarted
worker still has the deployed project.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.postgres_server import free_port


class ScrapydServer:
    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("GPUPRICES_", "EBAY_"))} | env
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "scrapyd.conf").write_text(f"""[scrapyd]
bind_address = 127.0.0.1
http_port = {self.port}
eggs_dir = {folder / "eggs"}
logs_dir = {folder / "logs"}
items_dir =
dbs_dir = {folder / "dbs"}
jobs_to_keep = 50
finished_to_keep = 100
poll_interval = 0.5
max_proc = 4
""", encoding="utf-8")

    def start(self, timeout: float = 60.0) -> None:
        command = shutil.which("scrapyd") or str(Path(sys.executable).with_name("scrapyd"))
        self.process = subprocess.Popen([command], cwd=self.folder, env=self.env, start_new_session=True,
                                        stdout=open(self.folder / "scrapyd.out", "ab"),  # noqa: SIM115
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/daemonstatus.json", timeout=2).json().get("status") == "ok":
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"scrapyd did not start: {(self.folder / 'scrapyd.out').read_text()[-2000:]}")

    def kill(self) -> None:
        """The whole worker at once (service and crawl processes), as a machine crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def jobs(self, project: str = "gpuprices") -> dict[str, list[dict[str, object]]]:
        return httpx.get(f"{self.url}/listjobs.json", params={"project": project}, timeout=5).json()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted((self.folder / "logs").rglob("*.log")))
