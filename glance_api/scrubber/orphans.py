"""Data no image points to: what a process killed between writing and recording left.

Only the file store can be listed cheaply; other stores are reported as not
checked. The directory is listed before the registry is asked, so an upload
that finishes meanwhile is seen with its location (or still ``saving``) and
its file is never taken for an orphan. Nothing is removed unless the
operator asks for it, and only files this service names (an image id, or an
upload's hidden ``.<id>.<hex>.part``) are ever candidates.
"""

from __future__ import annotations

import dataclasses
import os
import re
import urllib.parse

from glance_api import registry_client
from glance_api.registry_client import RegistryClient
from glance_common.context import RequestContext

PAGE = 1000
EPOCH = "1970-01-01T00:00:00.000000"
IN_FLIGHT = ("queued", "saving")  # an upload may be committing right now
_PART = re.compile(r"\.(?P<id>[A-Za-z0-9][A-Za-z0-9._-]*)\.[0-9a-f]{16}\.part")
_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}",
                   re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Orphan:
    """A file no image needs, and why."""

    path: str
    size: int
    reason: str


@dataclasses.dataclass(frozen=True)
class OrphanReport:
    """What a scan found."""

    orphans: list[Orphan]
    ignored: list[str]      # files in a datadir this service did not name
    unchecked: list[str]    # stores that cannot be listed


def all_images(registry: RegistryClient, ctx: RequestContext) -> dict[str, dict]:
    """Every image the registry knows, deleted and killed ones included."""
    params = {"changes-since": EPOCH, "is_public": "None",
              "sort_key": "id", "sort_dir": "asc"}
    return {image["id"]: image
            for image in registry.iter_images(ctx, params, page=PAGE)}


def find(registry: RegistryClient, ctx: RequestContext, stores) -> OrphanReport:
    """Scan every file store's data directories for orphaned data."""
    files, unchecked = _listed_files(stores)
    images = all_images(registry, ctx)
    referenced = {_path_of(loc["url"]) for image in images.values()
                  for loc in image.get("locations") or []}

    def status(image_id: str) -> str | None:
        image = images.get(image_id)
        if image is None:
            image = _lookup(registry, ctx, image_id)
        return image["status"] if image else None

    orphans, ignored = [], []
    for path in files:
        name = os.path.basename(path)
        part = _PART.fullmatch(name)
        if part:
            state = status(part["id"])
            if state != "saving":
                orphans.append(_orphan(path, "partial upload of image %s, which is %s"
                                       % (part["id"], state or "unknown")))
        elif not _UUID.fullmatch(name):
            ignored.append(path)
        elif os.path.realpath(path) not in referenced:
            state = status(name)
            if state not in IN_FLIGHT:
                orphans.append(_orphan(path, "no image points here (image %s is %s)"
                                       % (name, state or "unknown")))
    return OrphanReport([o for o in orphans if o is not None], ignored, unchecked)


def remove(orphans: list[Orphan]) -> list[str]:
    """Delete the given orphans; returns the paths removed."""
    removed = []
    for orphan in orphans:
        try:
            os.unlink(orphan.path)
        except FileNotFoundError:
            continue
        removed.append(orphan.path)
    return removed


def _listed_files(stores) -> tuple[list[str], list[str]]:
    files, unchecked = [], []
    for name in stores.store_names:
        datadirs = getattr(stores.driver(name), "datadirs", None)
        if datadirs is None:
            unchecked.append(name)
            continue
        for datadir, _ in datadirs:
            with os.scandir(datadir) as entries:
                files += [e.path for e in entries if e.is_file(follow_symlinks=False)]
    return files, unchecked


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
