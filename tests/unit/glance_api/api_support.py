"""Small honest fakes glance-api's unit tests share.

``FakeRegistry`` keeps the registry's contract in memory: what a context may
see, status changes as compare-and-set, quota holds, members. A test can take
the registry down for chosen calls (``outage``) to see what the api does
when the real one is unreachable at that moment.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from typing import Callable

import glance_store
from glance_api import registry_client
from glance_store.drivers.filesystem import FilesystemDriver

_clock = itertools.count()


def stamp() -> str:
    """A strictly increasing timestamp, in the registry's format."""
    return "2024-01-01T00:00:00.%06d" % next(_clock)


def file_stores(datadir) -> glance_store.Stores:
    """A real file store in ``datadir``, the default one."""
    return glance_store.Stores({"file": FilesystemDriver([(str(datadir), 0)])},
                               default_store="file")


def image_record(**fields) -> dict:
    """A registry image record with every field a handler reads."""
    record = {
        "id": str(uuid.uuid4()), "name": None, "owner": None, "status": "queued",
        "visibility": "shared", "protected": False, "size": None, "virtual_size": None,
        "checksum": None, "os_hash_algo": None, "os_hash_value": None,
        "disk_format": "raw", "container_format": "bare", "properties": {},
        "tags": [], "locations": [], "min_disk": 0, "min_ram": 0, "deleted": False,
        "created_at": stamp(), "updated_at": stamp(), "deleted_at": None}
    record.update(fields)
    return record


class FakeRegistry:
    """The registry in memory, with its compare-and-set semantics."""

    def __init__(self):
        self.images: dict[str, dict] = {}
        self.members_of: dict[str, list[dict]] = {}
        self.held: dict[str, int] = {}
        self.fetch_pending: dict[str, str] = {}  # image id -> when vouched for
        self.contexts = []
        self.calls: list[tuple[str, dict]] = []
        self._outages: list[tuple[str, Callable[[dict], bool]]] = []

    # Test controls

    def add(self, **fields) -> dict:
        """Put an image straight into the registry; returns a copy."""
        record = image_record(**fields)
        self.images[record["id"]] = record
        return copy.deepcopy(record)

    def outage(self, method: str, when: Callable[[dict], bool] = lambda _: True) -> None:
        """From now on, calls of ``method`` whose changes match ``when`` find the registry down."""
        self._outages.append((method, when))

    def _call(self, ctx, method: str, changes: dict | None = None) -> None:
        self.contexts.append(ctx)
        self.calls.append((method, dict(changes or {})))
        for name, when in self._outages:
            if name == method and when(changes or {}):
                raise registry_client.Unavailable("The image registry is unavailable: test")

    def _visible(self, ctx, image_id: str) -> dict:
        image = self.images.get(image_id)
        if image is None or image["deleted"] or not self._may_see(ctx, image):
            raise registry_client.NotFound("No image found with ID %s" % image_id)
        return image

    def _may_see(self, ctx, image: dict) -> bool:
        if ctx.is_admin or image["visibility"] in ("public", "community"):
            return True
        if ctx.project_id and image["owner"] == ctx.project_id:
            return True
        return image["visibility"] == "shared" and any(
            m["member_id"] == ctx.project_id for m in self.members_of.get(image["id"], []))

    # The client's interface

    def list(self, ctx, params, detail=True):
        self._call(ctx, "list")
        wanted = params.get("status")
        return [copy.deepcopy(i) for i in self.images.values()
                if not i["deleted"] and self._may_see(ctx, i)
                and (wanted is None or i["status"] == wanted)]

    def iter_images(self, ctx, params, page=1000):
        return iter(self.list(ctx, params))

    def get(self, ctx, image_id):
        self._call(ctx, "get")
        return copy.deepcopy(self._visible(ctx, image_id))

    def create(self, ctx, image):
        self._call(ctx, "create", image)
        fields = {"disk_format": None, "container_format": None}
        fields.update(image)
        fields.setdefault("owner", ctx.project_id)
        return self.add(**fields)

    def update(self, ctx, image_id, changes, from_state=None, purge_props=False,
               property_quota=None, tag_quota=None, if_locations=None):
        self._call(ctx, "update", changes)
        image = self._visible(ctx, image_id)
        if from_state is not None and image["status"] != from_state:
            raise registry_client.Conflict(
                "Image status transition from %s to %s conflict: the image is no "
                "longer %s." % (from_state, changes.get("status", from_state), from_state))
        live = {loc["url"] for loc in image.get("locations") or []
                if loc.get("status", "active") != "deleted"}
        if if_locations is not None and set(if_locations) != live:
            raise registry_client.Conflict("The locations of image %s changed meanwhile."
                                           % image_id)
        changes = copy.deepcopy(changes)
        properties = changes.pop("properties", None)
        kept = {} if purge_props else dict(image["properties"])
        if properties:
            kept.update(properties)
            kept = {k: v for k, v in kept.items() if v is not None}
        if set(kept) - set(image["properties"]):
            _enforce("image properties", len(kept), property_quota)
        if "tags" in changes:
            _enforce("image tags", len(changes["tags"]), tag_quota)
        image["properties"] = kept
        if changes.get("status", image["status"]) != "queued":
            self.fetch_pending.pop(image_id, None)
        image.update(changes)
        image["updated_at"] = stamp()
        return copy.deepcopy(image)

    def update_tags(self, ctx, image_id, add=(), remove=(), tag_quota=None):
        # Calls are one at a time here, so editing the list read is atomic.
        tags = list(self._visible(ctx, image_id)["tags"])
        if any(tag not in tags for tag in remove):
            raise registry_client.NotFound("Tag not found on image %s" % image_id)
        tags = [t for t in tags if t not in remove] + [t for t in add if t not in tags]
        return self.update(ctx, image_id, {"tags": tags}, tag_quota=tag_quota)

    def heartbeat(self, ctx, image_id, status):
        self.update(ctx, image_id, {}, from_state=status)

    def delete(self, ctx, image_id, pending=False):
        self._call(ctx, "delete")
        image = self._visible(ctx, image_id)
        image.update(status="pending_delete" if pending else "deleted", deleted=True)
        return copy.deepcopy(image)

    def members(self, ctx, image_id):
        self._call(ctx, "members")
        self._visible(ctx, image_id)
        return copy.deepcopy(self.members_of.get(image_id, []))

    def add_member(self, ctx, image_id, member, can_share, member_quota=None):
        self._call(ctx, "add_member")
        rows = self.members_of.setdefault(image_id, [])
        for row in rows:
            if row["member_id"] == member:
                if can_share is not None:
                    row["can_share"] = can_share
                return
        _enforce("image members for this image", len(rows) + 1, member_quota)
        rows.append({"member_id": member, "can_share": bool(can_share),
                     "status": "pending"})

    def replace_members(self, ctx, image_id, memberships, member_quota=None):
        self._call(ctx, "replace_members")
        _enforce("image members for this image", len(memberships), member_quota)
        self.members_of[image_id] = [
            {"member_id": m["member_id"], "can_share": bool(m.get("can_share")),
             "status": "pending"} for m in memberships]

    def create_member(self, ctx, image_id, member, member_quota=None):
        self._call(ctx, "create_member")
        rows = self.members_of.setdefault(image_id, [])
        if any(r["member_id"] == member for r in rows):
            raise registry_client.Conflict("Member %s is already a member" % member)
        _enforce("image members for this image", len(rows) + 1, member_quota)
        row = {"member_id": member, "can_share": False, "status": "pending",
               "created_at": stamp(), "updated_at": stamp()}
        rows.append(row)
        return copy.deepcopy(row)

    def member(self, ctx, image_id, member):
        self._call(ctx, "member")
        for row in self.members_of.get(image_id, []):
            if row["member_id"] == member:
                return copy.deepcopy(row)
        raise registry_client.NotFound("Membership could not be found.")

    def set_member_status(self, ctx, image_id, member, status):
        self._call(ctx, "set_member_status")
        for row in self.members_of.get(image_id, []):
            if row["member_id"] == member:
                row.update(status=status, updated_at=stamp())
                return copy.deepcopy(row)
        raise registry_client.NotFound("Membership could not be found.")

    def delete_member(self, ctx, image_id, member):
        self._call(ctx, "delete_member")
        rows = self.members_of.get(image_id, [])
        if not any(r["member_id"] == member for r in rows):
            raise registry_client.NotFound("Membership could not be found.")
        self.members_of[image_id] = [r for r in rows if r["member_id"] != member]

    def reserve(self, ctx, image_id, at_least, wanted, quota):
        self._call(ctx, "reserve")
        owner = self.images[image_id]["owner"]
        used = sum((i["size"] or 0) for i in self.images.values()
                   if i["owner"] == owner and i["status"] == "active" and not i["deleted"])
        used += sum(held for other, held in self.held.items()
                    if other != image_id and self.images[other]["owner"] == owner)
        room = quota - used
        if at_least > room:
            raise registry_client.QuotaExceeded("over quota")
        self.held[image_id] = min(wanted, room)
        return self.held[image_id]

    def healthy(self, ctx):
        self._call(ctx, "healthy")
        return True

    def vouch_for_fetch(self, ctx, image_id, pending):
        self._call(ctx, "vouch_for_fetch", {"fetch_pending": pending})
        image = self._visible(ctx, image_id)
        if image["status"] != "queued":
            raise registry_client.Conflict("Image %s is %s" % (image_id, image["status"]))
        if pending:
            self.fetch_pending[image_id] = image["updated_at"] = stamp()
        else:
            self.fetch_pending.pop(image_id, None)

    def stale_fetches(self, ctx, before, limit):
        self._call(ctx, "stale_fetches")
        return [copy.deepcopy(self.images[i]) for i, at in sorted(
            self.fetch_pending.items(), key=lambda item: item[1])
            if at < before and self.images[i]["status"] == "queued"
            and not self.images[i]["deleted"]][:limit]


def _enforce(what: str, attempted: int, limit) -> None:
    """The registry's count limits (glance_registry.limits)."""
    if limit is not None and 0 <= limit < attempted:
        raise registry_client.QuotaExceeded(
            "The limit has been exceeded on the number of allowed %s. "
            "Attempted: %d, Maximum: %d" % (what, attempted, limit))


# The name the auth tests know it by: it records every caller's context.
RecordingRegistry = FakeRegistry
