"""The import handlers through Flask's test client (spec v2 section 9): the
discovery document, staging, and every refusal of POST /import, each of
which changes nothing. The imports themselves run on the api's pool."""

from __future__ import annotations

import pytest

from glance_api.app import create_app
from glance_api.imports.sources import WebSource
from glance_api.services import EXTENSION
from tests.unit.glance_api.api_support import file_stores
from tests.waiting import poll_until

DATA = bytes(range(256)) * 64
OCTETS = {"Content-Type": "application/octet-stream"}


@pytest.fixture
def staging_dir(tmp_path):
    path = tmp_path / "staging"
    path.mkdir()
    return path


@pytest.fixture
def app(make_conf, registry, keystone, datadir, staging_dir):
    conf = make_conf(default={"node_staging_uri": "file://%s" % staging_dir})
    made = create_app(conf, registry=registry, stores=file_stores(datadir))
    # Every host "resolves" to loopback: nothing is ever looked up or fetched.
    svc = made.extensions[EXTENSION]
    svc.importer.web = WebSource(svc.conf, resolver=lambda host, port: ["127.0.0.1"])
    yield made
    made.extensions[EXTENSION].importer.stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def as_(keystone):
    def _as(user, project, roles=("member", "reader")):
        return {"X-Auth-Token": keystone.issue(user, project, list(roles)),
                "Accept": "application/json"}
    return _as


@pytest.fixture
def alice(as_):
    return as_("alice", "tenant-a")


def _queued(client, headers, **fields):
    fields.setdefault("disk_format", "raw")
    fields.setdefault("container_format", "bare")
    resp = client.post("/v2/images", headers=headers, json=fields)
    assert resp.status_code == 201, resp.text
    return resp.json["id"]


def _import(client, headers, image_id, body, **extra):
    return client.post("/v2/images/%s/import" % image_id, json=body,
                       headers=dict(headers, **extra))


def _status(client, headers, image_id):
    return client.get("/v2/images/" + image_id, headers=headers).json["status"]


def test_import_info_lists_glances_default_methods(client, alice):
    body = client.get("/v2/info/import", headers=alice).json
    assert body == {"import-methods": {"description": "Import methods available.",
                                       "type": "array",
                                       "value": ["glance-direct", "web-download",
                                                 "copy-image"]}}


def test_stage_then_glance_direct_import_activates(client, alice, staging_dir):
    image_id = _queued(client, alice)
    resp = client.put("/v2/images/%s/stage" % image_id, data=DATA,
                      headers=dict(alice, **OCTETS))
    assert resp.status_code == 204, resp.text
    image = client.get("/v2/images/" + image_id, headers=alice).json
    assert (image["status"], image["size"], image["checksum"]) == (
        "uploading", len(DATA), None)
    again = client.put("/v2/images/%s/stage" % image_id, data=DATA,
                       headers=dict(alice, **OCTETS))
    assert again.status_code == 409
    assert "from uploading to uploading" in again.text
    resp = _import(client, alice, image_id, {"method": {"name": "glance-direct"}})
    assert resp.status_code == 202 and resp.data == b""
    assert poll_until(lambda: _status(client, alice, image_id) == "active", 20)
    image = client.get("/v2/images/" + image_id, headers=alice).json
    assert image["os_glance_importing_to_stores"] == ""
    assert image["os_glance_failed_import"] == ""
    assert image["os_glance_import_task"]
    assert client.get("/v2/images/%s/file" % image_id, headers=alice).data == DATA
    assert list(staging_dir.iterdir()) == []


def test_stage_needs_octet_stream(client, alice, registry):
    image_id = _queued(client, alice)
    resp = client.put("/v2/images/%s/stage" % image_id, data=DATA,
                      headers=dict(alice, **{"Content-Type": "application/json"}))
    assert resp.status_code == 415
    assert registry.images[image_id]["status"] == "queued"


@pytest.mark.parametrize("body, code, message", [
    ({}, 400, "Import request requires a 'method' field."),
    ({"method": {"name": "nosuch"}}, 400, "Unknown import method name 'nosuch'."),
    ({"method": {"name": "glance-download"}}, 400, "Unknown import method name"),
    ({"method": {"name": "glance-direct"}}, 409,
     "Image needs to be staged before 'glance-direct' method can be used"),
    ({"method": {"name": "web-download"}}, 400,
     "URI for web-download does not pass filtering"),
    ({"method": {"name": "web-download", "uri": "http://127.0.0.1/x"}}, 400,
     "URI for web-download does not pass filtering: http://127.0.0.1/x"),
    ({"method": {"name": "web-download", "uri": "ftp://example.com/x"}}, 400,
     "does not pass filtering"),
    ({"method": {"name": "web-download", "uri": "http://h/x"}, "stores": ["nosuch"]},
     409, "Store for identifier nosuch not found"),
    ({"method": {"name": "copy-image"}}, 403,
     "You are not authorized to complete copy_image action."),
    ({"method": {"name": "web-download", "uri": "http://h/x"}, "all_stores": "yes"},
     400, "'all_stores' must be true or false."),
])
def test_refused_imports_change_nothing(client, alice, registry, body, code, message):
    image_id = _queued(client, alice)
    before = dict(registry.images[image_id])
    resp = _import(client, alice, image_id, body)
    assert resp.status_code == code, resp.text
    assert message in resp.json["message"]
    assert registry.images[image_id] == before


def test_a_web_download_host_resolving_to_a_private_address_is_refused(
        app, client, alice, registry):
    svc = app.extensions[EXTENSION]
    svc.importer.web = WebSource(svc.conf, resolver=lambda host, port: ["10.1.2.3"])
    image_id = _queued(client, alice)
    resp = _import(client, alice, image_id,
                   {"method": {"name": "web-download", "uri": "http://images.example/x"}})
    assert resp.status_code == 400
    assert registry.images[image_id]["status"] == "queued"


def test_an_unknown_store_header_is_409(client, alice):
    image_id = _queued(client, alice)
    resp = _import(client, alice, image_id, {"method": {"name": "web-download",
                                                        "uri": "http://h/x"}},
                   **{"X-Image-Meta-Store": "nosuch"})
    assert resp.status_code == 409
    assert "Store for identifier nosuch not found" in resp.json["message"]


def test_imports_into_an_active_image_are_409(client, alice, as_):
    image_id = _queued(client, alice)
    client.put("/v2/images/%s/file" % image_id, data=DATA, headers=dict(alice, **OCTETS))
    resp = _import(client, alice, image_id, {"method": {"name": "glance-direct"}})
    assert resp.status_code == 409
    assert resp.json["message"] == "Image with status active cannot be target for import"
    admin = as_("admin", "admin", ("admin", "member", "reader"))
    queued = _queued(client, admin)
    resp = _import(client, admin, queued, {"method": {"name": "copy-image"}})
    assert resp.status_code == 409
    assert resp.json["message"] == "Only images with status active can be targeted for copying"


def test_another_projects_image_cannot_be_imported_into(client, alice, as_):
    image_id = _queued(client, alice, visibility="private")
    resp = _import(client, as_("bob", "tenant-b"), image_id,
                   {"method": {"name": "web-download", "uri": "http://h/x"}})
    assert resp.status_code == 404
