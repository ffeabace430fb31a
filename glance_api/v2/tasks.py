"""Handlers of /v2/tasks[/{id}] and /v2/images/{id}/tasks (spec v2 section 10).

The tasks API is admin-only by default (``tasks_api_access``). The records
live in the registry; imports create and update them. ``POST /v2/tasks``
records a legacy ``import`` task and hands it to the importer's
``run_legacy_task`` when this api has one; without one the task stays
pending.
"""

from __future__ import annotations

import logging
import urllib.parse

import flask

from glance_api import registry_client
from glance_api.exceptions import ApiError
from glance_api.exceptions import BadRequest
from glance_api.exceptions import NotFound
from glance_api.services import Services
from glance_api.services import services
from glance_api.v2 import schemas
from glance_api.v2.images import get_image
from glance_api.v2.images import json_body
from glance_api.v2.views import timestamp
from glance_common.context import RequestContext

LOG = logging.getLogger(__name__)
bp = flask.Blueprint("v2_tasks", __name__)
LIST_PARAMS = ("status", "type", "limit", "marker", "sort_key", "sort_dir")
# What a legacy import task's input must hold (Glance failed the task later
# for want of them; refusing the POST creates nothing instead).
LEGACY_INPUT = {"import_from": str, "import_from_format": str, "image_properties": dict}
# Shown by GET /v2/tasks/{id} only when set, as Glance does.
_OPTIONAL = ("image_id", "request_id", "user_id", "owner")


def _ctx() -> RequestContext:
    return flask.g.context


def _access(svc: Services, ctx: RequestContext, action: str) -> None:
    """The blanket tasks API rule first, then the action's own."""
    svc.policy.enforce(ctx, "tasks_api_access")
    svc.policy.enforce(ctx, action)


def _owner_filter(ctx: RequestContext) -> str | None:
    """Non-admins see their project's tasks only (should policy let them in)."""
    return None if ctx.is_admin else (ctx.project_id or "")


def task_view(record: dict, *, details: bool) -> dict:
    """The v2 document of a registry task record (``details``: input, result,
    message and the ids of image, request and user)."""
    view = {
        "id": record["id"],
        "type": record["type"],
        "status": record["status"],
        "created_at": timestamp(record["created_at"]),
        "updated_at": timestamp(record["updated_at"]),
        "self": "/v2/tasks/%s" % record["id"],
        "schema": "/v2/schemas/task",
    }
    for key in _OPTIONAL if details else ("owner",):
        if record.get(key) is not None:
            view[key] = record[key]
    if details:
        view.update({key: record.get(key) for key in schemas.TASK_DETAILS})
        view["message"] = view["message"] or ""
    if record.get("expires_at"):
        view["expires_at"] = timestamp(record["expires_at"])
    return view


def image_task_view(record: dict) -> dict:
    """A task as GET /v2/images/{id}/tasks shows it: every field, timestamps
    with microseconds and no zone (as Glance writes them there)."""
    return dict(record)


def _list_params(args, svc: Services, ctx: RequestContext) -> dict:
    unknown = sorted(set(args) - set(LIST_PARAMS))
    if unknown:
        raise BadRequest("Unknown task list parameter(s): %s" % ", ".join(unknown))
    params = {k: args[k] for k in LIST_PARAMS if k in args}
    limit = params.get("limit", svc.conf.limit_param_default)
    try:
        limit = int(limit)
    except ValueError:
        raise BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise BadRequest("limit param must be positive")
    params["limit"] = min(limit, svc.conf.api_limit_max)
    owner = _owner_filter(ctx)
    if owner is not None:
        params["owner"] = owner
    return params


def _links(args, page: list[dict], limit: int) -> tuple[str, str | None]:
    kept = [(k, v) for k, v in args.items(multi=True) if k != "marker"]
    first = "/v2/tasks" + ("?" + urllib.parse.urlencode(kept) if kept else "")
    if not page or len(page) < limit:
        return first, None
    return first, "/v2/tasks?" + urllib.parse.urlencode(kept + [("marker", page[-1]["id"])])


@bp.get("/v2/tasks")
def index():
    ctx, svc = _ctx(), services()
    _access(svc, ctx, "get_tasks")
    args = flask.request.args
    params = _list_params(args, svc, ctx)
    page = []
    if params["limit"]:
        try:
            page = svc.registry.list_tasks(ctx, params)
        except registry_client.BadRequest as exc:
            raise BadRequest(exc.message) from None
    first, next_ = _links(args, page, params["limit"])
    body = {"tasks": [task_view(t, details=False) for t in page],
            "first": first, "schema": "/v2/schemas/tasks"}
    if next_:
        body["next"] = next_
    return body


def find_task(svc: Services, ctx: RequestContext, task_id: str) -> dict:
    """The task if ``ctx`` may see it; 404 otherwise."""
    try:
        task = svc.registry.get_task(ctx, task_id)
    except registry_client.NotFound:
        task = None
    owner = _owner_filter(ctx)
    if task is None or (owner is not None and task.get("owner") != owner):
        raise NotFound("Task with the given id %s not found" % task_id)
    return task


@bp.get("/v2/tasks/<task_id>")
def show(task_id):
    ctx, svc = _ctx(), services()
    _access(svc, ctx, "get_task")
    return task_view(find_task(svc, ctx, task_id), details=True)


def check_create(body: object) -> dict:
    """The task a POST /v2/tasks body asks for; 400 naming what is wrong."""
    if not isinstance(body, dict):
        raise BadRequest("Body expected in request")
    for key in ("type", "input"):
        if key not in body:
            raise BadRequest("Task '%s' is required" % key)
    unknown = sorted(set(body) - {"type", "input"})
    if unknown:
        raise BadRequest("Task field(s) not allowed in a request: %s" % ", ".join(unknown))
    if body["type"] != "import":
        raise BadRequest("Invalid type value: %s. Only 'import' tasks may be "
                         "created through this API." % (body["type"],))
    task_input = body["input"]
    if not isinstance(task_input, dict):
        raise BadRequest("Task input must be a JSON object.")
    for key, kind in LEGACY_INPUT.items():
        if not isinstance(task_input.get(key), kind):
            raise BadRequest("Input does not contain '%s' field of type %s"
                             % (key, "object" if kind is dict else "string"))
    return {"type": "import", "input": task_input}


@bp.post("/v2/tasks")
def create():
    ctx, svc = _ctx(), services()
    _access(svc, ctx, "add_task")
    task = svc.registry.create_task(ctx, check_create(json_body()))
    task = _hand_over(svc, ctx, task)
    response = flask.jsonify(task_view(task, details=True))
    response.status_code = 201
    base = svc.conf.public_endpoint or flask.request.host_url
    response.headers["Location"] = "%s/v2/tasks/%s" % (base.rstrip("/"), task["id"])
    return response


def _hand_over(svc: Services, ctx: RequestContext, task: dict) -> dict:
    """Give a new legacy task to the importer, if this api has a runner."""
    run = getattr(getattr(svc, "importer", None), "run_legacy_task", None)
    if run is None:
        LOG.warning("Task %s stays pending: this api cannot run legacy import "
                    "tasks.", task["id"])
        return task
    try:
        run(ctx, task)
    except (ApiError, registry_client.Error) as exc:
        # Refused input (a URL the filter refuses, bad image properties):
        # the task fails with the reason, as Glance's would.
        LOG.warning("Task %s refused: %s", task["id"], exc.message)
        return _fail(svc, ctx, task, exc.message)
    except Exception as exc:  # a bug in the runner must not strand the task
        LOG.exception("Could not start task %s", task["id"])
        return _fail(svc, ctx, task, "The task could not start: %s" % exc)
    return task


def _fail(svc: Services, ctx: RequestContext, task: dict, message: str) -> dict:
    try:
        return svc.registry.update_task(ctx, task["id"],
                                        {"status": "failure", "message": message},
                                        from_status="pending")
    except registry_client.Conflict:  # the runner ended it already
        return svc.registry.get_task(ctx, task["id"])
    except registry_client.Error as lost:
        LOG.warning("Could not fail task %s: %s", task["id"], lost.message)
        return task


@bp.get("/v2/images/<image_id>/tasks")
def image_tasks(image_id):
    ctx, svc = _ctx(), services()
    image = get_image(svc, ctx, image_id)
    svc.policy.enforce(ctx, "get_image", image)
    tasks = svc.registry.image_tasks(ctx, image["id"])
    owner = _owner_filter(ctx)
    if owner is not None:
        tasks = [t for t in tasks if t.get("owner") == owner]
    return {"tasks": [image_task_view(t) for t in tasks]}
