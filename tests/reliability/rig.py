"""A registry + api pair on one database and one store, and what a fault case
checks once the fault is over: the image's status, the bytes of it any store
still holds, what the recovery tool calls orphaned, the 5xx answers the api
logged, and whether the service still takes and returns an image whole.

A file rig's data directory is a tmpfs of its own, so a case can fill it
(``remounted("size=1m")``) or turn it read-only (``read_only()`` remounts it
``ro``: chmod would not stop root, the remount does). A Swift rig writes into
a container of its own on the session's cluster, segmenting anything over
1 MiB, so the cases leave segments behind if anything does. Its api signs in
as a Swift user without the admin role, whom the container's ACLs let read
and write; ``read_only()`` takes the write ACL away, as an operator freezing
the container would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Iterator

import requests

from tests import daemons
from tests.pairs import Glance
from tests.required import unavailable
from tests.waiting import poll_until

MIB = 1024 * 1024
SIZE_CAP = 4 * MIB
QUOTA = 2 * MIB
QUOTA_PROJECT = "fault-quota"
"""The project whose images the storage quota applies to (noauth has none of its own)."""
SWIFT_USER, SWIFT_KEY = "test:tester3", "testing3"  # the cluster's non-admin user
TMPFS_SIZE = "16m"
SETTLE_TIMEOUT = 30.0
IN_FLIGHT = ("saving", "uploading", "importing")
"""Statuses an image must not be left in once the api has recovered."""
TIMEOUT = 60
_ACCESS = re.compile(r"glance\.access .* (?P<method>[A-Z]+) (?P<path>\S+) (?P<code>\d{3}) ")


@dataclasses.dataclass(frozen=True)
class OrphanScan:
    """What ``glance-scrubber --orphans`` printed."""

    orphans: list[str]
    unchecked: list[str]


@dataclasses.dataclass(frozen=True)
class Accepted:
    """An upload the api answered 201/204, and whether it reads back as sent."""

    image_id: str
    identical: bool


class Rig:
    """A pair on ``database`` with ``store`` as its default store."""

    def __init__(self, glance: Glance, database: str, store: str, *,
                 datadir: Path, swift=None, container: str | None = None):
        self.glance = glance
        self.database = database
        self.store = store
        self.datadir = datadir
        self.swift = swift
        self.container = container
        self.url = glance.url

    # --- the image ------------------------------------------------------

    def status(self, image_id: str) -> str | None:
        """The image's status as the api shows it; None when it does not exist."""
        resp = requests.head(self.url + "/v1/images/" + image_id, timeout=TIMEOUT)
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        return resp.headers.get("x-image-meta-status")

    def settle(self, image_id: str, timeout: float = SETTLE_TIMEOUT) -> str | None:
        """The image's status once it exists and has left saving/uploading/
        importing, or the status it is stuck in after ``timeout`` seconds."""
        poll_until(lambda: self.status(image_id) not in (None, *IN_FLIGHT), timeout=timeout)
        return self.status(image_id)

    def create_v2(self, **fields) -> str:
        """A queued v2 image (raw, bare); returns its id."""
        body = {"disk_format": "raw", "container_format": "bare", "name": "fault", **fields}
        resp = requests.post(self.url + "/v2/images", json=body, timeout=TIMEOUT)
        resp.raise_for_status()
        return resp.json()["id"]

    # --- the stores -----------------------------------------------------

    def bytes_left(self, image_id: str) -> int:
        """Bytes of ``image_id`` in the rig's store: files (hidden partial ones
        too) in the data directory, or the Swift objects and segments."""
        if self.store == "swift":
            _, objects = self.swift.connection().get_container(
                self.container, prefix=image_id, full_listing=True)
            return sum(entry["bytes"] for entry in objects)
        return sum(entry.stat().st_size for entry in os.scandir(self.datadir)
                   if image_id in entry.name)

    def files_left(self) -> list[str]:
        """Every name in the rig's store: files, partial ones too, or objects and segments."""
        if self.store == "swift":
            return self.swift.list_container(self.container)
        return sorted(os.listdir(self.datadir))

    def orphans(self, delete: bool = False) -> OrphanScan:
        """Run the recovery tool, as an operator would, on the api's own config
        (with ``delete``, removing what it lists)."""
        proc = subprocess.run(
            [sys.executable, "-m", "glance_api.scrubber.cmd", "--orphans",
             *(["--delete"] if delete else []),
             "--config-file", str(self.glance.api.config)],
            capture_output=True, text=True, timeout=TIMEOUT, cwd=str(daemons.REPO_ROOT))
        if proc.returncode != 0:
            raise RuntimeError("glance-scrubber --orphans failed (%d):\n%s"
                               % (proc.returncode, proc.stderr[-2000:]))
        lines = proc.stdout.splitlines()
        return OrphanScan([line for line in lines if line.startswith("orphan ")],
                          [line.split()[2].rstrip(":") for line in lines
                           if line.startswith("unchecked store ")])

    @contextlib.contextmanager
    def remounted(self, options: str) -> Iterator[None]:
        """The file store's tmpfs remounted with ``options`` for the block's time."""
        assert self.store == "file", "only the file store sits on a tmpfs"
        subprocess.run(["mount", "-o", "remount," + options, str(self.datadir)], check=True)
        try:
            yield
        finally:
            subprocess.run(["mount", "-o", "remount,rw,size=" + TMPFS_SIZE,
                            str(self.datadir)], check=True)

    @contextlib.contextmanager
    def read_only(self) -> Iterator[None]:
        """The store refuses the api's writes (and still serves its reads)."""
        if self.store == "file":
            with self.remounted("ro"):
                yield
            return
        admin = self.swift.connection()
        admin.post_container(self.container, headers={"X-Container-Write": ""})
        try:
            yield
        finally:
            admin.post_container(self.container, headers={"X-Container-Write": SWIFT_USER})

    # --- the api's own account ------------------------------------------

    def log_mark(self) -> int:
        """Where the api's log ends now."""
        return len(self.glance.api.log_text())

    def server_errors_since(self, mark: int) -> list[str]:
        """Access-log lines with a 5xx status written after ``mark``: answers the
        api gave, even to a client that was gone before it could read them."""
        return [line.strip() for line in self.glance.api.log_text()[mark:].splitlines()
                if (m := _ACCESS.search(line)) and m["code"].startswith("5")]

    def healthy(self, api: str) -> tuple[bool, Accepted | None]:
        """/healthcheck answers 200 and a fresh small upload through ``api``
        reads back byte-identical (then it is deleted again)."""
        if requests.get(self.url + "/healthcheck", timeout=TIMEOUT).status_code != 200:
            return False, None
        data = os.urandom(64 * 1024)
        image_id = upload_whole(self, api, data)
        if image_id is None:
            return False, None
        accepted = self.read_back(api, image_id, data)
        requests.delete(self.url + "/v1/images/" + image_id, timeout=TIMEOUT)
        return accepted.identical, accepted

    def read_back(self, api: str, image_id: str, data: bytes) -> Accepted:
        """Download an accepted image through ``api`` and compare it with what was sent."""
        path = "/v1/images/%s" if api == "v1" else "/v2/images/%s/file"
        got = requests.get(self.url + path % image_id, timeout=TIMEOUT)
        return Accepted(image_id, got.status_code == 200 and got.content == data)

    def stop(self) -> None:
        """Stop the pair."""
        self.glance.stop()


def upload_whole(rig: Rig, api: str, data: bytes, owner: str | None = None) -> str | None:
    """Upload ``data`` as a new raw image (of project ``owner``) through ``api``;
    its id, or None if refused."""
    headers = {"Content-Type": "application/octet-stream"}
    if api == "v1":
        meta = {"x-image-meta-name": "probe", "x-image-meta-disk_format": "raw",
                "x-image-meta-container_format": "bare"}
        if owner:
            meta["x-image-meta-owner"] = owner
        resp = requests.post(rig.url + "/v1/images", data=data, timeout=TIMEOUT,
                             headers={**headers, **meta})
        return resp.json()["image"]["id"] if resp.status_code == 201 else None
    image_id = rig.create_v2(name="probe", **({"owner": owner} if owner else {}))
    resp = requests.put(rig.url + "/v2/images/%s/file" % image_id, data=data,
                        headers=headers, timeout=TIMEOUT)
    return image_id if resp.status_code == 204 else None


def start(base: Path, db_url: str, database: str, store: str, swift=None) -> Rig:
    """Start the pair of one database x store combination (stop it with ``Rig.stop``)."""
    options = {"image_size_cap": SIZE_CAP, "user_storage_quota": QUOTA}
    if store == "swift":
        container = "faults-%s-%s" % (database, uuid.uuid4().hex[:8])
        swift.connection().put_container(container, headers={
            "X-Container-Read": SWIFT_USER, "X-Container-Write": SWIFT_USER})
        datadir = base / "unused"
        datadir.mkdir()
        glance = Glance(base, db_url, sections={"glance_store": {
            "stores": "file,http,swift", "default_store": "swift",
            "filesystem_store_datadir": str(datadir),
            "swift_store_auth_address": swift.auth_url, "swift_store_auth_version": "1",
            "swift_store_user": SWIFT_USER, "swift_store_key": SWIFT_KEY,
            "swift_store_container": container,
            "swift_store_create_container_on_put": "true",
            # 1 MiB segments: a fault in mid-image leaves segments if anything does.
            "swift_store_large_object_size": "1",
            "swift_store_large_object_chunk_size": "1"}}, **options)
        return Rig(glance, database, store, datadir=datadir, swift=swift, container=container)
    datadir = base / "images"
    datadir.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + TMPFS_SIZE, "tmpfs",
                              str(datadir)], capture_output=True, text=True)
    if mounted.returncode != 0:
        unavailable("cannot mount a tmpfs for the file store (needs root): "
                    + mounted.stderr.strip())
    try:
        glance = Glance(base, db_url, **options)
    except BaseException:
        subprocess.run(["umount", str(datadir)], check=False)
        raise
    return _FileRig(glance, database, store, datadir=datadir)


class _FileRig(Rig):
    """A file rig also unmounts its tmpfs when it stops."""

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            subprocess.run(["umount", str(self.datadir)], check=False)
