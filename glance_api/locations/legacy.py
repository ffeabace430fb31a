"""The old JSON-Patch of ``/locations`` (``show_multiple_locations = true``).

glance_api.v2.patch turns the operations into the image's new list of
locations; ``plan`` checks that list against the image as it is now and
returns the registry changes that make it so, written as one
compare-and-set on the image's status:

- who: a new location or new metadata needs ``set_image_location``, a
  dropped location ``delete_image_location`` (and the PATCH itself
  ``modify_image``);
- what: every new location passes ``rules.check_location`` (a store
  serves it and knows its size; only services and admins may name
  anything but http(s));
- OSSN-0065: on an active image a location is added only if its data is
  the image's data: the same size, and the same hash, read now through
  its store (an image with no recorded hash takes no new location). So no
  sequence of adds, replaces and removes can swap an active image's data;
- a queued image takes one new location at a time, and becomes active
  once it has one whose size is known, with the caller's validation_data (checked as Glance checks
  them) or, with ``do_secure_hash``, a hash computed in the background;
- a location whose data this service wrote (its metadata names a store)
  is deleted from its store once it is dropped.

Locations are shown with their credentials masked
(``redaction.safe_url``); a replace that sends such a masked URL back means
the location it stands for.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from glance_api import image_rules
from glance_api.data.upload import discard
from glance_api.exceptions import BadRequest
from glance_api.exceptions import Conflict
from glance_api.exceptions import TooLarge
from glance_api.locations import rules
from glance_api.locations.hashing import HashJob
from glance_api.locations.redaction import safe_url
from glance_api.locations.redaction import scrub
from glance_common.context import RequestContext
from glance_store import exceptions as store_exc

LOG = logging.getLogger(__name__)
HASH_FIELDS = ("checksum", "os_hash_algo", "os_hash_value")


@dataclasses.dataclass
class LocationChange:
    """A checked change of an image's locations, and what follows the write."""

    from_state: str | None = None
    dropped: list = dataclasses.field(default_factory=list)
    hash_job: HashJob | None = None

    def done(self, svc, image: dict) -> None:
        """After the registry took the change: remove dropped data, start the hash."""
        for location in self.dropped:
            if image_rules.owns_bytes(location):
                discard(svc.stores, location["url"])
        if self.hash_job is not None:
            svc.location_hasher.submit(self.hash_job)


def live_locations(image: dict) -> list[dict]:
    """The image's active locations as the registry holds them (credentials and all)."""
    return [{"url": loc["url"], "metadata": dict(loc.get("metadata") or {})}
            for loc in image.get("locations") or []
            if loc.get("status", "active") == "active"]


def shows_locations(svc, ctx: RequestContext, image: dict) -> bool:
    """Whether an image document shows its locations to ``ctx`` (Glance's rules)."""
    return bool(svc.conf.show_multiple_locations
                and svc.policy.check(ctx, "get_image_location", image))


def patch_document(svc, ctx: RequestContext, image: dict, document: dict) -> dict:
    """``document`` for JSON-Patch: with the real locations when they may be patched.

    Internal only: the response is rendered again, with credentials masked.
    """
    if not svc.conf.show_multiple_locations:
        return document
    return dict(document, locations=live_locations(image))


def may_name_stores(svc, ctx: RequestContext) -> bool:
    """Whether ``ctx`` may add locations in any store (services and admins)."""
    return ctx.is_admin or svc.policy.check(ctx, "service_api")


def plan(svc, ctx: RequestContext, image: dict, changes: dict) -> LocationChange:
    """Check the ``locations`` in ``changes``; completes ``changes`` for the registry."""
    if "locations" not in changes:
        return LocationChange()
    current = live_locations(image)
    wanted = [_resolve(entry, current) for entry in changes.pop("locations")]
    _check_unique(wanted)
    _check_quota(svc, len(wanted))
    known = {loc["url"]: loc for loc in current}
    added = [entry for entry in wanted if entry["url"] not in known]
    dropped = [loc for loc in current if loc["url"] not in {e["url"] for e in wanted}]
    kept_changed = [e for e in wanted if e["url"] in known
                    and e["metadata"] != known[e["url"]]["metadata"]]
    if added or kept_changed:
        svc.policy.enforce(ctx, "set_image_location", image)
    if dropped:
        svc.policy.enforce(ctx, "delete_image_location", image)
    fields = _vouched(svc, image, wanted)
    checked = {entry["url"]: rules.check_location(
        svc.stores, entry["url"], any_scheme=may_name_stores(svc, ctx),
        size_cap=svc.conf.image_size_cap) for entry in added}
    records = [_record(entry, known, checked) for entry in wanted]
    change = LocationChange(from_state=image["status"], dropped=dropped)
    changes["locations"] = records
    if image["status"] == "active":
        for entry in added:
            _check_same_data(svc, image, checked[entry["url"]])
    elif records:
        changes.update(_activation(svc, ctx, image, records, checked, fields, change))
    return change


def _resolve(entry: dict, current: list[dict]) -> dict:
    """A location of the patched list, a masked URL read as the one it masks."""
    url = entry.get("url")
    metadata = entry.get("metadata")
    if not isinstance(metadata, dict):
        raise BadRequest("A location's metadata must be an object.")
    urls = [loc["url"] for loc in current]
    if url not in urls:
        masked = [u for u in urls if safe_url(u) == url]
        if len(masked) == 1:
            url = masked[0]
    resolved = {"url": rules.check_url_shape(url), "metadata": dict(metadata)}
    if "validation_data" in entry:
        resolved["validation_data"] = entry["validation_data"]
    return resolved


def _check_unique(wanted: list[dict]) -> None:
    seen = set()
    for entry in wanted:
        if entry["url"] in seen:
            raise BadRequest("The location %s is already in the list."
                             % safe_url(entry["url"]))
        seen.add(entry["url"])


def _check_quota(svc, count: int) -> None:
    limit = svc.conf.image_location_quota
    if 0 <= limit < count:
        raise TooLarge("The limit has been exceeded on the number of allowed image "
                       "locations. Attempted: %d, Maximum: %d" % (count, limit))


def _record(entry: dict, known: dict, checked: dict) -> dict:
    """The registry's form of one location: its store is ours to say, not the caller's."""
    metadata = dict(entry["metadata"])
    if entry["url"] in checked:
        return checked[entry["url"]].record(metadata)
    store = known[entry["url"]]["metadata"].get("store")
    metadata.pop("store", None)
    if store is not None:
        metadata["store"] = store
    return {"url": entry["url"], "metadata": metadata}


def _vouched(svc, image: dict, wanted: list[dict]) -> dict:
    """The hash fields the locations' validation_data set, checked as Glance does (409)."""
    given: dict[str, Any] = {}
    for entry in wanted:
        for key, value in (entry.get("validation_data") or {}).items():
            if given.get(key, value) != value:
                raise Conflict("Conflicting values for %s" % key)
            given[key] = value
    new = {}
    for key, value in given.items():
        if value == image.get(key):
            continue
        if image.get(key):
            raise Conflict("%s is already set with a different value" % key)
        new[key] = value
    if not new:
        return {}
    if image["status"] != "queued":
        raise Conflict("New value(s) for %s may only be provided when image status "
                       "is 'queued'" % ", ".join(sorted(new)))
    _check_vouched_values(svc, new)
    return new


def _check_vouched_values(svc, new: dict) -> None:
    checksum = new.get("checksum")
    if checksum is not None and not rules.is_hex_digest(checksum, 16):
        raise Conflict("checksum (%s) is not a valid md5 hexadecimal digest" % checksum)
    algorithm = new.get("os_hash_algo")
    if algorithm != svc.conf.hashing_algorithm:
        raise Conflict("os_hash_algo must be %s, not %s"
                       % (svc.conf.hashing_algorithm, algorithm))
    size = rules.digest_size(algorithm)
    if not rules.is_hex_digest(new.get("os_hash_value"), size):
        raise Conflict("os_hash_value (%s) is not the correct size for %s (should be "
                       "%d bytes)" % (new.get("os_hash_value"), algorithm, size))


def _activation(svc, ctx: RequestContext, image: dict, records: list[dict],
                checked: dict, fields: dict, change: LocationChange) -> dict:
    """queued -> active once the first location's size is known."""
    if len(checked) > 1:
        # Nothing says two new locations hold the same data; once the image
        # is active, each further one is checked against its data.
        raise BadRequest("A queued image takes one location at a time; add more "
                         "once it is active.")
    first = records[0]
    location = checked.get(first["url"])
    size = location.size if location is not None else image.get("size")
    if size is None:
        raise BadRequest("The size of the image data at %s is not known."
                         % safe_url(first["url"]))
    activation = dict(fields, status="active", size=size)
    if not fields and svc.conf.do_secure_hash:
        activation["os_hash_algo"] = svc.conf.hashing_algorithm
        change.hash_job = HashJob(ctx, image["id"], first, svc.conf.hashing_algorithm)
    return activation


def _check_same_data(svc, image: dict, location: rules.CheckedLocation) -> None:
    """OSSN-0065: a location added to an active image holds exactly its data."""
    if location.size != image.get("size"):
        raise Conflict("The data at %s is %d bytes, not this image's %s: a location "
                       "of an active image must hold the image's data."
                       % (safe_url(location.url), location.size, image.get("size")))
    algorithm = image.get("os_hash_algo") if image.get("os_hash_value") else None
    if algorithm is None and not image.get("checksum"):
        raise Conflict("Image %s has no recorded hash to check a new location's data "
                       "against, so no location can be added to it." % image["id"])
    try:
        digest = svc.location_hasher.digest(location.url, location.store,
                                            algorithm or "md5")
    except store_exc.GlanceStoreError as exc:
        raise BadRequest("Invalid location %s: %s" % (
            safe_url(location.url), scrub(str(exc), location.url))) from None
    same = (digest.os_hash_value == image["os_hash_value"] if algorithm
            else digest.checksum == image["checksum"])
    if not same or digest.size != image.get("size"):
        raise Conflict("The data at %s is not this image's data: a location of an "
                       "active image must hold the image's data."
                       % safe_url(location.url))
