"""The glance-api application factory."""

from __future__ import annotations

import flask

import glance_store
from glance_api import auth
from glance_api import errors
from glance_api import forwarded
from glance_api import health
from glance_api import versions
from glance_api.registry_client import RegistryClient
from glance_api.services import EXTENSION
from glance_api.services import Services
from glance_api.v1 import images
from glance_api.v1 import members
from glance_api.v2 import cache as v2_cache
from glance_api.v2 import image_data as v2_image_data
from glance_api.v2 import images as v2_images
from glance_api.v2 import imports as v2_imports
from glance_api.v2 import locations as v2_locations
from glance_api.v2 import members as v2_members
from glance_api.v2 import metadefs
from glance_api.v2 import schema_routes as v2_schemas
from glance_api.v2 import stores as v2_stores
from glance_api.v2 import tags as v2_tags
from glance_api.v2 import tasks as v2_tasks
from glance_common import access_log
from glance_common import request_id


def create_app(conf, registry: RegistryClient | None = None,
               stores: glance_store.Stores | None = None) -> flask.Flask:
    """Build the api from parsed options; nothing happens at import.

    ``registry`` and ``stores`` replace the ones config would build (tests
    pass fakes). Background work starts with ``Services.start()``.
    """
    app = flask.Flask("glance_api")
    app.url_map.strict_slashes = False
    # /v2/images//file is no image's path: 404, not a redirect to another route.
    app.url_map.merge_slashes = False
    app.extensions[EXTENSION] = Services.from_conf(conf, registry, stores)
    request_id.install(app)
    access_log.install(app)
    auth.install(app, conf)
    errors.install(app)
    app.wsgi_app = versions.aliases(forwarded.middleware(
        app.wsgi_app, forwarded.parse_networks(conf.trusted_proxies)))
    app.register_blueprint(versions.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(images.bp)
    app.register_blueprint(members.bp)
    for blueprint in (v2_images.bp, v2_image_data.bp, v2_members.bp, v2_tags.bp,
                      v2_schemas.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(metadefs.bp)
    app.register_blueprint(v2_stores.bp)
    app.register_blueprint(v2_locations.bp)
    app.register_blueprint(v2_cache.bp)
    app.register_blueprint(v2_imports.bp)
    app.register_blueprint(v2_tasks.bp)
    return app
