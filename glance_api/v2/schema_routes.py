"""GET /v2/schemas/...: the documents clients build their models from."""

from __future__ import annotations

import flask

from glance_api.exceptions import NotFound
from glance_api.v2 import schemas

bp = flask.Blueprint("v2_schemas", __name__)

DOCUMENTS = {"image": schemas.image_schema, "images": schemas.images_schema,
             "member": schemas.member_schema, "members": schemas.members_schema,
             "task": schemas.task_schema, "tasks": schemas.tasks_schema}


@bp.get("/v2/schemas/<name>")
def show(name):
    if name not in DOCUMENTS:
        raise NotFound("The resource could not be found.")
    return DOCUMENTS[name]()
