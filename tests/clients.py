"""The real OpenStack command-line clients, each in a virtual environment of its own.

- ``glance`` from python-glanceclient 4.13.0 (Images API v2);
- ``openstack`` from python-openstackclient 10.5.0 with openstacksdk 4.22.0.

They pin libraries this project does not want in its own environment, so
each lives in ``<cache>/<name>`` (the same cache as glanceclient 2.17.1 and
Keystone), installed once per machine. An install is built in a temporary
directory beside its final place and renamed into place only when pip has
finished, so an interrupted install is never taken for a finished one.

A venv's console scripts carry the absolute path of the directory they were
installed in, which the rename changes; the scripts are therefore run
through the venv's own interpreter (``bin/python bin/glance``), which finds
its site-packages relative to itself wherever the directory sits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import pty
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("GLANCE_TEST_CACHE",
                            Path.home() / ".cache" / "glance-lite-tests"))
GLANCECLIENT_VERSION = "4.13.0"
OPENSTACKCLIENT_VERSION = "10.5.0"
OPENSTACKSDK_VERSION = "4.22.0"
MARKER = "installed.txt"
INSTALL_TIMEOUT = 1200


class ClientUnavailable(RuntimeError):
    """A client could not be installed."""


@dataclasses.dataclass(frozen=True)
class Client:
    """An installed command: ``argv()`` is how to start it."""

    venv: Path
    script: str

    def argv(self, *args: str) -> list[str]:
        return [str(self.venv / "bin" / "python"), str(self.venv / "bin" / self.script),
                *map(str, args)]


@contextlib.contextmanager
def _lock(path: Path):
    """An exclusive lock across processes (parallel runs share the cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def ensure_client(name: str, requirements: list[str], script: str) -> Client:
    """``requirements`` installed into ``<cache>/<name>``, once per machine."""
    venv = CACHE / name
    wanted = "\n".join(requirements) + "\n"
    with _lock(CACHE / (name + ".lock")):
        marker = venv / MARKER
        if marker.exists() and marker.read_text() == wanted:
            return Client(venv, script)
        building = Path(tempfile.mkdtemp(prefix=".%s-building-" % name, dir=CACHE))
        try:
            for cmd in ([sys.executable, "-m", "venv", str(building)],
                        [str(building / "bin" / "python"), "-m", "pip", "install", "-q",
                         "--disable-pip-version-check", *requirements]):
                proc = subprocess.run(cmd, capture_output=True, text=True,
                                      timeout=INSTALL_TIMEOUT)
                if proc.returncode != 0:
                    raise ClientUnavailable("%s failed (%d):\n%s\n%s" % (
                        " ".join(cmd[:4]), proc.returncode, proc.stdout[-3000:],
                        proc.stderr[-3000:]))
            if not (building / "bin" / script).exists():
                raise ClientUnavailable("%s installed no %s script" % (name, script))
            (building / MARKER).write_text(wanted)
            # Whatever sits at the final place is unfinished or outdated.
            shutil.rmtree(venv, ignore_errors=True)
            building.rename(venv)
        finally:
            shutil.rmtree(building, ignore_errors=True)
        return Client(venv, script)


def glanceclient_v2() -> Client:
    return ensure_client("glanceclient-%s" % GLANCECLIENT_VERSION,
                         ["python-glanceclient==%s" % GLANCECLIENT_VERSION], "glance")


def openstackclient() -> Client:
    return ensure_client(
        "openstackclient-%s" % OPENSTACKCLIENT_VERSION,
        ["python-openstackclient==%s" % OPENSTACKCLIENT_VERSION,
         "openstacksdk==%s" % OPENSTACKSDK_VERSION], "openstack")


def _installed(factory) -> Client:
    try:
        return factory()
    except (ClientUnavailable, OSError, subprocess.TimeoutExpired) as exc:
        from tests.required import unavailable
        unavailable("client could not be installed: %s" % exc)


@pytest.fixture(scope="session")
def glance_v2_cli() -> Client:
    """``glance`` from python-glanceclient 4.13.0."""
    return _installed(glanceclient_v2)


@pytest.fixture(scope="session")
def openstack_cli() -> Client:
    """``openstack`` from python-openstackclient 10.5.0 / openstacksdk 4.22.0."""
    return _installed(openstackclient)


# --- a Keystone and a Glance pair whose catalog names that pair -------------

@dataclasses.dataclass
class Cloud:
    """A real Keystone, a real registry + api pair behind it, and the image
    endpoint in Keystone's catalog pointing at that api, so the clients find
    it the way they do in a deployment."""

    keystone: object  # tests.keystone.Keystone
    glance: object  # tests.pairs.Glance
    home: Path

    def project_id(self, project: str) -> str:
        return self.keystone.ids["projects"][project]

    def env(self, user: str) -> dict:
        """The environment for a client run as ``user`` (password auth)."""
        from tests.keystone import PASSWORD
        from tests.keystone import USERS

        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OS_", "GLANCE_", "CLIFF_"))}
        env.update({
            "HOME": str(self.home),  # a clean ~/.glanceclient schema cache
            "OS_AUTH_URL": self.keystone.auth_url,
            "OS_AUTH_TYPE": "password",
            "OS_IDENTITY_API_VERSION": "3",
            "OS_USERNAME": user,
            "OS_PASSWORD": PASSWORD,
            "OS_PROJECT_NAME": USERS.get(user, ("admin",))[0],
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
            "OS_REGION_NAME": "RegionOne",
            "OS_INTERFACE": "public",
            "PYTHONWARNINGS": "ignore",
        })
        return env

    def api(self, user: str, method: str, path: str, **kw):
        """A direct REST call as ``user`` (to set up or check state without a client run)."""
        import requests

        headers = dict(kw.pop("headers", {}), **{"X-Auth-Token": self.keystone.token(user)})
        return requests.request(method, self.glance.url + path, headers=headers,
                                timeout=60, **kw)

    def create(self, user: str, **body) -> dict:
        """A v2 image made by ``user`` (raw/bare unless ``body`` says otherwise)."""
        body.setdefault("disk_format", "raw")
        body.setdefault("container_format", "bare")
        resp = self.api(user, "POST", "/v2/images", json=body)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def show(self, user: str, image_id: str) -> dict:
        """The v2 image document ``user`` sees."""
        resp = self.api(user, "GET", "/v2/images/" + image_id)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def stop(self) -> None:
        try:
            self.glance.stop()
        finally:
            self.keystone.stop()


class Clouds:
    """One cloud per database, started on first use (``clouds("sqlite")``)."""

    def __init__(self, request, tmp_path_factory, prefix: str):
        self._request, self._factory, self._prefix = request, tmp_path_factory, prefix
        self._started: dict[str, Cloud] = {}

    def __call__(self, kind: str) -> Cloud:
        from tests.pairs import database

        if kind not in self._started:
            url = database(self._request, self._factory, kind)
            self._started[kind] = start_cloud(self._factory.mktemp(self._prefix + kind), url)
        return self._started[kind]

    def stop(self) -> None:
        for cloud in self._started.values():
            cloud.stop()


def register_image_endpoint(keystone, url: str, region: str = "RegionOne") -> None:
    """Add an ``image`` service with public/internal/admin endpoints at ``url``."""
    import requests

    admin = {"X-Auth-Token": keystone.token("admin", "admin")}
    api = keystone.auth_url
    if region != "RegionOne":  # bootstrap made RegionOne only
        requests.post(api + "/regions", headers=admin, timeout=30,
                      json={"region": {"id": region}}).raise_for_status()
    resp = requests.post(api + "/services", headers=admin, timeout=30, json={
        "service": {"type": "image", "name": "glance", "enabled": True}})
    resp.raise_for_status()
    service_id = resp.json()["service"]["id"]
    for interface in ("public", "internal", "admin"):
        requests.post(api + "/endpoints", headers=admin, timeout=30, json={"endpoint": {
            "service_id": service_id, "interface": interface, "url": url,
            "region_id": region, "enabled": True}}).raise_for_status()


def guarded_pair(keystone, base: Path, db_url: str) -> Cloud:
    """A Keystone-guarded registry + api pair on ``db_url``, behind ``keystone``
    (the catalog is left alone: for tests that call the api directly)."""
    from tests.pairs import Glance

    pair = Glance(base / "glance", db_url, keystone=keystone.authtoken_section(),
                  service_token=lambda: keystone.token("glance"))
    cloud = Cloud(keystone, pair, base / "home")
    cloud.home.mkdir(exist_ok=True)
    return cloud


def start_cloud(base: Path, db_url: str) -> Cloud:
    """A fresh Keystone and a Keystone-guarded pair on ``db_url``."""
    from tests.keystone import Keystone
    from tests.required import unavailable

    try:
        keystone = Keystone.start(base / "keystone")
    except Exception as exc:  # install, bootstrap or start: any of them
        unavailable("Keystone could not be set up: %s" % exc)
    try:
        cloud = guarded_pair(keystone, base, db_url)
    except BaseException:
        keystone.stop()
        raise
    try:
        register_image_endpoint(keystone, cloud.glance.url)
    except BaseException:
        cloud.stop()
        raise
    return cloud


# --- running a client, reading its output, making test data ----------------

def run(client: Client, cloud: Cloud, user: str, *args: str, check: bool = True,
        cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``client`` as ``user``; stdin is a pseudo-terminal, because both
    clients upload whatever stdin holds when it is not one (spec 15.1.3)."""
    tty, stdin = pty.openpty()
    try:
        proc = subprocess.run(client.argv(*args), env=cloud.env(user), stdin=stdin,
                              capture_output=True, text=True, timeout=timeout,
                              cwd=str(cwd or cloud.home))
    finally:
        os.close(tty)
        os.close(stdin)
    if check:
        assert proc.returncode == 0, "%s %s failed (%d):\n%s\n%s" % (
            client.script, " ".join(args), proc.returncode, proc.stderr[-3000:],
            proc.stdout[-3000:])
    return proc


def table(output: str) -> dict[str, str]:
    """A two-column ``Property | Value`` (or ``Field | Value``) table as a
    dict; a value wrapped over several lines is joined again."""
    rows: dict[str, str] = {}
    last = None
    for line in output.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or cells[0] in ("Property", "Field"):
            continue
        if cells[0] == "" and last is not None:
            rows[last] += cells[1]
        else:
            last = cells[0]
            rows[last] = cells[1]
    return rows


def rows(output: str) -> list[dict[str, str]]:
    """A listing table (header line, then rows) as a list of dicts."""
    header: list[str] | None = None
    found = []
    for line in output.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        else:
            found.append(dict(zip(header, cells, strict=False)))
    return found


def qcow2(virtual_size: int = 64 * 1024 * 1024, payload: int = 0) -> bytes:
    """A small well-formed qcow2 (version 3, 64 KiB clusters, no backing
    file): header, refcount table, refcount block and an empty L1 table, so
    a format inspector takes it for what it says; ``payload`` random bytes
    follow (unreferenced clusters: harmless) so its hashes are unique."""
    cluster = 1 << 16
    l1_entries = -(-virtual_size // (cluster * (cluster // 8)))
    header = struct.pack(
        ">4sIQIIQIIQQIIQQQQII", b"QFI\xfb", 3, 0, 0, 16, virtual_size, 0,
        l1_entries, 3 * cluster, cluster, 1, 0, 0, 0, 0, 0, 4, 104)
    refcount_table = struct.pack(">Q", 2 * cluster)
    refcount_block = struct.pack(">4H", 1, 1, 1, 1)
    image = bytearray(4 * cluster)
    image[:len(header)] = header
    image[cluster:cluster + 8] = refcount_table
    image[2 * cluster:2 * cluster + 8] = refcount_block
    return bytes(image) + os.urandom(payload)


if __name__ == "__main__":  # pre-install both: python -m tests.clients
    for client in (glanceclient_v2(), openstackclient()):
        print(client.venv)
