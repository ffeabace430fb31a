"""db purge: soft-deleted rows older than N days go for good, children first."""

from __future__ import annotations

import datetime

from registry_support import ALICE

from glance_common.timestamps import utcnow
from glance_registry import manage
from glance_registry.db import database
from glance_registry.models import Image
from glance_registry.models import ImageLocation
from glance_registry.models import ImageMember
from glance_registry.models import ImageProperty
from glance_registry.models import ImageTag
from glance_registry.purge import purge
from tests.daemons import write_config


def _age(image_id, days):
    then = utcnow() - datetime.timedelta(days=days)
    with database.connection_context():
        Image.update(deleted_at=then).where(Image.id == image_id).execute()
        for model in (ImageProperty, ImageTag, ImageLocation, ImageMember):
            (model.update(deleted_at=then)
             .where(model.image == image_id, model.deleted == True)  # noqa: E712
             .execute())


def _rows(image_id):
    with database.connection_context():
        return {m._meta.table_name: m.select().where(
                    (m.id == image_id) if m is Image else (m.image == image_id)).count()
                for m in (Image, ImageProperty, ImageTag, ImageLocation, ImageMember)}


def _deleted_image(client, create, days):
    image = create(properties={"a": "1"}, tags=["t"],
                   locations=[{"url": "file:///x"}])
    client.put("/images/%s/members/bob" % image["id"], headers=ALICE)
    client.delete("/images/" + image["id"], headers=ALICE)
    _age(image["id"], days)
    return image["id"]


def test_purge_removes_old_deleted_images_with_their_children(client, create):
    old = [_deleted_image(client, create, 40) for _ in range(3)]
    recent = _deleted_image(client, create, 5)
    live = create(properties={"a": "1"})["id"]
    with database.connection_context():
        result = purge(database.obj, age_in_days=30, max_rows=2)
    assert result.images == 2
    gone = [i for i in old if _rows(i)["images"] == 0]
    assert len(gone) == 2
    assert all(count == 0 for i in gone for count in _rows(i).values())
    with database.connection_context():
        result = purge(database.obj, age_in_days=30)
    assert result.images == 1
    assert all(_rows(i)["images"] == 0 for i in old)
    assert _rows(recent)["images"] == 1 and _rows(recent)["image_properties"] == 1
    assert _rows(live) == {"images": 1, "image_properties": 1, "image_tags": 0,
                           "image_locations": 0, "image_members": 0}


def test_purge_removes_old_deleted_children_of_live_images(client, create):
    image = create(properties={"a": "1", "b": "2"})
    client.put("/images/" + image["id"], headers=ALICE, json={
        "image": {"properties": {"a": None}}})
    _age(image["id"], 40)
    with database.connection_context():
        result = purge(database.obj, age_in_days=30)
    assert result.images == 0 and result.children["image_properties"] == 1
    shown = client.get("/images/" + image["id"], headers=ALICE).get_json()["image"]
    assert shown["properties"] == {"b": "2"}


def test_glance_manage_db_purge(client, create, db_url, tmp_path, capsys):
    old = [_deleted_image(client, create, 40) for _ in range(2)]
    config = str(write_config(tmp_path / "m.conf", {"database": {"connection": db_url}}))
    assert manage.main(["--config-file", config, "db", "purge",
                        "--age-in-days", "30", "--max-rows", "1"]) == 0
    assert "Purged 1 images" in capsys.readouterr().out
    assert manage.main(["--config-file", config, "db", "purge",
                        "--age_in_days", "30"]) == 0
    assert "Purged 1 images" in capsys.readouterr().out
    assert all(_rows(i)["images"] == 0 for i in old)
