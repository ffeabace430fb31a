"""The metadata definitions catalog of the Images API v2 (/v2/metadefs/...).

    namespaces      /v2/metadefs/namespaces[/{ns}], and deleting all of a kind
    objects         /v2/metadefs/namespaces/{ns}/objects[/{name}]
    properties      /v2/metadefs/namespaces/{ns}/properties[/{name}]
    tags            /v2/metadefs/namespaces/{ns}/tags[/{name}]
    resource_types  /v2/metadefs/resource_types, a namespace's associations
    schemas         /v2/schemas/metadefs/... documents clients build models from
    calls           the registry call, policy and body parsing every handler uses
    views           registry documents -> v2 JSON (pure)

Every handler reaches the registry through ``RegistryClient.metadefs`` and
authorizes with Glance's metadef rule names; the registry applies namespace
visibility (a namespace the caller cannot see is 404).
"""

from __future__ import annotations

import flask

from glance_api.v2.metadefs import namespaces
from glance_api.v2.metadefs import objects
from glance_api.v2.metadefs import properties
from glance_api.v2.metadefs import resource_types
from glance_api.v2.metadefs import schemas
from glance_api.v2.metadefs import tags

bp = flask.Blueprint("v2_metadefs", __name__)
for _module in (namespaces, objects, properties, tags, resource_types, schemas):
    _module.routes(bp)
