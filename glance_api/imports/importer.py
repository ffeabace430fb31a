"""The importer: runs accepted imports on a bounded pool of background
threads in each api worker, and records how each one ended.

``begin`` (called by the handler) records the task, moves the image to
``importing`` (copy-image: keeps it ``active``) with the progress
properties, and queues the job; the 202 goes out at once. A job then:

1. brings the bytes to the staging area (web-download, glance-download;
   glance-direct finds them staged; copy-image reads its own store);
2. writes them to each target store through the upload path (hashing,
   format inspection, size cap, heartbeat), recording each written location
   on the image at once, so no byte is ever stored without the registry
   knowing where (an api killed mid-import leaves nothing the sweep cannot
   find);
3. ends: ``active`` with the locations written, or, on failure, back to
   ``queued`` with every byte of this attempt removed (stores that
   succeeded stay when ``all_stores_must_succeed`` is false, the failed
   ones listed in ``os_glance_failed_import``). A glance-direct import that
   failed only because of its target stores goes back to ``uploading``
   with its staged data kept, so ``image-import`` can simply be retried;
   staged data that is itself refused (format, size) is removed.

While a job waits in the pool or runs, a beat thread refreshes its image's
heartbeat; if the process dies, the beats stop and the sweep takes over.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from glance_api import registry_client
from glance_api.data.fetch import ChunkStream
from glance_api.data.upload import REQUEUE
from glance_api.data.upload import ImageChanged
from glance_api.data.upload import Uploader
from glance_api.data.upload import discard
from glance_api.exceptions import Conflict
from glance_api.exceptions import ImageRefused
from glance_api.exceptions import ServiceUnavailable
from glance_api.exceptions import TooLarge
from glance_api.imports import progress
from glance_api.imports import sources
from glance_api.imports.request import COPY_IMAGE
from glance_api.imports.request import GLANCE_DIRECT
from glance_api.imports.request import GLANCE_DOWNLOAD
from glance_api.imports.request import WEB_DOWNLOAD
from glance_api.imports.request import ImportRequest
from glance_api.imports.staging import StagingArea
from glance_api.v2 import schemas
from glance_common.context import RequestContext
from glance_store import exceptions as store_exc

LOG = logging.getLogger(__name__)
TASK_TYPE = "api_image_import"
MIB = 1024 * 1024
# The source's fault, whichever store it goes to: no store is worth retrying.
DATA_ERRORS = (ImageRefused, TooLarge, store_exc.SizeMismatch, store_exc.ChecksumMismatch,
               store_exc.SizeLimitExceeded)
# What a legacy task's image_properties may set besides extra properties.
LEGACY_CORE = ("name", "container_format", "visibility", "min_ram", "min_disk",
               "protected", "tags", "os_hidden")
# Clears of a glance-direct import going back to uploading: the staged size stays.
UNSTAGED_CLEARS = tuple(c for c in REQUEUE.clears if c != "size")


class DataFailed(Exception):
    """The import's bytes themselves were refused or could not be read."""


class StoresFailed(Exception):
    """Target stores failed and the import may not end without them."""


@dataclasses.dataclass
class Job:
    """One accepted import."""

    ctx: RequestContext
    image: dict
    request: ImportRequest
    task_id: str | None
    remote: dict | None = None  # glance-download: endpoint and token
    written: list = dataclasses.field(default_factory=list)  # AddResults
    failed: list = dataclasses.field(default_factory=list)  # store ids
    cancelled: bool = False
    done: threading.Event = dataclasses.field(default_factory=threading.Event)

    @property
    def status(self) -> str:
        """The status the image keeps while the job runs."""
        return "active" if self.request.method == COPY_IMAGE else "importing"

    @property
    def image_id(self) -> str:
        return self.image["id"]


class Importer:
    """Runs imports, at most ``workers`` at a time per process; more wait."""

    def __init__(self, uploader: Uploader, staging: StagingArea, web: sources.WebSource,
                 workers: int, copied_properties: tuple[str, ...] = ()):
        self.uploader = uploader
        self.staging = staging
        self.web = web
        # glance-download: prefixes of the remote image's properties to copy.
        self.copied_properties = copied_properties
        # Threads start on first submit, so building this before gunicorn
        # forks its workers is safe.
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="glance-import")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._beating: threading.Thread | None = None

    @property
    def registry(self):
        return self.uploader.registry

    def start(self) -> None:
        """Start this process's beat thread (threads do not survive fork)."""
        with self._lock:
            if self._beating is None or not self._beating.is_alive():
                self._beating = threading.Thread(target=self._beat_loop, daemon=True,
                                                 name="glance-import-heartbeat")
                self._beating.start()

    def stop(self) -> None:
        """Stop taking jobs; running and waiting ones are left to the sweep."""
        self._stopped.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # Accepting

    def begin(self, ctx: RequestContext, image: dict, request: ImportRequest,
              remote: dict | None = None, task_id: str | None = None) -> Job:
        """Record the task, move the image to its importing state, queue the job."""
        if self._stopped.is_set():
            raise ServiceUnavailable("This api is not running imports; try again.")
        self.start()
        if task_id is None:
            task_id = self._create_task(ctx, image, request)
        job = Job(ctx, image, request, task_id, remote)
        changes = {"properties": progress.started(task_id or "", request.targets)}
        if job.status == "importing":
            changes["status"] = "importing"
        try:
            job.image = self.registry.update(ctx, image["id"], changes,
                                             from_state=image["status"])
        except registry_client.Conflict as exc:
            self._end_task(job, "failure", "The image changed before the import began.")
            raise Conflict("Image status transition from %s to %s is not allowed"
                           % (image["status"], job.status)) from exc
        except BaseException:
            self._end_task(job, "failure", "The import could not begin.")
            raise
        with self._lock:
            self._jobs[job.image_id] = job
        self._pool.submit(self.run, job)
        return job

    def run_legacy_task(self, ctx: RequestContext, task: dict) -> Job:
        """Run a legacy ``POST /v2/tasks`` import: web-download of
        ``input.import_from`` into a new image made from
        ``input.image_properties`` with ``input.import_from_format``."""
        task_input = task["input"]
        url = task_input["import_from"]
        self.web.check(url)
        record, properties = {}, {}
        for key, value in task_input["image_properties"].items():
            if key in LEGACY_CORE:
                record[key] = value
            elif isinstance(value, str):
                properties[key] = value
        record.update(disk_format=task_input["import_from_format"], status="queued",
                      properties=properties)
        record.setdefault("container_format", "bare")
        image = self.registry.create(ctx, record)
        self._task(Job(ctx, image, None, task["id"]), {"image_id": image["id"]}, None)
        request = ImportRequest(WEB_DOWNLOAD, (self.uploader.stores.default_store,),
                                uri=url)
        return self.begin(ctx, image, request, task_id=task["id"])

    def _create_task(self, ctx: RequestContext, image: dict, request: ImportRequest):
        create = getattr(self.registry, "create_task", None)
        if create is None:
            return str(uuid.uuid4())
        task = create(ctx, {"type": TASK_TYPE, "input": request.as_input(image["id"]),
                            "image_id": image["id"], "request_id": ctx.request_id,
                            "user_id": ctx.user_id})
        return task["id"]

    # Running

    def run(self, job: Job) -> None:
        """Do one import to its end; never raises (the outcome is recorded)."""
        try:
            if job.cancelled:  # deleted or changed while the job waited
                self._end_task(job, "failure", "The image changed before the import began.")
                return
            self._task(job, {"status": "processing"}, "pending")
            self._run(job)
        except ImageChanged as exc:
            LOG.warning("Import into image %s stopped: %s", job.image_id, exc)
            self._remove_written(job)
            self._end_task(job, "failure", str(exc))
        except Exception as exc:
            LOG.exception("Import into image %s failed unexpectedly", job.image_id)
            self._fail(job, "Import failed: %s" % exc, keep_staged=False)
        finally:
            with self._lock:
                if self._jobs.get(job.image_id) is job:
                    del self._jobs[job.image_id]
            job.done.set()

    def _run(self, job: Job) -> None:
        method = job.request.method
        try:
            size = self._bring_to_staging(job)
        except (store_exc.GlanceStoreError, *DATA_ERRORS) as exc:
            self._fail(job, "Could not get the image data: %s" % exc, keep_staged=False)
            return
        try:
            self._write_targets(job, size)
        except DataFailed as exc:
            self._fail(job, str(exc), keep_staged=False)
            return
        except StoresFailed as exc:
            self._fail(job, str(exc), keep_staged=method == GLANCE_DIRECT)
            return
        if not job.written:
            self._fail(job, "No store took the image: %s" % ", ".join(job.failed),
                       keep_staged=method == GLANCE_DIRECT)
            return
        self._succeed(job)

    def _bring_to_staging(self, job: Job) -> int | None:
        """Stage the bytes of a method that reads a remote source; their size."""
        method, image = job.request.method, job.image
        if method == GLANCE_DIRECT:
            return image.get("size")
        if method == COPY_IMAGE:
            return image.get("size")
        self.staging.remove(job.image_id)
        if method == WEB_DOWNLOAD:
            data = self.web.open(job.request.uri)
        elif method == GLANCE_DOWNLOAD:
            remote, data = sources.open_remote_glance(job.remote["endpoint"],
                                                      job.request.glance_image_id,
                                                      job.remote["token"])
            self._copy_remote_properties(job, remote)
        else:
            raise ValueError("unknown import method %s" % method)
        with data:
            try:
                result, _ = self.uploader.write(
                    job.ctx, image, ChunkStream(data), status=job.status,
                    size=data.size if data.size >= 0 else None, into=self.staging,
                    inspect=False)
            except BaseException:
                self.staging.remove(job.image_id)
                raise
        return result.size

    def _copy_remote_properties(self, job: Job, remote: dict) -> None:
        """Glance's glance-download: the remote image's properties whose names
        start with a configured prefix come along (never os_glance_*)."""
        copied = {key: value for key, value in remote.items()
                  if isinstance(value, str) and key not in schemas.CORE_FIELDS
                  and not key.startswith(schemas.RESERVED_PREFIX)
                  and key.startswith(self.copied_properties)}
        if not copied:
            return
        try:
            job.image = self.registry.update(job.ctx, job.image_id,
                                             {"properties": copied}, from_state=job.status)
        except (registry_client.NotFound, registry_client.Conflict) as exc:
            raise ImageChanged("Image %s was deleted or changed while it was being "
                               "imported." % job.image_id) from exc

    def _open_source(self, job: Job):
        if job.request.method == COPY_IMAGE:
            return sources.open_copy(self.uploader.stores, job.image)
        return self.staging.open(job.image_id)

    def _write_targets(self, job: Job, size: int | None) -> None:
        targets = list(job.request.targets)
        for store in targets:
            try:
                with self._open_source(job) as data:
                    result, inspected = self.uploader.write(
                        job.ctx, job.image, ChunkStream(data), status=job.status,
                        size=size, store=store,
                        inspect=job.request.method != COPY_IMAGE,
                        # A copy adds no bytes to the image's size, which is
                        # what the quota counts (as Glance's legacy quota).
                        quota=job.request.method != COPY_IMAGE)
            except ImageChanged:
                raise
            except DATA_ERRORS as exc:
                raise DataFailed("The image data was refused: %s" % exc) from exc
            except store_exc.GlanceStoreError as exc:
                LOG.warning("Import of image %s into store %s failed: %s",
                            job.image_id, store, exc)
                job.failed.append(store)
                if job.request.all_stores_must_succeed:
                    raise StoresFailed("Import into store %s failed: %s" % (store, exc)) \
                        from exc
                continue
            job.written.append((result, inspected))
            self._record_written(job, [t for t in targets[targets.index(store) + 1:]])

    def _record_written(self, job: Job, remaining: list[str]) -> None:
        """Put the newly written location on the image at once."""
        current = job.image.get("locations") or [] if job.status == "active" else []
        new = [{"url": r.location, "metadata": {"store": r.store}} for r, _ in job.written]
        locations = [{"url": loc["url"], "metadata": loc.get("metadata") or {}}
                     for loc in current] + new
        changes = {"locations": locations,
                   "properties": {progress.IMPORTING_TO: progress.joined(remaining),
                                  progress.FAILED_IMPORT: progress.joined(job.failed)}}
        # Only onto the locations this import saw (and wrote so far): a copy
        # removed meanwhile (DELETE /v2/stores) must not come back.
        seen = [loc["url"] for loc in locations[:-1]]
        try:
            self.registry.update(job.ctx, job.image_id, changes, from_state=job.status,
                                 if_locations=seen)
        except (registry_client.NotFound, registry_client.Conflict) as exc:
            raise ImageChanged("Image %s was deleted or changed while it was being "
                               "imported." % job.image_id) from exc

    # Ending

    def _succeed(self, job: Job) -> None:
        result, inspected = job.written[0]
        changes = {"properties": progress.ended(job.failed)}
        if job.status == "importing":
            changes.update({
                "status": "active", "size": result.size, "checksum": result.checksum,
                "virtual_size": inspected.virtual_size,
                "os_hash_algo": result.os_hash_algo, "os_hash_value": result.os_hash_value})
        try:
            active = self.registry.update(job.ctx, job.image_id, changes,
                                          from_state=job.status)
        except (registry_client.NotFound, registry_client.Conflict) as exc:
            raise ImageChanged("Image %s was deleted or changed before its import "
                               "ended." % job.image_id) from exc
        if job.request.method != COPY_IMAGE:
            self.staging.remove(job.image_id)
        if job.status == "importing":
            self.uploader.notifier.image_event(job.ctx, "image.activate", active)
        message = "Copied %d MiB" % ((result.size + MIB - 1) // MIB)
        self._end_task(job, "success", message, {"image_id": job.image_id})
        LOG.info("Imported image %s into %s", job.image_id,
                 ", ".join(r.store for r, _ in job.written))

    def _fail(self, job: Job, message: str, keep_staged: bool) -> None:
        """Remove this attempt's bytes and put the image where it can be retried."""
        job.failed = list(job.request.targets)  # nothing of this attempt stays
        self._remove_written(job)
        changes = {"properties": progress.ended(job.failed)}
        if job.status == "importing":
            staged = keep_staged and self.staging.size(job.image_id) is not None
            clears = UNSTAGED_CLEARS if staged else REQUEUE.clears
            changes.update(dict.fromkeys(clears))
            changes.update({"status": "uploading" if staged else "queued",
                            "locations": []})
            if not staged:
                self.staging.remove(job.image_id)
        elif job.written:
            changes["locations"] = [{"url": loc["url"], "metadata": loc.get("metadata") or {}}
                                    for loc in job.image.get("locations") or []]
        try:
            self.registry.update(job.ctx, job.image_id, changes, from_state=job.status)
        except registry_client.Error as exc:
            LOG.warning("Could not record the failed import of image %s: %s",
                        job.image_id, exc)
        self._end_task(job, "failure", message)
        LOG.warning("Import into image %s failed: %s", job.image_id, message)

    def _remove_written(self, job: Job) -> None:
        for result, _ in job.written:
            discard(self.uploader.stores, result.location)
        job.written = []

    def _task(self, job: Job, changes: dict, from_status: str | None) -> None:
        update = getattr(self.registry, "update_task", None)
        if job.task_id is None or update is None:
            return
        try:
            update(job.ctx, job.task_id, changes, from_status=from_status)
        except registry_client.Error as exc:
            LOG.warning("Could not update task %s: %s", job.task_id, exc)

    def _end_task(self, job: Job, status: str, message: str,
                  result: dict | None = None) -> None:
        changes = {"status": status, "message": message}
        if result is not None:
            changes["result"] = result
        self._task(job, changes, None)

    # Heartbeat of waiting and running jobs

    def beat(self) -> None:
        """Refresh the heartbeat of every image with an import in this process."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            try:
                self.registry.heartbeat(job.ctx, job.image_id, job.status)
            except (registry_client.NotFound, registry_client.Conflict):
                job.cancelled = True
            except registry_client.Error as exc:
                LOG.warning("Could not refresh the heartbeat of image %s: %s",
                            job.image_id, exc)

    def _beat_loop(self) -> None:
        while not self._stopped.wait(self.uploader.heartbeat_interval):
            try:
                self.beat()
            except Exception:
                LOG.exception("Refreshing import heartbeats failed")


def _stores_of(job: Job) -> list[str]:
    return [r.store for r, _ in job.written]
