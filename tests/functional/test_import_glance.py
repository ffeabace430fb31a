"""Moving from Glance: a real Glance 33.0.0 (uWSGI, Keystone, two file stores
and a real Swift) holds images of every kind; it is stopped, its database
(SQLite, then PostgreSQL) is adopted with ``glance-manage db import-glance``,
and this service, started with Glance's own glance-api.conf, serves every
image in place: the same metadata field by field, the same bytes, the same
members and visibility per project. A second import changes nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from tests import daemons
from tests.glance33 import Glance33
from tests.glance33 import MariaDB
from tests.glance33 import SwiftIdentity
from tests.pairs import migrate
from tests.required import unavailable

OCTET = {"Content-Type": "application/octet-stream"}
SEGMENT = 1024000  # swift_store_large_object_chunk_size = 1, as Glance counts it
# Fields Glance computes per request or this service presents its own way.
PRESENTATION = {"self", "file", "schema", "direct_url", "locations", "stores"}
DETAILED = "OS::Compute::Hypervisor"  # a shipped namespace with properties
RBD_IMAGE = "0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e"


@dataclasses.dataclass
class Adopted:
    """Glance's images as Glance showed them, and this service serving them."""

    kind: str
    keystone: object
    glance: dict  # name -> Glance's v2 document (after every change)
    data: dict  # name -> bytes uploaded
    owners: dict  # name -> user who owns it
    api: daemons.Daemon
    registry: daemons.Daemon
    import_runs: list  # stdout of dry run, first run, second run
    glance_db: str
    manage_conf: Path
    stored_files: dict  # datadir -> file names before the import
    namespaces: list  # Glance's metadefs namespaces, as its API listed them
    namespace_detail: dict  # Glance's document of the DETAILED namespace

    def call(self, user: str, method: str, path: str, **kw) -> requests.Response:
        headers = dict(kw.pop("headers", {}), **{"X-Auth-Token": self.keystone.token(user)})
        return requests.request(method, self.api.url + path, headers=headers,
                                timeout=60, **kw)


@pytest.fixture(scope="module")
def swift_identity(swift_cluster):
    bridge = SwiftIdentity(swift_cluster)
    yield bridge
    bridge.stop()


def _glance_call(glance: Glance33, keystone, user: str, method: str, path: str, **kw):
    headers = dict(kw.pop("headers", {}), **{"X-Auth-Token": keystone.token(user)})
    resp = requests.request(method, glance.url + path, headers=headers, timeout=120, **kw)
    assert resp.status_code < 300, (method, path, resp.status_code, resp.text)
    return resp


def _populate(glance: Glance33, keystone) -> tuple[dict, dict, dict]:
    """Images of every kind through Glance's v2 API; returns docs, bytes, owners."""
    plan = {  # name: (user, body, store, size)
        "public": ("admin", {"visibility": "public"}, "fast", 70000),
        "private": ("alice", {"visibility": "private", "hw_disk_bus": "scsi",
                              "os_distro": "debian", "tags": ["golden", "lts"],
                              "min_disk": 2, "min_ram": 512}, "cheap", 50000),
        "shared": ("alice", {"visibility": "shared"}, "fast", 40000),
        "community": ("alice", {"visibility": "community"}, "far", 30000),
        "hidden": ("alice", {"os_hidden": True}, "fast", 20000),
        "protected": ("alice", {"protected": True}, "fast", 10000),
        "deactivated": ("alice", {}, "fast", 12345),
        # Glance 33 declares every segment full-sized (Content-Length of a
        # whole chunk), so a short last segment hangs until Swift's timeout:
        # three whole 1 "MB" (1024000-byte) segments.
        "segmented": ("alice", {}, "far", 3 * SEGMENT),
        "deleted": ("alice", {}, "fast", 999),
        "s3": ("alice", {}, "objects", 40000),
        "queued": ("alice", {"container_format": "ovf"}, None, 0),
    }
    docs, data, owners = {}, {}, {}
    for name, (user, body, store, size) in plan.items():
        body = {"name": "adopt-" + name, "disk_format": "raw",
                "container_format": "bare", **body}
        image = _glance_call(glance, keystone, user, "POST", "/v2/images", json=body).json()
        owners[name] = user
        data[name] = os.urandom(size)
        if store:
            _glance_call(glance, keystone, user, "PUT", "/v2/images/%s/file" % image["id"],
                         data=data[name], headers={**OCTET, "X-Image-Meta-Store": store})
        docs[name] = image
    shared = docs["shared"]["id"]
    for project in ("tenant-b", "tenant-c"):
        _glance_call(glance, keystone, "alice", "POST", "/v2/images/%s/members" % shared,
                     json={"member": keystone.ids["projects"][project]})
    _glance_call(glance, keystone, "bob", "PUT", "/v2/images/%s/members/%s" % (
        shared, keystone.ids["projects"]["tenant-b"]), json={"status": "accepted"})
    _glance_call(glance, keystone, "admin", "POST",
                 "/v2/images/%s/actions/deactivate" % docs["deactivated"]["id"])
    _glance_call(glance, keystone, "alice", "DELETE", "/v2/images/%s" % docs["deleted"]["id"])
    for name, image in docs.items():
        if name != "deleted":
            docs[name] = _glance_call(glance, keystone, "admin", "GET",
                                      "/v2/images/" + image["id"]).json()
    return docs, data, owners


def _add_ceph_image(db_url: str, owner: str) -> None:
    """An image whose bytes live in Ceph, as a Glance with an rbd store records it."""
    stamp = "2025-01-01 00:00:00"
    rows = [("INSERT INTO images (id, name, size, status, created_at, updated_at, "
             "deleted, disk_format, container_format, owner, min_disk, min_ram, "
             "protected, visibility, os_hidden) VALUES "
             "(?, 'adopt-ceph', 4096, 'active', ?, ?, ?, 'raw', 'bare', ?, 0, 0, "
             "?, 'private', ?)", (RBD_IMAGE, stamp, stamp, False, owner, False, False)),
            ("INSERT INTO image_locations (image_id, value, created_at, updated_at, "
             "deleted, meta_data, status) VALUES (?, ?, ?, ?, ?, '{\"store\": \"ceph\"}', "
             "'active')", (RBD_IMAGE, "rbd://fsid/images/%s/snap" % RBD_IMAGE, stamp,
                           stamp, False))]
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(db_url.split(":///", 1)[1])
        with conn:
            for sql, params in rows:
                conn.execute(sql, params)
        conn.close()
        return
    if db_url.startswith("mysql"):
        import pymysql

        parts = urlparse(db_url)
        conn = pymysql.connect(host=parts.hostname, port=parts.port, user=parts.username,
                               database=parts.path.lstrip("/"), autocommit=True)
    else:
        import psycopg2

        conn = psycopg2.connect(db_url.replace("+psycopg2", "", 1))
        conn.autocommit = True
    with conn.cursor() as cur:
        for sql, params in rows:
            cur.execute(sql.replace("?", "%s"), params)
    conn.close()


def _manage(conf: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "glance_registry.manage",
                           "--config-file", str(conf), "db", *args],
                          capture_output=True, text=True, timeout=300,
                          cwd=str(daemons.REPO_ROOT))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


def _swift_reference(path: Path, bridge: SwiftIdentity) -> Path:
    path.write_text("[ref1]\nauth_address = %s\nuser = test:tester\nkey = %s\n"
                    "user_domain_name = Default\nproject_domain_name = Default\n"
                    % (bridge.auth_url, bridge.cluster.key))
    return path


@pytest.fixture(scope="module")
def mariadb(tmp_path_factory):
    """Debian's mariadb-server, when installed (the MariaDB variant is optional)."""
    try:
        import pymysql  # noqa: F401
    except ImportError:
        pytest.skip("optional MariaDB variant: PyMySQL is not installed")
    server = MariaDB.start(tmp_path_factory.mktemp("mariadb"))
    if server is None:
        pytest.skip("optional MariaDB variant: mariadb-server is not installed")
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mariadb"])
def adopted(request, tmp_path_factory, real_keystone, swift_identity):
    kind = request.param
    base = tmp_path_factory.mktemp("adopt-" + kind)
    if kind == "mariadb":
        glance_db = request.getfixturevalue("mariadb").create_database("glance")
        our_db = "sqlite:///%s" % (base / "registry.sqlite")
    elif kind == "sqlite":
        glance_db = "sqlite:///%s" % (base / "glance.sqlite")
        our_db = "sqlite:///%s" % (base / "registry.sqlite")
    else:
        postgres = request.getfixturevalue("postgres")
        # As Glance's [database] connection spells it (SQLAlchemy 2.1's plain
        # postgresql:// means psycopg 3, which Glance's venv lacks).
        glance_db = postgres.create_database().replace("postgresql://",
                                                       "postgresql+psycopg2://", 1)
        our_db = postgres.create_database()
    stores = {
        "fast": {"filesystem_store_datadir": base / "fast", "store_description": "SSD",
                 "weight": 100},
        "cheap": {"filesystem_store_datadir": base / "cheap"},
        "far": {"_type": "swift", "default_swift_reference": "ref1",
                "swift_store_config_file": _swift_reference(base / "glance-swift.conf",
                                                            swift_identity),
                "swift_store_container": "glance-" + kind,
                "swift_store_create_container_on_put": True,
                "swift_store_large_object_size": 1,
                "swift_store_large_object_chunk_size": 1},
        "objects": {"_type": "s3", "s3_store_host": swift_identity.cluster.s3_endpoint,
                    "s3_store_access_key": swift_identity.cluster.user,
                    "s3_store_secret_key": swift_identity.cluster.key,
                    "s3_store_bucket": "glance-s3-" + kind,
                    "s3_store_create_bucket_on_put": True,
                    "s3_store_bucket_url_format": "path",
                    "s3_store_region_name": "us-east-1"},
    }
    try:
        glance = Glance33.configure(base / "glance", glance_db,
                                    real_keystone.authtoken_section(), stores)
        glance.start()
    except Exception as exc:  # install or start of the real Glance
        unavailable("Glance 33 could not be set up: %s" % exc)
    try:
        docs, data, owners = _populate(glance, real_keystone)
        namespaces = _glance_call(glance, real_keystone, "admin", "GET",
                                  "/v2/metadefs/namespaces?limit=200").json()["namespaces"]
        detail = _glance_call(glance, real_keystone, "admin", "GET",
                              "/v2/metadefs/namespaces/" + DETAILED).json()
    finally:
        glance.stop()
    _add_ceph_image(glance_db, real_keystone.ids["projects"]["tenant-a"])
    stored = {d: sorted(os.listdir(base / d)) for d in ("fast", "cheap")}
    stored["swift"] = sorted(swift_identity.cluster.list_container("glance-" + kind))

    migrate(our_db)
    manage_conf = daemons.write_config(base / "manage.conf", {"database": {"connection": our_db}})
    runs = [_manage(manage_conf, "import-glance", "--from", glance_db, "--dry-run"),
            _manage(manage_conf, "import-glance", "--from", glance_db)]

    registry_port = daemons.free_port()
    registry_conf = daemons.write_config(base / "glance-registry.conf", {
        "DEFAULT": {"bind_host": "127.0.0.1", "bind_port": registry_port, "workers": 1,
                    "threads": 4, "debug": True, "auth_strategy": "keystone"},
        "database": {"connection": our_db},
        "keystone_authtoken": real_keystone.authtoken_section()})
    registry = daemons.start(
        "glance-registry", [sys.executable, "-m", "glance_registry.cmd", "--config-file",
                            str(registry_conf)], registry_conf, registry_port,
        base / "glance-registry.log")
    api_port = daemons.free_port()
    # Glance's file unchanged; the second file says only where this pair listens.
    local = daemons.write_config(base / "local.conf", {"DEFAULT": {
        "bind_port": api_port, "workers": 1, "threads": 4, "registry_port": registry_port,
        "log_file": base / "glance-api.log"}})
    try:
        api = daemons.start("glance-api", [
            sys.executable, "-m", "glance_api.cmd", "--config-file", str(glance.conf_file),
            "--config-file", str(local)], local, api_port, base / "glance-api.log")
    except BaseException:
        registry.stop()
        raise
    yield Adopted(kind, real_keystone, docs, data, owners, api, registry, runs,
                  glance_db, manage_conf, stored, namespaces, detail)
    api.stop()
    registry.stop()


LIVE = ("public", "private", "shared", "community", "hidden", "protected",
        "deactivated", "segmented", "s3", "queued")


def test_every_image_reads_the_same_field_by_field(adopted):
    for name in LIVE:
        theirs = adopted.glance[name]
        resp = adopted.call("admin", "GET", "/v2/images/" + theirs["id"])
        assert resp.status_code == 200, (name, resp.text)
        ours = resp.json()
        for field in sorted(set(theirs) - PRESENTATION):
            value = sorted(theirs[field]) if field == "tags" else theirs[field]
            mine = sorted(ours.get(field)) if field == "tags" else ours.get(field)
            assert mine == value, (name, field, mine, value)


def test_locations_stay_where_glance_put_them(adopted):
    for name in LIVE:
        theirs = adopted.glance[name]
        ours = adopted.call("admin", "GET", "/v2/images/" + theirs["id"]).json()
        assert ours.get("direct_url") == theirs.get("direct_url"), name
    assert adopted.glance["segmented"]["direct_url"].startswith("swift+config://ref1/")


def _digests(data: bytes) -> tuple[str, str]:
    return hashlib.md5(data).hexdigest(), hashlib.sha512(data).hexdigest()


def test_the_bytes_are_served_in_place_md5_and_sha512_equal(adopted):
    for name in ("public", "private", "shared", "community", "hidden", "protected",
                 "segmented", "s3"):
        theirs = adopted.glance[name]
        resp = adopted.call(adopted.owners[name], "GET", "/v2/images/%s/file" % theirs["id"])
        assert resp.status_code == 200, (name, resp.status_code, resp.text[:300])
        md5, sha512 = _digests(resp.content)
        assert (md5, sha512) == _digests(adopted.data[name]), name
        assert (md5, sha512) == (theirs["checksum"], theirs["os_hash_value"]), name
    v1 = adopted.call("alice", "GET", "/v1/images/" + adopted.glance["segmented"]["id"])
    assert v1.status_code == 200
    assert hashlib.md5(v1.content).hexdigest() == adopted.glance["segmented"]["checksum"]


def test_nothing_was_copied(adopted):
    base = Path(adopted.manage_conf).parent
    for datadir in ("fast", "cheap"):
        assert sorted(os.listdir(base / datadir)) == adopted.stored_files[datadir]


def test_a_deactivated_image_stays_deactivated(adopted):
    image = adopted.glance["deactivated"]
    assert adopted.call("alice", "GET", "/v2/images/%s/file" % image["id"]).status_code == 403
    resp = adopted.call("admin", "GET", "/v2/images/%s/file" % image["id"])
    assert resp.status_code == 200 and resp.content == adopted.data["deactivated"]


def _listed(adopted, user: str, api: str = "v2") -> set[str]:
    if api == "v2":
        resp = adopted.call(user, "GET", "/v2/images?limit=100")
        return {i["id"] for i in resp.json()["images"]}
    resp = adopted.call(user, "GET", "/v1/images/detail?limit=100")
    return {i["id"] for i in resp.json()["images"]}


def test_visibility_and_members_hold_per_project(adopted):
    ids = {name: doc["id"] for name, doc in adopted.glance.items()}
    for api in ("v2", "v1"):
        bob = _listed(adopted, "bob", api)
        assert ids["public"] in bob and ids["shared"] in bob, api  # accepted member
        assert not {ids["private"], ids["hidden"], ids["protected"]} & bob, api
    # v2 lists a shared image only once its member accepted (v1 knew no
    # member status, and lists it for every member, as Glance's v1 did).
    assert ids["shared"] not in _listed(adopted, "carol", "v2")
    assert ids["shared"] in _listed(adopted, "carol", "v1")
    assert adopted.call("bob", "GET", "/v2/images/" + ids["private"]).status_code == 404
    assert adopted.call("bob", "HEAD", "/v1/images/" + ids["private"]).status_code == 404
    assert adopted.call("carol", "GET", "/v2/images/" + ids["shared"]).status_code == 200
    members = adopted.call("alice", "GET", "/v2/images/%s/members" % ids["shared"]).json()
    assert {m["member_id"]: m["status"] for m in members["members"]} == {
        adopted.keystone.ids["projects"]["tenant-b"]: "accepted",
        adopted.keystone.ids["projects"]["tenant-c"]: "pending"}
    community = adopted.call("bob", "GET", "/v2/images?visibility=community").json()
    assert ids["community"] in {i["id"] for i in community["images"]}
    assert ids["hidden"] not in _listed(adopted, "alice")
    assert adopted.call("alice", "DELETE", "/v2/images/" + ids["protected"]).status_code == 403


def test_a_deleted_image_keeps_its_id_from_reuse(adopted):
    image_id = adopted.glance["deleted"]["id"]
    assert adopted.call("alice", "GET", "/v2/images/" + image_id).status_code == 404
    again = adopted.call("alice", "POST", "/v2/images", json={
        "id": image_id, "disk_format": "raw", "container_format": "bare"})
    assert again.status_code == 409, again.text


def test_an_image_in_a_store_without_a_driver_is_kept_and_refused_clearly(adopted):
    assert "rbd://" in adopted.import_runs[0]
    resp = adopted.call("alice", "GET", "/v2/images/" + RBD_IMAGE)
    assert resp.status_code == 200 and resp.json()["status"] == "active"
    download = adopted.call("alice", "GET", "/v2/images/%s/file" % RBD_IMAGE)
    assert download.status_code in (400, 503), download.text
    assert "rbd" in download.text


def test_the_dry_run_counted_and_the_second_run_changes_nothing(adopted):
    dry, first = adopted.import_runs
    count = len(adopted.glance) + 1  # and the Ceph image
    assert "%d read; %d would be created" % (count, count) in dry
    assert "Dry run: nothing was written." in dry
    assert "%d were created" % count in first
    before = {name: adopted.call("admin", "GET", "/v2/images/" + doc["id"]).json()
              for name, doc in adopted.glance.items() if name != "deleted"}
    again = _manage(adopted.manage_conf, "import-glance", "--from", adopted.glance_db)
    assert "0 were created, 0 were updated, %d unchanged" % count in again
    assert "0 namespaces were created, 0 were updated" in again
    after = {name: adopted.call("admin", "GET", "/v2/images/" + doc["id"]).json()
             for name, doc in adopted.glance.items() if name != "deleted"}
    assert after == before


def _associations(namespace: dict) -> list:
    # Glance leaves out an updated_at it never set; compare what it shows.
    return sorted((a["name"], a.get("prefix"), a.get("properties_target"), a["created_at"])
                  for a in namespace.get("resource_type_associations", []))


def test_the_metadefs_catalog_came_along(adopted):
    resp = adopted.call("admin", "GET", "/v2/metadefs/namespaces?limit=200")
    assert resp.status_code == 200, resp.text
    ours = {n["namespace"]: n for n in resp.json()["namespaces"]}
    assert set(ours) == {n["namespace"] for n in adopted.namespaces}
    assert len(ours) > 10
    for theirs in adopted.namespaces:
        mine = ours[theirs["namespace"]]
        for field in ("display_name", "description", "visibility", "protected",
                      "owner", "created_at"):
            assert mine.get(field) == theirs.get(field), (theirs["namespace"], field)
        assert _associations(mine) == _associations(theirs), theirs["namespace"]
    detail = adopted.call("admin", "GET", "/v2/metadefs/namespaces/" + DETAILED).json()
    theirs = adopted.namespace_detail
    assert detail["properties"] == theirs["properties"]
    assert detail.get("objects", []) == theirs.get("objects", [])


def test_glance_config_started_the_api_and_named_what_it_ignores(adopted):
    log = adopted.api.log_text()
    assert "does not use [wsgi] task_pool_threads" in log


def test_an_image_made_after_the_move_lands_in_glance_stores(adopted):
    image = adopted.call("alice", "POST", "/v2/images", json={
        "name": "after-" + uuid.uuid4().hex[:6], "disk_format": "raw",
        "container_format": "bare"}).json()
    put = adopted.call("alice", "PUT", "/v2/images/%s/file" % image["id"],
                       data=b"new bytes", headers=OCTET)
    assert put.status_code == 204, put.text
    shown = adopted.call("alice", "GET", "/v2/images/" + image["id"]).json()
    assert shown["stores"] == "fast"
