"""Storage quota accounting: usage, holding bytes, and racing uploads."""

from __future__ import annotations

import threading
from collections import Counter

from registry_support import ADMIN
from registry_support import ALICE
from registry_support import BOB

THREADS = 6


def _reserve(client, image, at_least, wanted=None, quota=1000, as_=ALICE):
    return client.put("/images/%s/reservation" % image["id"], headers=as_, json={
        "at_least": at_least, "wanted": wanted or at_least, "quota": quota})


def test_a_saving_image_holds_what_fits_under_its_projects_quota(client, create):
    create(status="active", size=600)
    saving = create(status="saving")
    resp = _reserve(client, saving, 100, 300)
    assert resp.status_code == 200
    assert resp.get_json() == {"reserved": 300, "usage": 900, "quota": 1000}
    # Wanting more than is left gets the room left, if that covers the need.
    assert _reserve(client, saving, 350, 5000).get_json()["reserved"] == 400
    refused = _reserve(client, saving, 401)
    assert refused.status_code == 413
    assert "quota" in refused.get_json()["message"]


def test_usage_counts_active_sizes_and_saving_holds_not_killed_or_deleted(client, create):
    create(status="active", size=100)
    create(status="killed", size=500)
    deleted = create(status="active", size=500)
    assert client.delete("/images/" + deleted["id"], headers=ALICE).status_code == 200
    other = create(status="saving")
    assert _reserve(client, other, 200).status_code == 200
    create(as_=BOB, status="active", size=900)  # another project's bytes
    saving = create(status="saving")
    assert _reserve(client, saving, 700).get_json()["usage"] == 1000
    assert _reserve(client, saving, 701).status_code == 413


def test_only_images_taking_data_reserve(client, create):
    for status in ("queued", "active", "killed"):
        assert _reserve(client, create(status=status, size=1), 10).status_code == 409


def test_staged_and_importing_images_hold_bytes_like_saving_ones(client, create):
    # A stage or an import cannot slip past the quota an upload obeys.
    staged, importing = create(status="uploading"), create(status="importing")
    assert _reserve(client, staged, 400).status_code == 200
    assert _reserve(client, importing, 500).get_json()["usage"] == 900
    assert _reserve(client, create(status="saving"), 101).status_code == 413


def test_another_project_cannot_reserve_for_an_image(client, create):
    saving = create(status="saving")
    assert _reserve(client, saving, 10, as_=BOB).status_code == 404


def test_an_image_without_a_project_or_a_zero_quota_is_unlimited(client, create):
    ownerless = create(as_=ADMIN, status="saving", owner=None)
    assert _reserve(client, ownerless, 10 ** 12, as_=ADMIN).status_code == 200
    saving = create(status="saving")
    assert _reserve(client, saving, 10 ** 12, quota=0).status_code == 200


def test_malformed_reservations_are_400(client, create):
    saving = create(status="saving")
    for body in ({}, {"at_least": -1, "wanted": 1, "quota": 1},
                 {"at_least": "1", "wanted": 1, "quota": 1},
                 {"at_least": True, "wanted": 1, "quota": 1}, [1]):
        resp = client.put("/images/%s/reservation" % saving["id"], headers=ALICE,
                          json=body)
        assert resp.status_code == 400, body


def test_racing_uploads_that_fit_only_one_at_a_time_let_exactly_one_hold(app, create):
    for _ in range(3):
        images = [create(status="saving") for _ in range(THREADS)]
        barrier = threading.Barrier(THREADS)
        codes, failures = [], []

        def hold(image):
            client = app.test_client()
            barrier.wait()
            try:
                codes.append(_reserve(client, image, 600, quota=1000).status_code)
            except Exception as exc:  # surfaced below, never swallowed
                failures.append(exc)

        threads = [threading.Thread(target=hold, args=(i,)) for i in images]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not failures
        assert Counter(codes) == {200: 1, 413: THREADS - 1}
        client = app.test_client()
        for image in images:  # give the room back for the next round
            client.put("/images/" + image["id"], headers=ALICE,
                       json={"image": {"status": "killed"}})
