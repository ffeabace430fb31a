"""Start real daemons as subprocesses for functional tests.

``start(name, cmd, config, port)`` runs any daemon and waits for its health
check; ``start_registry`` is the registry's recipe. A daemon gets a free
port, a generated config file and a log file under the test's tmp_path.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from typing import Mapping

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


@dataclasses.dataclass
class Daemon:
    """A running daemon: where it listens, where it logs, how to stop it."""

    name: str
    process: subprocess.Popen
    port: int
    url: str
    log: Path
    config: Path

    def stop(self) -> None:
        """Stop the daemon gracefully; kill its whole process group if it lingers.

        SIGTERM, not SIGINT: gunicorn's gthread worker shuts its thread pool
        down inside the SIGINT handler, which can deadlock when the signal
        lands while a request is being handed to a new thread, leaving an
        orphaned worker behind a killed master.
        """
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT)

    def log_text(self) -> str:
        """Everything the daemon has logged so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def write_config(path: Path, sections: Mapping[str, Mapping[str, Any]]) -> Path:
    """Write an oslo.config INI file from {section: {option: value}}."""
    lines = []
    for section, values in sections.items():
        lines.append("[%s]" % section)
        for key, value in values.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            lines.append("%s = %s" % (key, value))
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def start(name: str, cmd: list[str], config: Path, port: int, log: Path,
          health_path: str = "/healthcheck",
          timeout: float = START_TIMEOUT, scheme: str = "http",
          verify: bool | str = True) -> Daemon:
    """Run ``cmd`` (which reads ``config``) and wait until its health check answers 200.

    ``scheme`` https with ``verify`` (a CA file) for a daemon serving TLS.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    log_file = open(log, "ab")
    process = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT,
                               cwd=str(REPO_ROOT), env=env, start_new_session=True)
    log_file.close()
    daemon = Daemon(name, process, port, "%s://127.0.0.1:%d" % (scheme, port), log, config)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("%s exited with %s:\n%s"
                               % (name, process.returncode, daemon.log_text()))
        try:
            if requests.get(daemon.url + health_path, timeout=2,
                            verify=verify).status_code == 200:
                return daemon
        except requests.ConnectionError:
            pass
        time.sleep(0.05)  # polling interval, bounded by the deadline
    daemon.stop()
    raise RuntimeError("%s did not answer %s within %ss:\n%s"
                       % (name, health_path, timeout, daemon.log_text()))


def start_registry(tmp_path: Path, connection_url: str, **options: Any) -> Daemon:
    """Start glance-registry on ``connection_url``; ``options`` go to [DEFAULT].

    ``database_<name>=value`` options go to the [database] section.
    """
    port = free_port()
    defaults = {"bind_host": "127.0.0.1", "bind_port": port, "workers": 1,
                "threads": 4, "debug": True}
    database = {"connection": connection_url}
    for key, value in options.items():
        if key.startswith("database_"):
            database[key[len("database_"):]] = value
        else:
            defaults[key] = value
    config = write_config(tmp_path / "glance-registry.conf",
                          {"DEFAULT": defaults, "database": database})
    cmd = [sys.executable, "-m", "glance_registry.cmd", "--config-file", str(config)]
    return start("glance-registry", cmd, config, int(defaults["bind_port"]),
                 tmp_path / "glance-registry.log")
