"""The cache tools operators run from cron or systemd timers, on each api node:

    glance-cache-pruner      [--config-file glance-api.conf]   evict LRU images over the size
    glance-cache-cleaner     [--config-file glance-api.conf]   remove stalled fills, stray
                                                              files, copies of inactive images
    glance-cache-prefetcher  [--config-file glance-api.conf]   cache the queued images

They read glance-api.conf (image_cache_dir, the registry's address, the
stores) and work on this node's cache only.
"""

from __future__ import annotations

import logging
import sys
from typing import Callable

from oslo_config import cfg

import glance_store
from glance_api import options
from glance_api import registry_client
from glance_api.cache import maintenance
from glance_api.cache.store import CacheStore
from glance_api.registry_client import RegistryClient


def _parse(argv: list[str] | None, prog: str) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    options.register_opts(conf)
    conf(sys.argv[1:] if argv is None else argv, project="glance", prog=prog,
         default_config_files=cfg.find_config_files("glance", "glance-api"))
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if conf.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return conf


def _run(argv: list[str] | None, prog: str, work: Callable[[cfg.ConfigOpts, CacheStore], int]
         ) -> int:
    conf = _parse(argv, prog)
    cache = CacheStore.from_conf(conf)
    if cache is None:
        print("%s: image_cache_dir is not set: this node has no image cache." % prog,
              file=sys.stderr)
        return 2
    try:
        return work(conf, cache)
    except registry_client.Error as exc:
        print("%s: %s" % (prog, exc), file=sys.stderr)
        return 1


def prune_main(argv: list[str] | None = None) -> int:
    """Entry point of glance-cache-pruner."""

    def work(conf, cache):
        for image_id in maintenance.prune(cache):
            print("pruned %s" % image_id)
        return 0

    return _run(argv, "glance-cache-pruner", work)


def clean_main(argv: list[str] | None = None) -> int:
    """Entry point of glance-cache-cleaner."""

    def work(conf, cache):
        report = maintenance.clean(cache, RegistryClient.from_conf(conf))
        for image_id in report.stalled:
            print("removed stalled fill %s" % image_id)
        for image_id in report.invalid:
            print("removed invalid entry %s" % image_id)
        for image_id in report.retired:
            print("removed %s: image no longer active" % image_id)
        return 0

    return _run(argv, "glance-cache-cleaner", work)


def prefetch_main(argv: list[str] | None = None) -> int:
    """Entry point of glance-cache-prefetcher."""

    def work(conf, cache):
        stores = glance_store.Stores.from_conf(conf, hashing_algorithm=conf.hashing_algorithm)
        report = maintenance.prefetch(cache, RegistryClient.from_conf(conf), stores)
        for image_id in report.cached:
            print("cached %s" % image_id)
        for image_id in report.dropped:
            print("dropped %s: not an active image" % image_id)
        for image_id in report.failed:
            print("failed %s: left queued" % image_id)
        return 1 if report.failed else 0

    return _run(argv, "glance-cache-prefetcher", work)
