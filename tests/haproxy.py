"""A real HAProxy (the Debian package) in front of real daemons, for the
deployment tests.

``start(section, backends, base)`` runs one ``listen`` section of the
operators' example ``etc/haproxy.cfg`` -- its global and defaults sections
and every line of that section as written -- with the bind address and the
``server`` lines replaced by loopback ones, a smaller maxconn, plus a stats socket the test
reads the servers' states from. HAProxy is installed with apt-get when
missing (the tests run as root; CI installs it in .ci/run).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
from pathlib import Path

from tests import daemons
from tests.waiting import poll_until

EXAMPLE = daemons.REPO_ROOT / "etc" / "haproxy.cfg"


def ensure_installed() -> str:
    """The haproxy binary; installed from the distribution when missing."""
    found = shutil.which("haproxy") or (os.path.exists("/usr/sbin/haproxy")
                                        and "/usr/sbin/haproxy")
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError("haproxy is not installed and the tests are not root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "haproxy"], check=True, env=env,
                   capture_output=True)
    return shutil.which("haproxy") or "/usr/sbin/haproxy"


def render(section: str, port: int, backends: dict[str, int], stats_socket: Path) -> str:
    """The example config with only ``section``, bound to 127.0.0.1:``port``."""
    out, current = [], None
    for line in EXAMPLE.read_text().splitlines():
        stripped = line.strip()
        if line and not line[0].isspace():
            current = stripped
            if current.startswith("listen ") and current != "listen " + section:
                continue
        elif current and current.startswith("listen ") and current != "listen " + section:
            continue
        if stripped.startswith("bind "):
            line = "    bind 127.0.0.1:%d" % port
        elif stripped.startswith("server "):
            continue
        elif stripped.startswith("maxconn ") and current == "global":
            # The example's maxconn needs twice as many descriptors as a
            # test process may open here; systemd's unit raises that limit.
            line = "    maxconn 1000"
        out.append(line)
        if current == "global" and stripped == "global":
            out.append("    stats socket %s mode 600 level admin" % stats_socket)
    text = "\n".join(out).rstrip() + "\n"
    for name, backend_port in backends.items():
        text += "    server %s 127.0.0.1:%d check\n" % (name, backend_port)
    return text


@dataclasses.dataclass
class Balancer:
    """A running HAProxy with one listen section."""

    section: str
    process: subprocess.Popen
    port: int
    stats_socket: Path
    log: Path

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def states(self) -> dict[str, str]:
        """Each server's state as HAProxy sees it (UP, DOWN, ...)."""
        csv = self._command("show stat")
        lines = [line for line in csv.splitlines() if line and not line.startswith("#")]
        states = {}
        for line in lines:
            fields = line.split(",")
            if fields[0] == self.section and fields[1] not in ("FRONTEND", "BACKEND"):
                states[fields[1]] = fields[17].split(" ")[0]
        return states

    def wait_state(self, server: str, state: str, timeout: float = 20) -> bool:
        """True once HAProxy reports ``server`` in ``state``."""
        return poll_until(lambda: self.states().get(server) == state, timeout=timeout)

    def _command(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.stats_socket))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start(section: str, backends: dict[str, int], base: Path) -> Balancer:
    """HAProxy running ``section`` of etc/haproxy.cfg in front of ``backends``."""
    binary = ensure_installed()
    base.mkdir(parents=True, exist_ok=True)
    port = daemons.free_port()
    stats_socket = base / ("%s.sock" % section)
    config = base / ("%s.cfg" % section)
    config.write_text(render(section, port, backends, stats_socket))
    subprocess.run([binary, "-c", "-q", "-f", str(config)], check=True)
    log = base / ("%s.log" % section)
    with open(log, "ab") as out:
        process = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    balancer = Balancer(section, process, port, stats_socket, log)
    if not poll_until(lambda: stats_socket.exists() and all(
            s == "UP" for s in _safe_states(balancer).values()) and
            len(_safe_states(balancer)) == len(backends), timeout=20):
        balancer.stop()
        raise RuntimeError("haproxy did not bring its servers up:\n" + log.read_text())
    return balancer


def _safe_states(balancer: Balancer) -> dict[str, str]:
    try:
        return balancer.states()
    except OSError:
        return {}
