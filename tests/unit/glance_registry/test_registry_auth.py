"""The registry under auth_strategy = keystone: who may claim to act for whom.

``responses`` stands in for Keystone (tests/keystone_mock.py).
"""

from __future__ import annotations

import pytest
import responses
from registry_support import ADMIN
from registry_support import ALICE
from registry_support import headers

from glance_registry import db
from glance_registry.app import create_app
from glance_registry.cmd import load_config
from tests.keystone_mock import FakeKeystone
from tests.keystone_mock import authtoken_section
from tests.keystone_mock import write_conf


@pytest.fixture
def keystone():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeKeystone(mock)


@pytest.fixture
def client(tmp_path, keystone):
    from glance_registry import migrations
    url = "sqlite:///%s" % (tmp_path / "glance.sqlite")
    database = db.make_database(url)
    migrations.sync(database)
    db.close_all(database)
    path = write_conf(tmp_path / "glance-registry.conf", {
        "DEFAULT": {"auth_strategy": "keystone"}, "database": {"connection": url},
        "keystone_authtoken": authtoken_section()})
    app = create_app(load_config(["--config-file", str(path)]))
    yield app.test_client()
    db.close_all(db.database.obj)


def test_no_token_is_401_and_the_health_check_stays_open(client):
    assert client.get("/images", headers=ADMIN).status_code == 401
    assert client.get("/healthcheck").status_code == 200


def test_forged_context_headers_from_an_ordinary_user_are_403(client, keystone):
    bob = keystone.issue("bob", "tenant-b", ["member"])
    resp = client.get("/images", headers=dict(ADMIN, **{"X-Auth-Token": bob}))
    assert resp.status_code == 403


def test_a_service_caller_acts_for_the_forwarded_context(client, keystone):
    glance = keystone.issue("glance", "service", ["service"])
    resp = client.post("/images", json={"image": {"name": "x"}},
                       headers=dict(ALICE, **{"X-Auth-Token": glance}))
    assert resp.status_code == 201
    assert resp.get_json()["image"]["owner"] == "alice"


def test_an_ordinary_user_without_context_headers_reads_as_itself(client, keystone):
    glance = keystone.issue("glance", "service", ["service"])
    for owner in ("tenant-b", "tenant-c"):
        client.post("/images", json={"image": {"name": owner}}, headers=dict(
            headers(owner), **{"X-Auth-Token": glance}))
    bob = keystone.issue("bob", "tenant-b", ["member"])
    resp = client.get("/images/detail", headers={
        "X-Auth-Token": bob, "Accept": "application/json"})
    assert resp.status_code == 200
    assert [i["owner"] for i in resp.get_json()["images"]] == ["tenant-b"]


def test_an_ordinary_user_may_not_write_around_the_api(client, keystone):
    # The registry leaves policy (modify, publicise, delete, share) to
    # glance-api, so only glance-api may write.
    glance = keystone.issue("glance", "service", ["service"])
    image = client.post("/images", json={"image": {"name": "x"}}, headers=dict(
        headers("tenant-b"), **{"X-Auth-Token": glance})).get_json()["image"]
    bob = {"X-Auth-Token": keystone.issue("bob", "tenant-b", ["member"]),
           "Accept": "application/json"}
    path = "/images/" + image["id"]
    writes = [client.post("/images", json={"image": {"name": "y"}}, headers=bob),
              client.put(path, json={"image": {"is_public": True}}, headers=bob),
              client.delete(path, headers=bob),
              client.put(path + "/members/tenant-c", headers=bob)]
    assert [w.status_code for w in writes] == [403] * 4
    assert "may only read" in writes[0].get_json()["message"]
    assert client.get(path, headers=bob).get_json()["image"]["visibility"] == "shared"


def test_only_the_api_may_write_tasks_and_others_read_their_projects(client, keystone):
    glance = keystone.issue("glance", "service", ["service"])
    made = client.post("/tasks", json={"task": {"type": "import"}}, headers=dict(
        headers("tenant-a"), **{"X-Auth-Token": glance}))
    assert made.status_code == 201
    task_id = made.get_json()["task"]["id"]
    bob = {"X-Auth-Token": keystone.issue("bob", "tenant-b", ["member"]),
           "Accept": "application/json"}
    assert client.post("/tasks", json={"task": {"type": "import"}},
                       headers=bob).status_code == 403
    assert client.put("/tasks/" + task_id, json={"task": {"status": "failure"}},
                      headers=bob).status_code == 403
    assert client.get("/tasks/" + task_id, headers=bob).status_code == 404
    assert client.get("/tasks", headers=bob).get_json()["tasks"] == []
