"""What one user of the image service does, for locust (run by bench/load.py).

Each user keeps a few images of its own: it lists every image (v1 and v2),
reads its own images back (HEAD v1, GET v2, downloads through both APIs),
and makes new ones (create, then upload 64 KiB-1 MiB of data) while deleting
its oldest, so the image count stays flat however long the run (a soak's
lists cost the same in its tenth minute as in its first). Reads touch
only the user's own images: another user's delete would turn them into a 404
that says nothing about the service.

Every answer is checked, not just its status: a download must give back the
bytes uploaded (MD5), a show the image asked for, a list a list. Whatever
fails is a locust failure, and bench/load.py counts them.

Runs only inside locust (gevent): nothing in the test suite imports it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
from dataclasses import dataclass

from locust import FastHttpUser
from locust import between
from locust import events
from locust import task
from locust.stats import PERCENTILES_TO_REPORT
from locust.stats import StatsCSV

KIB = 1024
SMALLEST, LARGEST = 64 * KIB, 1024 * KIB
# One random buffer for every body: bodies are slices of it, so the client
# spends no CPU making data on a machine it shares with the service.
DATA = os.urandom(LARGEST)
# Images a user keeps: the two it starts with, so its first create of a run
# is already followed by a delete (a short run makes every request type), and
# the image count (and so every list's cost) stays the same all run.
OWN_IMAGES = 2
PAGE = 20
# Seconds a user waits between two tasks, as a person or a script would. 64
# users still ask more than two cores can serve (the excess shows as queueing
# in p95/p99), and 8 ask for about a fifth of it: a moderate load for a soak.
THINK = (0.05, 0.25)


@events.init.add_listener
def _on_init(environment, **_kw):
    environment.events.quit.add_listener(lambda **_: _write_final_csv(environment))


def _write_final_csv(environment) -> None:
    """Locust's CSV files once more, after the last user stopped.

    ``--csv`` rewrites its files once a second while the run goes on; what the
    users did in the last second and while finishing their tasks would be
    missing from them, and so might a failure. These ``<prefix>_final_*.csv``
    files hold everything.
    """
    prefix = environment.parsed_options.csv_prefix
    if not prefix:
        return
    writer = StatsCSV(environment, PERCENTILES_TO_REPORT)
    for suffix, write in (("stats", writer.requests_csv), ("failures", writer.failures_csv),
                          ("exceptions", writer.exceptions_csv)):
        with open("%s_final_%s.csv" % (prefix, suffix), "w", newline="") as f:
            write(csv.writer(f))


@dataclass(frozen=True)
class Owned:
    """An image this user uploaded, and what its data must read back as."""

    id: str
    size: int
    md5: str


def _body() -> tuple[bytes, str]:
    size = random.randint(SMALLEST, LARGEST)
    start = random.randint(0, LARGEST - size)
    data = DATA[start:start + size]
    return data, hashlib.md5(data).hexdigest()


class ImageUser(FastHttpUser):
    """A user of both APIs, with its own few images."""

    wait_time = between(*THINK)

    def on_start(self):
        self.owned: list[Owned] = []
        for api in ("v1", "v2"):
            self._new_image(api)

    # -- reads ------------------------------------------------------------

    @task(3)
    def list_v1(self):
        with self.client.get("/v1/images/detail?limit=%d" % PAGE, name="v1 list",
                             catch_response=True) as resp:
            if resp.status_code == 200 and "images" not in resp.json():
                resp.failure("v1 list without 'images'")

    @task(3)
    def list_v2(self):
        with self.client.get("/v2/images?limit=%d" % PAGE, name="v2 list",
                             catch_response=True) as resp:
            if resp.status_code == 200 and "images" not in resp.json():
                resp.failure("v2 list without 'images'")

    @task(4)
    def show_v1(self):
        image = random.choice(self.owned)
        with self.client.head("/v1/images/" + image.id, name="v1 show (HEAD)",
                              catch_response=True) as resp:
            if resp.status_code == 200 and (
                    resp.headers.get("x-image-meta-id") != image.id
                    or resp.headers.get("x-image-meta-status") != "active"):
                resp.failure("HEAD %s: id %s, status %s" % (
                    image.id, resp.headers.get("x-image-meta-id"),
                    resp.headers.get("x-image-meta-status")))

    @task(4)
    def show_v2(self):
        image = random.choice(self.owned)
        with self.client.get("/v2/images/" + image.id, name="v2 show",
                             catch_response=True) as resp:
            if resp.status_code == 200:
                doc = resp.json()
                if (doc.get("id"), doc.get("status"), doc.get("size")) != (
                        image.id, "active", image.size):
                    resp.failure("GET %s: %s %s %s" % (
                        image.id, doc.get("id"), doc.get("status"), doc.get("size")))

    @task(2)
    def download_v1(self):
        self._download("/v1/images/%s", "v1 download")

    @task(2)
    def download_v2(self):
        self._download("/v2/images/%s/file", "v2 download")

    def _download(self, path: str, name: str) -> None:
        image = random.choice(self.owned)
        with self.client.get(path % image.id, name=name, catch_response=True) as resp:
            if resp.status_code == 200 and hashlib.md5(resp.content).hexdigest() != image.md5:
                resp.failure("%s: %d bytes, not the %d uploaded" % (
                    image.id, len(resp.content), image.size))

    # -- writes -----------------------------------------------------------

    @task(1)
    def cycle_v1(self):
        self._new_image("v1")
        self._delete("v1")

    @task(1)
    def cycle_v2(self):
        self._new_image("v2")
        self._delete("v2")

    def _new_image(self, api: str) -> None:
        """Create a queued image, then upload its data, through ``api``."""
        image_id = self._create_v1() if api == "v1" else self._create_v2()
        if image_id is None:
            return
        data, md5 = _body()
        if api == "v1":
            path, name, expected = "/v1/images/" + image_id, "v1 upload", 200
        else:
            path, name, expected = "/v2/images/%s/file" % image_id, "v2 upload", 204
        with self.client.request("PUT", path, name=name, data=data, catch_response=True,
                                 headers={"Content-Type": "application/octet-stream"}) as resp:
            if resp.status_code != expected:
                resp.failure("%d, expected %d" % (resp.status_code, expected))
                return
            if api == "v1" and resp.json()["image"].get("checksum") != md5:
                resp.failure("checksum %s, sent %s" % (resp.json()["image"].get("checksum"),
                                                       md5))
                return
        self.owned.append(Owned(image_id, len(data), md5))

    def _create_v1(self) -> str | None:
        with self.client.post("/v1/images", name="v1 create", catch_response=True, headers={
                "x-image-meta-name": "load-v1", "x-image-meta-disk_format": "raw",
                "x-image-meta-container_format": "bare"}) as resp:
            if resp.status_code != 201:
                resp.failure("%d, expected 201" % resp.status_code)
                return None
            return resp.json()["image"]["id"]

    def _create_v2(self) -> str | None:
        document = {"name": "load-v2", "disk_format": "raw", "container_format": "bare"}
        with self.client.post("/v2/images", name="v2 create", catch_response=True,
                              data=json.dumps(document),
                              headers={"Content-Type": "application/json"}) as resp:
            if resp.status_code != 201:
                resp.failure("%d, expected 201" % resp.status_code)
                return None
            return resp.json()["id"]

    def _delete(self, api: str) -> None:
        """Delete this user's oldest image once it holds more than its share."""
        if len(self.owned) <= OWN_IMAGES:
            return
        image = self.owned.pop(0)
        path = "/v1/images/" if api == "v1" else "/v2/images/"
        expected = 200 if api == "v1" else 204
        with self.client.delete(path + image.id, name="%s delete" % api,
                                catch_response=True) as resp:
            if resp.status_code != expected:
                resp.failure("%d, expected %d" % (resp.status_code, expected))
