"""HTTP handler for an upload's quota reservation."""

from __future__ import annotations

import flask

from glance_registry import quotas
from glance_registry.api.bodies import context
from glance_registry.api.bodies import json_body


def blueprint() -> flask.Blueprint:
    """The /images/{id}/reservation resource."""
    bp = flask.Blueprint("quotas", __name__)

    @bp.put("/images/<image_id>/reservation")
    def reserve(image_id):
        return quotas.reserve(context(), image_id, json_body())

    return bp
