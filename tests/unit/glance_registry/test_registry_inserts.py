"""The create path's inserts write exactly the rows peewee's own insert writes."""

from __future__ import annotations

import datetime
import uuid

import pytest

from glance_registry import db
from glance_registry import inserts
from glance_registry.models import Image
from glance_registry.models import ImageProperty
from glance_registry.models import ImageTag

NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, 678901)


def _image(**fields) -> dict:
    return dict({"id": str(uuid.uuid4()), "status": "queued", "owner": "p1",
                 "created_at": NOW, "updated_at": NOW}, **fields)


def _row(model, key) -> dict:
    row = model.select().where(key).dicts().get()
    row.pop("id", None)
    return row


@pytest.mark.usefixtures("app")
def test_an_image_row_is_the_row_peewee_writes_defaults_included():
    given = {"name": "n", "size": 0, "protected": True, "min_ram": 7,
             "visibility": "private", "disk_format": "raw"}
    ours, theirs = _image(**given), _image(**given)
    with db.database.connection_context():
        inserts.insert(Image, [ours])
        Image.insert(theirs).execute()
        mine = _row(Image, Image.id == ours["id"])
        peewees = _row(Image, Image.id == theirs["id"])
    assert mine == peewees
    assert mine["protected"] is True and mine["min_disk"] == 0
    assert mine["os_hidden"] is False and mine["deleted"] is False
    assert mine["created_at"] == NOW and mine["deleted_at"] is None


@pytest.mark.usefixtures("app")
def test_many_child_rows_go_in_whatever_statements_and_match_peewee():
    image = _image()
    count = inserts.ROWS_PER_STATEMENT * 2 + 3
    with db.database.connection_context():
        inserts.insert(Image, [image])
        rows = [{"image": image["id"], "name": "k%03d" % i, "value": "v%d" % i,
                 "created_at": NOW, "updated_at": NOW} for i in range(count)]
        inserts.insert(ImageProperty, rows)
        inserts.insert(ImageTag, [{"image": image["id"], "value": "t",
                                   "created_at": NOW, "updated_at": NOW}])
        got = list(ImageProperty.select().where(ImageProperty.image == image["id"])
                   .order_by(ImageProperty.id).dicts())
        tag = _row(ImageTag, ImageTag.image == image["id"])
    assert [(r["name"], r["value"], r["deleted"], r["created_at"]) for r in got] == [
        ("k%03d" % i, "v%d" % i, False, NOW) for i in range(count)]
    assert tag == {"image": image["id"], "value": "t", "created_at": NOW,
                   "updated_at": NOW, "deleted_at": None, "deleted": False}


@pytest.mark.usefixtures("app")
def test_rows_naming_different_fields_or_unknown_ones_are_refused_and_write_nothing():
    with db.database.connection_context():
        with pytest.raises(ValueError):
            inserts.insert(Image, [_image(), _image(name="x")])
        with pytest.raises(ValueError):
            inserts.insert(Image, [_image(colour="red")])
        assert Image.select().count() == 0
        inserts.insert(Image, [])
        assert Image.select().count() == 0


def test_an_image_read_by_the_registry_is_the_model_peewee_reads(app, create):
    from glance_common.context import RequestContext
    from glance_registry import images

    made = create(name="read-me", min_ram=3, protected=True,
                  properties={"a": "b"}, tags=["t"])
    admin = RequestContext.build(None, None, ["admin"])
    with db.database.connection_context():
        ours = images.find_image(admin, made["id"])
        peewees = Image.get_by_id(made["id"])
        assert ours.__data__ == peewees.__data__
        assert images.load(made["id"]).__data__ == peewees.__data__
        with pytest.raises(images.NotFound):
            images.load(str(uuid.uuid4()))
