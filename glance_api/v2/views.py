"""Registry records -> the v2 JSON documents (spec 2.1, 2.2, 4.3, 7).

Pure functions: the handlers fetch, these shape. Nothing here decides who may
see what; the registry already did.
"""

from __future__ import annotations

import datetime

from glance_api.locations.redaction import safe_url

# Glance-written properties it never shows (spec 2.2).
# os_glance_upload_api marks a v2 upload while it is saving, so the sweep
# requeues rather than kills it (glance_api.data.upload).
_HIDDEN_PROPERTIES = ("os_glance_stage_host", "os_glance_hash_op_host",
                      "os_glance_upload_api")
_SCALARS = ("id", "name", "disk_format", "container_format", "visibility", "size",
            "virtual_size", "status", "checksum", "protected", "min_ram",
            "min_disk", "owner", "os_hidden", "os_hash_algo", "os_hash_value")


def timestamp(value: str | None) -> str | None:
    """A registry timestamp as v2 writes it: UTC, whole seconds, ``Z``."""
    if value is None:
        return None
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def image(record: dict, *, show_direct_url: bool = False,
          show_locations: bool = False, show_stores: bool = False) -> dict:
    """The v2 image document for a registry record."""
    image_id = record["id"]
    # Extra properties first, so a core field always wins a clash with a key
    # an old v1 client stored as a property.
    document = {k: v for k, v in (record.get("properties") or {}).items()
                if k not in _HIDDEN_PROPERTIES}
    document.update({key: record.get(key) for key in _SCALARS})
    document.update({
        "created_at": timestamp(record.get("created_at")),
        "updated_at": timestamp(record.get("updated_at")),
        "tags": list(record.get("tags") or []),
        "self": "/v2/images/%s" % image_id,
        "file": "/v2/images/%s/file" % image_id,
        "schema": "/v2/schemas/image",
    })
    active = [loc for loc in record.get("locations") or []
              if loc.get("status", "active") == "active"]
    # Only multi-store Glance shows "stores" (openstacksdk then sends
    # `remove /stores` back on updates, which patch takes as a no-op).
    stores = stores_of(active) if show_stores else ""
    if stores:
        document["stores"] = stores
    if show_locations:
        document["locations"] = [{"url": safe_url(loc["url"]),
                                  "metadata": loc.get("metadata") or {}}
                                 for loc in active]
    if show_direct_url and active:
        document["direct_url"] = safe_url(active[0]["url"])
    return document


def stores_of(locations: list[dict]) -> str:
    """The ids of the stores holding ``locations``, comma-joined, as Glance writes them."""
    ids = [(loc.get("metadata") or {}).get("store") for loc in locations]
    return ",".join(dict.fromkeys(i for i in ids if i))


def images(records: list[dict], first: str, next_: str | None, **image_kwargs) -> dict:
    """A page of images, with the links clients follow."""
    page = {"images": [image(r, **image_kwargs) for r in records],
            "first": first, "schema": "/v2/schemas/images"}
    if next_ is not None:
        page["next"] = next_
    return page


def member(image_id: str, row: dict) -> dict:
    """The v2 member document for a registry member row."""
    return {"member_id": row["member_id"], "image_id": image_id,
            "status": row["status"],
            "created_at": timestamp(row.get("created_at")),
            "updated_at": timestamp(row.get("updated_at")),
            "schema": "/v2/schemas/member"}


def members(image_id: str, rows: list[dict]) -> dict:
    """The v2 member list document."""
    return {"members": [member(image_id, row) for row in rows],
            "schema": "/v2/schemas/members"}
