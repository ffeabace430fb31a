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
