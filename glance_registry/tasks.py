"""Task records of the v2 tasks API: create, read, compare-and-set updates, lists.

A task moves pending -> processing -> success | failure (or straight from
pending to failure); every status write is conditioned on the status it was
checked against, like an image's, so a concurrent change is Conflict. When a
task ends it gets ``expires_at`` (now + the time to live the caller names),
and from then on lookups and lists no longer show it (``purge_expired``
removes such rows for good). Admins see every task, anyone else only their
project's (a caller reading the registry directly, too); who may use the
tasks API at all is glance-api's policy decision.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import peewee

from glance_common.context import RequestContext
from glance_common.timestamps import to_json
from glance_common.timestamps import utcnow
from glance_registry.db import database
from glance_registry.errors import BadRequest
from glance_registry.errors import Conflict
from glance_registry.errors import NotFound
from glance_registry.models import Task
from glance_registry.validation import is_uuid_like
from glance_registry.validation import normalize_id

TYPES = ("api_image_import", "import", "location_import")
TRANSITIONS: Mapping[str, frozenset[str]] = MappingProxyType({
    "pending": frozenset({"processing", "failure"}),
    "processing": frozenset({"success", "failure"}),
    "success": frozenset(),
    "failure": frozenset(),
})
STATUSES: tuple[str, ...] = tuple(TRANSITIONS)
FINAL_STATUSES = frozenset({"success", "failure"})
SORT_KEYS = ("id", "type", "status", "created_at", "updated_at")
SORT_DIRS = ("asc", "desc")
DEFAULT_TIME_TO_LIVE = 48.0  # hours: Glance's [task] task_time_to_live

# Field -> max length of the text columns a body may set (None: unbounded).
_TEXT = {"type": 30, "status": 30, "owner": 255, "message": None,
         "request_id": 255, "user_id": 255}
_CREATE_FIELDS = frozenset(_TEXT) | {"id", "input", "result", "image_id"}
_UPDATE_FIELDS = frozenset({"status", "result", "message", "image_id"})


@dataclasses.dataclass(frozen=True)
class TaskQuery:
    """A validated task list request."""

    limit: int
    marker: str | None = None
    sort_key: str = "created_at"
    sort_dir: str = "desc"
    status: str | None = None
    type: str | None = None
    owner: str | None = None
    image_id: str | None = None


def create_task(ctx: RequestContext, body: Any) -> dict[str, Any]:
    """Record a new task from a POST body; return its JSON.

    ``status`` defaults to pending, ``owner`` to the caller's project (only
    admins may name another), ``request_id`` and ``user_id`` to the
    caller's; an ``id`` is generated unless given.
    """
    columns = _parse(body, _CREATE_FIELDS)
    if "type" not in columns:
        raise BadRequest("A task needs a type (one of %s)." % ", ".join(TYPES))
    columns.setdefault("status", "pending")
    if columns["status"] != "pending":
        raise BadRequest("A new task is pending, not %s." % columns["status"])
    columns["id"] = normalize_id(columns.get("id") or str(uuid.uuid4()))
    if not (ctx.is_admin and "owner" in columns):
        columns["owner"] = ctx.project_id
    columns.setdefault("request_id", ctx.request_id)
    columns.setdefault("user_id", ctx.user_id)
    columns.setdefault("input", "{}")
    now = utcnow()
    columns["created_at"] = columns["updated_at"] = now
    try:
        with database.atomic():
            Task.insert(columns).execute()
    except peewee.IntegrityError as exc:
        raise Conflict("A task with ID %s already exists." % columns["id"]) from exc
    return show(Task.get_by_id(columns["id"]))


def get_task(ctx: RequestContext, task_id: str) -> dict[str, Any]:
    """One live, unexpired task ``ctx`` may see as JSON; NotFound otherwise."""
    return show(_find(ctx, task_id, utcnow()))


def update_task(ctx: RequestContext, task_id: str, body: Any,
                from_status: str | None = None,
                time_to_live: float = DEFAULT_TIME_TO_LIVE) -> dict[str, Any]:
    """Change a task; with ``from_status`` only while its status still is that.

    A status change must be a move of TRANSITIONS from ``from_status`` (or
    else the status read here) and is written only while the status is
    still that one: otherwise Conflict. Reaching success or failure sets
    ``expires_at`` to now plus ``time_to_live`` hours.
    """
    columns = _parse(body, _UPDATE_FIELDS)
    if from_status is not None and from_status not in STATUSES:
        raise BadRequest("Invalid from_status '%s'." % from_status)
    if time_to_live < 0:
        raise BadRequest("time_to_live must not be negative.")
    now = utcnow()
    with database.atomic():
        task = _find(ctx, task_id, now)
        checked = from_status if from_status is not None else task.status
        wanted = columns.get("status")
        if wanted is not None and wanted != checked:
            if wanted not in TRANSITIONS[checked]:
                raise Conflict("Task status transition from %s to %s is not allowed"
                               % (checked, wanted))
            if wanted in FINAL_STATUSES:
                columns["expires_at"] = now + datetime.timedelta(hours=time_to_live)
        columns["updated_at"] = now
        changed = (Task.update(columns)
                   .where(Task.id == task.id, Task.status == checked,
                          Task.deleted == False)  # noqa: E712
                   .execute())
        if changed == 0:
            raise Conflict("Task %s is no longer %s." % (task.id, checked))
        return show(Task.get_by_id(task.id))


def list_tasks(ctx: RequestContext, query: TaskQuery) -> list[dict[str, Any]]:
    """One page of live, unexpired tasks matching ``query``, in its order."""
    now = utcnow()
    select = Task.select().where(*_live(now), *_scope(ctx))
    for field in ("status", "type", "owner", "image_id"):
        value = getattr(query, field)
        if value is not None:
            select = select.where(getattr(Task, field) == value)
    keys = [query.sort_key] + [k for k in ("created_at", "id") if k != query.sort_key]
    descending = query.sort_dir == "desc"
    if query.marker is not None:
        marker = _find_marker(ctx, query, now)
        select = select.where(_after(marker, keys, descending))
    select = select.order_by(*[getattr(Task, k).desc() if descending
                               else getattr(Task, k).asc() for k in keys])
    return [show(task) for task in select.limit(query.limit)]


def image_tasks(ctx: RequestContext, image_id: str) -> list[dict[str, Any]]:
    """The live, unexpired tasks of one image, oldest first."""
    if not is_uuid_like(image_id):
        return []
    select = (Task.select()
              .where(*_live(utcnow()), *_scope(ctx),
                     Task.image_id == normalize_id(image_id))
              .order_by(Task.created_at, Task.id))
    return [show(task) for task in select]


def parse_query(args: Mapping[str, str], limit_default: int,
                limit_max: int) -> TaskQuery:
    """A TaskQuery from list query parameters; BadRequest naming a bad one."""
    unknown = set(args) - {f.name for f in dataclasses.fields(TaskQuery)}
    if unknown:
        raise BadRequest("Unknown task list parameter(s): %s"
                         % ", ".join(sorted(unknown)))
    try:
        limit = int(args.get("limit", limit_default))
    except ValueError:
        raise BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise BadRequest("limit param must be positive")
    sort_key = args.get("sort_key", "created_at")
    if sort_key not in SORT_KEYS:
        raise BadRequest("Invalid sort key: %s" % sort_key)
    sort_dir = args.get("sort_dir", "desc")
    if sort_dir not in SORT_DIRS:
        raise BadRequest("Invalid sort direction: %s" % sort_dir)
    status, type_ = args.get("status"), args.get("type")
    if status is not None and status not in STATUSES:
        raise BadRequest("Invalid status value: %s" % status)
    if type_ is not None and type_ not in TYPES:
        raise BadRequest("Invalid type value: %s" % type_)
    marker = args.get("marker")
    if marker is not None and not _is_id(marker):
        raise BadRequest("Invalid marker format")
    image_id = args.get("image_id")
    if image_id is not None and not _is_id(image_id):
        raise BadRequest("Invalid image_id format")
    return TaskQuery(limit=min(limit, limit_max), marker=marker,
                     sort_key=sort_key, sort_dir=sort_dir, status=status,
                     type=type_, owner=args.get("owner"),
                     image_id=normalize_id(image_id) if image_id else None)


def purge_expired(before: datetime.datetime, limit: int | None = None) -> int:
    """Delete for good tasks that expired before ``before``; return how many."""
    doomed = (Task.select(Task.id)
              .where(Task.expires_at.is_null(False), Task.expires_at <= before)
              .order_by(Task.expires_at))
    if limit is not None:
        doomed = doomed.limit(limit)
    with database.atomic():
        ids = [row.id for row in doomed]
        if not ids:
            return 0
        return Task.delete().where(Task.id.in_(ids)).execute()


def show(task: Task) -> dict[str, Any]:
    """Every field of a task as the registry's JSON shows it."""
    return {
        "id": task.id,
        "type": task.type,
        "status": task.status,
        "owner": task.owner,
        "input": json.loads(task.input) if task.input else {},
        "result": json.loads(task.result) if task.result is not None else None,
        "message": task.message or "",
        "image_id": task.image_id,
        "request_id": task.request_id,
        "user_id": task.user_id,
        "expires_at": to_json(task.expires_at),
        "created_at": to_json(task.created_at),
        "updated_at": to_json(task.updated_at),
        "deleted_at": to_json(task.deleted_at),
        "deleted": bool(task.deleted),
    }


def _is_id(value: str) -> bool:
    # A trailing newline passes the "$"-anchored check, then fails the UUID parse.
    return is_uuid_like(value) and not value.endswith("\n")


def _live(now: datetime.datetime) -> tuple:
    """The conditions of a task lookups and lists show."""
    return (Task.deleted == False,  # noqa: E712
            Task.expires_at.is_null(True) | (Task.expires_at > now))


def _scope(ctx: RequestContext) -> tuple:
    """Admins see every task; anyone else only their project's."""
    if ctx.is_admin:
        return ()
    return (Task.owner == ctx.project_id,) if ctx.project_id else (Task.id.is_null(),)


def _find(ctx: RequestContext, task_id: str, now: datetime.datetime) -> Task:
    task = None
    if isinstance(task_id, str) and _is_id(task_id):
        task = Task.get_or_none(Task.id == normalize_id(task_id), *_live(now),
                                *_scope(ctx))
    if task is None:
        raise NotFound("Task with the given id %s not found" % task_id)
    return task


def _find_marker(ctx: RequestContext, query: TaskQuery,
                 now: datetime.datetime) -> Task:
    """The marker task, which must be one the list could hold."""
    try:
        marker = _find(ctx, query.marker, now)
    except NotFound:
        marker = None
    if marker is None or (query.owner is not None and marker.owner != query.owner):
        raise BadRequest("Invalid marker. Task %s could not be found." % query.marker)
    return marker


def _after(marker: Task, keys: list[str], descending: bool):
    """Rows after ``marker`` in the order of ``keys`` (keyset paging)."""
    beyond = None
    for i, key in enumerate(keys):
        column, value = getattr(Task, key), getattr(marker, key)
        step = column < value if descending else column > value
        for earlier in keys[:i]:
            step = step & (getattr(Task, earlier) == getattr(marker, earlier))
        beyond = step if beyond is None else beyond | step
    return beyond


def _parse(body: Any, allowed: frozenset[str]) -> dict[str, Any]:
    """Validated column values of a task body; BadRequest naming what is wrong."""
    if not isinstance(body, dict):
        raise BadRequest("A task must be a JSON object.")
    unknown = set(body) - allowed
    if unknown:
        raise BadRequest("Unknown or read-only task field(s): %s"
                         % ", ".join(sorted(unknown)))
    columns: dict[str, Any] = {}
    for field, value in body.items():
        if field in _TEXT:
            columns[field] = _text(field, value)
        elif field in ("id", "image_id"):
            columns[field] = _uuid(field, value)
        elif field == "input":
            if not isinstance(value, dict):
                raise BadRequest("Task input must be a JSON object.")
            columns[field] = json.dumps(value)
        elif field == "result":
            if value is not None and not isinstance(value, dict):
                raise BadRequest("Task result must be a JSON object or null.")
            columns[field] = None if value is None else json.dumps(value)
    if columns.get("type") is not None and columns["type"] not in TYPES:
        raise BadRequest("Invalid task type '%s'." % columns["type"])
    if "status" in columns and columns["status"] not in STATUSES:
        raise BadRequest("Invalid task status '%s'." % columns["status"])
    return columns


def _text(field: str, value: Any) -> str | None:
    nullable = field in ("owner", "request_id", "user_id")
    if value is None and nullable:
        return None
    if not isinstance(value, str) or "\x00" in value:
        raise BadRequest("Task %s must be a string." % field)
    if _TEXT[field] is not None and len(value) > _TEXT[field]:
        raise BadRequest("Task %s is longer than %d characters." % (field, _TEXT[field]))
    return value


def _uuid(field: str, value: Any) -> str | None:
    if value is None and field == "image_id":
        return None
    if not isinstance(value, str) or not _is_id(value):
        raise BadRequest("Task %s must be a UUID." % field)
    return normalize_id(value)
