"""The registry client's task calls against a real registry over HTTP."""

from __future__ import annotations

import uuid

import pytest

from glance_api import registry_client
from glance_common.context import RequestContext
from tests.conftest import DATABASES
from tests.unit.glance_api.real_registry import serve
from tests.unit.glance_api.real_registry import sqlite_url
from tests.unit.glance_api.real_registry import wipe

ALICE_REQUEST = "req-%s" % uuid.uuid4()
ALICE = RequestContext.build("alice-user", "alice", ["member"], ALICE_REQUEST)
BOB = RequestContext.build("bob-user", "bob", ["member"])
ADMIN = RequestContext.build("root", "admin-project", ["admin"])


@pytest.fixture(scope="module", params=DATABASES)
def served(request, tmp_path_factory):
    """One registry per module and database; emptied after each test."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("registry"))
    else:
        url = request.getfixturevalue("postgres_registry_url")
    with serve(url) as client:
        yield client


@pytest.fixture
def registry(served):
    served.task_time_to_live = 48.0
    yield served
    wipe()


def test_create_get_and_the_whole_life_of_a_task(registry):
    image_id = str(uuid.uuid4())
    task = registry.create_task(ALICE, {"type": "api_image_import",
                                        "input": {"import_req": {}}, "image_id": image_id})
    assert (task["status"], task["owner"], task["user_id"], task["request_id"]) == (
        "pending", "alice", "alice-user", ALICE_REQUEST)
    assert registry.get_task(ALICE, task["id"]) == task
    started = registry.update_task(ALICE, task["id"], {"status": "processing"},
                                   from_status="pending")
    assert started["status"] == "processing" and started["expires_at"] is None
    done = registry.update_task(ALICE, task["id"], {"status": "success",
                                                    "result": {"image_id": image_id},
                                                    "message": "Copied 1 MiB"})
    assert (done["status"], done["result"], done["message"]) == (
        "success", {"image_id": image_id}, "Copied 1 MiB")
    assert done["expires_at"] > done["updated_at"]
    assert [t["id"] for t in registry.image_tasks(ALICE, image_id)] == [task["id"]]


def test_a_lost_compare_and_set_and_a_refused_move_are_conflict(registry):
    task = registry.create_task(ALICE, {"type": "import", "input": {}})
    registry.update_task(ALICE, task["id"], {"status": "processing"}, from_status="pending")
    with pytest.raises(registry_client.Conflict):
        registry.update_task(ALICE, task["id"], {"status": "processing"},
                             from_status="pending")
    with pytest.raises(registry_client.Conflict):
        registry.update_task(ALICE, task["id"], {"status": "pending"})


def test_unknown_and_hostile_ids_are_not_found_without_a_call(registry):
    for task_id in (str(uuid.uuid4()), "../images", "a/b", "x\n"):
        with pytest.raises(registry_client.NotFound):
            registry.get_task(ALICE, task_id)
        with pytest.raises(registry_client.NotFound):
            registry.update_task(ALICE, task_id, {"message": "x"})
    with pytest.raises(registry_client.NotFound):
        registry.image_tasks(ALICE, "../tasks")


def test_bad_bodies_and_queries_are_bad_request(registry):
    with pytest.raises(registry_client.BadRequest):
        registry.create_task(ALICE, {"type": "export", "input": {}})
    with pytest.raises(registry_client.BadRequest):
        registry.list_tasks(ADMIN, {"sort_key": "owner"})


def test_list_filters_and_pages(registry):
    made = [registry.create_task(ALICE if n % 2 else BOB,
                                 {"type": "import", "input": {"n": n}})["id"]
            for n in range(4)]
    listed = [t["id"] for t in registry.list_tasks(ADMIN, {"sort_dir": "asc"})]
    assert sorted(listed) == sorted(made)
    first = registry.list_tasks(ADMIN, {"sort_dir": "asc", "limit": 2})
    rest = registry.list_tasks(ADMIN, {"sort_dir": "asc", "limit": 2,
                                       "marker": first[-1]["id"]})
    assert [t["id"] for t in first + rest] == listed
    assert {t["owner"] for t in registry.list_tasks(ADMIN, {"owner": "alice"})} == {"alice"}


def test_the_time_to_live_the_client_carries_sets_expires_at(registry):
    registry.task_time_to_live = 0
    task = registry.create_task(ALICE, {"type": "import", "input": {}})
    registry.update_task(ALICE, task["id"], {"status": "failure", "message": "no"})
    with pytest.raises(registry_client.NotFound):
        registry.get_task(ALICE, task["id"])
    assert registry.list_tasks(ADMIN, {}) == []
