"""A real OpenStack Glance 33.0.0 (PyPI ``glance``) under uWSGI, for the
adoption tests.

Glance's package is named like ours (``glance_store``), so it lives in a
virtual environment of its own, built once per machine in the test cache
(like tests/clients.py's) and always run from a directory outside this
checkout with a clean environment (no PYTHONPATH), so that it imports its
own ``glance_store`` and never ours. ``Glance33.start`` writes a
glance-api.conf (multi-store: ``fast`` and ``cheap`` file stores, Keystone
through keystonemiddleware), syncs the database with Glance's own
``glance-manage`` and serves ``glance.wsgi.api`` with uWSGI.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
from pathlib import Path

import requests

from tests import daemons
from tests.clients import ClientUnavailable
from tests.clients import ensure_client
from tests.waiting import poll_until

VERSION = "33.0.0"
REQUIREMENTS = ["glance==%s" % VERSION, "pyuwsgi", "psycopg2-binary", "python-swiftclient",
                "boto3", "PyMySQL"]
START_TIMEOUT = 120.0


def ensure_venv() -> Path:
    """The venv holding Glance 33 and uWSGI, installed once per machine."""
    return ensure_client("glance-%s" % VERSION, REQUIREMENTS, "glance-manage").venv


def _env(conf_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
           and not k.startswith("OS_")}
    env["OS_GLANCE_CONFIG_DIR"] = str(conf_dir)
    return env


def write_conf(path: Path, sections: dict[str, dict]) -> Path:
    """An INI file from {section: {option: value}}."""
    lines = []
    for section, values in sections.items():
        lines.append("[%s]" % section)
        lines += ["%s = %s" % (k, v) for k, v in values.items()]
        lines.append("")
    path.write_text("\n".join(lines))
    return path


@dataclasses.dataclass
class Glance33:
    """A running Glance 33: its URL, config directory and how to stop it."""

    base: Path
    venv: Path
    process: subprocess.Popen | None
    url: str
    db_url: str

    @property
    def conf_file(self) -> Path:
        return self.base / "etc" / "glance-api.conf"

    @classmethod
    def configure(cls, base: Path, db_url: str, authtoken: dict,
                  stores: dict[str, dict]) -> "Glance33":
        """Write Glance's config under ``base`` (``stores``: {id: section},
        the first is the default), sync its database and load the metadata
        definitions Glance ships."""
        venv = ensure_venv()
        etc = base / "etc"
        etc.mkdir(parents=True, exist_ok=True)
        shutil.copy(venv / "etc" / "glance" / "glance-api-paste.ini", etc)
        port = daemons.free_port()
        backends = ", ".join("%s:%s" % (name, section.pop("_type", "file"))
                             for name, section in stores.items())
        sections = {
            "DEFAULT": {"enabled_backends": backends, "show_image_direct_url": True,
                        "show_multiple_locations": False,
                        "enabled_import_methods": "[glance-direct]",
                        "worker_self_reference_url": "http://127.0.0.1:%d" % port,
                        "log_file": base / "glance-api.log", "debug": True,
                        "image_size_cap": 1073741824},
            "database": {"connection": db_url},
            "paste_deploy": {"flavor": "keystone"},
            "keystone_authtoken": authtoken,
            "oslo_policy": {"enforce_new_defaults": True, "enforce_scope": True},
            "glance_store": {"default_backend": next(iter(stores))},
            "os_glance_staging_store": {"filesystem_store_datadir": base / "staging"},
            "os_glance_tasks_store": {"filesystem_store_datadir": base / "tasks"},
            "image_format": {"require_image_format_match": False},
            "wsgi": {"task_pool_threads": 4},
            **stores,
        }
        write_conf(etc / "glance-api.conf", sections)
        glance = cls(base, venv, None, "http://127.0.0.1:%d" % port, db_url)
        glance.manage("db", "sync")
        glance.manage("db", "load_metadefs", "--path",
                      str(venv / "etc" / "glance" / "metadefs"))
        return glance

    def manage(self, *args: str) -> str:
        """Run Glance's own glance-manage on this config."""
        proc = subprocess.run(
            [str(self.venv / "bin" / "python"), str(self.venv / "bin" / "glance-manage"),
             "--config-file", str(self.conf_file), *args],
            cwd=str(self.base), env=_env(self.conf_file.parent), capture_output=True,
            text=True, timeout=300)
        if proc.returncode != 0:
            raise ClientUnavailable("glance-manage %s failed:\n%s\n%s" % (
                " ".join(args), proc.stdout[-3000:], proc.stderr[-3000:]))
        return proc.stdout

    def start(self) -> None:
        """Serve the API with uWSGI; wait until it answers."""
        port = int(self.url.rsplit(":", 1)[1])
        log = open(self.base / "uwsgi.log", "ab")
        self.process = subprocess.Popen(
            [str(self.venv / "bin" / "python"), str(self.venv / "bin" / "uwsgi"),
             "--http-socket", "127.0.0.1:%d" % port, "--module", "glance.wsgi.api:application",
             "--master", "--processes", "1", "--threads", "4", "--enable-threads",
             "--die-on-term", "--need-app", "--lazy-apps", "--buffer-size", "65535",
             "--http-auto-chunked", "--http-chunked-input", "--http-keepalive"],
            cwd=str(self.base), env=_env(self.conf_file.parent), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

        def answering() -> bool:
            if self.process.poll() is not None:
                return True
            try:
                return requests.get(self.url + "/versions", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        if not poll_until(answering, START_TIMEOUT) or self.process.poll() is not None:
            self.stop()
            raise ClientUnavailable("Glance 33 did not start:\n%s" % self.logs())

    def logs(self) -> str:
        return "\n".join((self.base / name).read_text(errors="replace")[-4000:]
                         for name in ("uwsgi.log", "glance-api.log")
                         if (self.base / name).exists())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


class SwiftIdentity:
    """A Keystone v3 front for the Swift fixture's tempauth account.

    Glance 33's Swift driver logs in with Keystone v3 only, while the Swift
    fixture authenticates with tempauth. This loopback server answers the
    two calls a v3 password login makes (discovery, POST /v3/auth/tokens)
    with a tempauth token of the real cluster and a catalog naming its
    storage URL, so both services store and read through real Swift. It
    checks the password it is given against the cluster's key.
    """

    def __init__(self, cluster):
        import http.server
        import json
        import threading

        from keystoneauth1 import fixture as ks_fixture

        bridge = self
        self.cluster = cluster
        self.logins = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status, body, headers=()):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(200, ks_fixture.V3Discovery(bridge.auth_url))

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                user = body["auth"]["identity"]["password"]["user"]
                if user.get("password") != cluster.key:
                    self._send(401, {"error": {"code": 401, "message": "bad key"}})
                    return
                resp = requests.get(cluster.auth_url, timeout=10, headers={
                    "X-Auth-User": cluster.user, "X-Auth-Key": cluster.key})
                resp.raise_for_status()
                token = ks_fixture.V3Token(user_id="tester", user_name=user.get("name"))
                token.set_project_scope(id="test", name="test")
                service = token.add_service("object-store")
                service.add_standard_endpoints(
                    public=resp.headers["X-Storage-Url"],
                    internal=resp.headers["X-Storage-Url"], region="RegionOne")
                bridge.logins += 1
                self._send(201, token, [("X-Subject-Token", resp.headers["X-Auth-Token"])])

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.auth_url = "http://127.0.0.1:%d/v3" % self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class MariaDB:
    """A private MariaDB server (Debian's mariadb-server binaries) on a free
    loopback port, its data under ``base``; grant tables are skipped, so
    root connects without a password. ``None`` from ``start`` when the
    binaries are not installed: the MariaDB variant is optional."""

    def __init__(self, base: Path, port: int, process: subprocess.Popen):
        self.base, self.port, self.process = base, port, process

    @classmethod
    def start(cls, base: Path) -> "MariaDB | None":
        server, install = shutil.which("mariadbd"), shutil.which("mariadb-install-db")
        if not server or not install:
            return None
        data = base / "data"
        subprocess.run([install, "--no-defaults", "--datadir=%s" % data, "--user=root",
                        "--auth-root-authentication-method=normal",
                        "--skip-test-db"], check=True, capture_output=True, timeout=300)
        port = daemons.free_port()
        log = open(base / "mariadb.log", "ab")
        process = subprocess.Popen(
            [server, "--no-defaults", "--datadir=%s" % data, "--user=root",
             "--bind-address=127.0.0.1", "--port=%d" % port,
             "--socket=%s" % (base / "mariadb.sock"), "--skip-grant-tables",
             "--pid-file=%s" % (base / "mariadb.pid")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        made = cls(base, port, process)
        if not poll_until(made._answering, START_TIMEOUT) or process.poll() is not None:
            made.stop()
            raise RuntimeError("MariaDB did not start:\n%s"
                               % (base / "mariadb.log").read_text(errors="replace")[-3000:])
        return made

    def _answering(self) -> bool:
        if self.process.poll() is not None:
            return True
        try:
            self.connect().close()
            return True
        except Exception:  # not listening yet
            return False

    def connect(self, database: str | None = None):
        import pymysql

        return pymysql.connect(host="127.0.0.1", port=self.port, user="root",
                               database=database, autocommit=True, connect_timeout=5)

    def create_database(self, name: str) -> str:
        """A new empty database; its URL as Glance's [database] connection spells it."""
        conn = self.connect()
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE %s CHARACTER SET utf8mb4" % name)
        conn.close()
        return "mysql+pymysql://root@127.0.0.1:%d/%s?charset=utf8mb4" % (self.port, name)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
