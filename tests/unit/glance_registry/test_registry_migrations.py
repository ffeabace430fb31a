"""Migrations from an empty database, and glance-manage db sync / db version."""

from __future__ import annotations

from glance_registry import db
from glance_registry import manage
from glance_registry import migrations
from glance_registry.models import ALL_MODELS
from glance_registry.models import SchemaVersion
from tests.daemons import write_config


def _config(tmp_path, url):
    return str(write_config(tmp_path / "glance-manage.conf",
                            {"database": {"connection": url}}))


def test_sync_from_empty_builds_the_schema_the_models_describe(empty_db_url):
    database = db.make_database(empty_db_url)
    try:
        assert migrations.current_version(database) is None
        assert migrations.sync(database) == [m.version for m in migrations.available()]
        assert migrations.current_version(database) == migrations.head_version()
        assert migrations.sync(database) == []
        tables = set(database.get_tables())
        for model in ALL_MODELS + (SchemaVersion,):
            table = model._meta.table_name
            assert table in tables
            columns = {c.name for c in database.get_columns(table)}
            assert columns == {f.column_name for f in model._meta.sorted_fields}, table
        indexes = {i.name: i for i in database.get_indexes("images")}
        indexed = {tuple(i.columns) for i in indexes.values()}
        assert ("status",) in indexed and ("created_at", "id") in indexed
        # No index leads with deleted: a planner took it for a filter (0003).
        assert not any(columns[0] == "deleted" for columns in indexed)
        assert {"images_name_order", "images_size_order"} <= set(indexes)
        member_indexes = {tuple(i.columns) for i in database.get_indexes("image_members")}
        assert ("member",) in member_indexes and ("image_id",) in member_indexes
    finally:
        db.close_all(database)


def test_glance_manage_db_sync_and_version(empty_db_url, tmp_path, capsys):
    config = _config(tmp_path, empty_db_url)
    assert manage.main(["--config-file", config, "db", "version"]) == 0
    assert capsys.readouterr().out.strip() == "None"
    assert manage.main(["--config-file", config, "db", "sync"]) == 0
    assert "Applied migrations: 1, 2" in capsys.readouterr().out
    assert manage.main(["--config-file", config, "db", "version"]) == 0
    assert capsys.readouterr().out.strip() == str(migrations.head_version())
    assert manage.main(["--config-file", config, "db", "sync"]) == 0
    assert "Applied migrations: none" in capsys.readouterr().out


def test_sync_leaves_postgresql_with_statistics_for_the_planner(postgres):
    # Migration 0003's expression indexes are useless to the planner until
    # ANALYZE; sync must not leave that to an autovacuum that may be off.
    database = db.make_database(postgres.url(postgres.create_database()))
    try:
        migrations.sync(database)
        analyzed = dict(database.execute_sql(
            "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables"
            " WHERE relname IN %s", (migrations.STATISTICS_TABLES,)).fetchall())
        assert analyzed == {table: True for table in migrations.STATISTICS_TABLES}
    finally:
        db.close_all(database)


def test_the_registry_warns_when_postgresql_keeps_no_statistics(
        postgres_registry_url, caplog):
    database = db.make_database(postgres_registry_url)
    try:
        with database.connection_context():
            autovacuum = database.execute_sql("SHOW autovacuum").fetchone()[0]
        with caplog.at_level("WARNING", logger="glance_registry.db"):
            db.warn_without_autovacuum(database)
    finally:
        db.close_all(database)
    warned = any("autovacuum is off" in r.getMessage() for r in caplog.records)
    assert warned == (autovacuum != "on")
