"""Compare-and-set status writes: many threads at once let exactly one win,
and a change between the transition check and the write is a conflict."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter

import pytest
from registry_support import ADMIN
from registry_support import ALICE

from glance_registry import status

THREADS = 8


def test_concurrent_status_changes_from_the_same_state_let_one_win(app, create):
    for _ in range(3):
        image = create(disk_format="raw", container_format="bare")
        barrier = threading.Barrier(THREADS)
        codes, failures = [], []

        def claim(n):
            client = app.test_client()
            barrier.wait()
            try:
                response = client.put(
                    "/images/" + image["id"], headers=ALICE,
                    json={"image": {"status": "saving", "name": "winner-%d" % n},
                          "from_state": "queued"})
                codes.append((response.status_code, n))
            except Exception as exc:  # surfaced below, never swallowed
                failures.append(exc)

        threads = [threading.Thread(target=claim, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not failures
        tally = Counter(code for code, _ in codes)
        assert tally == {200: 1, 409: THREADS - 1}, tally
        winner = next(n for code, n in codes if code == 200)
        shown = app.test_client().get("/images/" + image["id"],
                                      headers=ALICE).get_json()["image"]
        assert (shown["status"], shown["name"]) == ("saving", "winner-%d" % winner)


# A status change landing between the registry's transition check and its
# write. On PostgreSQL another connection can commit there (the check only
# reads). On SQLite it cannot (BEGIN IMMEDIATE locks other writers out, see
# the last test), so there the change is written on the registry's own
# connection, the one way a row can differ from what was checked.

def _other_writer(db_url):
    """A function that moves an image's status as another writer would."""
    if db_url.startswith("sqlite"):
        from glance_registry.models import Image

        def write(image_id, old, new):
            (Image.update(status=new)
             .where(Image.id == image_id, Image.status == old).execute())
        return write

    import psycopg2

    def write(image_id, old, new):
        conn = psycopg2.connect(db_url)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("UPDATE images SET status = %s WHERE id = %s AND status = %s",
                            (new, image_id, old))
                assert cur.rowcount == 1
        finally:
            conn.close()
    return write


@pytest.fixture
def after_check(monkeypatch, db_url):
    """Arrange for another writer to move an image right after the check."""

    def arrange(image_id, old, new):
        write, checked = _other_writer(db_url), status.check_transition

        def check_then_interfere(current, wanted):
            checked(current, wanted)
            monkeypatch.setattr(status, "check_transition", checked)  # once
            write(image_id, old, new)

        monkeypatch.setattr(status, "check_transition", check_then_interfere)

    return arrange


def _status(client, image_id):
    return client.get("/images/" + image_id, headers=ADMIN).get_json()["image"]["status"]


def test_an_update_whose_status_changed_after_the_check_is_409(client, create,
                                                               after_check, db_url):
    image = create(disk_format="raw", container_format="bare")
    after_check(image["id"], "queued", "killed")
    response = client.put("/images/" + image["id"], headers=ALICE,
                          json={"image": {"status": "saving"}})
    assert response.status_code == 409
    assert response.get_json()["message"] == (
        "Image status transition from queued to saving conflict: "
        "the image is no longer queued.")
    # The other writer's move stands where it could commit; never saving.
    assert _status(client, image["id"]) == (
        "queued" if db_url.startswith("sqlite") else "killed")


def test_a_delete_whose_status_changed_after_the_check_is_409(client, create,
                                                              after_check, db_url):
    image = create(status="active", locations=[{"url": "file:///x"}])
    after_check(image["id"], "active", "deactivated")
    response = client.delete("/images/%s?status=pending_delete" % image["id"],
                             headers=ALICE)
    assert response.status_code == 409
    shown = client.get("/images/" + image["id"], headers=ADMIN).get_json()["image"]
    assert shown["deleted"] is False
    assert shown["status"] == ("active" if db_url.startswith("sqlite") else "deactivated")
    assert [loc["status"] for loc in shown["locations"]] == ["active"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_on_sqlite_no_other_writer_gets_between_check_and_write(client, create,
                                                                monkeypatch, db_url):
    image = create(disk_format="raw", container_format="bare")
    path = db_url[len("sqlite:///"):]
    checked, refused = status.check_transition, []

    def check_then_try(current, wanted):
        checked(current, wanted)
        other = sqlite3.connect(path, timeout=0)
        try:
            other.execute("UPDATE images SET status = 'killed' WHERE id = ?",
                          (image["id"],))
        except sqlite3.OperationalError as exc:
            refused.append(str(exc))
        finally:
            other.close()

    monkeypatch.setattr(status, "check_transition", check_then_try)
    response = client.put("/images/" + image["id"], headers=ALICE,
                          json={"image": {"status": "saving"}})
    assert refused == ["database is locked"]
    assert response.status_code == 200
    assert _status(client, image["id"]) == "saving"
