"""Storage quotas under Keystone: the registry keeps the accounting, atomically.

The project tenant-a may store 200 KiB (``user_storage_quota = 200KB``).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

import pytest
import requests

from tests.pairs import Glance
from tests.pairs import database

QUOTA = 200 * 1024


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def glance(request, tmp_path_factory, real_keystone):
    pair = Glance(tmp_path_factory.mktemp("quota-" + request.param),
                  database(request, tmp_path_factory, request.param),
                  keystone=real_keystone.authtoken_section(),
                  service_token=lambda: real_keystone.token("glance"),
                  user_storage_quota="200KB")
    yield pair
    pair.stop()


@pytest.fixture
def alice(real_keystone, glance):
    """A session with alice's token; her images are deleted afterwards."""
    session = requests.Session()
    session.headers["X-Auth-Token"] = real_keystone.token("alice")
    yield session
    for image in _all(session, glance):
        if not image["deleted"]:
            session.delete(glance.url + "/v1/images/" + image["id"])


HEADERS = {"x-image-meta-name": "q", "x-image-meta-disk_format": "raw",
           "x-image-meta-container_format": "bare",
           "Content-Type": "application/octet-stream"}


def _stored(glance) -> list[Path]:
    return [p for p in Path(glance.images_dir).rglob("*") if p.is_file()]


def _all(session, glance) -> list[dict]:
    """Every image of the caller, killed and deleted ones included."""
    return session.get(glance.url + "/v1/images/detail",
                       params={"changes-since": "2000-01-01T00:00:00"}).json()["images"]


def _killed(session, glance) -> list[dict]:
    return [i for i in _all(session, glance)
            if i["status"] == "killed" and not i["deleted"]]


def test_an_upload_over_the_quota_is_refused_with_413_and_nothing_stays(alice, glance):
    resp = alice.post(glance.url + "/v1/images", headers=HEADERS,
                      data=os.urandom(QUOTA + 1))
    assert resp.status_code == 413, resp.text
    assert _stored(glance) == []
    assert len(_killed(alice, glance)) == 1


def test_a_chunked_upload_is_stopped_where_it_crosses_the_quota(alice, glance):
    sent = []

    def body():
        for _ in range(40):  # 320 KiB in 8 KiB chunks
            sent.append(1)
            yield os.urandom(8192)

    resp = alice.post(glance.url + "/v1/images", headers=HEADERS, data=body())
    assert resp.status_code == 413, resp.text
    assert "quota" in resp.text
    assert _stored(glance) == []
    assert len(_killed(alice, glance)) == 1


def test_up_to_the_quota_fits_and_deleting_gives_the_room_back(alice, glance):
    first = alice.post(glance.url + "/v1/images", headers=HEADERS,
                       data=os.urandom(QUOTA - 1000))
    assert first.status_code == 201, first.text
    assert alice.post(glance.url + "/v1/images", headers=HEADERS,
                      data=os.urandom(1001)).status_code == 413
    assert alice.delete(glance.url + "/v1/images/" + first.json()["image"]["id"]
                        ).status_code == 200
    assert alice.post(glance.url + "/v1/images", headers=HEADERS,
                      data=os.urandom(QUOTA)).status_code == 201


def test_two_concurrent_uploads_that_together_exceed_the_quota_let_exactly_one_in(
        alice, glance):
    for _ in range(3):
        barrier = threading.Barrier(2)
        results, failures = [], []

        def upload():
            data = os.urandom(QUOTA * 6 // 10)
            barrier.wait()
            try:
                results.append(alice.post(glance.url + "/v1/images", headers=HEADERS,
                                          data=data))
            except Exception as exc:  # surfaced below, never swallowed
                failures.append(exc)

        threads = [threading.Thread(target=upload) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not failures
        assert Counter(r.status_code for r in results) == {201: 1, 413: 1}, [
            r.text for r in results]
        assert len(_stored(glance)) == 1
        winner = next(r for r in results if r.status_code == 201).json()["image"]
        assert alice.delete(glance.url + "/v1/images/" + winner["id"]).status_code == 200
        assert _stored(glance) == []


def test_projects_have_separate_quotas(alice, glance, real_keystone):
    assert alice.post(glance.url + "/v1/images", headers=HEADERS,
                      data=os.urandom(QUOTA)).status_code == 201
    bob = requests.Session()
    bob.headers["X-Auth-Token"] = real_keystone.token("bob")
    resp = bob.post(glance.url + "/v1/images", headers=HEADERS, data=os.urandom(QUOTA))
    assert resp.status_code == 201
    bob.delete(glance.url + "/v1/images/" + resp.json()["image"]["id"])


def test_a_stage_over_the_quota_is_refused_and_the_image_queued_again(alice, glance):
    # The interoperable import's first step obeys the quota an upload does.
    image = alice.post(glance.url + "/v2/images", json={
        "name": "staged", "disk_format": "raw", "container_format": "bare"}).json()
    resp = alice.put(glance.url + "/v2/images/%s/stage" % image["id"],
                     data=os.urandom(QUOTA + 1),
                     headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == 413, resp.text
    assert alice.get(glance.url + "/v2/images/" + image["id"]).json()["status"] == "queued"
    staged = [p for p in (glance.base / "staging").rglob("*") if p.is_file()]
    assert staged == []
