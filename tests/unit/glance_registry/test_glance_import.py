"""glance-manage db import-glance: Glance's rows arrive whole, once, and again
only when Glance changed; what cannot be served is kept and reported."""

from __future__ import annotations

import json

import pytest
from glance_schemas import GlanceDB

from glance_registry import db
from glance_registry import manage
from glance_registry.db import database
from glance_registry.glance_import import run
from glance_registry.glance_import.source import SourceError
from glance_registry.glance_import.source import redact_url
from glance_registry.images import load
from glance_registry.images import show
from glance_registry.metadef_models import ALL_MODELS as METADEF_MODELS
from glance_registry.metadef_models import MetadefObject
from glance_registry.metadef_models import Namespace
from glance_registry.metadef_models import NamespaceResourceType
from glance_registry.models import ALL_MODELS
from glance_registry.models import ImageMember

PUBLIC = "11111111-1111-4111-8111-111111111111"
SHARED = "22222222-2222-4222-8222-222222222222"
CEPH = "33333333-3333-4333-8333-333333333333"
PENDING = "44444444-4444-4444-8444-444444444444"
GONE = "55555555-5555-4555-8555-555555555555"
T0 = "2025-03-01 10:00:00.123456"
T1 = "2025-03-02 11:30:00.654321"
NEWEST = "2024_1_contract01"


@pytest.fixture
def registry(db_url):
    """The bound, empty registry database (SQLite and PostgreSQL)."""
    bound = db.make_database(db_url)
    db.bind_database(bound)
    with database.connection_context():
        for model in reversed(METADEF_MODELS):
            model.delete().execute()
    yield bound
    db.close_all(bound)


def _image(glance: GlanceDB, image_id: str, revision: str | None = NEWEST, **values):
    row = {"id": image_id, "name": "img-" + image_id[:4], "size": 1024,
           "status": "active", "created_at": T0, "updated_at": T1,
           "deleted_at": None, "deleted": False, "disk_format": "qcow2",
           "container_format": "bare", "checksum": "0" * 32, "owner": "tenant-a",
           "min_disk": 1, "min_ram": 64, "protected": False, "virtual_size": 4096}
    if revision == NEWEST:
        row.update(visibility="private", os_hidden=False, os_hash_algo="sha512",
                   os_hash_value="f" * 128)
    elif revision is not None:
        row.update(visibility="private")
    row.update(values)
    glance.insert("images", **row)


def _child(glance: GlanceDB, table: str, image_id: str, **values):
    row = {"image_id": image_id, "created_at": T0, "updated_at": T1,
           "deleted_at": None, "deleted": False, **values}
    glance.insert(table, **row)


def _populated(glance: GlanceDB) -> GlanceDB:
    _image(glance, PUBLIC, visibility="public", protected=True, os_hidden=True)
    _child(glance, "image_properties", PUBLIC, name="hw_disk_bus", value="scsi")
    _child(glance, "image_properties", PUBLIC, name="os_distro", value="debian")
    _child(glance, "image_tags", PUBLIC, value="golden")
    _child(glance, "image_locations", PUBLIC, value="file:///var/lib/glance/images/" + PUBLIC,
           meta_data="{}", status="active")
    _image(glance, SHARED, visibility="shared", owner="tenant-a")
    _child(glance, "image_members", SHARED, member="tenant-b", can_share=False,
           status="accepted")
    _child(glance, "image_members", SHARED, member="tenant-c", can_share=True,
           status="pending")
    _child(glance, "image_members", SHARED, member="tenant-d", can_share=False,
           status="accepted", deleted=True, deleted_at=T1)
    _child(glance, "image_locations", SHARED,
           value="swift+config://ref1/glance/" + SHARED,
           meta_data=json.dumps({"store": "far"}), status="active")
    _image(glance, CEPH)
    _child(glance, "image_locations", CEPH, value="rbd://fsid/images/%s/snap" % CEPH,
           meta_data="{}", status="active")
    return glance


@pytest.fixture
def glance(tmp_path):
    made = _populated(GlanceDB.sqlite(tmp_path / "source-glance.sqlite", NEWEST))
    yield made
    made.close()


def _state() -> list:
    """Every row of every registry table, to compare two runs."""
    with database.connection_context():
        return [sorted(tuple(sorted(row.items())) for row in model.select().dicts())
                for model in ALL_MODELS + METADEF_MODELS]


def _members(image_id: str) -> dict:
    with database.connection_context():
        return {m.member: (m.status, m.can_share) for m in ImageMember.select().where(
            ImageMember.image == image_id, ImageMember.deleted == False)}  # noqa: E712


def _show(image_id: str) -> dict:
    with database.connection_context():
        return show(load(image_id))


def test_an_image_arrives_with_every_field(registry, glance):
    report = run.import_glance(glance.url)
    assert report.outcomes["created"] == 3
    image = _show(PUBLIC)
    assert {k: image[k] for k in (
        "id", "name", "size", "virtual_size", "status", "visibility", "protected",
        "os_hidden", "min_disk", "min_ram", "owner", "checksum", "os_hash_algo",
        "os_hash_value", "disk_format", "container_format")} == {
        "id": PUBLIC, "name": "img-1111", "size": 1024, "virtual_size": 4096,
        "status": "active", "visibility": "public", "protected": True,
        "os_hidden": True, "min_disk": 1, "min_ram": 64, "owner": "tenant-a",
        "checksum": "0" * 32, "os_hash_algo": "sha512", "os_hash_value": "f" * 128,
        "disk_format": "qcow2", "container_format": "bare"}
    assert image["created_at"].startswith("2025-03-01T10:00:00.123456")
    assert image["updated_at"].startswith("2025-03-02T11:30:00.654321")
    assert image["properties"] == {"hw_disk_bus": "scsi", "os_distro": "debian"}
    assert image["tags"] == ["golden"]
    [location] = image["locations"]
    assert location["url"] == "file:///var/lib/glance/images/" + PUBLIC
    # Single-store Glance deleted file bytes with the image; so do we.
    assert location["metadata"] == {"store": "file"}


def test_members_keep_their_status_and_deleted_ones_stay_behind(registry, glance):
    run.import_glance(glance.url)
    assert _members(SHARED) == {"tenant-b": ("accepted", False),
                                "tenant-c": ("pending", True)}
    assert _show(SHARED)["locations"][0]["metadata"] == {"store": "far"}


def test_a_second_run_changes_nothing(registry, glance):
    run.import_glance(glance.url)
    before = _state()
    report = run.import_glance(glance.url)
    assert report.outcomes == {"unchanged": 3}
    assert _state() == before


def test_a_run_after_glance_changed_brings_exactly_the_changes(registry, glance):
    run.import_glance(glance.url)
    glance.update("image_properties", "name = ?", ["os_distro"], value="ubuntu")
    glance.update("image_tags", "value = ?", ["golden"], deleted=True, deleted_at=T1)
    glance.update("image_members", "member = ?", ["tenant-c"], status="accepted")
    _child(glance, "image_tags", PUBLIC, value="lts")
    _image(glance, GONE, name="added later")
    report = run.import_glance(glance.url)
    assert report.outcomes == {"created": 1, "updated": 2, "unchanged": 1}
    image = _show(PUBLIC)
    assert image["properties"]["os_distro"] == "ubuntu"
    assert image["tags"] == ["lts"]
    assert _members(SHARED) == {"tenant-b": ("accepted", False),
                                "tenant-c": ("accepted", True)}
    # The tag Glance dropped comes back: the retired row is reused.
    glance.update("image_tags", "value = ?", ["golden"], deleted=False, deleted_at=None)
    run.import_glance(glance.url)
    assert sorted(_show(PUBLIC)["tags"]) == ["golden", "lts"]
    assert run.import_glance(glance.url).changed == 0


def test_a_location_without_a_driver_is_kept_and_reported(registry, glance):
    report = run.import_glance(glance.url)
    [item] = report.unservable
    assert item.image_id == CEPH and item.url.startswith("rbd://")
    assert "rbd://" in item.reason
    assert _show(CEPH)["locations"][0]["url"].startswith("rbd://fsid/images/")
    assert any("Cannot be served here" in line for line in report.lines())


def test_delayed_deletes_keep_their_scrubber_work_and_deleted_ids_stay_taken(registry, glance):
    _image(glance, PENDING, status="pending_delete", deleted=True, deleted_at=T1)
    _child(glance, "image_properties", PENDING, name="kept", value="1",
           deleted=True, deleted_at=T1)
    _child(glance, "image_locations", PENDING, value="file:///var/lib/glance/images/x",
           meta_data="{}", status="pending_delete", deleted=True, deleted_at=T1)
    _image(glance, GONE, status="deleted", deleted=True, deleted_at=T1)
    _child(glance, "image_locations", GONE, value="file:///var/lib/glance/images/y",
           meta_data="{}", status="deleted", deleted=True, deleted_at=T1)
    report = run.import_glance(glance.url)
    pending = _show(PENDING)
    assert pending["status"] == "pending_delete" and pending["deleted"] is True
    [location] = pending["locations"]
    assert location["status"] == "pending_delete"
    gone = _show(GONE)
    assert gone["status"] == "deleted" and gone["locations"] == []
    assert report.statuses["deleted"] == 1


def test_a_dry_run_writes_nothing_and_counts_what_it_would(registry, glance):
    before = _state()
    report = run.import_glance(glance.url, dry_run=True)
    assert _state() == before
    assert report.outcomes["created"] == 3
    text = "\n".join(report.lines())
    assert "3 would be created" in text and "Dry run: nothing was written." in text


def test_queens_rows_carry_without_the_columns_queens_lacked(registry, tmp_path):
    glance = GlanceDB.sqlite(tmp_path / "source-queens.sqlite", "queens_contract01")
    _image(glance, PUBLIC, revision="queens_contract01", visibility="community")
    report = run.import_glance(glance.url)
    assert "Queens" in report.release
    image = _show(PUBLIC)
    assert image["visibility"] == "community"
    assert image["os_hidden"] is False and image["os_hash_value"] is None


def test_before_ocata_is_public_and_members_decide_visibility(registry, tmp_path):
    glance = GlanceDB.sqlite(tmp_path / "source-mitaka.sqlite", None)
    _image(glance, PUBLIC, revision=None, is_public=True)
    _image(glance, SHARED, revision=None, is_public=False)
    _child(glance, "image_members", SHARED, member="tenant-b", can_share=False,
           status="accepted")
    _image(glance, CEPH, revision=None, is_public=False)
    run.import_glance(glance.url)
    assert [_show(i)["visibility"] for i in (PUBLIC, SHARED, CEPH)] == [
        "public", "shared", "private"]


def _metadefs(glance: GlanceDB) -> None:
    glance.insert("metadef_namespaces", id=7, namespace="OS::Compute::Quota",
                  display_name="Quota", description="d", visibility="public",
                  protected=True, owner="admin", created_at=T0, updated_at=None)
    glance.insert("metadef_resource_types", id=3, name="OS::Glance::Image",
                  protected=True, created_at=T0, updated_at=None)
    glance.insert("metadef_namespace_resource_types", resource_type_id=3,
                  namespace_id=7, prefix="quota_", properties_target=None,
                  created_at=T0, updated_at=None)
    glance.insert("metadef_objects", namespace_id=7, name="CPU", description=None,
                  required='["shares"]', json_schema='{"shares": {"type": "integer"}}',
                  created_at=T0, updated_at=None)
    glance.insert("metadef_properties", namespace_id=7, name="cpu_period",
                  json_schema='{"type": "integer", "title": "Period"}',
                  created_at=T0, updated_at=None)
    glance.insert("metadef_tags", namespace_id=7, name="fast", created_at=T0,
                  updated_at=None)


def test_metadefs_arrive_by_name_and_only_once(registry, glance):
    _metadefs(glance)
    report = run.import_glance(glance.url)
    assert report.metadefs.created == 1 and report.metadefs.resource_types_created == 1
    with database.connection_context():
        namespace = Namespace.get(Namespace.namespace == "OS::Compute::Quota")
        assert (namespace.visibility, namespace.protected, namespace.owner) == (
            "public", True, "admin")
        obj = MetadefObject.get(MetadefObject.namespace == namespace)
        assert json.loads(obj.required) == ["shares"]
        association = NamespaceResourceType.get(NamespaceResourceType.namespace == namespace)
        assert association.prefix == "quota_"
    before = _state()
    again = run.import_glance(glance.url)
    assert again.metadefs.unchanged == 1 and _state() == before


def test_a_postgresql_glance_reads_like_a_sqlite_one(registry, postgres):
    url = postgres.create_database()
    glance = _populated(GlanceDB.postgresql(url, NEWEST))
    try:
        report = run.import_glance(url)
        assert report.outcomes["created"] == 3
        assert _show(PUBLIC)["properties"]["hw_disk_bus"] == "scsi"
        assert run.import_glance(url).outcomes == {"unchanged": 3}
    finally:
        glance.close()


def test_a_registry_database_is_not_taken_for_a_glance_one(registry, db_url):
    with pytest.raises(SourceError, match="glance-lite registry"):
        run.import_glance(db_url)


def test_passwords_never_reach_the_report():
    url = "mysql+pymysql://glance:s3cret@db.example/glance?charset=utf8"
    assert "s3cret" not in redact_url(url)
    assert "glance:***@db.example" in redact_url(url)


def _manage(tmp_path, registry_url: str, *args: str) -> int:
    conf = tmp_path / "manage.conf"
    conf.write_text("[database]\nconnection = %s\n" % registry_url)
    return manage.main(["--config-file", str(conf), "db", *args])


def test_manage_imports_and_prints_the_report(tmp_path, glance, capsys):
    url = "sqlite:///%s" % (tmp_path / "registry.sqlite")
    assert _manage(tmp_path, url, "sync") == 0
    assert _manage(tmp_path, url, "import-glance", "--from", glance.url, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "3 would be created" in out and "rbd://" in out
    assert _manage(tmp_path, url, "import-glance", "--from", glance.url) == 0
    assert "3 were created" in capsys.readouterr().out
    assert _manage(tmp_path, url, "import-glance", "--from", glance.url) == 0
    assert "3 unchanged" in capsys.readouterr().out


def test_manage_wants_a_synced_registry_first(tmp_path, glance, capsys):
    url = "sqlite:///%s" % (tmp_path / "fresh.sqlite")
    assert _manage(tmp_path, url, "import-glance", "--from", glance.url) == 1
    assert "db sync" in capsys.readouterr().err


def test_db_sync_refuses_a_glance_database(tmp_path, glance, capsys):
    assert _manage(tmp_path, glance.url, "sync") == 1
    assert "import-glance" in capsys.readouterr().err


def test_an_unreadable_source_is_a_clear_error(tmp_path, capsys):
    url = "sqlite:///%s" % (tmp_path / "registry.sqlite")
    assert _manage(tmp_path, url, "sync") == 0
    missing = "sqlite:///%s" % (tmp_path / "nope.sqlite")
    assert _manage(tmp_path, url, "import-glance", "--from", missing) == 1
    assert "Cannot" in capsys.readouterr().err


def test_uploads_under_way_in_glance_are_named(registry, glance):
    _image(glance, PENDING, status="saving", size=None)
    report = run.import_glance(glance.url, dry_run=True)
    assert report.in_flight == [PENDING]
    assert any("under way in Glance" in line for line in report.lines())


def test_credentials_in_a_location_never_reach_the_report(registry, glance):
    _child(glance, "image_locations", PUBLIC, value="cinder://user:pa55@volume/abc",
           meta_data="{}", status="active")
    report = run.import_glance(glance.url)
    text = "\n".join(report.lines())
    assert "cinder://***@volume/abc" in text and "pa55" not in text
    # The location itself is kept exactly as Glance had it.
    urls = {loc["url"] for loc in _show(PUBLIC)["locations"]}
    assert "cinder://user:pa55@volume/abc" in urls


def test_a_property_glance_removed_is_retired_here(registry, glance):
    run.import_glance(glance.url)
    glance.update("image_properties", "name = ?", ["hw_disk_bus"], deleted=True,
                  deleted_at=T1)
    glance.update("image_locations", "image_id = ?", [SHARED], deleted=True,
                  deleted_at=T1, status="deleted")
    assert run.import_glance(glance.url).outcomes["updated"] == 2
    assert _show(PUBLIC)["properties"] == {"os_distro": "debian"}
    assert _show(SHARED)["locations"] == []
