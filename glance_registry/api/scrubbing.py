"""HTTP handlers of glance-scrubber's status changes."""

from __future__ import annotations

import flask

from glance_registry import scrubbing
from glance_registry.api.bodies import context


def blueprint() -> flask.Blueprint:
    """/images/{id}/scrubbed and /images/{id}/restore."""
    bp = flask.Blueprint("scrubbing", __name__)

    @bp.post("/images/<image_id>/scrubbed")
    def scrubbed(image_id):
        return {"image": scrubbing.mark_scrubbed(context(), image_id)}

    @bp.post("/images/<image_id>/restore")
    def restore(image_id):
        return {"image": scrubbing.restore(context(), image_id)}

    return bp
