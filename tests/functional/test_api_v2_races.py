"""Races through the real daemons.

Concurrent v2 tag calls, on SQLite and PostgreSQL: each PUT or DELETE
/v2/images/{id}/tags/{tag} edits the tags as they are when the registry
writes, so none of them undoes another's. And an import task whose api died
before it began (recorded, never run) is failed by another api's sweep once
its grace is over, rather than staying pending until it expires.
"""

from __future__ import annotations

import threading

import pytest
import requests

from tests.waiting import poll_until

CLIENTS = 16


@pytest.fixture
def v2(glance):
    return glance.url + "/v2"


def _create(v2, **fields):
    resp = requests.post(v2 + "/images", json=fields, timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _all_at_once(calls) -> list[int]:
    """Run each of ``calls`` (method, url) in its own thread, released together;
    the status codes they got."""
    barrier = threading.Barrier(len(calls))
    codes, failures = [], []

    def run(method, url):
        with requests.Session() as session:
            barrier.wait()
            try:
                codes.append(session.request(method, url, timeout=60).status_code)
            except Exception as exc:  # surfaced below, never swallowed
                failures.append(exc)

    threads = [threading.Thread(target=run, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert not failures, failures
    return codes


def _tags(v2, image_id) -> list[str]:
    resp = requests.get("%s/images/%s" % (v2, image_id), timeout=30)
    assert resp.status_code == 200, resp.text
    return sorted(resp.json()["tags"])


def test_concurrent_adds_of_distinct_tags_all_land(v2):
    image = _create(v2, name="tag-race", tags=["old"])
    url = "%s/images/%s/tags/" % (v2, image["id"])
    codes = _all_at_once([("PUT", url + "t%02d" % n) for n in range(CLIENTS)])
    assert codes == [204] * CLIENTS
    assert _tags(v2, image["id"]) == sorted(["old"] + ["t%02d" % n for n in range(CLIENTS)])


def test_removals_racing_adds_remove_nothing_else(v2):
    doomed = ["d%02d" % n for n in range(CLIENTS // 2)]
    added = ["a%02d" % n for n in range(CLIENTS // 2)]
    image = _create(v2, name="tag-race", tags=["keep"] + doomed)
    url = "%s/images/%s/tags/" % (v2, image["id"])
    calls = [("DELETE", url + tag) for tag in doomed] + [("PUT", url + tag) for tag in added]
    codes = _all_at_once(calls)
    assert codes == [204] * CLIENTS
    assert _tags(v2, image["id"]) == sorted(["keep"] + added)


def test_two_removals_of_one_tag_remove_it_once(v2):
    image = _create(v2, name="tag-race", tags=["keep", "gone"])
    url = "%s/images/%s/tags/gone" % (v2, image["id"])
    codes = _all_at_once([("DELETE", url)] * 4)
    # Whoever removed it first got 204; the others found it gone.
    assert sorted(codes) == [204] + [404] * 3
    assert _tags(v2, image["id"]) == ["keep"]


def test_a_task_whose_api_died_before_it_began_is_failed_by_the_sweep(fragile_glance):
    g = fragile_glance
    image = _create(g.url + "/v2", name="never-imported", disk_format="raw",
                    container_format="bare")
    # What glance-api records first when it accepts an import; it died then.
    resp = requests.post(g.registry.url + "/tasks", headers=g.registry_headers(), json={
        "task": {"type": "api_image_import", "image_id": image["id"],
                 "input": {"import_req": {"method": {"name": "web-download"}}}}},
        timeout=30)
    assert resp.status_code == 201, resp.text
    task_url = "%s/v2/tasks/%s" % (g.url, resp.json()["task"]["id"])

    def ended():
        return requests.get(task_url, timeout=30).json()["status"] != "pending"

    assert poll_until(ended, timeout=60)
    task = requests.get(task_url, timeout=30).json()
    assert task["status"] == "failure"
    assert task["message"] == ("The api that accepted this import stopped before it "
                               "began; its image is queued.")
    assert requests.get(g.url + "/v2/images/" + image["id"],
                        timeout=30).json()["status"] == "queued"
