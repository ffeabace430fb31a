"""The glance-api application factory."""

from __future__ import annotations

import dataclasses

import flask
from werkzeug.exceptions import NotFound

import glance_store
from glance_api import auth, errors, forwarded, health, quota, versions
from glance_api.copy_from import Copier
from glance_api.notifier import Notifier
from glance_api.policy import Policy
from glance_api.registry import RegistryClient
from glance_api.v1 import images, members
from glance_common import access_log, request_id


@dataclasses.dataclass
class Services:
    """What handlers work with, built once from config."""

    conf: object
    registry: RegistryClient
    stores: glance_store.Stores
    policy: Policy
    storage_quota: int = 0  # user_storage_quota in bytes; 0 = unlimited
    copier: Copier | None = None
    notifier: Notifier = dataclasses.field(default_factory=lambda: Notifier(False))


def create_app(conf, registry: RegistryClient | None = None,
               stores: glance_store.Stores | None = None) -> flask.Flask:
    """Build the api from parsed options; nothing happens at import."""
    app = flask.Flask("glance_api")
    app.url_map.strict_slashes = False
    app.extensions["glance"] = Services(
        conf=conf,
        registry=registry or RegistryClient.from_conf(conf),
        stores=stores or glance_store.Stores.from_conf(
            conf, hashing_algorithm=conf.hashing_algorithm),
        policy=Policy(conf),
        storage_quota=quota.storage_quota(conf),
        notifier=Notifier.from_conf(conf))
    services = app.extensions["glance"]
    services.copier = Copier(services, conf.copy_from_workers)
    request_id.install(app)
    access_log.install(app)
    auth.install(app, conf)
    errors.install(app)
    app.wsgi_app = forwarded.middleware(
        app.wsgi_app, forwarded.parse_networks(conf.trusted_proxies))

    @app.errorhandler(NotFound)
    def _not_found(exc):
        if versions.is_unknown_version(flask.request.path):
            return versions.root()
        return errors.error_response(404, exc.description or "Not found")

    @app.get("/healthcheck")
    def _health():
        code, text = health.report(services.registry, services.stores,
                                   flask.g.context)
        return flask.Response(text, status=code, mimetype="text/plain")

    app.register_blueprint(versions.bp)
    app.register_blueprint(images.bp)
    app.register_blueprint(members.bp)
    return app
