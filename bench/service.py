"""The service under test: glance-all on a throwaway data directory."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import procstat

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """Both daemons with their default worker counts, as an operator runs them."""

    def __init__(self, connection: str | None = None, data_dir: str | None = None):
        self.data = data_dir or tempfile.mkdtemp(prefix="glance-bench-")
        self.api_port, self.registry_port = free_port(), free_port()
        cmd = [sys.executable, "-m", "glance_api.all", "--data-dir", self.data,
               "--api-port", str(self.api_port), "--registry-port", str(self.registry_port)]
        if connection:
            cmd += ["--connection", connection]
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        output = ""
        while "serving" not in output:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit("glance-all failed to start:\n" + output)
            output += line
        self.url = "http://127.0.0.1:%d" % self.api_port
        self.connection = connection or "sqlite:///%s/glance.sqlite" % self.data
        self.images_dir = os.path.join(self.data, "images")

    def daemons(self) -> dict[str, list[int]]:
        """The process trees of glance-registry and glance-api (masters and workers)."""
        kids = procstat.children(self.proc.pid)
        found = {}
        for pid in kids:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmdline = f.read().decode(errors="replace")
            name = "registry" if "glance_registry" in cmdline else "api"
            found[name] = procstat.tree(pid)
        return found

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        shutil.rmtree(self.data, ignore_errors=True)


def wait_idle(seconds: float = 0.5) -> None:
    """Let the daemons settle between measurements."""
    time.sleep(seconds)
