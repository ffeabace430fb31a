"""The real glance-registry daemon (gunicorn) on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from glance_registry import db
from glance_registry import migrations
from tests.daemons import start_registry
from tests.waiting import poll_until

ALICE = {"X-Glance-Context-User": "u1", "X-Glance-Context-Project": "alice",
         "X-Glance-Context-Roles": "member", "Accept": "application/json"}


@pytest.fixture
def registry(tmp_path, db_url):
    daemon = start_registry(tmp_path, db_url)
    yield daemon
    daemon.stop()


def test_create_list_show_round_trip(registry):
    rid = "req-%s" % uuid.uuid4()
    created = requests.post(registry.url + "/images", headers=dict(
        ALICE, **{"X-Openstack-Request-Id": rid}),
        json={"image": {"name": "cirros", "disk_format": "qcow2",
                        "container_format": "bare", "properties": {"k": "v"}}},
        timeout=10)
    assert created.status_code == 201
    assert created.headers["x-openstack-request-id"] == rid
    image = created.json()["image"]
    listed = requests.get(registry.url + "/images/detail", headers=ALICE, timeout=10)
    assert listed.status_code == 200
    assert listed.json()["images"] == [image]
    brief = requests.get(registry.url + "/images", headers=ALICE, timeout=10)
    assert brief.json()["images"] == [{k: image[k] for k in (
        "id", "name", "disk_format", "container_format", "size", "checksum")}]
    shown = requests.get(registry.url + "/images/" + image["id"], headers=ALICE,
                         timeout=10)
    assert shown.json()["image"] == image
    assert poll_until(lambda: rid in registry.log_text())  # the id reaches the log


def test_several_workers_serve_concurrent_writes_each_on_its_own_connections(
        tmp_path, db_url):
    # Nothing the master process opens before forking may be shared by the
    # workers: one database socket used by two processes corrupts both.
    daemon = start_registry(tmp_path, db_url, workers=2, threads=4)
    try:
        def create_and_show(i):
            with requests.Session() as session:
                made = session.post(daemon.url + "/images", headers=ALICE,
                                    json={"image": {"name": "img-%d" % i}}, timeout=10)
                shown = session.get(daemon.url + "/images/" + made.json()["image"]["id"],
                                    headers=ALICE, timeout=10)
                return made.status_code, shown.status_code

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(create_and_show, range(80)))
        assert results == [(201, 200)] * 80
        listed = requests.get(daemon.url + "/images", headers=ALICE,
                              params={"limit": 1000}, timeout=10)
        assert len(listed.json()["images"]) == 80
    finally:
        daemon.stop()


def test_errors_are_json_for_json_callers(registry):
    response = requests.get(registry.url + "/images/%s" % uuid.uuid4(),
                            headers=ALICE, timeout=10)
    assert response.status_code == 404
    assert response.json()["code"] == 404


def test_a_killed_database_connection_is_replaced_on_the_next_request(
        tmp_path, postgres):
    url = postgres.create_database()
    database = db.make_database(url)
    migrations.sync(database)
    db.close_all(database)
    daemon = start_registry(tmp_path, url, threads=2)
    try:
        made = requests.post(daemon.url + "/images", headers=ALICE,
                             json={"image": {"name": "before"}}, timeout=10)
        assert made.status_code == 201
        image_id = made.json()["image"]["id"]
        for _ in range(4):  # warm every thread's pooled connection
            requests.get(daemon.url + "/images", headers=ALICE, timeout=10)
        name = url.rsplit("/", 1)[1]
        killed = postgres.terminate_backends(name)
        assert killed >= 1  # the daemon held connections that are now dead
        # pg_terminate_backend only signals: wait until the backends are gone.
        assert poll_until(lambda: postgres.sessions(name) == 0)
        shown = requests.get(daemon.url + "/images/" + image_id, headers=ALICE,
                             timeout=10)
        assert shown.status_code == 200, shown.text
        assert requests.get(daemon.url + "/healthcheck", timeout=10).status_code == 200
    finally:
        daemon.stop()
