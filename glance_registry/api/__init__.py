"""The registry's internal HTTP API. Only glance-api calls it.

Identity: every call carries ``X-Glance-Context-User``,
``X-Glance-Context-Project``, ``X-Glance-Context-Roles`` (comma-separated)
and ``X-Openstack-Request-Id`` (echoed back). Without them the caller is
anonymous. Under ``auth_strategy = keystone`` every call but the health
check also needs ``X-Auth-Token`` (401 without a valid one), and the
context headers are believed only from a caller with the service or admin
role (403 from anyone else); any other caller acts as itself and may only
read (403 on writes); see glance_registry.auth. Bodies are JSON. Errors are
``{"message", "code", "title"}`` when Accept names application/json
(text/plain otherwise). Timestamps are UTC ``YYYY-MM-DDTHH:MM:SS.ffffff``.

Who may change, publicise, delete or share an image the caller sees is
glance-api's policy decision, made before it calls; the registry checks only
visibility and ownership (see glance_registry.images).

Full image JSON: ``id, name, disk_format, container_format, size,
virtual_size, checksum, os_hash_algo, os_hash_value, status, visibility,
is_public (visibility == "public"), protected, os_hidden, min_disk, min_ram,
owner, created_at, updated_at, deleted_at, deleted, properties {k: v},
tags [..], locations [{id, url, metadata {}, status}]`` (live locations in
insertion order). Brief JSON: ``id, name, disk_format, container_format,
size, checksum``. ``size`` is null until the api sets it.

``GET /images`` (brief), ``GET /images/detail`` (full) -> 200 {"images": [...]}
    A v1 list unless ``member_status`` is given, which asks for a v2 list.
    Bad values -> 400 naming the filter.
    Filters of both (ANDed): name, status, container_format, disk_format,
    id, owner, checksum, os_hash_value, min_ram, min_disk (exact; each
    repeatable, several values = any of them; ids in any case); size_min,
    size_max (inclusive); protected (true/false/1/0); os_hidden
    (true/false/1/0; v2 lists default to false, so hidden images are left
    out unless os_hidden=true, which lists only hidden ones; v1 lists them
    all); tag (repeatable; the image has every one; case-sensitive);
    created_at_OP, updated_at_OP with OP gt, gte, lt, lte, eq, neq (ISO
    8601 time, zone optional, UTC assumed; repeatable); updated_before
    (updated_at earlier); property-<k>=<v> (key case-insensitive, value
    exact) and prop-<k>=<v> (key and value exact); all repeatable, ANDed.
    v1 only (400 with member_status): changes-since (updated_at later; then
    deleted and killed images are listed too); admins: is_public (absent/
    True: what a non-admin of the admin's project sees; False: every
    non-public image; None: every image) and deleted=true (deleted images).
    v1 lists: non-admins see their project's images (any visibility),
    public ones, and shared ones their project is a member of in any
    member status; other projects' community images are not listed;
    deleted and killed images neither (but see changes-since, deleted).
    v2 lists (spec v2 4.3): member_status (accepted, pending, rejected,
    all) and visibility (public, private, shared, community, all; 400
    without member_status). Non-admins: their project's images (any
    visibility), public ones, and shared ones whose membership of their
    project has status member_status (all: any); visibility=X keeps those of
    visibility X (shared: their own shared images too), and community or
    all add other projects' community images. Without a project: public
    (community or all: and community) images. Admins: every image but other
    projects' community images; visibility=X: every image of visibility X,
    all: every image. Deleted and killed images are never in a v2 list.
    Paging: limit (default limit_param_default, capped at api_limit_max),
    marker (400 "Invalid marker format" / "Invalid marker. Image could not be
    found."; v1: an image the list could hold; v2: any live image the caller
    sees). Sorting: sort=key:dir (repeatable or comma-separated; dir asc or
    desc, default desc; a repeated key counts once), or v1's sort_key
    (default created_at) and sort_dir (asc/desc, default desc); both at
    once -> 400. Keys: name status container_format disk_format size id
    created_at updated_at. Order: the keys, then created_at and id (those not
    given) in the first key's direction, so paging by marker is stable;
    null names and formats sort as '', null sizes as -1.
``GET /images/{id}`` -> 200 {"image": full}; 404 unknown, malformed or
    invisible; deleted images are shown to admins only.
``POST /images`` {"image": {...}} -> 201 {"image": full}
    Fields: id, name, disk_format, container_format (Glance's lists, v2's
    "compressed" included; ami/ari/aki pair up), size, virtual_size,
    min_disk, min_ram, checksum, os_hash_algo, os_hash_value, status (default
    queued), visibility or is_public (true -> public; otherwise shared),
    protected, os_hidden, owner (admins only; else the caller's project),
    properties {str: str} (on PUT a null value removes that property), tags
    [str] (case-sensitive, 1-255 characters; PUT: replaces the list),
    locations [{url, metadata?, status?}].
    Unknown fields or wrong types, or status deleted/pending_delete -> 400;
    duplicate id (deleted ones too) -> 409.
``PUT /images/{id}`` {"image": {...}, "from_state": s|null, "purge_props": bool,
    "property_quota": n|null, "tag_quota": n|null, "fetch_pending": bool|null,
    "add_tags": [str]|null, "remove_tags": [str]|null}
    -> 200 {"image": full}. Changed fields only; "locations" replaces the
    list; "properties" merge (replace with purge_props). Quotas (null or
    negative: unlimited) are counted in the write's own transaction,
    serialised per image (glance_registry.limits): a write that makes a
    property live again or anew and leaves more than property_quota live
    -> 413; one that sets tags leaving more than tag_quota -> 413; the 413
    message is Glance's ("The limit has been exceeded on the number of
    allowed image properties. Attempted: N, Maximum: M"). fetch_pending
    true: glance-api owes this queued image a fetch (v1 copy-from) and
    vouches for it now (fetch_pending_at, never in the image JSON); 409
    unless the image is and stays queued (the write is compare-and-set on
    queued). false: no fetch is owed. Any status change away from queued
    forgets it. A status change
    must be allowed by glance_registry.status from from_state (when given)
    or else the current status: 409 "Image status transition from X to Y is
    not allowed"; leaving queued/uploading for saving/importing/active
    without both formats -> 400; deleted/pending_delete only by DELETE (400).
    A write that names a status or from_state applies only while the status
    is still the one checked, else 409. Every update bumps updated_at (an
    empty image object is a heartbeat). Owner: admins only (dropped
    otherwise). Invisible: 404. Deleted image: 403 admin, 404 others.
    add_tags/remove_tags edit the live tags under the image row's lock, so
    concurrent edits all land (with image.tags too -> 400); a tag to remove
    that is not live -> 404 and nothing changes; adding counts tag_quota.
``GET /images/stale-fetches?before=T[&limit=n]`` -> 200 {"images": [full, ...]}
    Queued, live images whose pending fetch was last vouched for before T
    (oldest first; limit default 100, capped at api_limit_max): their api
    died or lost the registry, so nothing will fill them. Admins only
    (403); T unparsable or absent -> 400.
``DELETE /images/{id}[?status=pending_delete]`` -> 200 {"image": full}
    Soft delete; the response lists the locations with their new status.
    Protected -> 403; pending_delete -> 403; deleted or invisible -> 404;
    a move the status machine refuses (e.g. saving -> pending_delete) or a
    concurrent status change -> 409.
Member JSON (row): ``image_id, member_id, can_share, status (pending,
accepted, rejected), created_at, updated_at``.
``GET /images/{id}/members`` -> 200 {"members": [row, ...]} (live members)
``GET /images/{id}/members/{member}`` -> 200 {"member": row}; 404 "M not found
    in the member list of the image I." when not a live member.
``PUT /images/{id}/members/{member}`` [{"member": {"can_share": b}, "member_quota": n}]
    -> 204. v1 add or update: a new member is pending with can_share as
    given (default false); an existing one keeps its status (and its
    can_share when the body gives none).
``PUT /images/{id}/members`` {"memberships": [{member_id, can_share?}], "member_quota": n}
    -> 204. v1: the live members become exactly these.
``DELETE /images/{id}/members/{member}`` -> 204; 404 not a member.
``POST /images/{id}/members`` {"member_id": m, "member_quota": n} -> 201 {"member": row}
    v2 add: status pending, can_share false; 409 "Member M is duplicated for
    image I" when m is a live member (a removed one is added afresh); 400
    without a member_id string of 1 to 255 characters. The visibility is
    left alone: the api refuses images that are not shared.
``PUT /images/{id}/members/{member}/status`` {"status": s} -> 200 {"member": row}
    v2: s is pending, accepted or rejected (400 otherwise or when absent);
    404 when m is not a live member. updated_at changes.
    member_quota (optional; null or negative: unlimited): a write that
    would leave more live members than that -> 413 "The limit has been
    exceeded on the number of allowed image members for this image.
    Attempted: N, Maximum: M", counted in the write's own transaction,
    serialised per image (glance_registry.limits); a duplicate is still 409.
    Reading members: invisible or deleted image -> 404. Changing members
    (every PUT, POST, DELETE): no project and not admin -> 401; invisible
    or deleted image -> 404. v1 sharing of a private image makes it shared.
``GET /shared-images/{member}`` -> 200 {"shared_images": [{image_id, can_share}]}
``PUT /images/{id}/reservation`` {"at_least": n, "wanted": n, "quota": n}
    -> 200 {"reserved", "usage", "quota"}: hold bytes for an image taking
    data (saving, uploading or importing) against its owner's storage quota
    (0 = unlimited): ``wanted`` if they fit, else all the room left if it
    covers ``at_least``; 413 when not even that fits; 409 for any other
    status. The project's usage is its active and deactivated images' sizes
    plus what its images taking data hold.
``POST /images/{id}/scrubbed`` -> 200 {"image": full}
    glance-scrubber removed (or is about to remove) the data of a
    pending_delete image: status pending_delete -> deleted, its locations
    deleted. Admins only (403); unknown id 404; not pending_delete 409
    (compare-and-set: a restore got there first).
``POST /images/{id}/restore`` -> 200 {"image": full}
    Undo a delayed delete: pending_delete -> active, deleted false, and the
    properties, tags, members deleted with it live again; locations back to
    active. Admins only (403); unknown id 404; not pending_delete 409.
    Images awaiting the scrubber are listed by
    ``GET /images/detail?deleted=true&status=pending_delete&is_public=None``
    (with ``updated_before`` for those deleted long enough ago).
Task JSON (glance_registry.tasks): ``id, type (api_image_import, import,
location_import), status (pending, processing, success, failure), owner,
input {}, result {}|null, message, image_id, request_id, user_id,
expires_at, created_at, updated_at, deleted_at, deleted``. A task whose
expires_at has passed is gone from every call below (404, not listed), and
a caller without the admin role sees and changes only its project's tasks.
``POST /tasks`` {"task": {type, input?, image_id?, message?, id?, owner?,
    request_id?, user_id?}} -> 201 {"task": ...}: pending; owner is the
    caller's project unless an admin names one; request_id and user_id
    default to the caller's. Bad fields -> 400; duplicate id -> 409.
``GET /tasks/{id}`` -> 200 {"task": ...}; 404 unknown or expired.
``PUT /tasks/{id}`` {"task": {status?, result?, message?, image_id?},
    "from_status": s|null, "time_to_live": hours (default 48)} -> 200
    {"task": ...}. Moves pending -> processing -> success|failure (or
    pending -> failure), checked against from_status (when given) or the
    current status and written only while it still holds: 409 otherwise.
    Reaching success or failure sets expires_at = now + time_to_live.
``GET /tasks`` -> 200 {"tasks": [...]}: filters status, type, owner,
    image_id (exact); limit (default limit_param_default, capped at
    api_limit_max), marker (a task the list could hold, else 400),
    sort_key (id, type, status, created_at, updated_at; default created_at),
    sort_dir (default desc); ties broken by created_at, id. Unknown or bad
    parameters -> 400 naming them.
``GET /images/{id}/tasks`` -> 200 {"tasks": [...]}: the image's tasks,
    oldest first.
``GET /healthcheck`` -> 200 "OK", 503 when the database does not answer or
    lacks the registry's tables.
"""

from __future__ import annotations

import flask

from glance_registry.api import health
from glance_registry.api import images
from glance_registry.api import members
from glance_registry.api import metadefs
from glance_registry.api import quotas
from glance_registry.api import scrubbing
from glance_registry.api import tasks
from glance_registry.api.settings import Settings
from glance_registry.errors import NotFound
from glance_registry.validation import is_uuid_like


def register(app: flask.Flask, settings: Settings) -> None:
    """Mount every resource of the registry API on ``app``."""
    app.register_blueprint(images.blueprint(settings))
    app.register_blueprint(members.blueprint())
    app.register_blueprint(quotas.blueprint())
    app.register_blueprint(health.blueprint())
    app.register_blueprint(scrubbing.blueprint())
    app.register_blueprint(metadefs.blueprint(settings))
    app.register_blueprint(tasks.blueprint(settings))
    app.url_value_preprocessor(_refuse_unroutable_ids)


def _refuse_unroutable_ids(endpoint, values) -> None:
    """404 for an image id no image can have, or a member id no row can hold,
    before a handler queries with it.

    ``is_uuid_like`` anchors with "$", which lets one trailing newline
    through to the UUID parse; a NUL is refused by PostgreSQL's text type.
    """
    if not values:
        return
    image_id = values.get("image_id")
    if image_id is not None and (not is_uuid_like(image_id) or image_id.endswith("\n")):
        raise NotFound("No image found with ID %s" % image_id)
    member = values.get("member")
    if member is not None and "\x00" in member:
        raise NotFound("%r not found in the member list of the image %s."
                       % (member, image_id))
