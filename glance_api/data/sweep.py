"""The sweep: uploads and imports whose heartbeat stopped are failed and
their bytes removed.

An upload refreshes its image's updated_at every upload_heartbeat_interval
seconds. An image still in ``saving`` long after its last heartbeat belongs to
a process that died (or lost the registry when it tried to record the
failure), so nothing else will ever finish it. It goes where its upload's
failure policy says: back to ``queued`` when v2 started it (the upload path
marks those with the reserved property ``os_glance_upload_api = v2``),
``killed`` for v1. Likewise a queued image owed a fetch (v1 copy-from,
data.fetch) whose api stopped vouching for it: the api died with the job
still waiting in its pool, or before the fetch reached ``saving``.

Imports (glance_api.imports) beat the same way. A stale ``uploading`` image
without a size is a stage that died: back to ``queued``, partial staged
bytes removed. A stale ``importing`` image is an import that died: the bytes
it wrote (its locations, and partial writes) are removed, its task fails,
and it goes back to ``uploading`` when it was a glance-direct import whose
staged data is whole (so the import can be retried), else to ``queued``
with its staged data removed. A copy-image import keeps its image active,
so it is found by its task, still ``pending`` or ``processing``, on an
image whose heartbeat stopped: its partial writes are removed, its progress
properties ended and its task failed (copies it finished stay, as Glance
keeps them). Any other import task left ``pending`` or ``processing`` with
no live importer (the api died before the image moved to ``importing``, or
after the import ended but before the task said so) is ended after the
same grace, with a message that says what happened, instead of waiting
for its time to live.

Each pass first tries again the removals that failed because a store was
unreachable (data.leftovers); the sweep's own removals that fail so join
that list. A store that cannot be reached never stops the pass: the image
is failed all the same, and its bytes are removed once the store is back.
"""

from __future__ import annotations

import datetime
import logging
import threading

from glance_api import registry_client
from glance_api.data.leftovers import Leftover
from glance_api.data.leftovers import Leftovers
from glance_api.data.upload import KILL
from glance_api.data.upload import REQUEUE
from glance_api.data.upload import OnFailure
from glance_api.data.upload import discard
from glance_api.data.upload import failure_changes
from glance_api.data.upload import policy_of
from glance_api.imports import progress
from glance_common import timestamps
from glance_common.context import RequestContext
from glance_store import exceptions as store_exc
from glance_store.driver import Capability

LOG = logging.getLogger(__name__)
MISSED_BEATS = 4
PAGE = 100
# The task types glance_api.imports records: its own, and the legacy
# POST /v2/tasks import it runs too.
IMPORT_TASK_TYPES = ("api_image_import", "import")


def sweep_once(registry, stores, interval: float, now: datetime.datetime | None = None,
               on_failure: OnFailure | None = None, staging=None,
               leftovers: Leftovers | None = None) -> list[str]:
    """Fail the abandoned uploads and imports once; returns the ids of the images
    failed. ``on_failure`` overrides each upload's own policy; ``staging`` is
    the import staging area (glance_api.imports.staging), if any; removals
    that fail for an unreachable store go to ``leftovers`` (a fresh list,
    lost after this pass, when None), whose due entries are tried first."""
    ctx = RequestContext.build("glance-api", None, ["admin"])
    leftovers = leftovers if leftovers is not None else Leftovers()
    leftovers.retry(lambda leftover: remove_leftover(registry, ctx, stores, leftover))
    stores = _Remover(stores, leftovers)
    stale_before = (now or timestamps.utcnow()) - datetime.timedelta(
        seconds=MISSED_BEATS * interval)
    failed = []
    for image in _stale(registry, ctx, "saving", stale_before):
        policy = on_failure or policy_of(image)
        try:
            registry.update(ctx, image["id"], failure_changes(policy), from_state="saving")
        except (registry_client.NotFound, registry_client.Conflict):
            continue  # another sweeper, or the upload itself, got there first
        stores.discard_partial(image["id"])
        LOG.warning("Image %s is now %s: its upload stopped sending heartbeats",
                    image["id"], policy.status)
        failed.append(image["id"])
    if staging is not None:
        failed += _sweep_stages(registry, ctx, staging, stale_before)
        failed += _sweep_imports(registry, stores, ctx, staging, stale_before)
        failed += _sweep_tasks(registry, stores, ctx, stale_before)
        _sweep_staging(registry, ctx, staging, stale_before)
    return failed + _sweep_fetches(registry, ctx, stale_before, on_failure or KILL)


def remove_leftover(registry, ctx: RequestContext, stores, leftover: Leftover) -> bool:
    """Remove what a failed write left; False while an upload or import of its
    image may be writing again (then its data is not yet a leftover)."""
    image = _live_image(registry, ctx, leftover.image_id)
    if leftover.location is not None:
        if image is not None and any(loc["url"] == leftover.location
                                     for loc in image.get("locations") or []):
            return True  # recorded after all: the image's data, not a leftover
        try:
            stores.delete(leftover.location)
        except store_exc.NotFound:
            pass
        return True
    if _writing(image):
        return False
    removed = 0
    if leftover.store is not None:
        removed += _remove_unrecorded(registry, ctx, stores, leftover)
    removed += stores.discard_partial(leftover.image_id, store=leftover.store)
    if removed:
        LOG.info("Removed %d piece(s) a failed write of image %s left in store %s",
                 removed, leftover.image_id, leftover.store or "(all)")
    return True


def _remove_unrecorded(registry, ctx: RequestContext, stores, leftover: Leftover) -> int:
    """Remove the whole object of a write that committed it but never recorded
    it (Swift stored the last PUT, its answer was lost); stores that cannot
    be listed are left to glance-scrubber --orphans."""
    driver = stores.driver(leftover.store)
    if Capability.LIST not in driver.capabilities:
        return 0
    found = [entry for entry in driver.listing(leftover.image_id)
             if entry.name == leftover.image_id]
    if not found:
        return 0
    # Asked again after the listing: an upload of the image that began since
    # is seen writing, one that ended is seen with its location here.
    image = _live_image(registry, ctx, leftover.image_id)
    if _writing(image) or (image is not None and any(
            driver.owns(loc["url"]) for loc in image.get("locations") or [])):
        return 0
    for entry in found:
        try:
            stores.delete(entry.location, store=leftover.store)
        except store_exc.NotFound:
            continue
    return len(found)


def _live_image(registry, ctx: RequestContext, image_id: str) -> dict | None:
    """The image, unless it is gone (deleted, or never recorded)."""
    try:
        image = registry.get(ctx, image_id)
    except registry_client.NotFound:
        return None
    return None if image.get("deleted") else image


def _writing(image: dict | None) -> bool:
    """Whether an upload or import (a copy too) may be writing the image's data."""
    return image is not None and (
        image["status"] in ("saving", "importing")
        or bool((image.get("properties") or {}).get(progress.IMPORTING_TO)))


class _Remover:
    """The stores as the sweep removes through them: a removal that fails is
    logged and remembered for a later pass instead of ending this one."""

    def __init__(self, stores, leftovers: Leftovers):
        self._stores, self._leftovers = stores, leftovers

    def discard_partial(self, image_id: str) -> None:
        """Remove a dead write's partial data from every writable store."""
        for name in self._stores.store_names:
            try:
                self._stores.discard_partial(image_id, store=name)
            except store_exc.GlanceStoreError as exc:
                LOG.warning("Could not remove the partial data of image %s from store "
                            "%s: %s", image_id, name, exc)
                self._leftovers.remember(Leftover(image_id, name))

    def discard(self, image_id: str, location: str) -> None:
        """Remove a whole object no image will point to."""
        if not discard(self._stores, location):
            self._leftovers.remember(Leftover(image_id, None, location))


def _stale(registry, ctx: RequestContext, status: str,
           stale_before: datetime.datetime) -> list[dict]:
    params = {"status": status, "is_public": "None", "limit": PAGE,
              "updated_before": timestamps.to_json(stale_before)}
    return registry.list(ctx, params, detail=True)


def _sweep_stages(registry, ctx: RequestContext, staging,
                  stale_before: datetime.datetime) -> list[str]:
    """Queue again the images whose stage died before all bytes were staged."""
    failed = []
    for image in _stale(registry, ctx, "uploading", stale_before):
        if image.get("size") is not None:
            continue  # staged whole: waiting for its import, as long as it likes
        try:
            registry.update(ctx, image["id"], failure_changes(REQUEUE),
                            from_state="uploading")
        except (registry_client.NotFound, registry_client.Conflict):
            continue
        staging.remove(image["id"])
        LOG.warning("Image %s is queued again: its stage stopped sending heartbeats",
                    image["id"])
        failed.append(image["id"])
    return failed


def _sweep_imports(registry, stores, ctx: RequestContext, staging,
                   stale_before: datetime.datetime) -> list[str]:
    """Return the images whose import died, and remove what it wrote."""
    failed = []
    for image in _stale(registry, ctx, "importing", stale_before):
        properties = image.get("properties") or {}
        task_id = properties.get(progress.IMPORT_TASK)
        retry = (_method(registry, ctx, task_id) == "glance-direct"
                 and image.get("size") is not None
                 and staging.size(image["id"]) == image["size"])
        changes = failure_changes(REQUEUE)
        if retry:
            changes.update(status="uploading", size=image["size"])
        changes["locations"] = []
        changes["properties"].update(progress.cut_short(properties))
        try:
            registry.update(ctx, image["id"], changes, from_state="importing")
        except (registry_client.NotFound, registry_client.Conflict):
            continue
        for loc in image.get("locations") or []:
            stores.discard(image["id"], loc["url"])
        stores.discard_partial(image["id"])
        if not retry:
            staging.remove(image["id"])
        _fail_task(registry, ctx, task_id)
        LOG.warning("Image %s is now %s: its import stopped sending heartbeats",
                    image["id"], changes["status"])
        failed.append(image["id"])
    return failed


def _sweep_tasks(registry, stores, ctx: RequestContext,
                 stale_before: datetime.datetime) -> list[str]:
    """End the import tasks no live api runs; the ids of their images.

    A task is orphaned when both it and its image (if it still has one)
    stopped changing before ``stale_before``: while an api holds an import,
    waiting in its pool or running, it beats the image. An ``importing``
    image is left to ``_sweep_imports``, which ends its task with it.
    """
    if not hasattr(registry, "list_tasks"):
        return []
    ended = []
    for status in ("pending", "processing"):
        params = {"status": status, "sort_key": "updated_at", "sort_dir": "asc",
                  "limit": PAGE}
        for task in registry.list_tasks(ctx, params):
            if task.get("type") not in IMPORT_TASK_TYPES or _fresh(task, stale_before):
                continue
            image = _task_image(registry, ctx, task)
            if image is not None and (image["status"] == "importing"
                                      or _fresh(image, stale_before)):
                continue  # alive, or the import sweep's
            if _end_orphan(registry, stores, ctx, task, image):
                ended += [image["id"]] if image is not None else []
    return ended


def _fresh(record: dict, stale_before: datetime.datetime) -> bool:
    """Whether a task or image changed after ``stale_before``."""
    return timestamps.parse_iso(record["updated_at"]) >= stale_before


def _task_image(registry, ctx: RequestContext, task: dict) -> dict | None:
    """The live image of a task, if it has one."""
    if not task.get("image_id"):
        return None
    try:
        image = registry.get(ctx, task["image_id"])
    except registry_client.NotFound:
        return None
    return None if image.get("deleted") else image


def _end_orphan(registry, stores, ctx: RequestContext, task: dict,
                image: dict | None) -> bool:
    """End one orphaned import task (and a copy's progress on its image);
    False when something else changed it first."""
    copying = _method_of(task) == "copy-image" and image is not None \
        and image["status"] == "active"
    if copying:
        ended = progress.cut_short(image.get("properties") or {})
        try:
            registry.update(ctx, image["id"], {"properties": ended}, from_state="active")
        except (registry_client.NotFound, registry_client.Conflict):
            return False
        stores.discard_partial(image["id"])
    changes = _orphan_end(task, image, copying)
    try:
        registry.update_task(ctx, task["id"], changes, from_status=task["status"])
    except (registry_client.NotFound, registry_client.Conflict):
        return False
    except registry_client.Error as exc:
        LOG.warning("Could not end task %s: %s", task["id"], exc)
        return False
    LOG.warning("Task %s is now %s: %s", task["id"], changes["status"], changes["message"])
    return True


def _orphan_end(task: dict, image: dict | None, copying: bool) -> dict:
    """How an orphaned task ends, and the message that says why."""
    began = task["status"] == "processing"
    if (began and not copying and image is not None and image["status"] == "active"
            and (image.get("properties") or {}).get(progress.IMPORT_TASK) == task["id"]):
        # Its image went active from this very import: only the last
        # record, the task's own, was lost with the api.
        return {"status": "success", "result": {"image_id": image["id"]},
                "message": "The import ended; the api that ran it stopped before "
                           "recording that."}
    if copying:
        what = "its partial copies were removed"
    elif image is None:
        what = "its image is gone"
    else:
        what = "its image is %s" % image["status"]
    verb = "ended" if began else "began"
    return {"status": "failure",
            "message": "The api %s this import stopped before it %s; %s."
                       % ("running" if began else "that accepted", verb, what)}


def _method_of(task: dict) -> str | None:
    method = ((task.get("input") or {}).get("import_req") or {}).get("method") or {}
    return method.get("name")


def _sweep_staging(registry, ctx: RequestContext, staging,
                   stale_before: datetime.datetime) -> None:
    """Remove staged data no image waits for any more (the image was deleted,
    or its import ended without this process)."""
    moment = stale_before.replace(tzinfo=datetime.timezone.utc).timestamp()
    for image_id in staging.staged_before(moment):
        try:
            image = registry.get(ctx, image_id)
        except registry_client.NotFound:
            image = None
        except registry_client.Error:
            continue
        if image is None or image.get("deleted") \
                or image["status"] not in ("uploading", "importing"):
            staging.remove(image_id)
            LOG.info("Removed the staged data of image %s: no import waits for it",
                     image_id)


def _method(registry, ctx: RequestContext, task_id: str | None) -> str | None:
    """The import method of a task, when the registry still has it."""
    if not task_id or not hasattr(registry, "get_task"):
        return None
    try:
        return _method_of(registry.get_task(ctx, task_id))
    except registry_client.Error:
        return None


def _fail_task(registry, ctx: RequestContext, task_id: str | None) -> None:
    if not task_id or not hasattr(registry, "update_task"):
        return
    try:
        registry.update_task(ctx, task_id, {
            "status": "failure",
            "message": "The api running this import stopped before it ended."})
    except registry_client.Error as exc:
        LOG.warning("Could not fail task %s: %s", task_id, exc)


def _sweep_fetches(registry, ctx: RequestContext, stale_before: datetime.datetime,
                   on_failure: OnFailure) -> list[str]:
    """Fail the queued images whose pending fetch nobody vouches for any more."""
    changes = {"status": on_failure.status}
    changes.update(dict.fromkeys(on_failure.clears))
    failed = []
    for image in registry.stale_fetches(ctx, timestamps.to_json(stale_before), PAGE):
        try:
            registry.update(ctx, image["id"], changes, from_state="queued")
            if on_failure.status == "queued":
                registry.vouch_for_fetch(ctx, image["id"], False)
        except (registry_client.NotFound, registry_client.Conflict):
            continue  # another sweeper, or the fetch itself, got there first
        LOG.warning("Image %s is now %s: the api that was to fetch its data "
                    "(copy-from) stopped vouching for it", image["id"], on_failure.status)
        failed.append(image["id"])
    return failed


class Sweeper:
    """Sweeps now and then every heartbeat interval, in a daemon thread."""

    def __init__(self, registry, stores, interval: float, staging=None,
                 leftovers: Leftovers | None = None):
        self._registry, self._stores, self._interval = registry, stores, interval
        self._staging = staging
        self.leftovers = leftovers if leftovers is not None else Leftovers()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start sweeping in this process (threads do not survive fork)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="glance-sweep",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current sweep."""
        self._stop.set()

    def _loop(self) -> None:
        while True:
            try:
                sweep_once(self._registry, self._stores, self._interval,
                           staging=self._staging, leftovers=self.leftovers)
            except registry_client.Error as exc:
                LOG.warning("Sweep of abandoned uploads failed: %s", exc)
            except Exception:
                LOG.exception("Sweep of abandoned uploads failed")
            if self._stop.wait(self._interval):
                return
