"""The sweep: uploads whose heartbeat stopped are killed and their bytes removed.

An upload refreshes its image's updated_at every upload_heartbeat_interval
seconds. An image still in ``saving`` long after its last heartbeat belongs to
a process that died (or lost the registry when it tried to record the
failure), so nothing else will ever finish it.
"""

from __future__ import annotations

import datetime
import logging
import threading

from glance_api.registry import RegistryError, RegistryUnavailable
from glance_common.context import RequestContext

LOG = logging.getLogger(__name__)
MISSED_BEATS = 4
PAGE = 100


def sweep_once(services, now: datetime.datetime | None = None) -> list[str]:
    """Kill the abandoned uploads once; returns the ids of the images killed."""
    ctx = RequestContext.build("glance-api", None, ["admin"])
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    stale_before = now - datetime.timedelta(
        seconds=MISSED_BEATS * services.conf.upload_heartbeat_interval)
    params = {"status": "saving", "is_public": "None", "limit": PAGE,
              "updated_before": stale_before.strftime("%Y-%m-%dT%H:%M:%S.%f")}
    killed = []
    for image in services.registry.list(ctx, params, detail=True):
        try:
            services.registry.update(ctx, image["id"], {"status": "killed"},
                                     from_state="saving")
        except RegistryError as exc:
            if exc.code in (404, 409):
                continue  # another sweeper, or the upload itself, got there first
            raise
        services.stores.discard_partial(image["id"])
        LOG.warning("Killed image %s: its upload stopped sending heartbeats", image["id"])
        killed.append(image["id"])
    return killed


def start(services, stop: threading.Event | None = None) -> threading.Thread:
    """Sweep now and then every heartbeat interval, in a daemon thread."""
    stop = stop or threading.Event()

    def loop():
        while True:
            try:
                sweep_once(services)
            except (RegistryError, RegistryUnavailable) as exc:
                LOG.warning("Sweep of abandoned uploads failed: %s", exc)
            except Exception:
                LOG.exception("Sweep of abandoned uploads failed")
            if stop.wait(services.conf.upload_heartbeat_interval):
                return

    thread = threading.Thread(target=loop, name="glance-sweep", daemon=True)
    thread.start()
    return thread
