"""What the process and dependency fault cases share: killing and restarting
daemons, a private PostgreSQL, a client that stops mid-body, a tally of
every answer, and an inventory of what a fault left behind.

A 5xx is *explained* when it is a 503 and the request was in flight while
the case had a dependency down (between ``Tally.down()`` and ``Tally.up()``);
every other 5xx is unexplained, and the cases require none.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

from tests import daemons
from tests.pairs import Glance
from tests.waiting import poll_until

TIMEOUT = 30.0  # seconds any request may take: longer is a hang
RECOVERY = 60.0  # seconds the sweep may take to fail an abandoned upload
RAW = {"disk_format": "raw", "container_format": "bare"}
V1_RAW = {"x-image-meta-disk_format": "raw", "x-image-meta-container_format": "bare"}


# --- killing and restarting daemons ------------------------------------------

def children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (gunicorn's workers of a master)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc/%s/stat" % entry).read_text()
        except OSError:
            continue  # it ended while we looked
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def kill_workers(daemon: daemons.Daemon) -> list[int]:
    """SIGKILL every worker of ``daemon``, leaving its master to replace them."""
    workers = children(daemon.process.pid)
    assert workers, "%s has no worker processes" % daemon.name
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    return workers


def kill_group(daemon: daemons.Daemon) -> None:
    """SIGKILL ``daemon``'s whole process group (master and workers) and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(daemon.process.pid, signal.SIGKILL)
    daemon.process.wait(daemons.STOP_TIMEOUT)
    # Workers are reparented, not reaped by us: wait until they are gone so
    # the port is free for the restart.
    assert poll_until(lambda: not _group_alive(daemon.process.pid), timeout=10)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def restart(daemon: daemons.Daemon) -> daemons.Daemon:
    """Start ``daemon`` again with its command, config, port and log."""
    daemon.stop()
    return daemons.start(daemon.name, list(daemon.process.args), daemon.config,
                         daemon.port, daemon.log)


def workers_replaced(daemon: daemons.Daemon, killed: list[int]) -> bool:
    """True once ``daemon``'s master runs workers again, none of them ``killed``."""
    now = children(daemon.process.pid)
    return bool(now) and not set(now) & set(killed)


def healthy(pair: Glance) -> bool:
    """Both daemons run and answer their health checks."""
    for daemon in (pair.registry, pair.api):
        if daemon.process.poll() is not None:
            return False
        try:
            if requests.get(daemon.url + "/healthcheck", timeout=5).status_code != 200:
                return False
        except requests.RequestException:
            return False
    return True


# --- a private PostgreSQL ----------------------------------------------------

class PrivatePostgres:
    """A PostgreSQL server of our own on a free port, which a case may restart.

    The machine's shared server (127.0.0.1:5432) serves every other test,
    so it is never restarted; this one runs initdb into a temporary
    directory, as ``postgres`` when we are root (the server refuses to run
    as root).
    """

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not bins:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bindir = Path(bins[-1]).parent
        # Not under pytest's tmp_path: its 0700 root-owned parents would keep
        # the postgres user out.
        self.base = Path(tempfile.mkdtemp(prefix="glance-private-pg-"))
        self.data = self.base / "data"
        self.port = daemons.free_port()
        try:
            if os.geteuid() == 0:
                shutil.chown(self.base, "postgres", "postgres")
            self._as_postgres("initdb", "-D", str(self.data), "-A", "trust",
                              "-U", "postgres", "--no-sync", "-E", "UTF8")
            self.start()
        except BaseException:
            self.close()
            raise

    def _as_postgres(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError("%s failed: %s%s" % (tool, result.stdout, result.stderr))
        return result

    def start(self) -> None:
        """Start the server and wait until it takes connections."""
        options = ("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off "
                   "-c full_page_writes=off" % (self.port, self.base))
        self._as_postgres("pg_ctl", "-D", str(self.data), "-l", str(self.base / "log"),
                          "-w", "-t", "60", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: end every session at once)."""
        self._as_postgres("pg_ctl", "-D", str(self.data), "-w", "-t", "60",
                          "-m", mode, "stop")

    def create_database(self) -> str:
        """A new empty database; its ``[database] connection`` URL."""
        import psycopg2

        name = "glance_%s" % uuid.uuid4().hex[:8]
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                dbname="postgres", connect_timeout=5)
        try:
            conn.autocommit = True
            conn.cursor().execute('CREATE DATABASE "%s"' % name)
        finally:
            conn.close()
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, name)

    def close(self) -> None:
        """Stop the server (if running) and remove its files."""
        with contextlib.suppress(RuntimeError):
            self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


# --- clients -----------------------------------------------------------------

def create(pair: Glance, api: str) -> str:
    """A new queued image (the v1 or v2 way); its id."""
    if api == "v1":
        resp = requests.post(pair.url + "/v1/images", headers=V1_RAW, timeout=TIMEOUT)
        assert resp.status_code == 201, resp.text
        return resp.json()["image"]["id"]
    resp = requests.post(pair.url + "/v2/images", json=RAW, timeout=TIMEOUT)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def upload(pair: Glance, api: str, data: bytes, tally: "Tally",
           headers: dict | None = None) -> tuple[str | None, int]:
    """Upload ``data`` as a new image; (its id or None, the status answered)."""
    headers = dict(headers or {})
    if api == "v1":
        resp = tally.call("POST", pair.url + "/v1/images", data=data, headers={
            **headers, **V1_RAW, "Content-Type": "application/octet-stream"})
        image_id = resp.json()["image"]["id"] if resp.status_code == 201 else None
        return image_id, resp.status_code
    resp = tally.call("POST", pair.url + "/v2/images", json=RAW, headers=headers)
    if resp.status_code != 201:
        return None, resp.status_code
    image_id = resp.json()["id"]
    resp = tally.call("PUT", pair.url + "/v2/images/%s/file" % image_id, data=data,
                      headers={**headers, "Content-Type": "application/octet-stream"})
    return image_id, resp.status_code


def delete(pair: Glance, api: str, image_id: str, tally: "Tally",
           headers: dict | None = None) -> int:
    """Delete an image the v1 or v2 way; the status answered."""
    path = ("/v1/images/" if api == "v1" else "/v2/images/") + image_id
    return tally.call("DELETE", pair.url + path, headers=headers).status_code


def deleted(status: int, api: str) -> bool:
    """Whether ``status`` is the answer of a delete that succeeded."""
    return status == (200 if api == "v1" else 204)


def listing(pair: Glance, api: str, tally: "Tally", headers: dict | None = None,
            **params) -> requests.Response:
    """One page of the v1 (detailed) or v2 image list."""
    path = "/v1/images/detail" if api == "v1" else "/v2/images"
    return tally.call("GET", pair.url + path, params=params, headers=headers)


def uploaded(status: int, api: str) -> bool:
    """Whether ``status`` is the answer of an upload that succeeded."""
    return status == (201 if api == "v1" else 204)


class RawUpload:
    """An upload sent by hand in chunks, so a case decides when the body stops.

    v1 posts a new image with its data; v2 puts the data of ``image_id``
    (which must be queued already).
    """

    def __init__(self, url: str, api: str, image_id: str):
        self.image_id = image_id
        host, port = url.split("//")[1].split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
        if api == "v1":
            head = ("POST /v1/images HTTP/1.1\r\nx-image-meta-id: %s\r\n"
                    "x-image-meta-disk_format: raw\r\n"
                    "x-image-meta-container_format: bare\r\n" % image_id)
        else:
            head = "PUT /v2/images/%s/file HTTP/1.1\r\n" % image_id
        self.sock.sendall((head + "Host: %s\r\nTransfer-Encoding: chunked\r\n"
                           "Content-Type: application/octet-stream\r\n\r\n" % host).encode())

    def send(self, data: bytes) -> bool:
        """Send one chunk; False if the server is gone."""
        try:
            self.sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
        except OSError:
            return False
        return True

    def finish(self) -> int | None:
        """End the body and read the answer's status; None if the connection died."""
        try:
            self.sock.sendall(b"0\r\n\r\n")
            line = self.sock.makefile("rb").readline()
        except OSError:
            return None
        finally:
            self.sock.close()
        parts = line.split()
        return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None

    def close(self) -> None:
        """Drop the connection (a client gone away), if still open."""
        self.sock.close()


@dataclasses.dataclass(frozen=True)
class Answer:
    """One request of a case: what it was, when, and what came back."""

    what: str
    started: float
    ended: float
    status: int | None  # None: no answer (connection refused or reset)


class Tally:
    """Every answer a case got, and the windows in which a dependency was down."""

    def __init__(self):
        self.answers: list[Answer] = []
        self.outages: list[list[float]] = []
        self._lock = threading.Lock()

    def down(self) -> None:
        """A dependency is about to go away."""
        self.outages.append([time.monotonic(), float("inf")])

    def up(self) -> None:
        """The dependency is back and the service healthy again."""
        self.outages[-1][1] = time.monotonic()

    def call(self, method: str, url: str, **kwargs) -> requests.Response:
        """Send a request and note the answer; a request that hangs fails the case."""
        started = time.monotonic()
        try:
            resp = requests.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.Timeout:
            self.note(method + " " + url, started, None)
            raise AssertionError("%s %s hung for %ss" % (method, url, TIMEOUT)) from None
        self.note(method + " " + url, started, resp.status_code)
        return resp

    def note(self, what: str, started: float, status: int | None) -> None:
        """Record an answer obtained some other way (a raw upload)."""
        with self._lock:
            self.answers.append(Answer(what, started, time.monotonic(), status))

    def _during_outage(self, answer: Answer) -> bool:
        return any(answer.started <= end and answer.ended >= begin
                   for begin, end in self.outages)

    @property
    def errors_5xx(self) -> int:
        return sum(1 for a in self.answers if a.status and a.status >= 500)

    @property
    def unexplained(self) -> list[Answer]:
        """5xx answers that are not a 503 while a dependency was down."""
        return [a for a in self.answers if a.status and a.status >= 500
                and not (a.status == 503 and self._during_outage(a))]


# --- what a fault left behind ------------------------------------------------

def status_of(pair: Glance, image_id: str) -> str | None:
    """The image's status as the registry holds it (killed ones included);
    None while the registry does not know it yet."""
    try:
        return pair.registry_get(image_id)["status"]
    except requests.HTTPError as exc:
        if exc.response.status_code == 404:
            return None
        raise


def store_files(pair: Glance, image_ids) -> list[os.DirEntry]:
    """The files in the pair's file store (whole or partial) of ``image_ids``."""
    return [entry for entry in os.scandir(pair.images_dir)
            if any(image_id in entry.name for image_id in image_ids)]


def file_bytes(pair: Glance, image_ids) -> int:
    """Bytes in the pair's file store (whole or partial) belonging to ``image_ids``."""
    total = 0
    for entry in store_files(pair, image_ids):
        with contextlib.suppress(FileNotFoundError):
            total += entry.stat().st_size
    return total


def orphans(pair: Glance) -> int:
    """How many orphans ``glance-scrubber --orphans`` reports in the pair's stores."""
    result = subprocess.run([sys.executable, "-m", "glance_api.scrubber.cmd",
                             "--config-file", str(pair.api.config), "--orphans"],
                            capture_output=True, text=True, timeout=120,
                            cwd=str(daemons.REPO_ROOT))
    assert result.returncode == 0, result.stderr
    return sum(1 for line in result.stdout.splitlines() if line.startswith("orphan "))


def settled(pair: Glance, image_id: str, expected: str) -> bool:
    """Wait until the image has left saving for ``expected`` (the sweep's work)."""
    return poll_until(lambda: status_of(pair, image_id) == expected, timeout=RECOVERY)


def failure_status(api: str) -> str:
    """Where an abandoned upload ends: killed for v1, queued again for v2."""
    return "killed" if api == "v1" else "queued"


def in_flight(pair: Glance) -> list[str]:
    """Images the registry holds in saving, uploading or importing."""
    stuck = []
    for status in ("saving", "uploading", "importing"):
        resp = requests.get(pair.registry.url + "/images/detail", timeout=TIMEOUT,
                            headers=pair.registry_headers(),
                            params={"status": status, "is_public": "None"})
        resp.raise_for_status()
        stuck += [image["id"] for image in resp.json()["images"]]
    return stuck


def reads_back(pair: Glance, images: dict[str, bytes],
               headers: dict | None = None) -> list[str]:
    """The ids among ``images`` whose download is not exactly their data."""
    wrong = []
    for image_id, data in images.items():
        resp = requests.get(pair.url + "/v2/images/%s/file" % image_id, timeout=TIMEOUT,
                            headers=headers)
        if resp.status_code != 200 or resp.content != data:
            wrong.append(image_id)
    return wrong
