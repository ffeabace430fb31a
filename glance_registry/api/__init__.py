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
    Filters: name, status, container_format, disk_format (exact); min_ram,
    min_disk (exact ints); size_min, size_max; changes-since (updated_at
    later; then deleted and killed images are listed too); updated_before
    (updated_at earlier); protected (true/false/1/0); property-<k>=<v>
    (ANDed, key case-insensitive). Admins only: is_public (absent/True: what
    a non-admin of the admin's project sees; False: every non-public image;
    None: every image) and deleted=true (deleted images). Otherwise deleted
    and killed images are not listed; community images are never listed.
    Paging: limit (default limit_param_default, capped at api_limit_max),
    marker (400 "Invalid marker format" / "Invalid marker. Image could not be
    found."), sort_key (name status container_format disk_format size id
    created_at updated_at; default created_at), sort_dir (asc/desc, default
    desc). Order: sort_key, created_at, id, all in sort_dir; null names and
    formats sort as '', null sizes as -1. Bad values -> 400 naming the filter.
``GET /images/{id}`` -> 200 {"image": full}; 404 unknown, malformed or
    invisible; deleted images are shown to admins only.
``POST /images`` {"image": {...}} -> 201 {"image": full}
    Fields: id, name, disk_format, container_format, size, virtual_size,
    min_disk, min_ram, checksum, os_hash_algo, os_hash_value, status (default
    queued), visibility or is_public (true -> public; otherwise shared),
    protected, os_hidden, owner (admins only; else the caller's project),
    properties {str: str} (on PUT a null value removes that property), tags
    [str] (PUT: replaces), locations [{url, metadata?, status?}].
    Unknown fields or wrong types, or status deleted/pending_delete -> 400;
    duplicate id (deleted ones too) -> 409.
``PUT /images/{id}`` {"image": {...}, "from_state": s|null, "purge_props": bool}
    -> 200 {"image": full}. Changed fields only; "locations" replaces the
    list; "properties" merge (replace with purge_props). A status change
    must be allowed by glance_registry.status from from_state (when given)
    or else the current status: 409 "Image status transition from X to Y is
    not allowed"; leaving queued/uploading for saving/importing/active
    without both formats -> 400; deleted/pending_delete only by DELETE (400).
    A write that names a status or from_state applies only while the status
    is still the one checked, else 409. Every update bumps updated_at (an
    empty image object is a heartbeat). Owner: admins only (dropped
    otherwise). Invisible: 404. Deleted image: 403 admin, 404 others.
``DELETE /images/{id}[?status=pending_delete]`` -> 200 {"image": full}
    Soft delete; the response lists the locations with their new status.
    Protected -> 403; pending_delete -> 403; deleted or invisible -> 404;
    a move the status machine refuses (e.g. saving -> pending_delete) or a
    concurrent status change -> 409.
``GET /images/{id}/members`` -> 200 {"members": [{member_id, can_share,
    status, created_at, updated_at}]}
``PUT /images/{id}/members/{member}`` [{"member": {"can_share": b}}] -> 204
``PUT /images/{id}/members`` {"memberships": [{member_id, can_share?}]} -> 204
``DELETE /images/{id}/members/{member}`` -> 204; 404 not a member.
    Changing members: no project and not admin -> 401; invisible or deleted
    -> 404. Sharing a private image makes it shared.
``GET /shared-images/{member}`` -> 200 {"shared_images": [{image_id, can_share}]}
``PUT /images/{id}/reservation`` {"at_least": n, "wanted": n, "quota": n}
    -> 200 {"reserved", "usage", "quota"}: hold bytes for a saving image
    against its owner's storage quota (0 = unlimited): ``wanted`` if they
    fit, else all the room left if it covers ``at_least``; 413 when not even
    that fits; 409 when the image is not saving. The project's usage is its
    active and deactivated images' sizes plus what its saving images hold.
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
``GET /healthcheck`` -> 200 "OK", 503 when the database does not answer or
    lacks the registry's tables.
"""

from __future__ import annotations

import flask

from glance_registry.api import health, images, members, quotas, scrubbing
from glance_registry.api.settings import Settings


def register(app: flask.Flask, settings: Settings) -> None:
    """Mount every resource of the registry API on ``app``."""
    app.register_blueprint(images.blueprint(settings))
    app.register_blueprint(members.blueprint())
    app.register_blueprint(quotas.blueprint())
    app.register_blueprint(health.blueprint())
    app.register_blueprint(scrubbing.blueprint())
