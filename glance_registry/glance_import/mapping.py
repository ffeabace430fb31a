"""Glance's rows -> the rows this registry should hold for the same image.

The result is plain data (``Wanted``): the image's own columns and, per
child table, one entry per natural key (a property's name, a tag's value,
a member's project, a location's URL). The writer compares it with what
the registry holds, so running the import again changes nothing.

Which Glance rows come along:

- a live image: its live properties, tags, members and locations;
- a ``pending_delete`` image (delayed delete): the image, its locations
  waiting for the scrubber (kept live with status ``pending_delete``, as
  this registry keeps them) and the children its deletion retired, so
  ``glance-scrubber --restore`` brings it back whole;
- a ``deleted`` image: the image row alone, so its id is never reused.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from glance_registry.glance_import import locations as location_rules
from glance_registry.glance_import.source import ImageRows
from glance_registry.glance_import.source import to_datetime

# Statuses of an upload or import still under way in Glance.
IN_FLIGHT = frozenset({"saving", "uploading", "importing"})

IMAGE_COLUMNS = ("name", "disk_format", "container_format", "size",
                 "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
                 "status", "visibility", "protected", "os_hidden", "min_disk",
                 "min_ram", "owner", "created_at", "updated_at", "deleted_at",
                 "deleted")


@dataclasses.dataclass(frozen=True)
class Unservable:
    """A location kept as it is, whose bytes this service cannot read."""

    image_id: str
    url: str  # credentials redacted
    reason: str


@dataclasses.dataclass
class Wanted:
    """What the registry should hold for one Glance image."""

    id: str
    image: dict[str, Any]
    # child kind ("properties", ...) -> natural key -> columns
    children: dict[str, dict[str, dict[str, Any]]]
    unservable: list[Unservable] = dataclasses.field(default_factory=list)

    @property
    def status(self) -> str:
        return self.image["status"]


def wanted(rows: ImageRows, served: dict[str, str]) -> Wanted:
    """The registry rows for one Glance image and its children."""
    row = rows.image
    image = _image_columns(row, rows.children.get("image_members", []))
    status = image["status"]
    stamp = image["deleted_at"]
    if image["deleted"] and status != "pending_delete":
        keep = _nothing
    elif image["deleted"]:
        def keep(child):  # noqa: E306 - retired together with the image
            return not child["deleted"] or to_datetime(child.get("deleted_at")) == stamp
    else:
        def keep(child):  # noqa: E306
            return not child["deleted"]
    result = Wanted(image["id"], image, {
        "properties": _keyed(rows.children.get("image_properties", []), keep,
                             "name", lambda r: {"value": r.get("value") or ""}),
        "tags": _keyed(rows.children.get("image_tags", []), keep, "value",
                       lambda r: {}),
        "members": _keyed(rows.children.get("image_members", []), keep, "member",
                          _member),
        "locations": {},
    })
    _add_locations(result, rows.children.get("image_locations", []), served)
    return result


def _nothing(_child) -> bool:
    return False


def _image_columns(row: dict[str, Any], members: list[dict[str, Any]]) -> dict[str, Any]:
    created = to_datetime(row.get("created_at"))
    return {
        "id": row["id"],
        "name": row.get("name"),
        "disk_format": row.get("disk_format"),
        "container_format": row.get("container_format"),
        "size": _int(row.get("size")),
        "virtual_size": _int(row.get("virtual_size")),
        "checksum": row.get("checksum"),
        "os_hash_algo": row.get("os_hash_algo"),
        "os_hash_value": row.get("os_hash_value"),
        "status": row["status"],
        "visibility": _visibility(row, members),
        "protected": bool(row.get("protected") or False),
        "os_hidden": bool(row.get("os_hidden") or False),
        "min_disk": _int(row.get("min_disk")) or 0,
        "min_ram": _int(row.get("min_ram")) or 0,
        "owner": row.get("owner"),
        "created_at": created,
        # Glance leaves updated_at null until the first change.
        "updated_at": to_datetime(row.get("updated_at")) or created,
        "deleted_at": to_datetime(row.get("deleted_at")),
        "deleted": bool(row.get("deleted") or False),
    }


def _visibility(row: dict[str, Any], members: list[dict[str, Any]]) -> str:
    if row.get("visibility"):
        return row["visibility"]
    # Before Ocata: is_public, and sharing was implied by having members
    # (the rule Glance's own Ocata migration applied).
    if row.get("is_public"):
        return "public"
    live = [m for m in members if not m.get("deleted")]
    return "shared" if live else "private"


def _member(row: dict[str, Any]) -> dict[str, Any]:
    return {"can_share": bool(row.get("can_share") or False),
            "status": row.get("status") or "pending"}


def _stamps(row: dict[str, Any]) -> dict[str, Any]:
    created = to_datetime(row.get("created_at"))
    return {"created_at": created,
            "updated_at": to_datetime(row.get("updated_at")) or created,
            "deleted": bool(row.get("deleted") or False),
            "deleted_at": to_datetime(row.get("deleted_at"))}


def _keyed(rows, keep, key: str, columns) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        if not keep(row):
            continue
        name = row[key]
        entry = {**columns(row), **_stamps(row)}
        # A live row wins over a retired one of the same key.
        if name not in found or (found[name]["deleted"] and not entry["deleted"]):
            found[name] = entry
    return found


def _add_locations(result: Wanted, rows: list[dict[str, Any]],
                   served: dict[str, str]) -> None:
    status = result.status
    if result.image["deleted"] and status != "pending_delete":
        return
    for row in rows:
        loc_status = row.get("status") or "active"
        if status == "pending_delete":
            if loc_status != "pending_delete":
                continue
            # This registry keeps the scrubber's work live (deleted false).
            stamps = {**_stamps(row), "deleted": False, "deleted_at": None}
        elif row.get("deleted"):
            continue
        else:
            stamps = _stamps(row)
        url = row.get("value") or ""
        metadata = location_rules.adopted_metadata(url, _metadata(row), served)
        result.children["locations"].setdefault(url, {
            "meta_data": canonical_json(metadata), "status": loc_status, **stamps})
        reason = location_rules.unservable_reason(url, served)
        if reason:
            result.unservable.append(Unservable(
                result.id, location_rules.redact(url), reason))


def _metadata(row: dict[str, Any]) -> dict[str, Any]:
    text = row.get("meta_data")
    if not text:
        return {}
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def canonical_json(value: Any) -> str:
    """JSON text two equal values always serialise to."""
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)

