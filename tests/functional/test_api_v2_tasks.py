"""The v2 tasks API against real daemons behind a real Keystone, on SQLite and
PostgreSQL (spec v2 section 10), and the task commands of the real
glanceclient 4.13 and openstackclient 10.5.

The pairs run in multi-store mode (two file stores, ``enabled_backends``),
which is what lists v2.12 and so lets ``glance image-tasks`` run. Task
records the tests need in a given state (an image's tasks, ended ones) are
written straight into the registry with the api's own service identity,
as glance-api's imports write them. The clients log in to the run's
Keystone and reach the api through an endpoint override.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
import requests

from tests.clients import Cloud
from tests.clients import rows
from tests.clients import run
from tests.clients import table
from tests.pairs import Glance
from tests.pairs import database
from tests.waiting import poll_until

FORBIDDEN = "You are not authorized to complete tasks_api_access action."
LEGACY = {"type": "import",
          "input": {"import_from": "http://127.0.0.1:9/nothing-listens-here.img",
                    "import_from_format": "raw",
                    "image_properties": {"name": "legacy", "disk_format": "raw",
                                         "container_format": "bare"}}}
MICROSECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
WHOLE_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def multistore_pair(keystone, base, db_url) -> Glance:
    """A Keystone-guarded pair with two file stores (multi-store mode)."""
    sections = {"glance_store": {"default_backend": "fast"},
                "os_glance_staging_store": {"filesystem_store_datadir": base / "staging"},
                "os_glance_tasks_store": {"filesystem_store_datadir": base / "work"}}
    for store in ("fast", "cheap"):
        (base / store).mkdir(parents=True, exist_ok=True)
        sections[store] = {"filesystem_store_datadir": base / store}
    return Glance(base / "glance", db_url, keystone=keystone.authtoken_section(),
                  service_token=lambda: keystone.token("glance"), sections=sections,
                  enabled_backends="fast:file,cheap:file")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def cloud(request, tmp_path_factory, real_keystone):
    """A multi-store pair behind the run's Keystone, on each database."""
    url = database(request, tmp_path_factory, request.param)
    base = tmp_path_factory.mktemp("tasks-" + request.param)
    pair = multistore_pair(real_keystone, base, url)
    (base / "home").mkdir()
    yield Cloud(real_keystone, pair, base / "home")
    pair.stop()


def _record(cloud, owner_project: str, **fields) -> dict:
    """A task written into the registry as glance-api writes one."""
    fields.setdefault("type", "api_image_import")
    fields.setdefault("input", {"import_req": {"method": {"name": "web-download"}}})
    fields["owner"] = cloud.project_id(owner_project)
    resp = requests.post(cloud.glance.registry.url + "/tasks", json={"task": fields},
                         headers=cloud.glance.registry_headers(), timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.json()["task"]


def _change(cloud, task_id: str, changes: dict, **extra) -> dict:
    resp = requests.put(cloud.glance.registry.url + "/tasks/" + task_id,
                        json={"task": changes, **extra},
                        headers=cloud.glance.registry_headers(), timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()["task"]


def _all_ids(cloud, user: str, query: str) -> list[str]:
    """Every task id of a list, following its ``next`` links."""
    found, path = [], "/v2/tasks?" + query
    while path:
        resp = cloud.api(user, "GET", path)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        found += [t["id"] for t in body["tasks"]]
        path = body.get("next")
    return found


def test_versions_list_v2_12_in_multistore_mode(cloud):
    ids = {v["id"] for v in requests.get(cloud.glance.url + "/versions").json()["versions"]}
    assert {"v2.12", "v2.13"} <= ids


@pytest.mark.parametrize("user", ["alice", "carol"])
def test_non_admins_get_403_from_the_whole_tasks_api(cloud, user):
    task = _record(cloud, "tenant-a")
    for method, path, body in [("GET", "/v2/tasks", None),
                               ("GET", "/v2/tasks/" + task["id"], None),
                               ("POST", "/v2/tasks", LEGACY)]:
        resp = cloud.api(user, method, path, json=body)
        assert resp.status_code == 403, (method, path, resp.text)
        assert FORBIDDEN in resp.text


def test_a_legacy_import_task_is_created_and_shown(cloud):
    resp = cloud.api("admin", "POST", "/v2/tasks", json=LEGACY)
    assert resp.status_code == 201, resp.text
    task = resp.json()
    assert resp.headers["Location"].endswith("/v2/tasks/" + task["id"])
    shown = cloud.api("admin", "GET", "/v2/tasks/" + task["id"]).json()
    assert (shown["type"], shown["input"]) == ("import", LEGACY["input"])
    assert shown["owner"] == cloud.project_id("admin")
    assert {"result", "message"} <= set(shown)
    assert WHOLE_SECONDS.match(shown["created_at"])
    assert task["id"] in _all_ids(cloud, "admin", "type=import&limit=50")
    # The importer runs it; nothing listens at the URL, so it must end in
    # failure with a reason, not stay pending.
    def ended():
        return cloud.api("admin", "GET", "/v2/tasks/" + task["id"]).json()["status"] in (
            "success", "failure")
    assert poll_until(ended, timeout=60)
    final = cloud.api("admin", "GET", "/v2/tasks/" + task["id"]).json()
    assert final["status"] == "failure" and final["message"]
    assert WHOLE_SECONDS.match(final["expires_at"])


def test_a_bad_legacy_post_is_400_and_creates_nothing(cloud):
    before = _all_ids(cloud, "admin", "type=import&limit=1000")
    body = {"type": "import", "input": {"import_from": "http://127.0.0.1:9/x"}}
    resp = cloud.api("admin", "POST", "/v2/tasks", json=body)
    assert resp.status_code == 400
    assert "import_from_format" in resp.text
    assert _all_ids(cloud, "admin", "type=import&limit=1000") == before


def test_lists_page_with_next_links_without_overlap(cloud):
    made = {_record(cloud, "tenant-b", type="location_import")["id"] for _ in range(5)}
    for sort in ("sort_dir=desc", "sort_dir=asc", "sort_key=status&sort_dir=desc"):
        paged = _all_ids(cloud, "admin", "type=location_import&limit=2&" + sort)
        assert len(paged) == len(set(paged)), sort
        assert made <= set(paged), sort
    first = cloud.api("admin", "GET", "/v2/tasks?type=location_import&limit=2").json()
    assert first["first"] == "/v2/tasks?type=location_import&limit=2"
    assert first["schema"] == "/v2/schemas/tasks"
    assert "marker=" + first["tasks"][-1]["id"] in first["next"]
    assert set(first["tasks"][0]) >= {"id", "type", "status", "owner", "self", "schema"}
    assert "input" not in first["tasks"][0]


def test_bad_list_queries_are_400(cloud):
    for query in ("status=done", "sort_dir=up", "limit=-1", "marker=%s" % uuid.uuid4()):
        assert cloud.api("admin", "GET", "/v2/tasks?" + query).status_code == 400, query


def test_ended_tasks_are_hidden_once_they_expire(cloud):
    image_id = str(uuid.uuid4())
    gone = _record(cloud, "tenant-a", image_id=image_id)
    kept = _record(cloud, "tenant-a", image_id=image_id)
    _change(cloud, gone["id"], {"status": "failure", "message": "gone"}, time_to_live=0)
    ended = _change(cloud, kept["id"], {"status": "failure", "message": "kept"})
    assert ended["expires_at"] is not None
    assert cloud.api("admin", "GET", "/v2/tasks/" + gone["id"]).status_code == 404
    listed = _all_ids(cloud, "admin", "status=failure&limit=1000")
    assert kept["id"] in listed and gone["id"] not in listed
    shown = cloud.api("admin", "GET", "/v2/tasks/" + kept["id"]).json()
    assert WHOLE_SECONDS.match(shown["expires_at"])


def test_an_images_tasks_are_its_owners_with_microseconds(cloud):
    image = cloud.create("alice", visibility="private", name="with-tasks")
    task = _record(cloud, "tenant-a", image_id=image["id"])
    _change(cloud, task["id"], {"status": "processing", "message": "Copied 1 MiB"})
    resp = cloud.api("alice", "GET", "/v2/images/%s/tasks" % image["id"])
    assert resp.status_code == 200, resp.text
    [shown] = resp.json()["tasks"]
    assert (shown["id"], shown["image_id"], shown["message"]) == (
        task["id"], image["id"], "Copied 1 MiB")
    assert {"request_id", "user_id", "input", "result"} <= set(shown)
    assert MICROSECONDS.match(shown["created_at"]) and MICROSECONDS.match(shown["updated_at"])
    # Another project cannot see the image, so not its tasks either.
    assert cloud.api("bob", "GET", "/v2/images/%s/tasks" % image["id"]).status_code == 404
    admin = cloud.api("admin", "GET", "/v2/images/%s/tasks" % image["id"]).json()
    assert [t["id"] for t in admin["tasks"]] == [task["id"]]


# --- the real glanceclient 4.13 ------------------------------------------------

class DirectCloud(Cloud):
    """The clients log in to Keystone and are pointed at the api with
    OS_IMAGE_URL (the run's Keystone has no image endpoint in its catalog)."""

    def env(self, user: str) -> dict:
        return dict(super().env(user), OS_IMAGE_URL=self.glance.url,
                    OS_IMAGE_ENDPOINT_OVERRIDE=self.glance.url)


@pytest.fixture(scope="module")
def client_cloud(cloud):
    return DirectCloud(cloud.keystone, cloud.glance, cloud.home)


@pytest.fixture
def glance(glance_v2_cli, client_cloud):
    def _glance(user, *args, check=True):
        return run(glance_v2_cli, client_cloud, user, *args, check=check)
    return _glance


# Client runs cost seconds each: they run on SQLite; the registry's SQL is
# the same on both databases and is covered on both above.
ON_SQLITE = pytest.mark.parametrize("cloud", ["sqlite"], indirect=True)


@ON_SQLITE
def test_glanceclient_task_list_and_task_show(glance, client_cloud):
    task = _record(client_cloud, "admin", type="import", input=LEGACY["input"])
    listed = rows(glance("admin", "task-list").stdout)
    assert task["id"] in {row["ID"] for row in listed}
    shown = table(glance("admin", "task-show", task["id"]).stdout)
    assert (shown["id"], shown["type"], shown["status"]) == (task["id"], "import", "pending")
    refused = glance("alice", "task-list", check=False)
    assert refused.returncode != 0 and "403" in refused.stderr + refused.stdout


@ON_SQLITE
def test_glanceclient_image_tasks(glance, client_cloud):
    image = client_cloud.create("alice", name="tasks-cli")
    task = _record(client_cloud, "tenant-a", image_id=image["id"])
    _change(client_cloud, task["id"], {"status": "processing", "message": "Copied 1 MiB"})
    # glanceclient shows the message, status and the microsecond updated_at.
    [row] = rows(glance("alice", "image-tasks", image["id"]).stdout)
    assert (row["Message"], row["Status"]) == ("Copied 1 MiB", "processing")
    assert MICROSECONDS.match(row["Updated at"])
    refused = glance("bob", "image-tasks", image["id"], check=False)
    assert refused.returncode != 0


@ON_SQLITE
def test_openstackclient_image_task_list(openstack_cli, client_cloud):
    task = _record(client_cloud, "admin", type="import", input=LEGACY["input"])
    out = run(openstack_cli, client_cloud, "admin", "image", "task", "list",
              "-f", "json").stdout
    assert task["id"] in {row["ID"] for row in json.loads(out)}
    refused = run(openstack_cli, client_cloud, "alice", "image", "task", "list",
                  check=False)
    assert refused.returncode != 0 and "403" in refused.stderr + refused.stdout
