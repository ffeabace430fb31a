"""Ids that look like registry routes or paths never reach a registry route.

The registry client refuses them before it builds a path, and every image
endpoint of v1 and v2, served by Flask's test client against a real
registry (its app on a real HTTP server, on each database), answers them
with a clean 4xx and changes nothing.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from werkzeug.serving import make_server

from glance_api import registry_client
from glance_api.app import create_app
from glance_api.registry_client import RegistryClient
from glance_common.context import RequestContext
from glance_registry import db
from glance_registry.app import create_app as create_registry_app
from tests.unit.glance_api.api_support import file_stores
from tests.unit.glance_registry.registry_support import make_conf as registry_conf

ADMIN = RequestContext.build("admin", None, ["admin"])
# As Flask's test client sends them: percent-escapes are decoded once.
HOSTILE_IDS = [
    "detail", "members", "stale-fetches", "reservation", "..", ".", "%2e%2e",
    "a%2Fb", "%00", "x" * 5000, "%C3%A9t%C3%A9", "%E2%80%AE",
    str(uuid.uuid4()) + "%0A", " " + str(uuid.uuid4()), str(uuid.uuid4()) + "%2Fmembers",
]


class Unsent(Exception):
    """The client tried to send a request."""


class NoPool:
    """A connection pool that must not be used."""

    def urlopen(self, method, path, **kwargs):
        raise Unsent("%s %s" % (method, path))

    def close(self):
        pass


@pytest.fixture
def offline_client():
    client = RegistryClient("http://127.0.0.1:9", timeout=1)
    client.pool = NoPool()
    return client


@pytest.mark.parametrize("image_id", ["detail", "members", "stale-fetches", "", "..",
                                      "../detail", "a/b", "\x00", "x" * 5000, "été",
                                      str(uuid.uuid4()) + "\n", None])
@pytest.mark.parametrize("call", [
    lambda c, i: c.get(ADMIN, i),
    lambda c, i: c.update(ADMIN, i, {"name": "x"}),
    lambda c, i: c.heartbeat(ADMIN, i, "saving"),
    lambda c, i: c.delete(ADMIN, i),
    lambda c, i: c.mark_scrubbed(ADMIN, i),
    lambda c, i: c.restore(ADMIN, i),
    lambda c, i: c.members(ADMIN, i),
    lambda c, i: c.add_member(ADMIN, i, "m", None),
    lambda c, i: c.replace_members(ADMIN, i, []),
    lambda c, i: c.delete_member(ADMIN, i, "m"),
    lambda c, i: c.create_member(ADMIN, i, "m"),
    lambda c, i: c.member(ADMIN, i, "m"),
    lambda c, i: c.set_member_status(ADMIN, i, "m", "accepted"),
    lambda c, i: c.reserve(ADMIN, i, 1, 1, 0),
])
def test_the_client_refuses_an_id_that_is_not_a_uuid_before_sending(offline_client,
                                                                      call, image_id):
    with pytest.raises(registry_client.NotFound):
        call(offline_client, image_id)


@pytest.mark.parametrize("member", ["", ".", "..", "a/status", "\x00"])
@pytest.mark.parametrize("call", [
    lambda c, i, m: c.add_member(ADMIN, i, m, None),
    lambda c, i, m: c.delete_member(ADMIN, i, m),
    lambda c, i, m: c.member(ADMIN, i, m),
    lambda c, i, m: c.set_member_status(ADMIN, i, m, "accepted"),
    lambda c, i, m: c.shared_images(ADMIN, m),
])
def test_the_client_refuses_a_member_id_that_is_not_one_path_segment(offline_client,
                                                                      call, member):
    with pytest.raises(registry_client.NotFound):
        call(offline_client, str(uuid.uuid4()), member)


@pytest.mark.parametrize("image_id", [str(uuid.uuid4()), uuid.uuid4().hex,
                                      str(uuid.uuid4()).upper()])
def test_the_client_sends_every_id_the_registry_accepts(offline_client, image_id):
    with pytest.raises(Unsent, match="GET /images/%s$" % image_id):
        offline_client.get(ADMIN, image_id)


@pytest.mark.parametrize("image_id", ["detail", str(uuid.uuid4()) + "\n", 7])
def test_the_client_refuses_to_create_an_image_with_an_id_the_registry_cannot_hold(
        offline_client, image_id):
    with pytest.raises(registry_client.BadRequest, match="Invalid image id format"):
        offline_client.create(ADMIN, {"id": image_id})


# Every endpoint, against a real registry


@pytest.fixture
def registry_url(db_url):
    app = create_registry_app(registry_conf(db_url))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_port
    server.shutdown()
    thread.join()
    db.close_all(db.database.obj)


@pytest.fixture
def api(make_conf, registry_url, tmp_path):
    port = int(registry_url.rsplit(":", 1)[1])
    conf = make_conf({"auth_strategy": "noauth", "registry_host": "127.0.0.1",
                      "registry_port": port, "image_size_cap": 1024})
    datadir = tmp_path / "images"
    datadir.mkdir()
    return create_app(conf, stores=file_stores(datadir)).test_client()


@pytest.fixture
def bystander(api):
    """A shared image with a member and a tag."""
    made = api.post("/v2/images", json={"name": "bystander", "disk_format": "raw",
                                        "container_format": "bare",
                                        "visibility": "shared", "tags": ["keep"]})
    assert made.status_code == 201, made.text
    image = made.json
    shared = api.post("/v2/images/%s/members" % image["id"], json={"member": "project-b"})
    assert shared.status_code == 200, shared.text
    return image


def _state(api) -> list:
    seen = [api.get("/v1/images/detail?is_public=None").json,
            api.get("/v2/images?member_status=all").json]
    for image in seen[1]["images"]:
        seen.append(api.get("/v2/images/%s" % image["id"]).json)
        seen.append(api.get("/v2/images/%s/members" % image["id"]).json)
    return seen


def _calls(image_id: str) -> list[tuple[str, str, dict]]:
    octet = {"content_type": "application/octet-stream", "data": b"data"}
    patch = {"content_type": "application/openstack-images-v2.1-json-patch", "json": []}
    return [
        ("GET", "/v1/images/%s" % image_id, {}),
        ("HEAD", "/v1/images/%s" % image_id, {}),
        ("PUT", "/v1/images/%s" % image_id, {}),
        ("PUT", "/v1/images/%s" % image_id, dict(octet)),
        ("DELETE", "/v1/images/%s" % image_id, {}),
        ("GET", "/v1/images/%s/members" % image_id, {}),
        ("PUT", "/v1/images/%s/members" % image_id, {"json": {"memberships": []}}),
        ("PUT", "/v1/images/%s/members/project-c" % image_id, {}),
        ("DELETE", "/v1/images/%s/members/project-b" % image_id, {}),
        ("GET", "/v2/images/%s" % image_id, {}),
        ("PATCH", "/v2/images/%s" % image_id, patch),
        ("DELETE", "/v2/images/%s" % image_id, {}),
        ("GET", "/v2/images/%s/file" % image_id, {}),
        ("PUT", "/v2/images/%s/file" % image_id, dict(octet)),
        ("GET", "/v2/images/%s/members" % image_id, {}),
        ("POST", "/v2/images/%s/members" % image_id, {"json": {"member": "project-c"}}),
        ("GET", "/v2/images/%s/members/project-b" % image_id, {}),
        ("PUT", "/v2/images/%s/members/project-b" % image_id,
         {"json": {"status": "accepted"}}),
        ("DELETE", "/v2/images/%s/members/project-b" % image_id, {}),
        ("PUT", "/v2/images/%s/tags/new" % image_id, {}),
        ("DELETE", "/v2/images/%s/tags/keep" % image_id, {}),
        ("POST", "/v2/images/%s/actions/deactivate" % image_id, {}),
        ("POST", "/v2/images/%s/actions/reactivate" % image_id, {}),
    ]


@pytest.mark.parametrize("image_id", HOSTILE_IDS, ids=lambda i: i[:24])
def test_every_image_endpoint_refuses_an_id_that_looks_like_a_route(api, bystander,
                                                                     image_id):
    before = _state(api)
    for method, path, options in _calls(image_id):
        if method in ("GET", "HEAD") and path == "/v1/images/detail":
            continue  # v1's detailed list itself
        answer = api.open(path, method=method, **options)
        assert 400 <= answer.status_code < 500, (method, path[:80], answer.status_code,
                                                 answer.text[:200])
        if method in ("GET", "HEAD"):
            # 405: a decoded "/" made the path another route's.
            assert answer.status_code in (404, 405), (method, path[:80],
                                                      answer.status_code)
    assert _state(api) == before


@pytest.mark.parametrize("member", ["..", ".", "a%2Fstatus", "%00", "x" * 300])
def test_member_endpoints_refuse_a_member_id_that_is_not_one_segment(api, bystander,
                                                                     member):
    image_id = bystander["id"]
    before = _state(api)
    for method, path, options in [
            ("PUT", "/v1/images/%s/members/%s" % (image_id, member), {}),
            ("DELETE", "/v1/images/%s/members/%s" % (image_id, member), {}),
            ("GET", "/v2/images/%s/members/%s" % (image_id, member), {}),
            ("PUT", "/v2/images/%s/members/%s" % (image_id, member),
             {"json": {"status": "accepted"}}),
            ("DELETE", "/v2/images/%s/members/%s" % (image_id, member), {})]:
        answer = api.open(path, method=method, **options)
        assert 400 <= answer.status_code < 500, (method, path[:80], answer.status_code,
                                                 answer.text[:200])
    assert _state(api) == before


def test_v2_create_refuses_an_id_the_registry_cannot_parse(api):
    answer = api.post("/v2/images", json={"id": str(uuid.uuid4()) + "\n",
                                          "disk_format": "raw", "container_format": "bare"})
    assert answer.status_code == 400, answer.text
