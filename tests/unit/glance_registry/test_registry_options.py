"""Option names operators rely on, and the anonymous caller."""

from __future__ import annotations

from glance_registry import options


def test_option_names_and_defaults_are_glances():
    groups = {group: {opt.name: opt.default for opt in opts}
              for group, opts in options.list_opts()}
    assert groups["database"]["connection"] == "sqlite:////var/lib/glance/glance.sqlite"
    assert {"max_pool_size", "pool_timeout"} <= set(groups["database"])
    assert groups["DEFAULT"]["limit_param_default"] == 25
    assert groups["DEFAULT"]["api_limit_max"] == 1000
    assert groups["DEFAULT"]["bind_port"] == 9191
    assert all(opt.help for _, opts in options.list_opts() for opt in opts)


def test_a_request_without_context_headers_is_anonymous(app):
    from glance_registry import auth
    with app.test_request_context("/images"):
        import flask
        ctx = auth.context_from_request(flask.request, "req-1")
    assert (ctx.user_id, ctx.project_id, ctx.roles, ctx.is_admin) == (
        None, None, (), False)


def test_healthcheck_is_503_when_the_database_does_not_answer(tmp_path):
    from registry_support import make_conf

    from glance_registry import db
    from glance_registry.app import create_app
    url = "sqlite:///%s" % (tmp_path / "missing-dir" / "glance.sqlite")
    app = create_app(make_conf(url))
    try:
        response = app.test_client().get("/healthcheck")
        assert response.status_code == 503
    finally:
        db.close_all(db.database.obj)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    from glance_registry import db
    database = db.make_database("sqlite:///%s" % (tmp_path / "g.sqlite"))
    with database.connection_context():
        assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1


def test_healthcheck_is_503_when_the_sqlite_file_is_gone_or_unsynced(tmp_path):
    from registry_support import make_conf

    from glance_registry import db
    from glance_registry import migrations
    from glance_registry.app import create_app

    url = "sqlite:///%s" % (tmp_path / "glance.sqlite")
    app = create_app(make_conf(url))
    try:
        assert app.test_client().get("/healthcheck").status_code == 503  # no schema
        synced = db.make_database(url)
        migrations.sync(synced)
        db.close_all(synced)
        assert app.test_client().get("/healthcheck").status_code == 200
        (tmp_path / "glance.sqlite").rename(tmp_path / "elsewhere.sqlite")
        response = app.test_client().get("/healthcheck")
        assert response.status_code == 503
        assert "database file is missing" in response.text
    finally:
        db.close_all(db.database.obj)
