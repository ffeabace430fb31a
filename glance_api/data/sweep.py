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
so it is found by its task, still ``processing``, on an image whose
heartbeat stopped: its partial writes are removed, its progress properties
ended and its task failed (copies it finished stay, as Glance keeps them).
"""

from __future__ import annotations

import datetime
import logging
import threading

from glance_api import registry_client
from glance_api.data.upload import KILL
from glance_api.data.upload import REQUEUE
from glance_api.data.upload import OnFailure
from glance_api.data.upload import discard
from glance_api.data.upload import failure_changes
from glance_api.data.upload import policy_of
from glance_api.imports import progress
from glance_common import timestamps
from glance_common.context import RequestContext

LOG = logging.getLogger(__name__)
MISSED_BEATS = 4
PAGE = 100


def sweep_once(registry, stores, interval: float, now: datetime.datetime | None = None,
               on_failure: OnFailure | None = None, staging=None) -> list[str]:
    """Fail the abandoned uploads and imports once; returns the ids of the images
    failed. ``on_failure`` overrides each upload's own policy; ``staging`` is
    the import staging area (glance_api.imports.staging), if any."""
    ctx = RequestContext.build("glance-api", None, ["admin"])
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
        failed += _sweep_copies(registry, stores, ctx, stale_before)
        _sweep_staging(registry, ctx, staging, stale_before)
    return failed + _sweep_fetches(registry, ctx, stale_before, on_failure or KILL)


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
        changes["properties"].update(progress.ended(
            progress.split(properties.get(progress.IMPORTING_TO))
            + progress.split(properties.get(progress.FAILED_IMPORT))))
        try:
            registry.update(ctx, image["id"], changes, from_state="importing")
        except (registry_client.NotFound, registry_client.Conflict):
            continue
        for loc in image.get("locations") or []:
            discard(stores, loc["url"])
        stores.discard_partial(image["id"])
        if not retry:
            staging.remove(image["id"])
        _fail_task(registry, ctx, task_id)
        LOG.warning("Image %s is now %s: its import stopped sending heartbeats",
                    image["id"], changes["status"])
        failed.append(image["id"])
    return failed


def _sweep_copies(registry, stores, ctx: RequestContext,
                  stale_before: datetime.datetime) -> list[str]:
    """End the copy-image imports whose api died; their images stay active."""
    if not hasattr(registry, "list_tasks"):
        return []
    failed = []
    tasks = registry.list_tasks(ctx, {"status": "processing", "type": "api_image_import",
                                      "limit": PAGE})
    for task in tasks:
        method = ((task.get("input") or {}).get("import_req") or {}).get("method") or {}
        if method.get("name") != "copy-image" or not task.get("image_id"):
            continue
        try:
            image = registry.get(ctx, task["image_id"])
        except registry_client.NotFound:
            image = None
        if image is not None and (
                image["status"] != "active"
                or timestamps.parse_iso(image["updated_at"]) >= stale_before):
            continue  # alive (its heartbeat moves updated_at), or not a copy any more
        if image is not None:
            properties = image.get("properties") or {}
            ended = progress.ended(progress.split(properties.get(progress.IMPORTING_TO))
                                   + progress.split(properties.get(progress.FAILED_IMPORT)))
            try:
                registry.update(ctx, image["id"], {"properties": ended},
                                from_state="active")
            except (registry_client.NotFound, registry_client.Conflict):
                continue
            stores.discard_partial(image["id"])
        _fail_task(registry, ctx, task["id"])
        LOG.warning("The copy of image %s into other stores stopped sending "
                    "heartbeats; its partial copies were removed", task["image_id"])
        failed.append(task["image_id"])
    return failed


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
        task = registry.get_task(ctx, task_id)
    except registry_client.Error:
        return None
    method = ((task.get("input") or {}).get("import_req") or {}).get("method") or {}
    return method.get("name")


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

    def __init__(self, registry, stores, interval: float, staging=None):
        self._registry, self._stores, self._interval = registry, stores, interval
        self._staging = staging
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
                           staging=self._staging)
            except registry_client.Error as exc:
                LOG.warning("Sweep of abandoned uploads failed: %s", exc)
            except Exception:
                LOG.exception("Sweep of abandoned uploads failed")
            if self._stop.wait(self._interval):
                return
