"""Data no image points to: what a process killed between writing and recording left.

The file store's data directories and the stores whose driver can list its
objects (glance_store's LIST capability: Swift) are checked; other stores
(S3, HTTP) are reported as not checked. The stores are listed before the
registry is asked, so an upload that finishes meanwhile is seen with its
location (or still in flight) and its data is never taken for an orphan.
Nothing is removed unless the operator asks for it, and only names this
service writes are ever candidates: an image id; an upload's hidden
``.<id>.<hex>.part`` file; a Swift segment ``<id>-NNNNN``.

An image in flight may be writing right now: its partial data (a ``.part``
file, segments) is left alone while it is saving or importing (or being
copied into other stores); its whole object also while it is queued, the
moment between a write's commit and its record.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import urllib.parse

from glance_api import registry_client
from glance_api.imports import progress
from glance_api.registry_client import RegistryClient
from glance_common.context import RequestContext
from glance_store import exceptions as store_exc
from glance_store.driver import Capability
from glance_store.driver import Listed

LOG = logging.getLogger(__name__)
PAGE = 1000
EPOCH = "1970-01-01T00:00:00.000000"
WRITING = ("saving", "importing")  # an upload or import may be writing right now
IN_FLIGHT = ("queued", *WRITING)  # ... or committing what it wrote
_PART = re.compile(r"\.(?P<id>[A-Za-z0-9][A-Za-z0-9._-]*)\.[0-9a-f]{16}\.part")
_UUID_TEXT = r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}"
_UUID = re.compile(_UUID_TEXT, re.IGNORECASE)
_SEGMENT = re.compile(r"(?P<id>%s)-\d{5,}" % _UUID_TEXT, re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Orphan:
    """Data no image needs, and why: a file's path, or, with ``store``, an
    object's location in that store."""

    path: str
    size: int
    reason: str
    store: str | None = None


@dataclasses.dataclass(frozen=True)
class OrphanReport:
    """What a scan found."""

    orphans: list[Orphan]
    ignored: list[str]      # files or objects this service did not name
    unchecked: list[str]    # stores that cannot be listed


def all_images(registry: RegistryClient, ctx: RequestContext) -> dict[str, dict]:
    """Every image the registry knows, deleted and killed ones included."""
    params = {"changes-since": EPOCH, "is_public": "None",
              "sort_key": "id", "sort_dir": "asc"}
    return {image["id"]: image
            for image in registry.iter_images(ctx, params, page=PAGE)}


def find(registry: RegistryClient, ctx: RequestContext, stores) -> OrphanReport:
    """Scan the file stores' data directories and the listable stores for orphaned data."""
    files, objects, unchecked = _listed(stores)
    images = all_images(registry, ctx)
    locations = [loc["url"] for image in images.values()
                 for loc in image.get("locations") or []]
    referenced = {_path_of(url) for url in locations}

    def image_of(image_id: str) -> dict | None:
        image = images.get(image_id)
        return image if image is not None else _lookup(registry, ctx, image_id)

    orphans, ignored = [], []
    for path in files:
        found = _file_orphan(path, image_of, referenced)
        if found == "ignored":
            ignored.append(path)
        elif found is not None:
            orphans.append(_orphan(path, found))
    for store, listed in objects.items():
        named = _object_names(stores.driver(store), locations)
        for entry in listed:
            found = _object_orphan(entry.name, image_of, named)
            if found == "ignored":
                ignored.append(entry.location)
            elif found is not None:
                orphans.append(Orphan(entry.location, entry.size, found, store))
    return OrphanReport([o for o in orphans if o is not None], ignored, unchecked)


def remove(orphans: list[Orphan], stores=None) -> list[str]:
    """Delete the given orphans (objects through ``stores``); returns what was removed.

    One that cannot be removed is logged and the rest are still tried.
    """
    removed = []
    for orphan in orphans:
        try:
            if orphan.store is None:
                os.unlink(orphan.path)
            else:
                stores.driver(orphan.store).delete(orphan.path)
        except (FileNotFoundError, store_exc.NotFound):
            continue
        except (OSError, store_exc.GlanceStoreError) as exc:
            LOG.error("Could not remove %s: %s", orphan.path, exc)
            continue
        removed.append(orphan.path)
    return removed


def _file_orphan(path: str, image_of, referenced: set) -> str | None:
    """Why the file at ``path`` is an orphan; None if it is not; "ignored"
    if this service did not name it."""
    name = os.path.basename(path)
    part = _PART.fullmatch(name)
    if part:
        image = image_of(part["id"])
        if _writing(image):
            return None
        return "partial upload of image %s, which is %s" % (part["id"], _status(image))
    if not _UUID.fullmatch(name):
        return "ignored"
    if os.path.realpath(path) in referenced:
        return None
    image = image_of(name)
    if _in_flight(image):
        return None
    return "no image points here (image %s is %s)" % (name, _status(image))


def _object_orphan(name: str, image_of, named: set[str]) -> str | None:
    """Why the object ``name`` is an orphan; None if it is not; "ignored" if
    this service did not name it. A segment belongs to the object named by
    its image id: while that is an image's location, so are its segments."""
    segment = _SEGMENT.fullmatch(name)
    image_id = segment["id"] if segment else name
    if not segment and not _UUID.fullmatch(name):
        return "ignored"
    if image_id in named:
        return None
    image = image_of(image_id)
    if _writing(image) or (not segment and _in_flight(image)):
        return None
    if segment:
        return "segment of image %s, which is %s and has no location here" % (
            image_id, _status(image))
    return "no image points here (image %s is %s)" % (image_id, _status(image))


def _writing(image: dict | None) -> bool:
    """Whether an upload or import may be writing ``image``'s data right now."""
    if image is None:
        return False
    copying = (image.get("properties") or {}).get(progress.IMPORTING_TO)
    return image["status"] in WRITING or bool(copying)


def _in_flight(image: dict | None) -> bool:
    """Whether ``image`` is writing, or may be about to record what it wrote."""
    return image is not None and (image["status"] in IN_FLIGHT or _writing(image))


def _status(image: dict | None) -> str:
    return image["status"] if image else "unknown"


def _listed(stores) -> tuple[list[str], dict[str, list[Listed]], list[str]]:
    """The files of the file stores, the objects of the listable ones (read
    whole now, before the registry is asked), and the stores neither."""
    files, objects, unchecked = [], {}, []
    for name in stores.store_names:
        driver = stores.driver(name)
        datadirs = getattr(driver, "datadirs", None)
        if datadirs is not None:
            for datadir, _ in datadirs:
                with os.scandir(datadir) as entries:
                    files += [e.path for e in entries if e.is_file(follow_symlinks=False)]
        elif Capability.LIST in driver.capabilities:
            objects[name] = list(driver.listing())
        else:
            unchecked.append(name)
    return files, objects, unchecked


def _object_names(driver, locations: list[str]) -> set[str]:
    """The object names in ``driver``'s storage that image locations name."""
    names = set()
    for url in locations:
        if driver.owns(url):
            path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
            names.add(path.rstrip("/").rpartition("/")[2])
    return names


def _lookup(registry: RegistryClient, ctx: RequestContext, image_id: str) -> dict | None:
    # Images a listing never shows (community ones) are asked for one by one.
    try:
        return registry.get(ctx, image_id)
    except registry_client.NotFound:
        return None


def _path_of(url: str) -> str | None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "file":
        return None
    return os.path.realpath(urllib.parse.unquote(parts.path))


def _orphan(path: str, reason: str) -> Orphan | None:
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return None  # removed meanwhile: an upload finished or gave up
    return Orphan(path, size, reason)
