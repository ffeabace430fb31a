"""The v2 tasks handlers over a real registry (SQLite, served on 127.0.0.1),
under the Keystone stand-in: policy, views, paging, the legacy POST."""

from __future__ import annotations

import re
import urllib.parse
import uuid

import jsonschema
import pytest

from glance_api.app import create_app
from glance_api.exceptions import BadRequest
from glance_common.context import RequestContext
from tests.unit.glance_api.api_support import file_stores
from tests.unit.glance_api.real_registry import serve
from tests.unit.glance_api.real_registry import sqlite_url
from tests.unit.glance_api.real_registry import wipe

LEGACY = {"type": "import",
          "input": {"import_from": "http://127.0.0.1:1/cirros.img",
                    "import_from_format": "qcow2",
                    "image_properties": {"name": "cirros", "disk_format": "qcow2",
                                         "container_format": "bare"}}}
FORBIDDEN = "You are not authorized to complete tasks_api_access action."
ALICE_CTX = RequestContext.build("alice", "tenant-a", ["member"])
ADMIN_CTX = RequestContext.build("root", "admin-project", ["admin"])
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ISO_MICRO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serve(sqlite_url(tmp_path_factory.mktemp("registry"))) as client:
        yield client


@pytest.fixture
def registry(served):
    yield served
    wipe()


@pytest.fixture
def policy_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("{}\n")
    return path


@pytest.fixture
def app(make_conf, registry, keystone, datadir, policy_file):
    conf = make_conf({"limit_param_default": 3},
                     oslo_policy={"policy_file": str(policy_file)})
    return create_app(conf, registry=registry, stores=file_stores(datadir))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin(keystone):
    return {"X-Auth-Token": keystone.issue("root", "admin-project", ["admin"]),
            "Accept": "application/json"}


@pytest.fixture
def alice(keystone):
    return {"X-Auth-Token": keystone.issue("alice", "tenant-a", ["member", "reader"]),
            "Accept": "application/json"}


@pytest.fixture
def bob(keystone):
    return {"X-Auth-Token": keystone.issue("bob", "tenant-b", ["member", "reader"]),
            "Accept": "application/json"}


def _task(registry, ctx=ALICE_CTX, **fields):
    fields.setdefault("type", "api_image_import")
    fields.setdefault("input", {"import_req": {"method": {"name": "web-download"}}})
    return registry.create_task(ctx, fields)


@pytest.mark.parametrize("method, path", [
    ("get", "/v2/tasks"), ("get", "/v2/tasks/%s" % uuid.uuid4()), ("post", "/v2/tasks")])
def test_members_are_refused_the_tasks_api(client, alice, registry, method, path):
    resp = getattr(client, method)(path, json=LEGACY, headers=alice)
    assert resp.status_code == 403
    assert FORBIDDEN in resp.get_data(as_text=True)
    assert registry.list_tasks(ADMIN_CTX, {}) == []


def test_admins_list_stubs_newest_first_with_links(client, admin, registry):
    made = [_task(registry)["id"] for _ in range(4)]
    resp = client.get("/v2/tasks?sort_dir=desc&limit=3", headers=admin)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["schema"] == "/v2/schemas/tasks"
    assert body["first"] == "/v2/tasks?sort_dir=desc&limit=3"
    assert len(body["tasks"]) == 3
    stub = body["tasks"][0]
    assert set(stub) == {"id", "type", "status", "owner", "created_at", "updated_at",
                         "self", "schema"}
    assert (stub["self"], stub["schema"]) == ("/v2/tasks/%s" % stub["id"], "/v2/schemas/task")
    assert ISO_Z.match(stub["created_at"])
    following = client.get(body["next"], headers=admin).get_json()
    assert "next" not in following
    listed = [t["id"] for t in body["tasks"] + following["tasks"]]
    assert sorted(listed) == sorted(made) and len(set(listed)) == 4


def test_the_default_page_is_limit_param_default_and_limit_zero_is_empty(
        client, admin, registry):
    for _ in range(4):
        _task(registry)
    assert len(client.get("/v2/tasks", headers=admin).get_json()["tasks"]) == 3
    body = client.get("/v2/tasks?limit=0", headers=admin).get_json()
    assert body["tasks"] == [] and "next" not in body


def test_filters_reach_the_registry(client, admin, registry):
    started = _task(registry)
    registry.update_task(ALICE_CTX, started["id"], {"status": "processing"})
    _task(registry, type="import")
    got = client.get("/v2/tasks?status=processing", headers=admin).get_json()["tasks"]
    assert [t["id"] for t in got] == [started["id"]]
    got = client.get("/v2/tasks?type=import", headers=admin).get_json()["tasks"]
    assert [t["type"] for t in got] == ["import"]


@pytest.mark.parametrize("query, words", [
    ("limit=x", "limit param must be an integer"),
    ("limit=-2", "limit param must be positive"),
    ("sort_dir=sideways", "Invalid sort direction"),
    ("sort_key=owner", "Invalid sort key"),
    ("status=done", "Invalid status value"),
    ("marker=%s" % uuid.uuid4(), "Invalid marker"),
    ("marker=zzz", "Invalid marker format"),
    ("owner=tenant-a", "Unknown task list parameter"),
])
def test_bad_list_queries_are_400(client, admin, query, words):
    resp = client.get("/v2/tasks?" + query, headers=admin)
    assert resp.status_code == 400
    assert words in resp.get_data(as_text=True)


def test_show_adds_input_result_message_and_ids(client, admin, registry):
    image_id = str(uuid.uuid4())
    task = _task(registry, image_id=image_id)
    registry.update_task(ALICE_CTX, task["id"], {"status": "failure",
                                                 "message": "404 from the URL"})
    resp = client.get("/v2/tasks/%s" % task["id"], headers=admin)
    assert resp.status_code == 200
    shown = resp.get_json()
    assert shown["input"] == task["input"]
    assert (shown["result"], shown["message"], shown["status"]) == (
        None, "404 from the URL", "failure")
    assert (shown["image_id"], shown["user_id"], shown["owner"]) == (
        image_id, "alice", "tenant-a")
    assert ISO_Z.match(shown["expires_at"]) and ISO_Z.match(shown["updated_at"])
    schema = client.get("/v2/schemas/task", headers=admin).get_json()
    jsonschema.Draft4Validator(schema).validate(shown)


def test_show_of_an_unknown_or_malformed_task_is_404(client, admin):
    for task_id in (str(uuid.uuid4()), "not-a-task"):
        assert client.get("/v2/tasks/%s" % task_id, headers=admin).status_code == 404


def test_the_schemas_describe_what_is_served(client, admin, registry):
    _task(registry)
    task_schema = client.get("/v2/schemas/task", headers=admin).get_json()
    assert task_schema["name"] == "task"
    assert task_schema["properties"]["type"]["enum"] == [
        "import", "api_image_import", "location_import"]
    assert {"image_id", "request_id", "user_id", "input", "result",
            "message"} <= set(task_schema["properties"])
    tasks_schema = client.get("/v2/schemas/tasks", headers=admin).get_json()
    assert "input" not in tasks_schema["properties"]["tasks"]["items"]["properties"]
    page = client.get("/v2/tasks", headers=admin).get_json()
    jsonschema.Draft4Validator(tasks_schema).validate(page)


def test_legacy_import_post_records_the_task_as_the_caller(client, admin, registry):
    resp = client.post("/v2/tasks", json=LEGACY, headers=admin)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    task = resp.get_json()
    assert resp.headers["Location"].endswith("/v2/tasks/%s" % task["id"])
    assert (task["type"], task["input"]) == ("import", LEGACY["input"])
    stored = registry.get_task(ADMIN_CTX, task["id"])
    assert (stored["owner"], stored["user_id"]) == ("admin-project", "root")
    assert stored["status"] in ("pending", "processing", "success", "failure")


@pytest.mark.parametrize("body, words", [
    ([], "Body expected"),
    ({"input": LEGACY["input"]}, "Task 'type' is required"),
    ({"type": "import"}, "Task 'input' is required"),
    ({"type": "api_image_import", "input": LEGACY["input"]}, "Invalid type value"),
    ({"type": "import", "input": "x"}, "input must be a JSON object"),
    ({"type": "import", "input": {"import_from": "http://x"}}, "import_from_format"),
    (dict(LEGACY, status="success"), "not allowed"),
])
def test_bad_task_posts_are_400_and_create_nothing(client, admin, registry, body, words):
    resp = client.post("/v2/tasks", json=body, headers=admin)
    assert resp.status_code == 400
    assert words in resp.get_data(as_text=True)
    assert registry.list_tasks(ADMIN_CTX, {}) == []


class _Runner:
    """An importer that records the legacy tasks it is given (or raises ``fail``)."""

    def __init__(self, fail: Exception | None = None):
        self.given: list[dict] = []
        self.fail = fail

    def run_legacy_task(self, ctx, task):
        if self.fail is not None:
            raise self.fail
        self.given.append(task)


def test_a_legacy_task_is_handed_to_the_importer(app, client, admin, registry):
    runner = _Runner()
    app.extensions["glance"].importer = runner
    task = client.post("/v2/tasks", json=LEGACY, headers=admin).get_json()
    assert [t["id"] for t in runner.given] == [task["id"]]
    assert runner.given[0]["input"] == LEGACY["input"]


@pytest.mark.parametrize("error, message", [
    (RuntimeError("no worker left"), "The task could not start: no worker left"),
    (BadRequest("URI for web-download does not pass filtering: http://x"),
     "URI for web-download does not pass filtering: http://x"),
])
def test_a_runner_that_cannot_start_fails_the_task_with_the_reason(
        app, client, admin, registry, error, message):
    app.extensions["glance"].importer = _Runner(fail=error)
    resp = client.post("/v2/tasks", json=LEGACY, headers=admin)
    assert resp.status_code == 201
    assert (resp.get_json()["status"], resp.get_json()["message"]) == ("failure", message)
    stored = registry.get_task(ADMIN_CTX, resp.get_json()["id"])
    assert (stored["status"], stored["message"]) == ("failure", message)


def _image(client, who, **fields):
    resp = client.post("/v2/images", json={"name": "img", "disk_format": "raw",
                                           "container_format": "bare", **fields},
                       headers=who)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()["id"]


def test_image_tasks_show_every_field_with_microseconds(client, alice, registry):
    image_id = _image(client, alice)
    task = _task(registry, image_id=image_id)
    registry.update_task(ALICE_CTX, task["id"], {"status": "processing",
                                                 "message": "Copied 1 MiB"})
    resp = client.get("/v2/images/%s/tasks" % image_id, headers=alice)
    assert resp.status_code == 200
    [shown] = resp.get_json()["tasks"]
    assert (shown["id"], shown["image_id"], shown["message"]) == (
        task["id"], image_id, "Copied 1 MiB")
    assert {"request_id", "user_id", "input", "result"} <= set(shown)
    assert ISO_MICRO.match(shown["created_at"]) and ISO_MICRO.match(shown["updated_at"])


def test_another_projects_private_image_tasks_are_404(client, alice, bob, admin, registry):
    image_id = _image(client, alice, visibility="private")
    _task(registry, image_id=image_id)
    resp = client.get("/v2/images/%s/tasks" % image_id, headers=bob)
    assert resp.status_code == 404
    assert client.get("/v2/images/%s/tasks" % uuid.uuid4(), headers=alice).status_code == 404
    assert len(client.get("/v2/images/%s/tasks" % image_id,
                          headers=admin).get_json()["tasks"]) == 1


def test_a_public_image_shows_a_project_only_its_own_tasks(client, admin, bob, registry):
    image_id = _image(client, admin, visibility="public")
    _task(registry, ctx=ADMIN_CTX, image_id=image_id)
    bobs = _task(registry, ctx=RequestContext.build("bob", "tenant-b", ["member"]),
                 image_id=image_id)
    got = client.get("/v2/images/%s/tasks" % image_id, headers=bob).get_json()["tasks"]
    assert [t["id"] for t in got] == [bobs["id"]]


def test_an_operator_may_open_the_api_to_members_who_see_their_own(
        client, alice, registry, policy_file):
    policy_file.write_text('"tasks_api_access": "role:member"\n')
    mine = _task(registry)
    theirs = _task(registry, ctx=RequestContext.build("bob", "tenant-b", ["member"]))
    got = client.get("/v2/tasks", headers=alice).get_json()["tasks"]
    assert [t["id"] for t in got] == [mine["id"]]
    assert client.get("/v2/tasks/%s" % theirs["id"], headers=alice).status_code == 404
    nxt = client.get("/v2/tasks?marker=%s" % urllib.parse.quote(theirs["id"]),
                     headers=alice)
    assert nxt.status_code == 400


def test_v2_12_and_v2_13_are_listed_only_in_multistore_mode(client):
    from glance_api import versions

    ids = {v["id"] for v in client.get("/versions").get_json()["versions"]}
    assert "v2.12" not in ids and "v2.13" not in ids  # one file store here
    assert {"v2.12", "v2.13"} <= set(versions.v2_versions(multistore=True))
