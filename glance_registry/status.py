"""The image status machine: which status may follow which, as plain data.

Glance's table (spec v2 section 12), plus two moves v1 needs, each marked.
Every write of an image's status in the registry goes through
``check_transition``; a write that keeps the status is not a transition.
The write itself stays a compare-and-set on the status that was checked, so
a concurrent change turns into Conflict, never into an unchecked move.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from glance_registry.errors import BadRequest
from glance_registry.errors import Conflict

TRANSITIONS: Mapping[str, frozenset[str]] = MappingProxyType({
    "queued": frozenset({
        "saving", "uploading", "importing", "active", "deleted",
        # v1 copy-from: the source failed before any byte arrived, and v1
        # clients expect such an image to end up ``killed``.
        "killed",
    }),
    "saving": frozenset({"active", "queued", "killed", "deleted"}),
    "uploading": frozenset({"importing", "queued", "deleted"}),
    "importing": frozenset({"active", "queued", "deleted"}),
    "active": frozenset({"deactivated", "pending_delete", "deleted"}),
    "deactivated": frozenset({
        "active", "deleted",
        # A delayed delete of a deactivated image: Glance's table omits it,
        # but Glance's delete path allows it.
        "pending_delete",
    }),
    "pending_delete": frozenset({"active", "deleted"}),
    "killed": frozenset({"deleted"}),
    "deleted": frozenset(),
})

# Every status an image may have; validation checks bodies against this.
STATUSES: tuple[str, ...] = tuple(TRANSITIONS)

# Reached only by deleting an image (and left only through the scrubber).
DELETED_STATUSES = frozenset({"deleted", "pending_delete"})

# Leaving these for one of NEEDS_FORMATS_TO needs both formats set.
NEEDS_FORMATS_FROM = frozenset({"queued", "uploading"})
NEEDS_FORMATS_TO = frozenset({"saving", "importing", "active"})


def check_transition(current: str, wanted: str) -> None:
    """Raise Conflict (409) unless ``current`` -> ``wanted`` is allowed."""
    if wanted not in TRANSITIONS.get(current, frozenset()):
        raise Conflict("Image status transition from %s to %s is not allowed"
                       % (current, wanted))


def check_formats(current: str, wanted: str, disk_format: str | None,
                  container_format: str | None) -> None:
    """Raise BadRequest (400) when the move needs formats the image lacks.

    ``disk_format`` and ``container_format`` are the values the image will
    have after the write (the stored row merged with the change).
    """
    if current not in NEEDS_FORMATS_FROM or wanted not in NEEDS_FORMATS_TO:
        return
    missing = [name for name, value in (("disk_format", disk_format),
                                        ("container_format", container_format))
               if not value]
    if missing:
        raise BadRequest("Image status transition from %s to %s requires "
                         "disk_format and container_format; the image has no %s."
                         % (current, wanted, " and no ".join(missing)))
