"""The security matrix: every endpoint and verb of v1 and v2, called by every
kind of caller through a real Keystone, against a table of expected statuses.

Callers (columns of the table):

- ``owner``: alice, member of tenant-a, which owns the images under test;
- ``reader``: a reader of tenant-a (same project, may look, not change);
- ``other``: bob, member of tenant-b;
- ``oreader``: carol, reader of tenant-c;
- ``admin``: the cloud administrator;
- ``service``: the ``glance`` user, role service in project service (what
  Nova and Cinder hold for the locations API);
- ``anon``: no token at all.

Each caller runs the whole list against images of its own (tenant-a's,
with data, a tag, and shared with a project that is none of the callers'),
so an allowed change by one caller cannot hide a refused one by another.
After every caller outside tenant-a has had its go, tenant-a's image is
exactly as before, no response to them carried a byte of its data, and no
list they got named it.

Then: identity headers a client forges change nothing, expired and revoked
tokens get 401, oversize headers get a 4xx, ids or locations with path
traversal get a 4xx and touch nothing, and no spelling of a path gets an
anonymous caller past Keystone. The default run uses SQLite; the long
campaign (``GLANCE_CAMPAIGN=full``) runs everything on PostgreSQL too.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import uuid

import pytest
import requests

from tests.clients import Cloud
from tests.image_server import serving
from tests.keystone import PASSWORD
from tests.keystone import Keystone
from tests.pairs import Glance
from tests.pairs import database
from tests.reliability.report import full
from tests.reliability.report import record
from tests.required import unavailable
from tests.waiting import poll_until

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTET = {"Content-Type": "application/octet-stream"}
CALLERS = ("owner", "reader", "other", "oreader", "admin", "service", "anon")
OUTSIDERS = ("other", "oreader", "service", "anon")  # not tenant-a, not admin
USERS = {"owner": ("alice", "tenant-a"), "other": ("bob", "tenant-b"),
         "oreader": ("carol", "tenant-c"), "admin": ("admin", "admin"),
         "service": ("glance", "service")}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"] if full() else ["sqlite"])
def cloud(request, tmp_path_factory, real_keystone):
    """A multi-store pair (two file stores) with an image cache, behind Keystone,
    that trusts no proxy on loopback."""
    base = tmp_path_factory.mktemp("security-matrix-" + request.param)
    sections = {"glance_store": {"default_backend": "fast"},
                "os_glance_staging_store": {"filesystem_store_datadir": base / "staging"},
                "os_glance_tasks_store": {"filesystem_store_datadir": base / "work"}}
    for store in ("fast", "cheap"):
        (base / store).mkdir()
        sections[store] = {"filesystem_store_datadir": base / store}
    pair = Glance(base / "glance", database(request, tmp_path_factory, request.param),
                  keystone=real_keystone.authtoken_section(),
                  service_token=lambda: real_keystone.token("glance"),
                  sections=sections, enabled_backends="fast:file,cheap:file",
                  image_cache_dir=str(base / "image-cache"),
                  enabled_import_methods="glance-direct,web-download,copy-image,"
                                         "glance-download",
                  # The only proxy is elsewhere: the tests' own X-Forwarded-*
                  # headers come from an untrusted client.
                  trusted_proxies="192.0.2.1")
    (base / "home").mkdir()
    yield Cloud(real_keystone, pair, base / "home")
    pair.stop()


def _add_user(keystone: Keystone, project: str, role: str) -> str:
    """A new user holding ``role`` in ``project``; its name."""
    name = "sec-%s-%s" % (role, uuid.uuid4().hex[:8])
    admin = {"X-Auth-Token": keystone.token("admin", "admin")}
    api = keystone.auth_url
    resp = requests.post(api + "/users", headers=admin, timeout=30, json={"user": {
        "name": name, "password": PASSWORD, "domain_id": "default",
        "default_project_id": keystone.ids["projects"][project]}})
    resp.raise_for_status()
    roles = requests.get(api + "/roles", headers=admin, params={"name": role}, timeout=30)
    requests.put("%s/projects/%s/users/%s/roles/%s" % (
        api, keystone.ids["projects"][project], resp.json()["user"]["id"],
        roles.json()["roles"][0]["id"]), headers=admin, timeout=30).raise_for_status()
    return name


@pytest.fixture(scope="module")
def tokens(cloud):
    keystone = cloud.keystone
    found = {caller: keystone.token(user, project)
             for caller, (user, project) in USERS.items()}
    found["reader"] = keystone.token(_add_user(keystone, "tenant-a", "reader"), "tenant-a")
    return found


class Caller:
    """Requests as one caller; every response (body and headers) is kept to
    look for leaks."""

    def __init__(self, cloud: Cloud, token: str | None):
        self.cloud, self.token = cloud, token
        self.bodies: list[bytes] = []

    def __call__(self, method: str, path: str, **kw) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        if self.token is not None:
            headers["X-Auth-Token"] = self.token
        resp = requests.request(method, self.cloud.glance.url + path, headers=headers,
                                timeout=60, **kw)
        self.bodies.append(resp.content + repr(sorted(resp.headers.items())).encode())
        return resp


def _victim(cloud: Cloud, owner: Caller, member: str) -> dict:
    """An image of tenant-a shared with one project (not the callers): active,
    with data, a tag and that member."""
    data = os.urandom(4096) + b"tenant-a-secret-" + uuid.uuid4().hex.encode()
    resp = owner("POST", "/v2/images", json={
        "name": "victim", "disk_format": "raw", "container_format": "bare",
        "visibility": "shared", "tags": ["t"]})
    assert resp.status_code == 201, resp.text
    image = resp.json()
    assert owner("PUT", "/v2/images/%s/file" % image["id"], data=data,
                 headers=OCTET).status_code == 204
    assert owner("POST", "/v2/images/%s/members" % image["id"],
                 json={"member": member}).status_code == 200
    queued = owner("POST", "/v2/images", json={"name": "second"}).json()
    return {"id": image["id"], "queued": queued["id"], "data": data}


def _snapshot(owner: Caller, image: dict) -> dict:
    """What tenant-a sees of its image (to compare before and after)."""
    shown = owner("GET", "/v2/images/" + image["id"]).json()
    members = owner("GET", "/v2/images/%s/members" % image["id"]).json()["members"]
    return {"image": {k: shown.get(k) for k in (
                "name", "status", "visibility", "tags", "checksum", "size",
                "os_hash_value", "protected", "min_disk", "updated_at")},
            "members": sorted((m["member_id"], m["status"]) for m in members),
            "data": hashlib.sha256(owner("GET", "/v2/images/%s/file"
                                         % image["id"]).content).hexdigest(),
            "queued": owner("GET", "/v2/images/" + image["queued"]).json()["status"]}


def _calls(ids: dict) -> list[tuple[str, str, str, dict]]:
    """(label, method, path, requests kwargs) for every endpoint, reads first,
    destructive ones last, in the order a caller runs them."""
    img, queued, member, other = ids["image"], ids["queued"], ids["member"], ids["other"]
    base = "/v2/images/" + img
    ns, task, pns = ids["namespace"], ids["task"], ids["private_namespace"]
    return [
        # public
        ("root", "GET", "/", {}),
        ("versions", "GET", "/versions", {}),
        ("healthcheck", "GET", "/healthcheck", {}),
        # v2 reads
        ("v2 list", "GET", "/v2/images", {}),
        ("v2 show", "GET", base, {}),
        ("v2 file get", "GET", base + "/file", {}),
        ("v2 members list", "GET", base + "/members", {}),
        ("v2 member show", "GET", base + "/members/" + member, {}),
        ("v2 locations list", "GET", base + "/locations", {}),
        ("v2 image tasks", "GET", base + "/tasks", {}),
        ("v2 schema image", "GET", "/v2/schemas/image", {}),
        ("v2 schema images", "GET", "/v2/schemas/images", {}),
        ("v2 schema members", "GET", "/v2/schemas/members", {}),
        ("v2 schema task", "GET", "/v2/schemas/task", {}),
        ("v2 schema metadefs", "GET", "/v2/schemas/metadefs/namespace", {}),
        ("v2 info import", "GET", "/v2/info/import", {}),
        ("v2 info stores", "GET", "/v2/info/stores", {}),
        ("v2 info stores detail", "GET", "/v2/info/stores/detail", {}),
        ("v2 tasks list", "GET", "/v2/tasks", {}),
        ("v2 task show", "GET", "/v2/tasks/" + task, {}),
        ("v2 cache list", "GET", "/v2/cache", {}),
        ("metadefs namespaces", "GET", "/v2/metadefs/namespaces", {}),
        ("metadefs namespace", "GET", "/v2/metadefs/namespaces/" + ns, {}),
        ("metadefs private namespace", "GET", "/v2/metadefs/namespaces/" + pns, {}),
        ("metadefs objects", "GET", "/v2/metadefs/namespaces/%s/objects" % ns, {}),
        ("metadefs properties", "GET", "/v2/metadefs/namespaces/%s/properties" % ns, {}),
        ("metadefs tags", "GET", "/v2/metadefs/namespaces/%s/tags" % ns, {}),
        ("metadefs resource types", "GET", "/v2/metadefs/resource_types", {}),
        ("metadefs ns resource types", "GET",
         "/v2/metadefs/namespaces/%s/resource_types" % ns, {}),
        # v1 reads
        ("v1 list", "GET", "/v1/images", {}),
        ("v1 detail", "GET", "/v1/images/detail", {}),
        ("v1 head", "HEAD", "/v1/images/" + img, {}),
        ("v1 get", "GET", "/v1/images/" + img, {}),
        ("v1 members", "GET", "/v1/images/%s/members" % img, {}),
        ("v1 shared images", "GET", "/v1/shared-images/" + member, {}),
        # writes on the image
        ("v2 patch", "PATCH", base, {"headers": PATCH, "json": [
            {"op": "replace", "path": "/name", "value": "changed"}]}),
        ("v2 tag add", "PUT", base + "/tags/new", {}),
        ("v2 tag delete", "DELETE", base + "/tags/t", {}),
        ("v2 member add", "POST", base + "/members", {"json": {"member": other}}),
        ("v2 member update", "PUT", base + "/members/" + member,
         {"json": {"status": "accepted"}}),
        ("v2 member delete", "DELETE", base + "/members/" + member, {}),
        ("v2 file put", "PUT", base + "/file", {"headers": OCTET, "data": b"overwrite"}),
        ("v2 stage", "PUT", base + "/stage", {"headers": OCTET, "data": b"staged"}),
        ("v2 import", "POST", base + "/import",
         {"json": {"method": {"name": "glance-direct"}}}),
        ("v2 copy-image", "POST", base + "/import",
         {"json": {"method": {"name": "copy-image"}, "stores": ["cheap"]}}),
        ("v2 add location", "POST", "/v2/images/%s/locations" % queued,
         {"json": {"url": "http://127.0.0.1:9/nothing-listens"}}),
        ("v2 cache queue", "PUT", "/v2/cache/" + img, {}),
        ("v2 cache delete", "DELETE", "/v2/cache/" + img, {}),
        ("v2 store delete", "DELETE", "/v2/stores/fast/" + img, {}),
        ("v2 deactivate", "POST", base + "/actions/deactivate", {}),
        ("v2 reactivate", "POST", base + "/actions/reactivate", {}),
        ("v1 update", "PUT", "/v1/images/" + img, {"headers": {"x-image-meta-name": "v1"}}),
        ("v1 member put", "PUT", "/v1/images/%s/members/%s" % (img, other), {}),
        ("v1 members replace", "PUT", "/v1/images/%s/members" % img,
         {"json": {"memberships": [{"member_id": member, "can_share": False}]}}),
        ("v1 member delete", "DELETE", "/v1/images/%s/members/%s" % (img, other), {}),
        # creations
        ("v2 create", "POST", "/v2/images", {"json": {"name": "new"}}),
        ("v1 create", "POST", "/v1/images", {"headers": {"x-image-meta-name": "new"}}),
        ("v2 task create", "POST", "/v2/tasks", {"json": {"type": "import", "input": {}}}),
        ("metadefs namespace create", "POST", "/v2/metadefs/namespaces",
         {"json": {"namespace": "sec-" + uuid.uuid4().hex[:8]}}),
        ("metadefs namespace update", "PUT", "/v2/metadefs/namespaces/" + ns,
         {"json": {"namespace": ns, "description": "changed", "visibility": "public"}}),
        ("v2 cache clear", "DELETE", "/v2/cache", {}),
        # an image planted in, or handed to, another project; made public
        ("v2 create for another project", "POST", "/v2/images",
         {"json": {"name": "planted", "owner": other}}),
        ("v1 create for another project", "POST", "/v1/images",
         {"headers": {"x-image-meta-name": "planted", "x-image-meta-owner": other}}),
        ("v2 publicize", "PATCH", base, {"headers": PATCH, "json": [
            {"op": "replace", "path": "/visibility", "value": "public"}]}),
        ("v1 publicize", "PUT", "/v1/images/" + img,
         {"headers": {"x-image-meta-is_public": "true"}}),
        ("v2 give away", "PATCH", base, {"headers": PATCH, "json": [
            {"op": "replace", "path": "/owner", "value": other}]}),
        ("v1 give away", "PUT", "/v1/images/" + img, {"headers": {"x-image-meta-owner": other}}),
        # deletions last
        ("metadefs namespace delete", "DELETE", "/v2/metadefs/namespaces/" + ids["doomed"],
         {}),
        ("v1 delete collection", "DELETE", "/v1/images", {}),
        ("v1 delete", "DELETE", "/v1/images/" + queued, {}),
        ("v2 delete", "DELETE", base, {}),
    ]


@pytest.fixture(scope="module")
def shared(cloud, tokens) -> dict:
    """What every caller's list names besides its own images: a metadefs
    namespace (public) and one private to the admin project, a task of
    tenant-a, and project ids that are nobody's."""
    admin = Caller(cloud, tokens["admin"])
    names = {}
    for visibility in ("public", "private"):
        name = "sec-%s-%s" % (visibility, uuid.uuid4().hex[:6])
        resp = admin("POST", "/v2/metadefs/namespaces",
                     json={"namespace": name, "visibility": visibility})
        assert resp.status_code == 201, resp.text
        names[visibility] = name
    task = requests.post(cloud.glance.registry.url + "/tasks", timeout=30,
                         headers=cloud.glance.registry_headers(), json={"task": {
                             "type": "api_image_import", "owner": cloud.project_id("tenant-a"),
                             "input": {"import_req": {"method": {"name": "web-download"}}}}})
    assert task.status_code == 201, task.text
    return {"namespace": names["public"], "private_namespace": names["private"],
            "task": task.json()["task"]["id"], "member": "tenant-d-" + uuid.uuid4().hex[:6],
            "other": "tenant-e-" + uuid.uuid4().hex[:6]}




# The expected status of every cell. Columns: owner, reader (tenant-a),
# other (member of tenant-b), oreader (reader of tenant-c), admin, service,
# anon. Why some cells read as they do:
# - another project's image is invisible: 404, never 403, on every verb;
# - readers look but neither download (download_image needs member) nor write;
# - the locations API is for services only (admin too gets 403), and the
#   service user, in a project of its own, does not see tenant-a's image;
# - "v2 add location" names a loopback URL the import filter refuses (400);
# - the admin ran copy-image just before "v2 store delete", so the copy in
#   "fast" is not the image's last;
# - "v1 member delete" follows "v1 members replace", which dropped that member;
# - tasks, the cache, copy-image and metadefs writes are the admin's alone;
# - only the admin publicizes an image or gives one to another project (v1
#   answers a member's owner header with 2xx but ignores it: see GIVEAWAYS).
EXPECTED = {
    #                               owner reader other oreader admin service anon
    "root":                        (300, 300, 300, 300, 300, 300, 300),
    "versions":                    (200, 200, 200, 200, 200, 200, 200),
    "healthcheck":                 (200, 200, 200, 200, 200, 200, 200),
    "v2 list":                     (200, 200, 200, 200, 200, 403, 401),
    "v2 show":                     (200, 200, 404, 404, 200, 404, 401),
    "v2 file get":                 (200, 403, 404, 404, 200, 404, 401),
    "v2 members list":             (200, 200, 404, 404, 200, 404, 401),
    "v2 member show":              (200, 200, 404, 404, 200, 404, 401),
    "v2 locations list":           (403, 403, 404, 404, 403, 404, 401),
    "v2 image tasks":              (200, 200, 404, 404, 200, 404, 401),
    "v2 schema image":             (200, 200, 200, 200, 200, 200, 401),
    "v2 schema images":            (200, 200, 200, 200, 200, 200, 401),
    "v2 schema members":           (200, 200, 200, 200, 200, 200, 401),
    "v2 schema task":              (200, 200, 200, 200, 200, 200, 401),
    "v2 schema metadefs":          (200, 200, 200, 200, 200, 200, 401),
    "v2 info import":              (200, 200, 200, 200, 200, 200, 401),
    "v2 info stores":              (200, 200, 200, 200, 200, 200, 401),
    "v2 info stores detail":       (403, 403, 403, 403, 200, 200, 401),
    "v2 tasks list":               (403, 403, 403, 403, 200, 403, 401),
    "v2 task show":                (403, 403, 403, 403, 200, 403, 401),
    "v2 cache list":               (403, 403, 403, 403, 200, 403, 401),
    "metadefs namespaces":         (200, 200, 200, 200, 200, 200, 401),
    "metadefs namespace":          (200, 200, 200, 200, 200, 200, 401),
    "metadefs private namespace":  (404, 404, 404, 404, 200, 404, 401),
    "metadefs objects":            (200, 200, 200, 200, 200, 200, 401),
    "metadefs properties":         (200, 200, 200, 200, 200, 200, 401),
    "metadefs tags":               (200, 200, 200, 200, 200, 200, 401),
    "metadefs resource types":     (200, 200, 200, 200, 200, 200, 401),
    "metadefs ns resource types":  (200, 200, 200, 200, 200, 200, 401),
    "v1 list":                     (200, 200, 200, 200, 200, 403, 401),
    "v1 detail":                   (200, 200, 200, 200, 200, 403, 401),
    "v1 head":                     (200, 200, 404, 404, 200, 404, 401),
    "v1 get":                      (200, 403, 404, 404, 200, 404, 401),
    "v1 members":                  (200, 200, 404, 404, 200, 404, 401),
    "v1 shared images":            (200, 200, 200, 200, 200, 403, 401),
    "v2 patch":                    (200, 403, 404, 404, 200, 404, 401),
    "v2 tag add":                  (204, 403, 404, 404, 204, 404, 401),
    "v2 tag delete":               (204, 403, 404, 404, 204, 404, 401),
    "v2 member add":               (200, 403, 404, 404, 200, 404, 401),
    "v2 member update":            (403, 403, 404, 404, 200, 404, 401),
    "v2 member delete":            (204, 403, 404, 404, 204, 404, 401),
    "v2 file put":                 (409, 403, 404, 404, 409, 404, 401),
    "v2 stage":                    (409, 403, 404, 404, 409, 404, 401),
    "v2 import":                   (409, 403, 404, 404, 409, 404, 401),
    "v2 copy-image":               (403, 403, 404, 404, 202, 404, 401),
    "v2 add location":             (400, 403, 404, 404, 403, 404, 401),
    "v2 cache queue":              (403, 403, 404, 404, 202, 404, 401),
    "v2 cache delete":             (403, 403, 403, 403, 204, 403, 401),
    "v2 store delete":             (403, 403, 404, 404, 204, 404, 401),
    "v2 deactivate":               (204, 403, 404, 404, 204, 404, 401),
    "v2 reactivate":               (204, 403, 404, 404, 204, 404, 401),
    "v1 update":                   (200, 403, 404, 404, 200, 404, 401),
    "v1 member put":               (204, 403, 404, 404, 204, 404, 401),
    "v1 members replace":          (204, 403, 404, 404, 204, 404, 401),
    "v1 member delete":            (404, 403, 404, 404, 404, 404, 401),
    "v2 create":                   (201, 403, 201, 403, 201, 403, 401),
    "v1 create":                   (201, 403, 201, 403, 201, 403, 401),
    "v2 task create":              (403, 403, 403, 403, 400, 403, 401),
    "metadefs namespace create":   (403, 403, 403, 403, 201, 403, 401),
    "metadefs namespace update":   (403, 403, 403, 403, 200, 403, 401),
    "v2 cache clear":              (403, 403, 403, 403, 204, 403, 401),
    "v2 create for another project": (403, 403, 403, 403, 201, 403, 401),
    "v1 create for another project": (201, 403, 201, 403, 201, 403, 401),
    "v2 publicize":                (403, 403, 404, 404, 200, 404, 401),
    "v1 publicize":                (403, 403, 404, 404, 200, 404, 401),
    "v2 give away":                (403, 403, 404, 404, 200, 404, 401),
    "v1 give away":                (200, 403, 404, 404, 200, 404, 401),
    "metadefs namespace delete":   (403, 403, 403, 403, 204, 403, 401),
    "v1 delete collection":        (404, 404, 404, 404, 404, 404, 401),
    "v1 delete":                   (200, 403, 404, 404, 200, 404, 401),
    "v2 delete":                   (204, 403, 404, 404, 204, 404, 401),
}
# v1 answers 2xx and ignores an owner a non-admin names, as Glance's
# registry did: the image must stay (or be made) the caller's own.
GIVEAWAYS = ("v1 create for another project", "v1 give away")
PROJECTS = {"owner": "tenant-a", "reader": "tenant-a", "other": "tenant-b",
            "oreader": "tenant-c", "service": "service"}
# Responses that list things: an outsider's must not name tenant-a's image.
LISTS = ("v2 list", "v1 list", "v1 detail", "v1 shared images", "v2 tasks list",
         "v2 cache list")


def _row(cloud: Cloud, case: str, **fields) -> None:
    """One row of the security table, naming the database the pair runs on."""
    record("security", case, database=cloud.glance.db_url.partition(":")[0], **fields)


def _area(label: str) -> str:
    first = label.split()[0]
    return first if first in ("v1", "v2", "metadefs") else "public"


def _doomed(cloud: Cloud, tokens: dict) -> str:
    """A fresh public metadefs namespace for one caller to try deleting."""
    name = "sec-doomed-" + uuid.uuid4().hex[:8]
    resp = Caller(cloud, tokens["admin"])("POST", "/v2/metadefs/namespaces",
                                          json={"namespace": name, "visibility": "public"})
    assert resp.status_code == 201, resp.text
    return name


def _ids(cloud: Cloud, tokens: dict, shared: dict, victim: dict) -> dict:
    return dict(shared, image=victim["id"], queued=victim["queued"],
                doomed=_doomed(cloud, tokens))


def _run(cloud: Cloud, tokens: dict, shared: dict, caller: str) -> dict:
    """One caller through every call on fresh images of tenant-a."""
    owner = Caller(cloud, tokens["owner"])
    victim = _victim(cloud, owner, shared["member"])
    before = _snapshot(owner, victim)
    who = Caller(cloud, tokens.get(caller))
    calls = _calls(_ids(cloud, tokens, shared, victim))
    got, planted = {}, []
    for label, method, path, kw in calls:
        resp = who(method, path, **kw)
        got[label] = resp.status_code
        if label in GIVEAWAYS and resp.ok and caller != "admin":
            owner_now = resp.json()["image"]["owner"]
            if owner_now != cloud.project_id(PROJECTS[caller]):
                planted.append("%s left an image owned by %s" % (label, owner_now))
        if label == "v2 copy-image" and got[label] == 202:
            # The copy runs in the background; "v2 store delete" needs it done.
            admin = Caller(cloud, tokens["admin"])
            assert poll_until(lambda: "cheap" in (admin(
                "GET", "/v2/images/" + victim["id"]).json().get("stores") or ""), 30)
    leaks = planted
    if caller in OUTSIDERS:
        after = _snapshot(owner, victim)
        if after != before:
            leaks.append("image changed: %s -> %s" % (before, after))
        for (label, *_), body in zip(calls, who.bodies, strict=True):
            if victim["data"][-40:] in body:
                leaks.append("%s returned the image's data" % label)
            if label in LISTS and victim["id"].encode() in body:
                leaks.append("%s listed the image" % label)
    return {"got": got, "leaks": leaks}


def test_every_endpoint_answers_every_caller_as_the_table_says(cloud, tokens, shared):
    assert [label for label, *_ in _calls(dict(shared, image="i", queued="q", doomed="d"))] \
        == list(EXPECTED)
    runs = {caller: _run(cloud, tokens, shared, caller) for caller in CALLERS}
    unexpected = {}
    for label, row in EXPECTED.items():
        for caller, want in zip(CALLERS, row, strict=True):
            got = runs[caller]["got"][label]
            if got != want:
                unexpected[(label, caller)] = "expected %d, got %d" % (want, got)
    leaks = {caller: run["leaks"] for caller, run in runs.items() if run["leaks"]}
    for area in ("public", "v1", "v2", "metadefs"):
        labels = [label for label in EXPECTED if _area(label) == area]
        _row(cloud, area, cells=len(labels) * len(CALLERS),
               unexpected=sum(1 for label, _ in unexpected if label in labels),
               cross_project_leaks=sum(
                   1 for found in leaks.values() for text in found
                   if any(text.startswith(label + " ") for label in labels)))
    _row(cloud, "cross-project image unchanged", cells=len(OUTSIDERS),
           unexpected=0, cross_project_leaks=sum(
               1 for found in leaks.values() for text in found
               if text.startswith("image changed")))
    assert unexpected == {}
    assert leaks == {}


# --- identity claimed in headers -------------------------------------------

def _forged(cloud: Cloud) -> dict:
    """Every header through which an identity could be claimed: tenant-a's
    member with every role, confirmed, and a catalog of the caller's choosing."""
    tenant_a = cloud.project_id("tenant-a")
    return {
        "X-Roles": "admin,member,reader,service", "X-Role": "admin",
        "X-Project-Id": tenant_a, "X-Tenant-Id": tenant_a, "X-Tenant": tenant_a,
        "X-Project-Name": "tenant-a", "X-Project-Domain-Id": "default",
        "X-User-Id": cloud.keystone.ids["users"]["alice"], "X-User-Name": "alice",
        "X-Identity-Status": "Confirmed", "X-Is-Admin-Project": "True",
        "X-Service-Roles": "service", "X-Service-Identity-Status": "Confirmed",
        "X-Service-Catalog": json.dumps([{"type": "image", "endpoints": [{
            "region": "RegionOne", "publicURL": "http://127.0.0.1:9/"}]}]),
        "X-Glance-Context-Roles": "admin", "X-Glance-Context-Project": tenant_a,
        # Believed from trusted_proxies only (not loopback here): links stay ours.
        "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "127.0.0.1", "Forwarded": "host=evil.example;proto=https",
    }


class ForgingCaller(Caller):
    """A caller that adds forged identity headers to every request."""

    def __init__(self, cloud: Cloud, token: str | None, forged: dict):
        super().__init__(cloud, token)
        self.forged = forged

    def __call__(self, method: str, path: str, **kw) -> requests.Response:
        kw["headers"] = dict(self.forged, **kw.get("headers", {}))
        return super().__call__(method, path, **kw)


@pytest.mark.parametrize("caller", ["other", "oreader", "anon"])
def test_forged_identity_headers_change_nothing(cloud, tokens, shared, caller):
    owner = Caller(cloud, tokens["owner"])
    victim = _victim(cloud, owner, shared["member"])
    before = _snapshot(owner, victim)
    who = ForgingCaller(cloud, tokens.get(caller), _forged(cloud))
    calls = _calls(_ids(cloud, tokens, shared, victim))
    column = CALLERS.index(caller)
    unexpected = {}
    for label, method, path, kw in calls:
        got = who(method, path, **kw).status_code
        if got != EXPECTED[label][column]:
            unexpected[label] = (EXPECTED[label][column], got)
    leaks = [label for (label, *_), body in zip(calls, who.bodies, strict=True)
             if victim["data"][-40:] in body or b"evil.example" in body
             or (label in LISTS and victim["id"].encode() in body)]
    changed = _snapshot(owner, victim) != before
    _row(cloud, "forged identity headers as %s" % caller, cells=len(calls),
           unexpected=len(unexpected), cross_project_leaks=len(leaks) + changed)
    assert unexpected == {}
    assert leaks == [] and not changed


def test_a_forged_service_catalog_sends_no_request_anywhere(cloud, tokens, shared):
    """glance-download reads the other region's endpoint from the catalog
    Keystone gave the token; a catalog the client sends would make the api
    fetch (with the caller's token) from wherever it names."""
    owner = Caller(cloud, tokens["owner"])
    victim = _victim(cloud, owner, shared["member"])
    with serving() as bait:
        for shape in ({"region": "RegionOne", "publicURL": bait.url("/")},
                      {"region_id": "RegionOne", "interface": "public", "url": bait.url("/")}):
            target = owner("POST", "/v2/images", json={
                "name": "download", "disk_format": "raw", "container_format": "bare"}).json()
            resp = owner("POST", "/v2/images/%s/import" % target["id"], headers={
                "X-Service-Catalog": json.dumps([{"type": "image", "endpoints": [shape]}])},
                json={"method": {"name": "glance-download", "glance_region": "RegionOne",
                                 "glance_image_id": victim["id"]}})
            assert resp.status_code == 400, resp.text
            assert "service catalog" in resp.text
            assert owner("GET", "/v2/images/" + target["id"]).json()["status"] == "queued"
        contacted = list(bait.requests)
    _row(cloud, "forged service catalog", cells=2, unexpected=len(contacted),
         cross_project_leaks=0)
    assert contacted == []


# --- tokens Keystone no longer honours ----------------------------------------

LIFETIME = 3  # seconds a token of the short-lived Keystone lives


@pytest.fixture(scope="module")
def short_keystone(tmp_path_factory):
    """A second Keystone from the same template (the same fernet keys, users
    and projects) whose tokens live ``LIFETIME`` seconds: its tokens are
    tokens of the run's Keystone that expire almost at once."""
    try:
        server = Keystone.start(tmp_path_factory.mktemp("keystone-short"),
                                expiration=LIFETIME)
    except Exception as exc:  # install, bootstrap or start: any of them
        unavailable("Keystone could not be set up: %s" % exc)
    yield server
    server.stop()


def _answers(cloud: Cloud, token: str, image_id: str) -> tuple[int, int]:
    """(v1 HEAD, v2 GET) of ``image_id`` with ``token``."""
    headers = {"X-Auth-Token": token}
    return (requests.head(cloud.glance.url + "/v1/images/" + image_id, headers=headers,
                          timeout=30).status_code,
            requests.get(cloud.glance.url + "/v2/images/" + image_id, headers=headers,
                         timeout=30).status_code)


def test_an_expired_token_gets_401_even_after_it_was_accepted(cloud, tokens, shared,
                                                              short_keystone):
    victim = _victim(cloud, Caller(cloud, tokens["owner"]), shared["member"])
    token = short_keystone.token("alice")
    checker = cloud.keystone.token("glance")
    if not cloud.keystone.is_valid(token, checker):
        pytest.skip("the run's Keystone does not take the short-lived Keystone's tokens")
    # Accepted once, so the api's token cache holds it.
    assert _answers(cloud, token, victim["id"]) == (200, 200)
    assert poll_until(lambda: not cloud.keystone.is_valid(token, checker), LIFETIME * 5)
    got = _answers(cloud, token, victim["id"])
    _row(cloud, "expired token", cells=2, unexpected=sum(s != 401 for s in got),
           cross_project_leaks=0)
    assert got == (401, 401)


def _revoke(keystone: Keystone, token: str) -> None:
    resp = requests.delete(keystone.auth_url + "/auth/tokens", timeout=30, headers={
        "X-Auth-Token": keystone.token("admin", "admin"), "X-Subject-Token": token})
    assert resp.status_code == 204, resp.text


@pytest.fixture(scope="module")
def uncached(request, tmp_path_factory, cloud):
    """A pair whose api caches no token validation (``token_cache_time = -1``)."""
    keystone = cloud.keystone
    pair = Glance(tmp_path_factory.mktemp("security-uncached"),
                  database(request, tmp_path_factory, "sqlite"),
                  keystone=keystone.authtoken_section(token_cache_time=-1),
                  service_token=lambda: keystone.token("glance"))
    yield Cloud(keystone, pair, pair.base)
    pair.stop()


def test_a_revoked_token_gets_401(cloud, uncached, tokens, shared):
    """Revoked before the api saw it: 401. Revoked after: 401 where the api
    caches no validation; with keystonemiddleware's default cache (300 s, as
    in Glance) the api keeps honouring it until the cached entry ages out,
    which is recorded, not asserted (operators who need revocation to bite
    at once set ``[keystone_authtoken] token_cache_time``)."""
    keystone = cloud.keystone
    victim = _victim(cloud, Caller(cloud, tokens["owner"]), shared["member"])
    elsewhere = _victim(uncached, Caller(uncached, keystone.token("alice")), shared["member"])
    unseen, seen, seen_cached = (keystone.token("alice") for _ in range(3))
    assert _answers(uncached, seen, elsewhere["id"]) == (200, 200)
    assert _answers(cloud, seen_cached, victim["id"]) == (200, 200)
    for token in (unseen, seen, seen_cached):
        _revoke(keystone, token)
        assert not keystone.is_valid(token, keystone.token("glance"))
    got = {"never used": _answers(cloud, unseen, victim["id"]),
           "used before, no token cache": _answers(uncached, seen, elsewhere["id"])}
    cached = _answers(cloud, seen_cached, victim["id"])
    _row(cloud, "revoked token", cells=4,
           unexpected=sum(s != 401 for pair in got.values() for s in pair),
           cross_project_leaks=0)
    _row(cloud, "revoked token within token_cache_time (300 s)", cells=2,
           still_accepted=sum(s == 200 for s in cached))
    assert got == {"never used": (401, 401), "used before, no token cache": (401, 401)}


# --- oversize headers ---------------------------------------------------------

def _raw(cloud: Cloud, method: str, path: str, headers: dict,
         body: bytes | None = None) -> int:
    """One request through http.client, exactly as given (no path clean-up);
    its status, or 0 when the server hung up without one."""
    host, port = cloud.glance.url.rsplit("/", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (ConnectionError, http.client.RemoteDisconnected):
        return 0
    finally:
        conn.close()


def test_oversize_headers_get_a_4xx_and_the_api_stays_healthy(cloud, tokens):
    token = tokens["owner"]
    auth = {"X-Auth-Token": token}
    many = dict(auth, **{"X-Image-Meta-Property-P%d" % i: "v" for i in range(300)})
    # glance-api takes header values up to 65 KiB (a v1 property may be that
    # long) and up to max(200, image_property_quota + 64) headers.
    cases = {
        "128 KiB header": ("GET", "/v2/images", dict(auth, **{"X-Big": "b" * 131072})),
        "128 KiB token": ("GET", "/v2/images", {"X-Auth-Token": "t" * 131072}),
        "8000-byte token": ("GET", "/v2/images", {"X-Auth-Token": "t" * 8000}),
        "300 headers": ("POST", "/v1/images", many),
        "16 KiB request line": ("GET", "/v2/images?name=" + "n" * 16384, auth),
        "70 KiB v1 property": ("POST", "/v1/images", dict(auth, **{
            "X-Image-Meta-Name": "big", "X-Image-Meta-Property-Big": "x" * 70000})),
        "8000-byte v1 name": ("POST", "/v1/images", dict(auth, **{
            "X-Image-Meta-Name": "n" * 8000})),
    }
    got = {label: _raw(cloud, *case) for label, case in cases.items()}
    healthy = requests.get(cloud.glance.url + "/healthcheck", timeout=10).status_code
    refused = {label: status for label, status in got.items() if 400 <= status < 500}
    _row(cloud, "oversize headers", cells=len(cases),
           unexpected=len(cases) - len(refused), cross_project_leaks=0)
    assert refused == got
    assert healthy == 200


# --- path traversal -------------------------------------------------------------

def _files(root) -> set[str]:
    """Every file in the pair's stores and staging area. (The image cache is
    left out: owners' reads fill it in the background. What the cache
    calls aim at, the sentinel above it, is checked on its own.)"""
    found = set()
    for top in ("fast", "cheap", "staging"):
        for folder, _, names in os.walk(root / top):
            found.update(os.path.join(folder, n) for n in names)
    return found


def test_ids_and_locations_with_path_traversal_get_4xx_and_touch_nothing(
        cloud, tokens, shared):
    root = cloud.glance.base.parent
    sentinel = root / "sentinel"
    sentinel.write_bytes(b"keep me")
    owner = Caller(cloud, tokens["owner"])
    victim = _victim(cloud, owner, shared["member"])
    image, ns = victim["id"], shared["private_namespace"]
    before, files = _snapshot(owner, victim), _files(root)
    # Requests sent as written: no client clean-up of dot segments.
    as_other = {"X-Auth-Token": tokens["other"]}
    as_admin = {"X-Auth-Token": tokens["admin"]}
    paths = [
        (as_other, "GET", "/v2/images/..%%2F%s/file" % image),
        (as_other, "GET", "/v2/images/%s%%2F..%%2F%s/file" % (image, image)),
        (as_other, "GET", "/v2/images/x/../%s/file" % image),
        (as_other, "GET", "/v2/images/%%2e%%2e/%s/file" % image),
        (as_other, "GET", "/v1/images/..%%2f%s" % image),
        (as_other, "GET", "/v1/images/x/..%%2F..%%2F%s" % image),
        (as_other, "DELETE", "/v2/images/..%%2F%s" % image),
        (as_other, "PUT", "/v2/images/%s/tags/..%%2F..%%2Fx" % image),
        (as_other, "GET", "/v2/metadefs/namespaces/..%%2F%s" % ns),
        (as_other, "GET", "/v2/metadefs/namespaces/x/../%s" % ns),
        (as_admin, "DELETE", "/v2/cache/.."),
        (as_admin, "DELETE", "/v2/cache/%2e%2e"),
        (as_admin, "DELETE", "/v2/cache/..%2F..%2Fsentinel"),
        (as_admin, "PUT", "/v2/cache/..%2F..%2Fsentinel"),
        (as_admin, "DELETE", "/v2/stores/fast/.."),
        (as_admin, "DELETE", "/v2/stores/fast/..%2F..%2Fsentinel"),
        (as_admin, "DELETE", "/v2/stores/..%%2Ffast/%s" % image),
        (as_admin, "GET", "/v2/images/..%2F..%2Fsentinel/file"),
        (as_admin, "GET", "/v2/tasks/..%2F..%2Fsentinel"),
    ]
    got = {(method, path): _raw(cloud, method, path, headers)
           for headers, method, path in paths}
    # Locations: a service of tenant-a may name files in this service's own
    # stores, but only files directly in a store's directory.
    service = Caller(cloud, cloud.keystone.token(_add_user(cloud.keystone, "tenant-a",
                                                           "service"), "tenant-a"))
    fast = root / "fast"
    urls = ["file://%s/../sentinel" % fast, "file://%s/..%%2Fsentinel" % fast,
            "file://%s/%%2e%%2e/sentinel" % fast, "file://%s/../fast/../sentinel" % fast,
            "file:///etc/passwd", "file://localhost/etc/passwd",
            "file://%s/../../../../etc/passwd" % fast, "file://%s/" % fast,
            "file://%s/." % fast, "file://%s/%s/../../sentinel" % (fast, image)]
    for url in urls:
        queued = owner("POST", "/v2/images", json={
            "name": "q", "disk_format": "raw", "container_format": "bare"}).json()["id"]
        resp = service("POST", "/v2/images/%s/locations" % queued, json={"url": url})
        after = owner("GET", "/v2/images/" + queued).json()
        got[("location", url)] = resp.status_code if after["status"] == "queued" else 0
    # Positive control: a file directly in the store's directory is taken.
    control = owner("POST", "/v2/images", json={
        "name": "q", "disk_format": "raw", "container_format": "bare"}).json()["id"]
    stored = service("POST", "/v2/images/%s/locations" % control,
                     json={"url": "file://%s/%s" % (fast, image)})
    unexpected = {key: status for key, status in got.items() if not 400 <= status < 500}
    touched = {"sentinel": sentinel.read_bytes() != b"keep me",
               "files": _files(root) ^ files,
               "image": _snapshot(owner, victim) != before}
    touched = {what: how for what, how in touched.items() if how}
    _row(cloud, "path traversal", cells=len(got), unexpected=len(unexpected),
           cross_project_leaks=len(touched))
    assert stored.status_code == 202, stored.text
    assert unexpected == {}
    assert touched == {}


def test_no_spelling_of_a_path_lets_an_anonymous_caller_past_keystone(cloud, tokens, shared):
    """The health check and the versions document are answered without a
    token: no path that merely starts, ends or hides like them is."""
    victim = _victim(cloud, Caller(cloud, tokens["owner"]), shared["member"])
    image = victim["id"]
    paths = [
        "/versions/../v2/images", "/healthcheck/../v1/images", "/./v2/images",
        "//v2/images", "/v2.1/images", "/v2.9/images/" + image, "/v2/images/",
        "/%76%32/images", "/versions%2F..%2Fv2%2Fimages", "/healthcheck%2F..%2Fv1%2Fimages",
        "/versions/../v2/images/%s/file" % image, "/healthcheck;/../v1/images/" + image,
        "/v1/images/%s?/healthcheck" % image, "/v2/images/%s#/versions" % image,
        "/healthcheck/../v2/images/%s/members" % image,
    ]
    got = {path: _raw(cloud, "GET", path, {}) for path in paths}
    got.update({"HEAD " + path: _raw(cloud, "HEAD", path, {}) for path in (
        "/versions/../v1/images/" + image, "/v1/images/" + image + "/")})
    through = {path: status for path, status in got.items() if not 400 <= status < 500}
    _row(cloud, "anonymous path spellings", cells=len(got), unexpected=len(through),
           cross_project_leaks=0)
    assert through == {}
