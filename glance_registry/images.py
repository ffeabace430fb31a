"""The image rules: read, create, update, delete. Called by the HTTP layer and tests.

Authorization is decided once, in glance-api, before it calls the registry:
``create_image`` (``add_image``; ``publicize_image`` for a public image),
``update_image`` (``modify_image``; ``publicize_image`` to make it public),
``delete_image`` (``delete_image``), ``quotas.reserve`` (``upload_image``),
the member calls (owner, admin or a v1 ``can_share`` member). The registry
trusts its caller for those: under keystone only a caller with the service
or admin role, i.e. glance-api, may write (``auth``). It keeps:

- visibility: an image the context cannot see is NotFound (404), decided by
  the one query-building function ``visibility.visible``;
- ownership integrity: only an admin sets or changes ``owner``; a new image
  belongs to the caller's project unless an admin names another; a deleted
  image cannot be updated; a caller without a project cannot change members;
- data integrity: the status machine (``status``), formats, protected images;
- the count limits the api passes with a write (``limits``), counted in
  that write's transaction;
- the scrubber's moves (``scrubbing``) are for admins only.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import uuid
from typing import Any

import peewee

from glance_common.context import RequestContext
from glance_common.timestamps import utcnow
from glance_registry import inserts
from glance_registry import limits
from glance_registry import status
from glance_registry import templates
from glance_registry import visibility
from glance_registry.db import database
from glance_registry.errors import BadRequest
from glance_registry.errors import Conflict
from glance_registry.errors import Forbidden
from glance_registry.errors import NotFound
from glance_registry.models import Image
from glance_registry.models import ImageLocation
from glance_registry.models import ImageMember
from glance_registry.models import ImageProperty
from glance_registry.models import ImageTag
from glance_registry.serializers import Children
from glance_registry.serializers import full
from glance_registry.validation import ImageChanges
from glance_registry.validation import check_formats
from glance_registry.validation import is_uuid_like
from glance_registry.validation import normalize_id
from glance_registry.validation import parse_image
from glance_registry.validation import parse_tags


def load_children(image_ids: list[str]) -> Children:
    """Live properties, tags and locations of many images, in one query."""
    children = Children()
    if not image_ids:
        return children
    ids = templates.in_list(len(image_ids))
    # One round trip for all three kinds of child row, in id order per kind.
    sql = ("SELECT 'p', image_id, id, name, value, NULL FROM image_properties"
           " WHERE deleted = %(f)s AND image_id IN %(ids)s"
           " UNION ALL SELECT 't', image_id, id, value, NULL, NULL FROM image_tags"
           " WHERE deleted = %(f)s AND image_id IN %(ids)s"
           " UNION ALL SELECT 'l', image_id, id, url, meta_data, status"
           " FROM image_locations WHERE deleted = %(f)s AND image_id IN %(ids)s"
           " ORDER BY 1, 3") % {"f": database.obj.param, "ids": ids}
    params = ([False] + list(image_ids)) * 3
    for kind, image_id, row_id, a, b, c in database.execute_sql(sql, params):
        if kind == "p":
            children.properties.setdefault(image_id, {})[a] = b
        elif kind == "t":
            children.tags.setdefault(image_id, []).append(a)
        else:
            children.locations.setdefault(image_id, []).append(
                ImageLocation(id=row_id, image=image_id, url=a, meta_data=b, status=c))
    return children


def find_image(ctx: RequestContext, image_id: str) -> Image:
    """The image if ``ctx`` may see it (deleted ones: admins only), else NotFound."""
    if not is_uuid_like(image_id):
        raise NotFound("No image found with ID %s" % image_id)
    viewer = visibility.Viewer.of(ctx)
    sql, params = templates.bind(
        ("find_image", viewer.shape),
        lambda: Image.select().where(Image.id == templates.Slot("id"),
                                     visibility.visible(viewer)),
        {"id": normalize_id(image_id), "project": ctx.project_id})
    image = fetch_image(sql, params)
    if image is None or (image.deleted and not ctx.is_admin):
        raise NotFound("No image found with ID %s" % image_id)
    return image


def find_live_image(ctx: RequestContext, image_id: str) -> Image:
    """The image if ``ctx`` sees it and it is not deleted; 404 hidden, 403 deleted.

    Only admins see deleted rows, so only they get the 403.
    """
    image = find_image(ctx, image_id)
    if image.deleted:
        raise Forbidden("Forbidden to update deleted image.")
    return image


def show(image: Image) -> dict[str, Any]:
    """The full JSON of one image, children included."""
    return full(image, load_children([image.id]))


def get_image(ctx: RequestContext, image_id: str) -> dict[str, Any]:
    """One visible image as full JSON."""
    return show(find_image(ctx, image_id))


def create_image(ctx: RequestContext, body: Any) -> dict[str, Any]:
    """Create an image from a POST body; return it as full JSON."""
    changes = parse_image(body, creating=True)
    _refuse_deleted_status(changes.columns.get("status"))
    columns = dict(changes.columns)
    columns.setdefault("id", str(uuid.uuid4()))
    columns.setdefault("status", "queued")
    if not (ctx.is_admin and "owner" in columns):
        columns["owner"] = ctx.project_id
    columns["visibility"] = _new_visibility(changes, None)
    columns["disk_format"], columns["container_format"] = check_formats(
        columns.get("disk_format"), columns.get("container_format"))
    now = utcnow()
    columns["created_at"] = columns["updated_at"] = now
    try:
        with database.atomic():
            # The primary key refuses a duplicate id, deleted rows included.
            inserts.insert(Image, [columns])
            _insert_children(columns["id"], changes, now)
    except peewee.IntegrityError as exc:
        raise _duplicate(columns["id"]) from exc
    return show(load(columns["id"]))


def update_image(ctx: RequestContext, image_id: str, body: Any,
                 from_state: str | None = None,
                 purge_props: bool = False, *,
                 property_quota: int | None = None,
                 tag_quota: int | None = None,
                 fetch_pending: bool | None = None,
                 if_locations: list[str] | None = None,
                 add_tags: Any = None, remove_tags: Any = None) -> dict[str, Any]:
    """Apply a PUT body; with ``from_state`` only if the status still is that.

    A status change must be allowed by the status machine, checked against
    ``from_state`` when given, else against the status read here; the write
    is conditioned on that same status, so a concurrent change is Conflict.
    A write that adds properties (or sets tags) beyond ``property_quota``
    (``tag_quota``) is QuotaExceeded, counted in its own transaction
    (``limits``). ``fetch_pending`` true records (or refreshes) that the api
    owes this queued image a fetch, false that it no longer does; leaving
    queued forgets it too. ``if_locations``: only if the image's live
    location URLs are still exactly these (Conflict otherwise), so that two
    writers of one image's locations cannot both act on the same old list.
    ``add_tags`` and ``remove_tags`` edit the live tags in place, read and
    written under the image row's lock, so concurrent edits of one image's
    tags all land (a whole ``tags`` list would overwrite the others'); a tag
    to remove that is not live is NotFound.
    """
    changes = parse_image(body, creating=False)
    edit = _tag_edit(changes, add_tags, remove_tags)
    if from_state is not None and from_state not in status.STATUSES:
        raise BadRequest("Invalid from_state '%s'." % from_state)
    wanted = changes.columns.get("status")
    _refuse_deleted_status(wanted)
    now = utcnow()
    with database.atomic():
        image = find_live_image(ctx, image_id)
        if property_quota is not None or tag_quota is not None:
            limits.lock_image(image.id)
        columns = _update_columns(ctx, image, changes)
        checked = from_state if from_state is not None else image.status
        if fetch_pending and (checked != "queued" or wanted not in (None, "queued")):
            raise Conflict("Image %s is %s: only a queued image waits for a fetch."
                           % (image_id, wanted or checked))
        moving = wanted is not None and wanted != checked
        if moving:
            status.check_transition(checked, wanted)
            status.check_formats(
                checked, wanted,
                columns.get("disk_format", image.disk_format),
                columns.get("container_format", image.container_format))
        columns["updated_at"] = now
        if fetch_pending is not None or (moving and wanted != "queued"):
            columns["fetch_pending_at"] = now if fetch_pending else None
        query = Image.update(columns).where(Image.id == image.id,
                                            Image.deleted == False)  # noqa: E712
        # Any write that names a status, moving or not, is compare-and-set:
        # writing back a stale status would be a move nobody checked.
        guarded = from_state is not None or wanted is not None or bool(fetch_pending)
        if guarded:
            query = query.where(Image.status == checked)
        if query.execute() == 0:
            if not guarded:
                raise NotFound("No image found with ID %s" % image_id)
            raise _lost_race(checked, wanted or checked)
        # Checked after the image row's UPDATE, which holds its row lock on
        # PostgreSQL until commit: a concurrent writer reads our result.
        if if_locations is not None and set(if_locations) != _live_urls(image.id):
            raise Conflict("The locations of image %s changed meanwhile; read it "
                           "again." % image_id)
        if changes.properties is not None or purge_props:
            if _set_properties(image.id, changes.properties or {}, purge_props, now):
                limits.enforce(limits.PROPERTIES, _live_count(ImageProperty, image.id),
                               property_quota)
        _update_tags(image_id, image.id, changes.tags, edit, tag_quota, now)
        if changes.locations is not None:
            _set_locations(image.id, changes.locations, now)
        return show(load(image.id))


def stale_fetches(ctx: RequestContext, before: datetime.datetime,
                  limit: int) -> list[dict[str, Any]]:
    """Queued images whose pending fetch nobody vouched for since ``before``
    (oldest first, at most ``limit``); admins only."""
    if not ctx.is_admin:
        raise Forbidden("Only admins may list the fetches of every project.")
    rows = (Image.select()
            .where(Image.status == "queued", Image.deleted == False,  # noqa: E712
                   Image.fetch_pending_at < before)
            .order_by(Image.fetch_pending_at, Image.id)
            .limit(limit))
    rows = list(rows)
    children = load_children([row.id for row in rows])
    return [full(row, children) for row in rows]


def delete_image(ctx: RequestContext, image_id: str,
                 target: str = "deleted") -> dict[str, Any]:
    """Soft-delete an image to ``target`` (deleted or pending_delete); return it
    with its locations' new status."""
    if target not in status.DELETED_STATUSES:
        raise BadRequest("Invalid status '%s' for delete." % target)
    now = utcnow()
    with database.atomic():
        image = find_image(ctx, image_id)
        if image.status == "deleted" or (image.deleted
                                         and image.status != "pending_delete"):
            raise NotFound("No image found with ID %s" % image_id)
        if image.status == "pending_delete":
            raise Forbidden("Image %s is already pending deletion." % image_id)
        if image.protected:
            raise Forbidden("Image is protected")
        status.check_transition(image.status, target)
        children = load_children([image.id])
        changed = (Image.update(status=target, deleted=True, deleted_at=now,
                                updated_at=now)
                   .where(Image.id == image.id, Image.status == image.status,
                          Image.deleted == False)  # noqa: E712
                   .execute())
        if changed == 0:
            if load(image.id).deleted:
                raise NotFound("No image found with ID %s" % image_id)
            raise _lost_race(image.status, target)
        for model in (ImageProperty, ImageTag, ImageMember):
            _soft_delete(model, image.id, now)
        locations = _retire_locations(children.locations.get(image.id, []),
                                      target, now)
        return full(load(image.id), children, locations)


def _refuse_deleted_status(wanted: str | None) -> None:
    """Only delete_image (and the scrubber) mark an image deleted: it also
    retires the children and sets ``deleted``, which a plain write would not."""
    if wanted in status.DELETED_STATUSES:
        raise BadRequest("Status %s is set by deleting the image "
                         "(DELETE /images/{id}), not by a create or update."
                         % wanted)


def _lost_race(checked: str, wanted: str) -> Conflict:
    """The Conflict for a compare-and-set whose status changed under it."""
    return Conflict("Image status transition from %s to %s conflict: "
                    "the image is no longer %s." % (checked, wanted, checked))


def _update_columns(ctx: RequestContext, image: Image,
                    changes: ImageChanges) -> dict[str, Any]:
    columns = dict(changes.columns)
    if not ctx.is_admin:
        columns.pop("owner", None)
    if "visibility" in columns or changes.is_public is not None:
        columns["visibility"] = _new_visibility(changes, image.visibility)
    if "disk_format" in columns or "container_format" in columns:
        columns["disk_format"], columns["container_format"] = check_formats(
            columns.get("disk_format", image.disk_format),
            columns.get("container_format", image.container_format))
    return columns


def _new_visibility(changes: ImageChanges, current: str | None) -> str:
    """Visibility after a create (current None) or update, v1's is_public mapped.

    Who may publicise is the api's decision (``publicize_image``), not ours.
    """
    wanted = changes.columns.get("visibility")
    if wanted is None:
        if changes.is_public:
            wanted = "public"
        elif current is None or current == "public":
            wanted = "shared"  # v1 "not public" on create or un-publicising
        else:
            wanted = current
    return wanted


def _duplicate(image_id: str) -> Conflict:
    return Conflict("An image with identifier %s already exists" % image_id)


def _insert_children(image_id: str, changes: ImageChanges, now) -> None:
    """The child rows of a new image: it has none yet, so nothing to compare."""
    stamps = {"image": image_id, "created_at": now, "updated_at": now}
    properties = [dict(stamps, name=k, value=v)
                  for k, v in (changes.properties or {}).items() if v is not None]
    inserts.insert(ImageProperty, properties)
    tags = [dict(stamps, value=t) for t in dict.fromkeys(changes.tags or [])]
    inserts.insert(ImageTag, tags)
    for loc in changes.locations or []:
        gone = loc["status"] == "deleted"
        ImageLocation.insert(url=loc["url"], meta_data=json.dumps(loc["metadata"]),
                             status=loc["status"], deleted=gone,
                             deleted_at=now if gone else None, **stamps).execute()


def load(image_id: str) -> Image:
    """The image row with this id, visible or not (for callers that checked)."""
    sql, params = templates.bind(
        ("load",), lambda: Image.select().where(Image.id == templates.Slot("id")),
        {"id": image_id})
    image = fetch_image(sql, params)
    if image is None:
        raise NotFound("No image found with ID %s" % image_id)
    return image


# Column names of a result -> (field name, converter) of each; few shapes.
_readers: dict[tuple, tuple] = {}


def fetch_image(sql: str, params: list) -> Image | None:
    """The first image row ``sql`` selects, as a model; None if there is none.

    ``Image.raw`` maps a result's columns to fields again for every query:
    measured with cProfile over 1,000 GET /images/{id}, its cursor wrapper
    was about a quarter of the registry's CPU for the request. The mapping
    depends only on the column names, so it is kept; values still go
    through each field's ``python_value``, as peewee's wrapper does. The
    registry's own work for GET /images/{id} (in-process, callgrind) went
    from 2.12 to 1.78 million instructions.
    """
    cursor = database.execute_sql(sql, params)
    try:
        row = cursor.fetchone()
        if row is None:
            return None
        names = tuple(column[0] for column in cursor.description)
    finally:
        # Ends SQLite's statement now: a pending one holds its snapshot.
        cursor.close()
    reader = _readers.get(names)
    if reader is None:
        columns = Image._meta.columns
        reader = tuple((columns[name].name, columns[name].python_value) for name in names)
        _readers.setdefault(names, reader)
    values = zip(reader, row, strict=True)
    return Image(__no_default__=True,
                 **{name: convert(value) for (name, convert), value in values})


def _live_count(model: type[peewee.Model], image_id: str) -> int:
    """How many live child rows of ``model`` the image has."""
    return (model.select().where(model.image == image_id,
                                 model.deleted == False)  # noqa: E712
            .count())


def _set_properties(image_id: str, properties: dict[str, str | None],
                    purge: bool, now) -> bool:
    """Merge ``properties`` into the image's (replace them all when purging);
    True when a property that was not live is now.

    A None value removes that property.
    """
    rows = {p.name: p for p in
            ImageProperty.select().where(ImageProperty.image == image_id)}
    properties = dict(properties)
    added = False
    for name in [k for k, v in properties.items() if v is None]:
        del properties[name]
        if name in rows and not rows[name].deleted:
            (ImageProperty.update(deleted=True, deleted_at=now, updated_at=now)
             .where(ImageProperty.id == rows[name].id).execute())
    for name, value in properties.items():
        row = rows.get(name)
        added = added or row is None or bool(row.deleted)
        if row is None:
            ImageProperty.insert(image=image_id, name=name, value=value,
                                 created_at=now, updated_at=now).execute()
        elif row.deleted or row.value != value:
            (ImageProperty
             .update(value=value, deleted=False, deleted_at=None, updated_at=now)
             .where(ImageProperty.id == row.id).execute())
    if purge:
        gone = [r.id for name, r in rows.items()
                if name not in properties and not r.deleted]
        if gone:
            (ImageProperty.update(deleted=True, deleted_at=now, updated_at=now)
             .where(ImageProperty.id.in_(gone)).execute())
    return added


@dataclasses.dataclass(frozen=True)
class TagEdit:
    """Tags to add to and remove from an image's live ones."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


def _tag_edit(changes: ImageChanges, add: Any, remove: Any) -> TagEdit | None:
    """The validated tag edit of an update; None when it asks for none."""
    if add is None and remove is None:
        return None
    if changes.tags is not None:
        raise BadRequest("Give either tags or add_tags/remove_tags, not both.")
    edit = TagEdit(tuple(parse_tags(add or [], "add_tags")),
                   tuple(parse_tags(remove or [], "remove_tags")))
    if set(edit.add) & set(edit.remove):
        raise BadRequest("A tag cannot be both added and removed.")
    return edit


def _update_tags(asked_id: str, image_id: str, tags: list[str] | None,
                 edit: TagEdit | None, tag_quota: int | None, now) -> None:
    """Set the tags to ``tags`` or apply ``edit``; counted against ``tag_quota``
    when that may add some."""
    if tags is not None:
        _set_tags(image_id, tags, now)
    elif edit is not None:
        _edit_tags(asked_id, image_id, edit, now)
    if tags is not None or (edit is not None and edit.add):
        limits.enforce(limits.TAGS, _live_count(ImageTag, image_id), tag_quota)


def _tag_rows(image_id: str) -> dict[str, ImageTag]:
    """The image's tag rows by value, a live row rather than a deleted one."""
    rows = (ImageTag.select().where(ImageTag.image == image_id)
            .order_by(ImageTag.deleted.desc(), ImageTag.id))
    return {row.value: row for row in rows}


def _set_tags(image_id: str, tags: list[str], now) -> None:
    """Make the image's live tags exactly ``tags``."""
    rows = _tag_rows(image_id)
    gone = tuple(value for value, row in rows.items()
                 if value not in tags and not row.deleted)
    _write_tags(image_id, rows, TagEdit(tuple(tags), gone), now)


def _edit_tags(asked_id: str, image_id: str, edit: TagEdit, now) -> None:
    """Add and remove tags; NotFound (nothing changed) if one to remove is not live."""
    rows = _tag_rows(image_id)
    for value in edit.remove:
        if value not in rows or rows[value].deleted:
            raise NotFound("Tag %s not found on image %s" % (value, asked_id))
    _write_tags(image_id, rows, edit, now)


def _write_tags(image_id: str, rows: dict[str, ImageTag], edit: TagEdit, now) -> None:
    for value in edit.add:
        row = rows.get(value)
        if row is None:
            ImageTag.insert(image=image_id, value=value, created_at=now,
                            updated_at=now).execute()
        elif row.deleted:
            (ImageTag.update(deleted=False, deleted_at=None, updated_at=now)
             .where(ImageTag.id == row.id).execute())
    gone = [rows[value].id for value in edit.remove
            if value in rows and not rows[value].deleted]
    if gone:
        (ImageTag.update(deleted=True, deleted_at=now, updated_at=now)
         .where(ImageTag.id.in_(gone)).execute())


def _live_urls(image_id: str) -> set[str]:
    return {row.url for row in ImageLocation.select(ImageLocation.url).where(
        ImageLocation.image == image_id,
        ImageLocation.deleted == False)}  # noqa: E712


def _set_locations(image_id: str, locations: list[dict[str, Any]], now) -> None:
    """Replace the image's live locations; rows whose URL stays keep their id."""
    live = {loc.url: loc for loc in ImageLocation.select().where(
        ImageLocation.image == image_id,
        ImageLocation.deleted == False)}  # noqa: E712
    wanted = {loc["url"] for loc in locations}
    for url, row in live.items():
        if url not in wanted:
            (ImageLocation.update(status="deleted", deleted=True,
                                  deleted_at=now, updated_at=now)
             .where(ImageLocation.id == row.id).execute())
    for loc in locations:
        values = {"meta_data": json.dumps(loc["metadata"]),
                  "status": loc["status"], "updated_at": now,
                  "deleted": loc["status"] == "deleted",
                  "deleted_at": now if loc["status"] == "deleted" else None}
        row = live.get(loc["url"])
        if row is not None:
            ImageLocation.update(values).where(ImageLocation.id == row.id).execute()
        else:
            ImageLocation.insert(image=image_id, url=loc["url"],
                                 created_at=now, **values).execute()


def _soft_delete(model: type[peewee.Model], image_id: str, now) -> None:
    (model.update(deleted=True, deleted_at=now, updated_at=now)
     .where(model.image == image_id, model.deleted == False)  # noqa: E712
     .execute())


def _retire_locations(locations: list[ImageLocation], status: str,
                      now) -> list[ImageLocation]:
    """Mark an image's live locations deleted or pending_delete; return them updated."""
    # pending_delete rows stay live (deleted false) so the scrubber finds them.
    done = status == "deleted"
    ids = [loc.id for loc in locations]
    if ids:
        (ImageLocation.update(status=status, deleted=done,
                              deleted_at=now if done else None, updated_at=now)
         .where(ImageLocation.id.in_(ids)).execute())
    for loc in locations:
        loc.status = status
    return locations
