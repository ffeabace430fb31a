"""Multi-store end to end: a real registry + api pair behind a real Keystone,
configured with two file stores and the real Swift as a third
(``enabled_backends = fast:file, cheap:file, far:swift``), on each database.

Covers the stores discovery (member and admin), uploads to a chosen store
(X-Image-Meta-Store), the ``stores`` property, downloads from each store
and from the heaviest copy first, removing one store's copy, and the real
glanceclient 4.13 ``stores-info``, ``image-create --store`` and
``stores-delete``. Client runs cost a second or two each, so they run on
SQLite only; the REST checks run on both databases.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.parse
import uuid

import pytest
import requests

from tests.clients import Cloud
from tests.clients import rows
from tests.clients import run
from tests.clients import table
from tests.pairs import Glance
from tests.pairs import database

OCTET = {"Content-Type": "application/octet-stream"}
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
ADMIN, ALICE, BOB, SERVICE = "admin", "alice", "bob", "glance"


class Site:
    """A multi-store pair, where its file stores keep their data, and who may call it."""

    def __init__(self, keystone, base, db_url, swift_cluster, container):
        self.keystone = keystone
        self.dirs = {name: base / name for name in ("fast", "cheap", "staging", "tasks")}
        self.container = container
        self.swift = swift_cluster
        self.glance = Glance(
            base, db_url, keystone=keystone.authtoken_section(),
            service_token=lambda: keystone.token("glance"),
            enabled_backends="fast:file, cheap:file, far:swift",
            sections={
                "glance_store": {"default_backend": "fast"},
                "fast": {"filesystem_store_datadir": self.dirs["fast"],
                         "store_description": "Fast local disks"},
                # Heavier: downloads read its copy first.
                "cheap": {"filesystem_store_datadir": self.dirs["cheap"], "weight": 50},
                "far": {"swift_store_auth_address": swift_cluster.auth_url,
                        "swift_store_auth_version": "1",
                        "swift_store_user": swift_cluster.user,
                        "swift_store_key": swift_cluster.key,
                        "swift_store_container": container,
                        "swift_store_create_container_on_put": "true",
                        "store_description": "Swift"},
                "os_glance_staging_store": {"filesystem_store_datadir": self.dirs["staging"]},
                "os_glance_tasks_store": {"filesystem_store_datadir": self.dirs["tasks"]},
            })
        self.url = self.glance.url
        self._tokens: dict[str, str] = {}

    def headers(self, user: str, **extra) -> dict:
        if user not in self._tokens:
            self._tokens[user] = self.keystone.token(user)
        return {"X-Auth-Token": self._tokens[user], "Accept": "application/json", **extra}

    def call(self, user: str, method: str, path: str, headers=None, **kw):
        return requests.request(method, self.url + path,
                                headers=self.headers(user, **(headers or {})), timeout=60,
                                **kw)

    def create(self, user: str = ALICE, **fields) -> dict:
        fields.setdefault("disk_format", "raw")
        fields.setdefault("container_format", "bare")
        resp = self.call(user, "POST", "/v2/images", json=fields)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def upload(self, image_id: str, data: bytes, store: str | None = None, user: str = ALICE):
        headers = dict(OCTET, **({"X-Image-Meta-Store": store} if store else {}))
        return self.call(user, "PUT", "/v2/images/%s/file" % image_id, data=data,
                         headers=headers)

    def show(self, image_id: str, user: str = ALICE) -> dict:
        resp = self.call(user, "GET", "/v2/images/" + image_id)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def stop(self) -> None:
        self.glance.stop()


@pytest.fixture(scope="module")
def sites(request, tmp_path_factory, real_keystone, swift_cluster):
    """One site per database, started on first use in this module."""
    started: dict[str, Site] = {}

    def site(kind: str) -> Site:
        if kind not in started:
            url = database(request, tmp_path_factory, kind)
            started[kind] = Site(real_keystone, tmp_path_factory.mktemp("stores-" + kind),
                                 url, swift_cluster, "multistore-%s-%s" % (
                                     kind, uuid.uuid4().hex[:8]))
        return started[kind]

    yield site
    for each in started.values():
        each.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request, sites) -> Site:
    return sites(request.param)


def test_members_see_the_stores_and_only_admins_and_services_their_details(site):
    listed = site.call(ALICE, "GET", "/v2/info/stores")
    assert listed.status_code == 200
    assert listed.json() == {"stores": [
        {"id": "fast", "description": "Fast local disks", "default": "true"},
        {"id": "cheap"},
        {"id": "far", "description": "Swift"}]}

    refused = site.call(ALICE, "GET", "/v2/info/stores/detail")
    assert refused.status_code == 403
    for user in (ADMIN, SERVICE):
        detail = site.call(user, "GET", "/v2/info/stores/detail")
        assert detail.status_code == 200, detail.text
        by_id = {s["id"]: s for s in detail.json()["stores"]}
        assert [(s["type"], s["weight"]) for s in by_id.values()] == [
            ("file", 0), ("file", 50), ("swift", 0)]
        assert by_id["cheap"]["properties"]["data_dir"] == str(site.dirs["cheap"])
        assert by_id["far"]["properties"]["container"] == site.container
        assert "testing" not in detail.text  # the Swift key stays secret


def test_the_versions_document_offers_the_multistore_versions(site):
    listed = {v["id"] for v in requests.get(site.url + "/versions").json()["versions"]}
    assert {"v2.8", "v2.10", "v2.11"} <= listed


@pytest.mark.parametrize("store", ["fast", "cheap", "far", None])
def test_an_upload_lands_in_the_chosen_store_and_downloads_from_it(site, store):
    data = os.urandom(256 * 1024 + 3)
    image = site.create(name="to-%s" % store)

    assert site.upload(image["id"], data, store=store).status_code == 204

    landed = store or "fast"
    shown = site.show(image["id"])
    assert (shown["status"], shown["stores"]) == ("active", landed)
    location = site.glance.registry_get(image["id"])["locations"][0]
    assert location["metadata"] == {"store": landed}
    if landed == "far":
        assert image["id"] in site.swift.list_container(site.container)
    else:
        assert (site.dirs[landed] / image["id"]).read_bytes() == data
    got = site.call(ALICE, "GET", "/v2/images/%s/file" % image["id"])
    assert got.status_code == 200 and got.content == data
    assert got.headers["Content-MD5"] == hashlib.md5(data).hexdigest()


def test_an_upload_to_a_store_that_does_not_exist_is_refused(site):
    image = site.create()

    resp = site.upload(image["id"], b"data", store="nosuch")

    assert resp.status_code == 400
    assert "Store for identifier nosuch not found" in resp.json()["message"]
    assert site.show(image["id"])["status"] == "queued"


def _second_copy(site, image_id: str, store: str, data: bytes) -> None:
    """Record a copy of the image in a file store, as copy-image would leave it."""
    path = site.dirs[store] / image_id
    path.write_bytes(data)
    record = site.glance.registry_get(image_id)
    locations = [{"url": loc["url"], "metadata": loc["metadata"]}
                 for loc in record["locations"]]
    locations.append({"url": "file://" + urllib.parse.quote(str(path)),
                      "metadata": {"store": store}})
    site.glance.registry_update(image_id, {"locations": locations})


def test_downloads_read_the_heaviest_copy_and_fall_back_to_the_next(site):
    data = os.urandom(64 * 1024)
    image = site.create()
    assert site.upload(image["id"], data, store="fast").status_code == 204
    # cheap (weight 50) outranks fast (0); its copy differs, to be told apart.
    other = bytes(reversed(data))
    _second_copy(site, image["id"], "cheap", other)
    assert site.show(image["id"])["stores"] == "fast,cheap"

    first = site.call(ALICE, "GET", "/v2/images/%s/file" % image["id"])
    assert first.content == other
    (site.dirs["cheap"] / image["id"]).unlink()
    fallback = site.call(ALICE, "GET", "/v2/images/%s/file" % image["id"])
    assert fallback.status_code == 200 and fallback.content == data


def test_an_admin_removes_one_copy_and_never_the_last(site):
    data = os.urandom(32 * 1024)
    image = site.create()
    path = "/v2/stores/%s/" + image["id"]
    assert site.upload(image["id"], data, store="fast").status_code == 204

    only = site.call(ADMIN, "DELETE", path % "fast")
    assert only.status_code == 403
    assert "only store containing it" in only.json()["message"]

    _second_copy(site, image["id"], "cheap", data)
    assert site.call(ALICE, "DELETE", path % "fast").status_code == 403
    assert site.call(ADMIN, "DELETE", path % "nosuch").status_code == 409
    assert site.call(ADMIN, "DELETE", path % "far").status_code == 404
    assert (site.dirs["fast"] / image["id"]).exists()

    assert site.call(ADMIN, "DELETE", path % "fast").status_code == 204
    assert not (site.dirs["fast"] / image["id"]).exists()
    shown = site.show(image["id"])
    assert (shown["status"], shown["stores"]) == ("active", "cheap")
    assert site.call(ALICE, "GET", "/v2/images/%s/file" % image["id"]).content == data
    assert site.call(ADMIN, "DELETE", path % "cheap").status_code == 403


def test_deleting_the_image_removes_every_copy(site):
    data = os.urandom(16 * 1024)
    image = site.create()
    assert site.upload(image["id"], data, store="far").status_code == 204
    _second_copy(site, image["id"], "cheap", data)

    assert site.call(ALICE, "DELETE", "/v2/images/" + image["id"]).status_code == 204

    assert not (site.dirs["cheap"] / image["id"]).exists()
    assert image["id"] not in site.swift.list_container(site.container)


def test_openstacksdk_removing_stores_back_is_accepted(site):
    image = site.create(name="sdk")
    assert site.upload(image["id"], b"sdk bytes").status_code == 204
    ops = [{"op": "replace", "path": "/name", "value": "sdk-2"},
           {"op": "remove", "path": "/stores"}]

    resp = site.call(ALICE, "PATCH", "/v2/images/" + image["id"], headers=PATCH,
                     data=json.dumps(ops))

    assert resp.status_code == 200, resp.text
    assert (resp.json()["name"], resp.json()["stores"]) == ("sdk-2", "fast")


# --- the real glanceclient 4.13 (SQLite only: see the module docstring) ------

@pytest.fixture(scope="module")
def cli(sites, glance_v2_cli, tmp_path_factory):
    site = sites("sqlite")
    cloud = Cloud(site.keystone, site.glance, tmp_path_factory.mktemp("stores-home"))

    def glance(user, *args, check=True):
        return run(glance_v2_cli, cloud, user, "--os-image-url", site.url, *args,
                   check=check)

    return site, glance


def test_glanceclient_stores_info_as_member_and_admin(cli):
    site, glance = cli
    # A wrapped cell is joined without the space it broke at: fine for JSON.
    listed = json.loads(table(glance(ALICE, "stores-info").stdout)["stores"])
    assert [s["id"] for s in listed] == ["fast", "cheap", "far"]
    assert listed[0]["default"] == "true"

    refused = glance(ALICE, "stores-info", "--detail", check=False)
    assert refused.returncode != 0 and "403" in refused.stderr + refused.stdout
    detail = json.loads(table(glance(ADMIN, "stores-info", "--detail").stdout)["stores"])
    assert [(s["id"], s["type"], s["weight"]) for s in detail] == [
        ("fast", "file", 0), ("cheap", "file", 50), ("far", "swift", 0)]


def test_glanceclient_image_create_with_store_and_stores_delete(cli, tmp_path):
    site, glance = cli
    data = os.urandom(100 * 1024 + 5)
    source = tmp_path / "disk.raw"
    source.write_bytes(data)
    created = table(glance(ALICE, "image-create", "--name", "cli-store", "--disk-format",
                           "raw", "--container-format", "bare", "--file", str(source),
                           "--store", "cheap").stdout)
    assert (created["status"], created["stores"]) == ("active", "cheap")
    assert (site.dirs["cheap"] / created["id"]).read_bytes() == data

    bad = glance(ALICE, "image-create", "--name", "x", "--disk-format", "raw",
                 "--container-format", "bare", "--file", str(source), "--store", "nosuch",
                 check=False)
    assert bad.returncode != 0 and "nosuch" in bad.stderr + bad.stdout

    _second_copy(site, created["id"], "fast", data)
    glance(ADMIN, "stores-delete", "--store", "cheap", created["id"])
    assert not (site.dirs["cheap"] / created["id"]).exists()
    assert table(glance(ALICE, "image-show", created["id"]).stdout)["stores"] == "fast"
    listed = rows(glance(ALICE, "image-list").stdout)
    assert created["id"] in {r["ID"] for r in listed}
