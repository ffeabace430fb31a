"""A real Keystone (PyPI ``keystone`` 30.0.0) on loopback, for integration tests.

Keystone pins many libraries, so it lives in a virtual environment of its
own, made once per machine in the test cache. Beside it sits a *template*:
a bootstrapped SQLite database with fernet and credential keys and the
test's users and projects already provisioned. Each start copies the
template into a fresh directory and runs gunicorn on a free port, which
takes about a second and a half; only the first run on a machine pays for
the install and the bootstrap.

Provisioned (all passwords ``PASSWORD``, domain Default):

- ``admin`` in project ``admin``, role ``admin`` (keystone-manage bootstrap);
- ``alice`` in ``tenant-a`` and ``bob`` in ``tenant-b``, role ``member``;
- ``carol`` in ``tenant-c``, role ``reader`` only: may look, not write;
- ``glance`` in project ``service``, role ``service``: the services' user.
  Keystone's ``identity:validate_token`` policy lets the ``service`` role
  validate other users' tokens, so it needs nothing more.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import grp
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests import daemons
from tests.waiting import poll_until

VERSION = "30.0.0"
CACHE = Path(os.environ.get("GLANCE_TEST_CACHE",
                            Path.home() / ".cache" / "glance-lite-tests"))
HOME = CACHE / ("keystone-%s" % VERSION)
PASSWORD = "Secret-4-tests"
START_TIMEOUT = 60.0

USERS = {  # user: (project, role)
    "alice": ("tenant-a", "member"),
    "bob": ("tenant-b", "member"),
    "carol": ("tenant-c", "reader"),
    "glance": ("service", "service"),
}

SHIM = """\
import os
import sys

# keystone parses sys.argv with oslo.config: it must not see gunicorn's flags.
sys.argv = sys.argv[:1]
os.environ["OS_KEYSTONE_CONFIG_FILES"] = {conf!r}
from keystone.wsgi.api import application  # noqa: E402,F401
"""


class KeystoneUnavailable(RuntimeError):
    """Keystone could not be installed, bootstrapped or started."""


def keystone_conf(base: Path, expiration: int = 3600) -> str:
    """keystone.conf for a server whose files live under ``base``."""
    lines = [
        "[DEFAULT]", "log_file = %s" % (base / "keystone.log"),
        "[database]", "connection = sqlite:///%s" % (base / "keystone.db"),
        "[token]", "provider = fernet", "expiration = %d" % expiration,
        "[fernet_tokens]", "key_repository = %s" % (base / "fernet-keys"),
        "[credential]", "key_repository = %s" % (base / "credential-keys"),
        "[identity]",
        "# bcrypt's default cost makes every password login take 0.25 s",
        "password_hash_rounds = 4",
        "[resource]",
        "# otherwise every project counts as the admin project",
        "admin_project_name = admin", "admin_project_domain_name = Default",
        "[cache]",
        # One worker, so an in-process cache cannot go stale elsewhere.
        # Keystone checks expiry after the cached validation, so short
        # token lifetimes stay exact.
        "enabled = true",
        "backend = dogpile.cache.memory",
        "",
    ]
    return "\n".join(lines)


def _lock(path: Path):
    """An exclusive lock across processes (parallel test runs share the cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "w")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return contextlib.closing(handle)


def _run(cmd: list, **kwargs) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise KeystoneUnavailable("%s failed (%d):\n%s\n%s" % (
            " ".join(map(str, cmd[:3])), proc.returncode, proc.stdout[-3000:],
            proc.stderr[-3000:]))


def ensure_venv() -> Path:
    """The virtual environment with keystone and gunicorn, made once per machine."""
    venv = HOME / "venv"
    done = venv / "installed"
    with _lock(HOME / "venv.lock"):
        if done.exists():
            return venv
        # A venv's scripts name its path, so it is built in place; the
        # marker written last tells a finished one from an interrupted one.
        shutil.rmtree(venv, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(venv)])
        _run([str(venv / "bin" / "pip"), "install", "-q",
              "keystone==%s" % VERSION, "gunicorn"])
        done.write_text(VERSION)
        return venv


def ensure_template(venv: Path) -> Path:
    """A bootstrapped, provisioned Keystone directory to copy, made once per machine."""
    template = HOME / "template"
    with _lock(HOME / "template.lock"):
        if _provisioned(template):
            return template
        building = Path(tempfile.mkdtemp(prefix="keystone-template-", dir=HOME))
        conf = building / "keystone.conf"
        conf.write_text(keystone_conf(building))
        manage = [str(venv / "bin" / "keystone-manage"), "--config-file", str(conf)]
        owner = ["--keystone-user", pwd.getpwuid(os.getuid()).pw_name,
                 "--keystone-group", grp.getgrgid(os.getgid()).gr_name]
        _run(manage + ["fernet_setup"] + owner)
        _run(manage + ["credential_setup"] + owner)
        _run(manage + ["db_sync"])
        # The identity endpoints move with the port; start() points them.
        placeholder = "http://127.0.0.1:1/v3/"
        _run(manage + ["bootstrap", "--bootstrap-password", PASSWORD,
                       "--bootstrap-region-id", "RegionOne",
                       "--bootstrap-admin-url", placeholder,
                       "--bootstrap-public-url", placeholder,
                       "--bootstrap-internal-url", placeholder])
        server = Keystone.start_in(building, venv)
        try:
            ids = _provision(server)
        finally:
            server.stop()
        (building / "ids.json").write_text(json.dumps(ids))
        for name in ("keystone.log", "gunicorn.log", "keystone.conf", "ks_wsgi.py"):
            (building / name).unlink(missing_ok=True)
        shutil.rmtree(template, ignore_errors=True)
        building.rename(template)
        return template


def _provisioned(template: Path) -> bool:
    """Whether ``template`` is finished and has every user of ``USERS``: a
    template made before a user was added is made again."""
    try:
        ids = json.loads((template / "ids.json").read_text())
    except (OSError, ValueError):
        return False
    return set(USERS) <= set(ids.get("users", {}))


def _provision(server: "Keystone") -> dict:
    """Projects, users and role assignments over plain REST with an admin token."""
    admin = {"X-Auth-Token": server.token("admin", "admin")}
    url = server.url + "/v3"

    def find(kind: str, name: str) -> str | None:
        resp = requests.get("%s/%s" % (url, kind), params={"name": name}, headers=admin)
        resp.raise_for_status()
        found = resp.json()[kind]
        return found[0]["id"] if found else None

    def create(kind: str, body: dict) -> str:
        resp = requests.post("%s/%s" % (url, kind), json=body, headers=admin)
        resp.raise_for_status()
        return next(iter(resp.json().values()))["id"]

    ids = {"projects": {"admin": find("projects", "admin")}, "users": {
        "admin": find("users", "admin")}}
    for role in ("reader", "member", "service"):
        if find("roles", role) is None:
            create("roles", {"role": {"name": role}})
    for user, (project, role) in USERS.items():
        project_id = find("projects", project) or create("projects", {"project": {
            "name": project, "domain_id": "default"}})
        user_id = create("users", {"user": {
            "name": user, "password": PASSWORD, "domain_id": "default",
            "default_project_id": project_id}})
        resp = requests.put("%s/projects/%s/users/%s/roles/%s" % (
            url, project_id, user_id, find("roles", role)), headers=admin)
        resp.raise_for_status()
        ids["projects"][project] = project_id
        ids["users"][user] = user_id
    return ids


@dataclasses.dataclass
class Keystone:
    """A running Keystone: its URL, the provisioned ids, how to log in and stop it."""

    base: Path
    process: subprocess.Popen
    url: str
    ids: dict = dataclasses.field(default_factory=dict)

    @property
    def auth_url(self) -> str:
        return self.url + "/v3"

    @classmethod
    def start_in(cls, base: Path, venv: Path) -> "Keystone":
        """Run gunicorn on ``base``'s keystone.conf; wait until /v3 answers."""
        port = daemons.free_port()
        shim = base / "ks_wsgi.py"
        shim.write_text(SHIM.format(conf=str(base / "keystone.conf")))
        log = open(base / "gunicorn.log", "ab")
        process = subprocess.Popen(
            [str(venv / "bin" / "gunicorn"), "--chdir", str(base), "-b",
             "127.0.0.1:%d" % port, "-w", "1", "--no-control-socket",
             "--timeout", "60", "ks_wsgi:application"],
            stdout=log, stderr=subprocess.STDOUT, cwd=str(base))
        log.close()
        server = cls(base, process, "http://127.0.0.1:%d" % port)

        def answering() -> bool:
            if process.poll() is not None:
                return True
            try:
                return requests.get(server.auth_url, timeout=10).status_code == 200
            except (requests.ConnectionError, requests.Timeout):
                return False

        if not poll_until(answering, START_TIMEOUT) or process.poll() is not None:
            server.stop()
            raise KeystoneUnavailable("Keystone did not start:\n%s" % server.logs())
        return server

    @classmethod
    def start(cls, base: Path, expiration: int = 3600) -> "Keystone":
        """A fresh Keystone under ``base`` from the machine's template."""
        template = ensure_template(ensure_venv())
        shutil.copytree(template, base, dirs_exist_ok=True)
        (base / "keystone.conf").write_text(
            keystone_conf(base, expiration))
        server = cls.start_in(base, HOME / "venv")
        server.ids = json.loads((base / "ids.json").read_text())
        try:
            server._point_catalog_here()
        except Exception:
            server.stop()
            raise
        return server

    def _point_catalog_here(self) -> None:
        """Services find the identity API in the catalog: give it this port."""
        admin = {"X-Auth-Token": self.token("admin", "admin")}
        resp = requests.get(self.auth_url + "/endpoints", headers=admin, timeout=30)
        resp.raise_for_status()
        for endpoint in resp.json()["endpoints"]:
            requests.patch(self.auth_url + "/endpoints/" + endpoint["id"], headers=admin,
                           json={"endpoint": {"url": self.auth_url + "/"}},
                           timeout=30).raise_for_status()

    def login(self, user: str, project: str) -> requests.Response:
        """A password login scoped to ``project`` (the raw response)."""
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": PASSWORD}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        return requests.post(self.auth_url + "/auth/tokens", json=body, timeout=30)

    def token(self, user: str, project: str | None = None) -> str:
        """A token for ``user`` that Keystone already accepts.

        Keystone revokes by the second: a token issued in the second of a
        password change is born revoked. Such a token is dropped and a new
        one asked for.
        """
        project = project or USERS.get(user, ("admin",))[0]
        deadline = time.monotonic() + 10
        while True:
            resp = self.login(user, project)
            resp.raise_for_status()
            token = resp.headers["X-Subject-Token"]
            if self.is_valid(token, token) or time.monotonic() > deadline:
                return token
            time.sleep(0.2)  # into the next second, bounded by the deadline

    def is_valid(self, token: str, as_token: str) -> bool:
        """Whether Keystone, asked with ``as_token``, accepts ``token`` right now."""
        resp = requests.get(self.auth_url + "/auth/tokens", timeout=30, headers={
            "X-Auth-Token": as_token, "X-Subject-Token": token})
        return resp.status_code == 200

    def expires_at(self, token: str) -> datetime.datetime:
        """When Keystone says ``token`` expires (UTC, naive)."""
        resp = requests.get(self.auth_url + "/auth/tokens", timeout=30, headers={
            "X-Auth-Token": token, "X-Subject-Token": token})
        resp.raise_for_status()
        text = resp.json()["token"]["expires_at"].rstrip("Z")
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f")

    def authtoken_section(self, **overrides) -> dict:
        """``[keystone_authtoken]`` for a daemon whose service user is ``glance``."""
        section = {
            "www_authenticate_uri": self.auth_url, "auth_url": self.auth_url,
            "auth_type": "password", "username": "glance", "password": PASSWORD,
            "project_name": "service", "user_domain_name": "Default",
            "project_domain_name": "Default",
        }
        section.update(overrides)
        return section

    def logs(self) -> str:
        return "\n".join((self.base / name).read_text(errors="replace")[-4000:]
                         for name in ("gunicorn.log", "keystone.log")
                         if (self.base / name).exists())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # gunicorn: quick shutdown
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)
