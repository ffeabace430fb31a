"""Removals that failed because a store was unreachable, tried again until they work.

When an upload or import fails, its bytes are removed at once; when the
store itself is what failed (Swift gone mid-upload), that removal fails too
and the image is failed all the same. What could not be removed is
remembered here, and the sweep (data.sweep) tries again on each of its
passes, backing off while the store stays away, until the store takes it.

In-process is enough: the list only has to outlive the store's outage, not
the api. If the api dies meanwhile, the list dies with it, and
``glance-scrubber --orphans`` (which lists the file and Swift stores) finds
what it held. For the same reason the list is bounded: when an outage
outgrows it, the oldest entry is dropped with an error that says so, rather
than memory growing without end.

Each gunicorn worker keeps its own list, and its own sweep works it through.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable

from glance_api import registry_client
from glance_store import exceptions as store_exc
from glance_store.url_filter import redact

LOG = logging.getLogger(__name__)
LIMIT = 10000
FIRST_DELAY = 1.0   # seconds before the first retry
MAX_DELAY = 60.0    # the longest wait between two tries while a store stays away


@dataclasses.dataclass(frozen=True)
class Leftover:
    """Data a failed upload or import left in a store.

    With a ``location``, a whole object the registry never recorded;
    without, whatever partial writes of ``image_id`` remain (the driver's
    ``discard_partial``). ``store`` is the store id, None when unknown.
    """

    image_id: str
    store: str | None
    location: str | None = None

    def __str__(self) -> str:
        # Logged often; a location Glance wrote may carry credentials.
        what = ("%s" % redact(self.location) if self.location is not None
                else "the partial data")
        return "%s of image %s in store %s" % (what, self.image_id, self.store or "(any)")


@dataclasses.dataclass
class _Retry:
    due: float
    delay: float
    tries: int = 0


class Leftovers:
    """A bounded, thread-safe list of removals to try again, with backoff."""

    def __init__(self, limit: int = LIMIT, first_delay: float = FIRST_DELAY,
                 max_delay: float = MAX_DELAY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limit, self._first, self._max = limit, first_delay, max_delay
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Leftover, _Retry] = {}  # oldest first

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def pending(self) -> list[Leftover]:
        """What is still to be removed, oldest first."""
        with self._lock:
            return list(self._entries)

    def remember(self, leftover: Leftover) -> None:
        """Try removing ``leftover`` again later (once, however often remembered)."""
        with self._lock:
            if leftover in self._entries:
                return
            if len(self._entries) >= self._limit:
                dropped = next(iter(self._entries))
                del self._entries[dropped]
                LOG.error("Gave up retrying the removal of %s: more than %d removals "
                          "wait; glance-scrubber --orphans will find it", dropped, self._limit)
            self._entries[leftover] = _Retry(self._clock() + self._first, self._first)
        LOG.warning("Will retry removing %s once its store answers again", leftover)

    def retry(self, remove: Callable[[Leftover], bool]) -> list[Leftover]:
        """Call ``remove`` on every entry that is due; returns those it settled.

        ``remove`` returns True when the data is gone (or turned out to be
        needed after all), False to try again later; an exception also means
        later. No failure stops the pass, but once a store proved unreachable
        its other entries wait for the next try instead of each paying for
        the same timeouts.
        """
        now = self._clock()
        with self._lock:
            due = [item for item, retry in self._entries.items() if retry.due <= now]
        settled, unreachable = [], set()
        for leftover in due:
            if leftover.store is not None and leftover.store in unreachable:
                self._later(leftover, tried=False)
                continue
            try:
                done = remove(leftover)
            except store_exc.RemoteServiceUnavailable as exc:
                unreachable.add(leftover.store)
                LOG.info("Removing %s failed again: %s", leftover, exc)
                done = False
            except (store_exc.GlanceStoreError, registry_client.Error, OSError) as exc:
                LOG.info("Removing %s failed again: %s", leftover, exc)
                done = False
            except Exception:
                LOG.exception("Removing %s failed", leftover)
                done = False
            if done:
                settled.append(leftover)
                with self._lock:
                    self._entries.pop(leftover, None)
            else:
                self._later(leftover, tried=True)
        return settled

    def _later(self, leftover: Leftover, tried: bool) -> None:
        with self._lock:
            retry = self._entries.get(leftover)
            if retry is None:
                return
            if tried:
                retry.tries += 1
                retry.delay = min(retry.delay * 2, self._max)
            retry.due = self._clock() + retry.delay
