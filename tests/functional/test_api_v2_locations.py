"""The locations API (v2.17) and the PATCH of /locations, end to end: a real
Keystone (a ``service``-role user), a real registry + api pair on SQLite and
PostgreSQL, image data at http locations served on loopback (the operator's
import filter explicitly allows 127.0.0.1 and the server's port), and the
real glanceclient 4.13."""

from __future__ import annotations

import hashlib
import os

import pytest
import requests

from tests.clients import Cloud
from tests.clients import run
from tests.clients import table
from tests.image_server import serving
from tests.keystone import PASSWORD
from tests.pairs import Glance
from tests.pairs import database
from tests.waiting import poll_until

DATA = os.urandom(300 * 1024 + 7)
OTHER = os.urandom(len(DATA))
SHA512 = hashlib.sha512(DATA).hexdigest()
MD5 = hashlib.md5(DATA).hexdigest()
PATCH = "application/openstack-images-v2.1-json-patch"


@pytest.fixture(scope="module")
def source():
    with serving() as server:
        server.images.update(disk=DATA, copy=DATA, other=OTHER, bad=OTHER)
        yield server


@pytest.fixture(scope="module")
def keystone(tmp_path_factory):
    """A Keystone of this module's own, with ``nova``: role service in tenant-a."""
    from tests.keystone import Keystone
    from tests.required import unavailable

    try:
        server = Keystone.start(tmp_path_factory.mktemp("keystone"))
    except Exception as exc:  # install, bootstrap or start: any of them
        unavailable("Keystone could not be set up: %s" % exc)
    try:
        _add_user(server, "nova", "tenant-a", "service")
        yield server
    finally:
        server.stop()


def _add_user(keystone, user: str, project: str, role: str) -> None:
    api = keystone.auth_url
    admin = {"X-Auth-Token": keystone.token("admin", "admin")}
    project_id = keystone.ids["projects"][project]
    resp = requests.post(api + "/users", headers=admin, timeout=30, json={"user": {
        "name": user, "password": PASSWORD, "domain_id": "default",
        "default_project_id": project_id}})
    resp.raise_for_status()
    user_id = resp.json()["user"]["id"]
    roles = requests.get(api + "/roles", headers=admin, params={"name": role}, timeout=30)
    role_id = roles.json()["roles"][0]["id"]
    requests.put("%s/projects/%s/users/%s/roles/%s" % (api, project_id, user_id, role_id),
                 headers=admin, timeout=30).raise_for_status()


class _Pairs:
    def __init__(self, request, factory, keystone, source):
        self.request, self.factory, self.keystone, self.source = (
            request, factory, keystone, source)
        self.started: dict[str, Glance] = {}

    def __call__(self, kind: str) -> Glance:
        if kind not in self.started:
            url = database(self.request, self.factory, kind)
            self.started[kind] = Glance(
                self.factory.mktemp("locations-" + kind), url,
                keystone=self.keystone.authtoken_section(),
                service_token=lambda: self.keystone.token("glance"),
                show_multiple_locations=True, show_image_direct_url=True,
                sections={"import_filtering_opts": {
                    "allowed_hosts": "127.0.0.1",
                    "allowed_ports": "80,443,%d" % self.source.port}})
        return self.started[kind]


@pytest.fixture(scope="module")
def pairs(request, tmp_path_factory, keystone, source):
    started = _Pairs(request, tmp_path_factory, keystone, source)
    yield started
    for pair in started.started.values():
        pair.stop()


@pytest.fixture(scope="module")
def tokens(keystone):
    return {"alice": keystone.token("alice"), "bob": keystone.token("bob"),
            "admin": keystone.token("admin", "admin"),
            "nova": keystone.token("nova", "tenant-a"),
            "glance": keystone.token("glance")}


def _call(g, tokens, user, method, path, **kw):
    headers = dict(kw.pop("headers", {}), **{"X-Auth-Token": tokens[user],
                                             "Accept": "application/json"})
    return requests.request(method, g.url + path, headers=headers, timeout=60, **kw)


def _create(g, tokens, user="alice", **body):
    body = dict({"disk_format": "raw", "container_format": "bare"}, **body)
    resp = _call(g, tokens, user, "POST", "/v2/images", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def _image(g, tokens, image_id, user="alice"):
    resp = _call(g, tokens, user, "GET", "/v2/images/" + image_id)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _add(g, tokens, user, image_id, url, **body):
    return _call(g, tokens, user, "POST", "/v2/images/%s/locations" % image_id,
                 json=dict(body, url=url))


def _patch(g, tokens, user, image_id, ops):
    return _call(g, tokens, user, "PATCH", "/v2/images/" + image_id, json=ops,
                 headers={"Content-Type": PATCH})


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_service_adds_a_location_and_the_hash_lands_in_the_background(
        pairs, tokens, source, kind):
    g = pairs(kind)
    image_id = _create(g, tokens)
    resp = _add(g, tokens, "nova", image_id, source.url("/images/disk"))
    assert resp.status_code == 202, resp.text
    image = _image(g, tokens, image_id)
    assert (image["status"], image["size"]) == ("active", len(DATA))
    assert poll_until(lambda: _image(g, tokens, image_id)["os_hash_value"] == SHA512)
    image = _image(g, tokens, image_id)
    assert (image["checksum"], image["os_hash_algo"]) == (MD5, "sha512")
    listed = _call(g, tokens, "nova", "GET", "/v2/images/%s/locations" % image_id)
    assert listed.status_code == 200
    assert listed.json() == [{"url": source.url("/images/disk"),
                              "metadata": {"store": "http"}}]
    got = _call(g, tokens, "alice", "GET", "/v2/images/%s/file" % image_id)
    assert got.status_code == 200 and got.content == DATA
    assert os.listdir(g.images_dir) == []  # the data stayed where it was
    deleted = _call(g, tokens, "alice", "DELETE", "/v2/images/" + image_id)
    assert deleted.status_code == 204
    assert source.images["disk"] == DATA


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_active_images_data_is_never_swapped_ossn_0065(pairs, tokens, source, kind):
    g = pairs(kind)
    image_id = _create(g, tokens)
    assert _add(g, tokens, "nova", image_id, source.url("/images/disk")).status_code == 202
    assert poll_until(lambda: _image(g, tokens, image_id)["os_hash_value"] == SHA512)
    before = _image(g, tokens, image_id)
    refused = _add(g, tokens, "nova", image_id, source.url("/images/other"))
    assert refused.status_code == 409
    for ops in ([{"op": "add", "path": "/locations/0",
                  "value": {"url": source.url("/images/other"), "metadata": {}}}],
                [{"op": "replace", "path": "/locations",
                  "value": [{"url": source.url("/images/other"), "metadata": {}}]}]):
        assert _patch(g, tokens, "admin", image_id, ops).status_code == 409
    assert _image(g, tokens, image_id) == before
    got = _call(g, tokens, "alice", "GET", "/v2/images/%s/file" % image_id)
    assert got.content == DATA


def test_only_services_list_locations(pairs, tokens, source):
    g = pairs("sqlite")
    image_id = _create(g, tokens)
    for user in ("alice", "admin"):
        resp = _call(g, tokens, user, "GET", "/v2/images/%s/locations" % image_id)
        assert resp.status_code == 403, (user, resp.text)
    resp = _call(g, tokens, "nova", "GET", "/v2/images/%s/locations" % image_id)
    assert resp.status_code == 200 and resp.json() == []


def test_another_projects_image_is_untouchable(pairs, tokens, source):
    g = pairs("sqlite")
    image_id = _create(g, tokens)
    url = source.url("/images/disk")
    assert _add(g, tokens, "bob", image_id, url).status_code == 404
    assert _call(g, tokens, "bob", "GET",
                 "/v2/images/%s/locations" % image_id).status_code == 404
    ops = [{"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}}]
    assert _patch(g, tokens, "bob", image_id, ops).status_code == 404
    # glance (the service user of another project) does not see it either
    assert _add(g, tokens, "glance", image_id, url).status_code == 404
    assert _image(g, tokens, image_id)["status"] == "queued"


def test_vouched_data_that_does_not_match_leaves_the_image_queued(pairs, tokens, source):
    g = pairs("sqlite")
    image_id = _create(g, tokens)
    resp = _add(g, tokens, "nova", image_id, source.url("/images/bad"),
                validation_data={"os_hash_algo": "sha512", "os_hash_value": SHA512})
    assert resp.status_code == 202, resp.text
    assert g.wait_for_log("api", "is not what was vouched for image %s" % image_id)
    image = _image(g, tokens, image_id)
    assert (image["status"], image["locations"], image["os_hash_value"]) == (
        "queued", [], None)
    good = _create(g, tokens)
    resp = _add(g, tokens, "nova", good, source.url("/images/copy"),
                validation_data={"os_hash_algo": "sha512", "os_hash_value": SHA512})
    assert resp.status_code == 202
    assert poll_until(lambda: _image(g, tokens, good)["status"] == "active")
    assert _image(g, tokens, good)["checksum"] == MD5


def test_internal_addresses_and_unserved_schemes_are_refused(pairs, tokens, source):
    g = pairs("sqlite")
    image_id = _create(g, tokens)
    # 127.0.0.2 is loopback too, but only 127.0.0.1 is allowed. Private and
    # other internal ranges are refused with the resolver stubbed in the
    # unit tests: a real api here would send packets beyond loopback.
    for url, code in (("http://127.0.0.2:%d/images/disk" % source.port, 400),
                      ("cinder://lvm/volume-1", 400),
                      ("file:///etc/passwd", 400),
                      ("file://%s/%s" % (g.images_dir, image_id), 400)):
        resp = _add(g, tokens, "nova", image_id, url)
        assert resp.status_code == code, (url, resp.text)
    # An owner may add http(s) locations only: never data in the service's stores.
    assert _add(g, tokens, "alice", image_id, "file:///etc/passwd").status_code == 403
    assert _image(g, tokens, image_id)["status"] == "queued"


def test_credentials_in_a_location_never_reach_a_response_or_a_log(pairs, tokens, source):
    g = pairs("sqlite")
    image_id = _create(g, tokens)
    url = source.url("/images/disk").replace("http://", "http://nova:pa55-w0rd@")
    assert _add(g, tokens, "nova", image_id, url).status_code == 202
    assert poll_until(lambda: _image(g, tokens, image_id)["os_hash_value"] == SHA512)
    responses = [_call(g, tokens, "nova", "GET", "/v2/images/%s/locations" % image_id),
                 _call(g, tokens, "alice", "GET", "/v2/images/" + image_id),
                 _call(g, tokens, "alice", "GET", "/v2/images"),
                 _add(g, tokens, "nova", _create(g, tokens),
                      url.replace("/images/disk", "/images/none"))]
    for resp in responses:
        assert "pa55-w0rd" not in resp.text
    assert responses[1].json()["direct_url"].startswith("http://***@127.0.0.1")
    assert responses[3].status_code == 400
    assert "pa55-w0rd" not in g.api.log_text()
    # The credentials were used: the server was asked with them.
    assert any(headers.get("Authorization") for _, path, headers in source.requests
               if path == "/images/disk")


# The real glanceclient 4.13

class _Client(Cloud):
    def env(self, user: str) -> dict:
        env = super().env("alice")
        project = {"nova": "tenant-a", "admin": "admin"}.get(user, "tenant-a")
        env.update(OS_USERNAME=user, OS_PROJECT_NAME=project, OS_IMAGE_URL=self.glance.url)
        return env


@pytest.fixture(scope="module")
def cli_cloud(pairs, keystone, tmp_path_factory):
    home = tmp_path_factory.mktemp("cli-home")
    return _Client(keystone, pairs("sqlite"), home)


def test_glanceclient_add_location_as_the_owner(glance_v2_cli, cli_cloud, tokens, source):
    g = cli_cloud.glance
    image_id = _create(g, tokens)
    out = run(glance_v2_cli, cli_cloud, "alice", "add-location", "--url",
              source.url("/images/disk"), image_id)
    assert table(out.stdout)["id"] == image_id
    assert poll_until(lambda: _image(g, tokens, image_id)["os_hash_value"] == SHA512)


def test_glanceclient_location_commands_of_the_patch(glance_v2_cli, cli_cloud, tokens,
                                                     source):
    g = cli_cloud.glance
    image_id = _create(g, tokens)
    first, second = source.url("/images/disk"), source.url("/images/copy")
    out = run(glance_v2_cli, cli_cloud, "admin", "location-add", "--url", first,
              image_id)
    assert table(out.stdout)["status"] == "active"
    assert poll_until(lambda: _image(g, tokens, image_id)["os_hash_value"] == SHA512)
    run(glance_v2_cli, cli_cloud, "admin", "location-add", "--url", second,
        "--metadata", '{"site": "b"}', image_id)
    refused = run(glance_v2_cli, cli_cloud, "admin", "location-add", "--url",
                  source.url("/images/other"), image_id, check=False)
    assert refused.returncode != 0
    run(glance_v2_cli, cli_cloud, "admin", "location-update", "--url", second,
        "--metadata", '{"site": "c"}', image_id)
    run(glance_v2_cli, cli_cloud, "admin", "location-delete", "--url", first, image_id)
    image = _image(g, tokens, image_id)
    assert image["locations"] == [{"url": second,
                                   "metadata": {"site": "c", "store": "http"}}]
    last = run(glance_v2_cli, cli_cloud, "admin", "location-delete", "--url", second,
               image_id, check=False)
    assert last.returncode != 0
    assert len(_image(g, tokens, image_id)["locations"]) == 1
