"""glance-scrubber: delayed deletes, restores, and orphaned data.

    glance-scrubber [--config-file glance-api.conf]        scrub once
    glance-scrubber --daemon                                scrub every wakeup_time
    glance-scrubber --restore IMAGE_ID                      undo a delayed delete
    glance-scrubber --orphans [--delete]                    list (remove) orphaned data

It reads glance-api.conf (the registry's address and the stores) and
talks to the registry over HTTP only.
"""

from __future__ import annotations

import logging
import sys
import threading

from oslo_config import cfg

import glance_store
from glance_api import options
from glance_api import registry_client
from glance_api.registry_client import RegistryClient
from glance_api.scrubber import orphans
from glance_api.scrubber import scrub as scrubber
from glance_store import exceptions as store_exc

LOG = logging.getLogger("glance_api.scrubber")

cli_opts = [
    cfg.BoolOpt("daemon", short="D", default=False,
                help="Keep running, scrubbing every wakeup_time seconds."),
    cfg.StrOpt("restore", metavar="IMAGE_ID",
               help="Bring this pending_delete image back to active."),
    cfg.BoolOpt("orphans", default=False,
                help="List data that no image points to, in the file and Swift "
                     "stores (other stores are reported as not checked)."),
    cfg.BoolOpt("delete", default=False,
                help="With --orphans: remove what is listed."),
]


def parse_config(argv: list[str]) -> cfg.ConfigOpts:
    """glance-api's options plus the scrubber's command line."""
    conf = cfg.ConfigOpts()
    options.register_opts(conf)
    conf.register_cli_opts(cli_opts)
    conf(argv, project="glance", prog="glance-scrubber",
         default_config_files=cfg.find_config_files("glance", "glance-api"))
    return conf


def main(argv: list[str] | None = None, stop: threading.Event | None = None) -> int:
    """Entry point of the glance-scrubber console script; returns the exit status."""
    conf = parse_config(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if conf.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    registry = RegistryClient.from_conf(conf)
    stores = glance_store.Stores.from_conf(conf, hashing_algorithm=conf.hashing_algorithm)
    try:
        if conf.restore:
            return _restore(registry, stores, conf.restore)
        if conf.orphans:
            return _orphans(registry, stores, conf.delete)
        if conf.delete:
            print("--delete only goes with --orphans.", file=sys.stderr)
            return 2
        return _scrub(conf, registry, stores, stop or threading.Event())
    except registry_client.Error as exc:
        print("glance-scrubber: %s" % exc, file=sys.stderr)
        return 1


def _restore(registry, stores, image_id: str) -> int:
    try:
        image = scrubber.restore(registry, stores, image_id)
    except scrubber.ScrubError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print("Restored image %s: %s" % (image["id"], image["status"]))
    return 0


def _orphans(registry, stores, delete: bool) -> int:
    try:
        report = orphans.find(registry, scrubber.admin_context(), stores)
    except store_exc.GlanceStoreError as exc:
        # A store that cannot be listed now (Swift down) must not pass for a clean one.
        print("glance-scrubber: cannot scan for orphans: %s" % exc, file=sys.stderr)
        return 1
    for orphan in report.orphans:
        print("orphan %s (%d bytes): %s" % (orphan.path, orphan.size, orphan.reason))
    for path in report.ignored:
        print("ignored %s: not named by this service; left alone" % path)
    for store in report.unchecked:
        print("unchecked store %s: cannot be listed; not checked" % store)
    if delete:
        for path in orphans.remove(report.orphans, stores):
            print("removed %s" % path)
    elif report.orphans:
        print("%d orphan(s) found; run again with --delete to remove them."
              % len(report.orphans))
    return 0


def _scrub(conf, registry, stores, stop: threading.Event) -> int:
    while True:
        try:
            result = scrubber.scrub_once(registry, stores, conf.scrub_time)
            for image_id in result.scrubbed:
                print("scrubbed %s" % image_id, flush=True)
            failed = bool(result.failed)
        except registry_client.Error as exc:
            if not conf.daemon:
                raise
            LOG.warning("Scrub failed: %s", exc)
            failed = True
        if not conf.daemon:
            return 1 if failed else 0
        if stop.wait(conf.wakeup_time):
            return 0


if __name__ == "__main__":
    sys.exit(main())
