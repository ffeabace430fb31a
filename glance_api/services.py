"""What handlers work with, built once from config, and its one lifecycle.

``create_app`` builds a ``Services``; gunicorn's ``post_fork`` hook calls
``start()`` in each worker (threads do not survive fork) and ``worker_exit``
calls ``stop()``. Handlers reach it through ``services()`` only.
"""

from __future__ import annotations

import dataclasses

import flask

import glance_store
from glance_api import options
from glance_api.cache.maintenance import Prefetcher
from glance_api.cache.store import CacheStore
from glance_api.data.fetch import Fetcher
from glance_api.data.inspect import FormatRules
from glance_api.data.sweep import Sweeper
from glance_api.data.upload import Uploader
from glance_api.imports.importer import Importer
from glance_api.imports.sources import WebSource
from glance_api.imports.staging import StagingArea
from glance_api.locations.hashing import LocationHasher
from glance_api.notifier import Notifier
from glance_api.policy import Policy
from glance_api.registry_client import RegistryClient

EXTENSION = "glance"


@dataclasses.dataclass
class Services:
    """The api's collaborators: registry client, stores, policy, data path."""

    conf: object
    registry: RegistryClient
    stores: glance_store.Stores
    policy: Policy
    notifier: Notifier
    uploader: Uploader
    fetcher: Fetcher
    sweeper: Sweeper
    importer: Importer
    location_hasher: LocationHasher
    cache: CacheStore | None = None  # built from image_cache_dir when not given
    prefetcher: Prefetcher | None = None

    def __post_init__(self) -> None:
        if self.cache is None and getattr(self.conf, "image_cache_dir", None):
            self.cache = CacheStore.from_conf(self.conf)
        if self.cache is not None and self.prefetcher is None:
            self.prefetcher = Prefetcher(self.cache, self.registry, self.stores,
                                         self.conf.cache_prefetcher_interval)

    @classmethod
    def from_conf(cls, conf, registry: RegistryClient | None = None,
                  stores: glance_store.Stores | None = None) -> "Services":
        """Everything built from parsed options; nothing started yet."""
        registry = registry or RegistryClient.from_conf(conf)
        stores = stores or glance_store.Stores.from_conf(
            conf, hashing_algorithm=conf.hashing_algorithm)
        notifier = Notifier.from_conf(conf)
        uploader = Uploader(registry, stores, notifier,
                            storage_quota=options.storage_quota(conf),
                            size_cap=conf.image_size_cap,
                            heartbeat_interval=conf.upload_heartbeat_interval,
                            format_rules=FormatRules.from_conf(conf))
        staging = StagingArea.from_stores(stores, conf)
        return cls(conf=conf, registry=registry, stores=stores, policy=Policy(conf),
                   notifier=notifier, uploader=uploader,
                   fetcher=Fetcher(uploader, conf.copy_from_workers),
                   sweeper=Sweeper(registry, stores, conf.upload_heartbeat_interval,
                                   staging=staging, leftovers=uploader.leftovers),
                   importer=Importer(uploader, staging, WebSource(conf),
                                     conf.taskflow_executor.max_workers,
                                     copied_properties=tuple(
                                         conf.glance_download_opts.extra_properties)),
                   location_hasher=LocationHasher(registry, stores,
                                                  retries=conf.http_retries,
                                                  size_cap=conf.image_size_cap))

    def start(self) -> None:
        """Start this process's background work (the abandoned-upload sweep, imports)."""
        self.sweeper.start()
        if self.prefetcher is not None:
            self.prefetcher.start()
        self.importer.start()
        self.location_hasher.start()

    def stop(self) -> None:
        """Stop background work; queued notifications get a moment, never longer."""
        self.sweeper.stop()
        if self.prefetcher is not None:
            self.prefetcher.stop()
        self.importer.stop()
        self.location_hasher.stop()
        self.fetcher.stop()
        self.notifier.stop(timeout=2.0)


def services() -> Services:
    """The current app's services."""
    return flask.current_app.extensions[EXTENSION]
