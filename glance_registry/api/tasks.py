"""HTTP handlers for /tasks (see glance_registry.api for the wire format)."""

from __future__ import annotations

import flask

from glance_registry import tasks
from glance_registry.api.bodies import context
from glance_registry.api.bodies import json_body
from glance_registry.api.settings import Settings
from glance_registry.errors import BadRequest


def blueprint(settings: Settings) -> flask.Blueprint:
    """/tasks and /images/{id}/tasks."""
    bp = flask.Blueprint("tasks", __name__)

    @bp.get("/tasks")
    def index():
        query = tasks.parse_query(flask.request.args, settings.limit_default,
                                  settings.limit_max)
        return {"tasks": tasks.list_tasks(context(), query)}

    @bp.get("/tasks/<task_id>")
    def show(task_id):
        return {"task": tasks.get_task(context(), task_id)}

    @bp.post("/tasks")
    def create():
        body = _object(json_body())
        return {"task": tasks.create_task(context(), body["task"])}, 201

    @bp.put("/tasks/<task_id>")
    def update(task_id):
        body = _object(json_body())
        from_status = body.get("from_status")
        if from_status is not None and not isinstance(from_status, str):
            raise BadRequest("from_status must be a task status or null.")
        ttl = body.get("time_to_live", tasks.DEFAULT_TIME_TO_LIVE)
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
            raise BadRequest("time_to_live must be a number of hours.")
        task = tasks.update_task(context(), task_id, body["task"], from_status,
                                 float(ttl))
        return {"task": task}

    @bp.get("/images/<image_id>/tasks")
    def image_tasks(image_id):
        return {"tasks": tasks.image_tasks(context(), image_id)}

    return bp


def _object(body) -> dict:
    if not isinstance(body, dict) or "task" not in body:
        raise BadRequest('Expected a JSON object with a "task" key.')
    return body
