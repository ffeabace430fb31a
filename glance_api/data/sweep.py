"""The sweep: uploads whose heartbeat stopped are failed and their bytes removed.

An upload refreshes its image's updated_at every upload_heartbeat_interval
seconds. An image still in ``saving`` long after its last heartbeat belongs to
a process that died (or lost the registry when it tried to record the
failure), so nothing else will ever finish it. Likewise a queued image
owed a fetch (v1 copy-from, data.fetch) whose api stopped vouching for it:
the api died with the job still waiting in its pool, or before the fetch
reached ``saving``.
"""

from __future__ import annotations

import datetime
import logging
import threading

from glance_api import registry_client
from glance_api.data.upload import KILL
from glance_api.data.upload import OnFailure
from glance_common import timestamps
from glance_common.context import RequestContext

LOG = logging.getLogger(__name__)
MISSED_BEATS = 4
PAGE = 100


def sweep_once(registry, stores, interval: float, now: datetime.datetime | None = None,
               on_failure: OnFailure = KILL) -> list[str]:
    """Fail the abandoned uploads once; returns the ids of the images failed."""
    ctx = RequestContext.build("glance-api", None, ["admin"])
    stale_before = (now or timestamps.utcnow()) - datetime.timedelta(
        seconds=MISSED_BEATS * interval)
    params = {"status": "saving", "is_public": "None", "limit": PAGE,
              "updated_before": timestamps.to_json(stale_before)}
    changes = {"status": on_failure.status}
    changes.update(dict.fromkeys(on_failure.clears))
    failed = []
    for image in registry.list(ctx, params, detail=True):
        try:
            registry.update(ctx, image["id"], changes, from_state="saving")
        except (registry_client.NotFound, registry_client.Conflict):
            continue  # another sweeper, or the upload itself, got there first
        stores.discard_partial(image["id"])
        LOG.warning("Image %s is now %s: its upload stopped sending heartbeats",
                    image["id"], on_failure.status)
        failed.append(image["id"])
    return failed + _sweep_fetches(registry, ctx, stale_before, on_failure)


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

    def __init__(self, registry, stores, interval: float):
        self._registry, self._stores, self._interval = registry, stores, interval
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
                sweep_once(self._registry, self._stores, self._interval)
            except registry_client.Error as exc:
                LOG.warning("Sweep of abandoned uploads failed: %s", exc)
            except Exception:
                LOG.exception("Sweep of abandoned uploads failed")
            if self._stop.wait(self._interval):
                return
