"""Task records over the registry's HTTP API, on both databases."""

from __future__ import annotations

import datetime
import threading
import uuid

import pytest
from registry_support import ADMIN
from registry_support import ALICE
from registry_support import BOB

from glance_common.timestamps import parse_iso
from glance_common.timestamps import utcnow
from glance_registry import db
from glance_registry import tasks
from glance_registry.models import Task


@pytest.fixture
def new_task(client):
    """Create a task over HTTP as ``as_`` and return its JSON."""

    def _new(as_=ALICE, **fields):
        fields.setdefault("type", "api_image_import")
        resp = client.post("/tasks", json={"task": fields}, headers=as_)
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return resp.get_json()["task"]

    return _new


def _put(client, task_id, changes, from_status=None, as_=ALICE, **extra):
    body = {"task": changes, "from_status": from_status, **extra}
    return client.put("/tasks/%s" % task_id, json=body, headers=as_)


def test_a_new_task_is_pending_and_carries_its_callers_identity(client, new_task):
    image_id = str(uuid.uuid4())
    task = new_task(input={"import_req": {"method": {"name": "web-download"}}},
                    image_id=image_id.upper())
    assert task["status"] == "pending"
    assert (task["owner"], task["user_id"]) == ("alice", "u1")
    assert task["request_id"]
    assert task["image_id"] == image_id  # canonical form
    assert task["input"] == {"import_req": {"method": {"name": "web-download"}}}
    assert (task["result"], task["message"], task["expires_at"]) == (None, "", None)
    uuid.UUID(task["id"])
    shown = client.get("/tasks/%s" % task["id"], headers=ALICE).get_json()["task"]
    assert shown == task


def test_owner_is_the_callers_project_unless_an_admin_names_one(new_task):
    assert new_task(as_=BOB, owner="alice")["owner"] == "bob"
    assert new_task(as_=ADMIN, owner="alice")["owner"] == "alice"
    assert new_task(as_=ADMIN)["owner"] == "admin-project"


@pytest.mark.parametrize("fields, words", [
    ({"type": "export"}, "Invalid task type"),
    ({}, "needs a type"),
    ({"type": "import", "status": "success"}, "pending, not success"),
    ({"type": "import", "input": ["not", "an", "object"]}, "input must be a JSON object"),
    ({"type": "import", "result": "done"}, "result must be"),
    ({"type": "import", "image_id": "not-a-uuid"}, "image_id must be a UUID"),
    ({"type": "import", "expires_at": "2030-01-01"}, "read-only"),
    ({"type": "import", "message": 7}, "message must be a string"),
])
def test_bad_task_bodies_are_400_and_create_nothing(client, fields, words):
    resp = client.post("/tasks", json={"task": fields}, headers=ALICE)
    assert resp.status_code == 400
    assert words in resp.get_json()["message"]
    assert client.get("/tasks", headers=ADMIN).get_json()["tasks"] == []


def test_a_project_sees_and_changes_only_its_own_tasks(client, new_task):
    image_id = str(uuid.uuid4())
    alices = new_task(image_id=image_id)
    bobs = new_task(as_=BOB, image_id=image_id)
    assert client.get("/tasks/%s" % alices["id"], headers=BOB).status_code == 404
    assert _put(client, alices["id"], {"status": "failure"}, as_=BOB).status_code == 404
    listed = client.get("/tasks", headers=BOB).get_json()["tasks"]
    assert [t["id"] for t in listed] == [bobs["id"]]
    of_image = client.get("/images/%s/tasks" % image_id, headers=BOB).get_json()["tasks"]
    assert [t["id"] for t in of_image] == [bobs["id"]]
    resp = client.get("/tasks?marker=%s" % alices["id"], headers=BOB)
    assert resp.status_code == 400
    everyone = client.get("/images/%s/tasks" % image_id, headers=ADMIN).get_json()["tasks"]
    assert len(everyone) == 2
    assert client.get("/tasks/%s" % alices["id"], headers=ALICE).status_code == 200


def test_a_chosen_id_is_used_and_a_duplicate_is_409(client, new_task):
    chosen = str(uuid.uuid4())
    assert new_task(id=chosen)["id"] == chosen
    resp = client.post("/tasks", json={"task": {"id": chosen, "type": "import"}},
                       headers=ALICE)
    assert resp.status_code == 409


def test_status_moves_pending_processing_success_and_ending_sets_expires_at(
        client, new_task):
    task = new_task()
    resp = _put(client, task["id"], {"status": "processing"}, "pending")
    assert resp.status_code == 200 and resp.get_json()["task"]["expires_at"] is None
    resp = _put(client, task["id"], {"status": "success", "result": {"image_id": "x"},
                                     "message": "Copied 1 MiB"}, time_to_live=48)
    done = resp.get_json()["task"]
    assert (done["status"], done["result"], done["message"]) == (
        "success", {"image_id": "x"}, "Copied 1 MiB")
    expires = parse_iso(done["expires_at"]) - parse_iso(done["updated_at"])
    assert expires == datetime.timedelta(hours=48)


@pytest.mark.parametrize("path, refused", [
    (["failure"], "processing"),      # ended: nothing follows
    (["processing"], "pending"),      # no way back
    ([], "success"),                  # pending cannot succeed unstarted
])
def test_moves_the_machine_does_not_allow_are_409(client, new_task, path, refused):
    task = new_task()
    for status in path:
        assert _put(client, task["id"], {"status": status}).status_code == 200
    resp = _put(client, task["id"], {"status": refused})
    assert resp.status_code == 409
    assert "not allowed" in resp.get_json()["message"]


def test_pending_may_fail_directly(client, new_task):
    task = new_task()
    resp = _put(client, task["id"], {"status": "failure", "message": "bad URL"})
    assert resp.get_json()["task"]["status"] == "failure"


def test_from_status_is_compare_and_set(client, new_task):
    task = new_task()
    assert _put(client, task["id"], {"status": "processing"}, "pending").status_code == 200
    resp = _put(client, task["id"], {"message": "late"}, "pending")
    assert resp.status_code == 409
    shown = client.get("/tasks/%s" % task["id"], headers=ALICE).get_json()["task"]
    assert shown["message"] == ""


def test_concurrent_starts_only_one_wins(conf, new_task):
    # Two api workers race to start the same pending task: the write is
    # conditioned on "pending", so exactly one gets it.
    from glance_registry.app import create_app
    task = new_task()
    app = create_app(conf)
    codes = []
    barrier = threading.Barrier(4)

    def start():
        with app.test_client() as client:
            barrier.wait()
            codes.append(_put(client, task["id"], {"status": "processing"},
                              "pending").status_code)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 409, 409, 409]


@pytest.mark.parametrize("body", [
    {"task": {"type": "import"}},
    {"task": {"input": {}}},
    {"task": {"status": "bogus"}},
    {"task": {}, "from_status": "bogus"},
    {"task": {}, "time_to_live": "soon"},
    {"task": {}, "time_to_live": -1},
    {"nothing": 1},
])
def test_bad_updates_are_400_and_change_nothing(client, new_task, body):
    task = new_task()
    resp = client.put("/tasks/%s" % task["id"], json=body, headers=ALICE)
    assert resp.status_code == 400
    assert client.get("/tasks/%s" % task["id"], headers=ALICE).get_json()["task"] == task


def test_unknown_and_malformed_ids_are_404(client):
    for task_id in (str(uuid.uuid4()), "nope", "%s%%0A" % uuid.uuid4()):
        assert client.get("/tasks/%s" % task_id, headers=ALICE).status_code == 404
        assert _put(client, task_id, {"message": "x"}).status_code == 404


def test_expired_tasks_are_hidden_everywhere(client, new_task):
    image_id = str(uuid.uuid4())
    gone, kept = new_task(image_id=image_id), new_task(image_id=image_id)
    _put(client, gone["id"], {"status": "failure"}, time_to_live=0)
    _put(client, kept["id"], {"status": "failure"}, time_to_live=1)
    assert client.get("/tasks/%s" % gone["id"], headers=ADMIN).status_code == 404
    listed = [t["id"] for t in client.get("/tasks", headers=ADMIN).get_json()["tasks"]]
    assert listed == [kept["id"]]
    of_image = client.get("/images/%s/tasks" % image_id, headers=ADMIN).get_json()
    assert [t["id"] for t in of_image["tasks"]] == [kept["id"]]
    assert _put(client, gone["id"], {"message": "x"}).status_code == 404


def test_purge_removes_only_expired_tasks(client, new_task, app):
    gone, kept = new_task(), new_task()
    _put(client, gone["id"], {"status": "failure"}, time_to_live=0)
    with db.database.connection_context():
        assert tasks.purge_expired(utcnow()) == 1
        assert [t.id for t in Task.select()] == [kept["id"]]


def _stamp(task_id, created_at):
    """Give a task a distinct creation time so orders are predictable."""
    with db.database.connection_context():
        Task.update(created_at=created_at).where(Task.id == task_id).execute()


def _ids(client, query, as_=ADMIN):
    resp = client.get("/tasks?" + query, headers=as_)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return [t["id"] for t in resp.get_json()["tasks"]]


@pytest.fixture
def five(client, new_task, app):
    """Five tasks created a minute apart, newest last, of mixed status and owner."""
    start = datetime.datetime(2026, 1, 1)
    made = []
    for n in range(5):
        task = new_task(as_=ALICE if n % 2 == 0 else BOB,
                        type="import" if n < 2 else "api_image_import")
        _stamp(task["id"], start + datetime.timedelta(minutes=n))
        made.append(task["id"])
    _put(client, made[3], {"status": "processing"}, as_=BOB)
    return made


def test_lists_page_newest_first_by_marker(client, five):
    assert _ids(client, "limit=2") == [five[4], five[3]]
    assert _ids(client, "limit=2&marker=%s" % five[3]) == [five[2], five[1]]
    assert _ids(client, "limit=2&marker=%s" % five[1]) == [five[0]]
    assert _ids(client, "sort_dir=asc") == five


def test_lists_filter_by_status_type_and_owner(client, five):
    assert _ids(client, "status=processing") == [five[3]]
    assert _ids(client, "type=import&sort_dir=asc") == five[:2]
    assert _ids(client, "owner=bob") == [five[3], five[1]]


def test_sorting_by_status_pages_through_ties_stably(client, five):
    everything = _ids(client, "sort_key=status&sort_dir=desc")
    assert everything[0] == five[3]  # processing > pending
    paged, marker = [], None
    while True:
        page = _ids(client, "sort_key=status&sort_dir=desc&limit=2"
                    + ("&marker=%s" % marker if marker else ""))
        paged += page
        if len(page) < 2:
            break
        marker = page[-1]
    assert paged == everything


@pytest.mark.parametrize("query, words", [
    ("limit=x", "limit param must be an integer"),
    ("limit=-1", "limit param must be positive"),
    ("sort_key=owner", "Invalid sort key"),
    ("sort_dir=up", "Invalid sort direction"),
    ("status=done", "Invalid status value"),
    ("type=export", "Invalid type value"),
    ("marker=nope", "Invalid marker format"),
    ("marker=%s" % uuid.uuid4(), "Invalid marker"),
    ("colour=red", "Unknown task list parameter"),
])
def test_bad_list_queries_are_400(client, query, words):
    resp = client.get("/tasks?" + query, headers=ADMIN)
    assert resp.status_code == 400
    assert words in resp.get_json()["message"]


def test_an_images_tasks_are_its_own_oldest_first(client, new_task):
    image_id, other = str(uuid.uuid4()), str(uuid.uuid4())
    first, second = new_task(image_id=image_id), new_task(image_id=image_id)
    new_task(image_id=other)
    _stamp(first["id"], datetime.datetime(2026, 1, 1))
    listed = client.get("/images/%s/tasks" % image_id, headers=ALICE).get_json()["tasks"]
    assert [t["id"] for t in listed] == [first["id"], second["id"]]
    assert client.get("/images/nope/tasks", headers=ALICE).status_code == 404


def test_migration_0007_builds_the_table_the_model_describes(empty_db_url):
    from glance_registry import migrations
    database = db.make_database(empty_db_url)
    try:
        assert 7 in migrations.sync(database)
        columns = {c.name for c in database.get_columns("tasks")}
        assert columns == {f.column_name for f in Task._meta.sorted_fields}
        indexed = {tuple(i.columns) for i in database.get_indexes("tasks")}
        assert {("created_at", "id"), ("image_id",), ("expires_at",)} <= indexed
    finally:
        db.close_all(database)
