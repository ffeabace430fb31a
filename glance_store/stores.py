"""The Stores object: the configured drivers, chosen by store id or location.

Built once at start-up by ``Stores.from_conf`` (the only place the library
reads configuration) and shared by every request. Like a requests Session
with its mounted adapters, it finds the driver for a location by scheme,
and the driver to write with by store id.

Two configurations, as Glance has them:

- single-store (no ``[DEFAULT] enabled_backends``): ``[glance_store]
  stores`` names at most one store per type, and the type is the store's
  id ("file", "http", ...); staging lives at ``[DEFAULT] node_staging_uri``;
- multi-store: ``enabled_backends = fast:file, cheap:file, far:swift``,
  one section per id with that driver's options, ``[glance_store]
  default_backend``, and the reserved file stores ``os_glance_staging_store``
  and ``os_glance_tasks_store``, which are never listed nor written to by
  ``add``. Several stores may share a type and so a scheme: a location is
  then read through the store its metadata names (``store=``) or, without
  that, through the one whose driver ``owns`` it.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import threading
import urllib.parse
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from oslo_config import cfg

from glance_store import exceptions
from glance_store import options
from glance_store import url_filter
from glance_store.driver import SAFE_NAME
from glance_store.driver import Capability
from glance_store.driver import Driver
from glance_store.driver import ImageData
from glance_store.reader import Readable
from glance_store.reader import VerifyingReader
from glance_store.reader import check_hashing_algorithm

LOG = logging.getLogger(__name__)

# Store type -> "module:Class"; a module is imported only when configured.
DRIVERS = {
    "file": "glance_store.drivers.filesystem:FilesystemDriver",
    "http": "glance_store.drivers.http:HttpDriver",
    "swift": "glance_store.drivers.swift:SwiftDriver",
    "s3": "glance_store.drivers.s3:S3Driver",
}


@dataclasses.dataclass(frozen=True)
class AddResult:
    """What ``Stores.add`` stored: where, how much, and its checksums."""

    location: str
    size: int
    checksum: str
    os_hash_algo: str
    os_hash_value: str
    store: str
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class StoreInfo:
    """One configured store as GET /v2/info/stores[/detail] presents it."""

    id: str
    type: str
    description: str
    weight: int
    default: bool
    properties: Mapping[str, Any]


def load_driver(name: str, where: str = "[glance_store] stores") -> type[Driver]:
    """Import and return the driver class registered as ``name``."""
    try:
        module_name, _, class_name = DRIVERS[name].partition(":")
    except KeyError:
        raise exceptions.BadStoreConfiguration(
            f"unknown store {name!r} in {where}; known stores: "
            f"{', '.join(sorted(DRIVERS))}") from None
    return getattr(importlib.import_module(module_name), class_name)


DriverSource = Driver | Callable[[], Driver] | None


class _Lazy:
    """A driver built on first use (a staging directory need not exist
    until an import needs it), once, whichever thread asks first."""

    def __init__(self, source: DriverSource, what: str) -> None:
        self._source = source
        self._what = what
        self._driver: Driver | None = source if isinstance(source, Driver) else None
        self._lock = threading.Lock()

    def get(self) -> Driver:
        if self._driver is None:
            if self._source is None:
                raise exceptions.BadStoreConfiguration(
                    f"no {self._what} is configured")
            with self._lock:
                if self._driver is None:
                    self._driver = self._source()
        return self._driver


class Stores:
    """The configured store drivers, and the one entry point to them."""

    def __init__(self, drivers: Mapping[str, Driver], *, default_store: str,
                 url_filter: url_filter.URLFilter | None = None,
                 hashing_algorithm: str = "sha512", multistore: bool = False,
                 descriptions: Mapping[str, str] | None = None,
                 weights: Mapping[str, int] | None = None,
                 staging: DriverSource = None,
                 tasks_work: DriverSource = None) -> None:
        self._drivers = dict(drivers)
        self._url_filter = url_filter if url_filter is not None else _no_extra_rules()
        self._hashing_algorithm = check_hashing_algorithm(hashing_algorithm)
        self._multistore = multistore
        self._descriptions = dict(descriptions or {})
        self._weights = dict(weights or {})
        option = "default_backend" if multistore else "default_store"
        if default_store not in self._drivers:
            raise exceptions.BadStoreConfiguration(
                f"{option} {default_store!r} is not one of the "
                f"configured stores {list(self._drivers)}")
        if Capability.WRITE not in self._drivers[default_store].capabilities:
            raise exceptions.BadStoreConfiguration(
                f"{option} {default_store!r} is read-only; choose a "
                f"store that can hold uploads")
        self._default_store = default_store
        self._by_scheme: dict[str, list[str]] = {}
        for name, driver in self._drivers.items():
            for scheme in driver.schemes:
                claimed = self._by_scheme.setdefault(scheme, [])
                if claimed and not multistore:
                    raise exceptions.BadStoreConfiguration(
                        f"stores {name!r} and "
                        f"{self._drivers[claimed[0]].name!r} both claim "
                        f"{scheme}:// locations")
                claimed.append(name)
        self._staging = _Lazy(staging, "staging area")
        self._tasks_work = _Lazy(tasks_work, "tasks work directory")

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts,
                  hashing_algorithm: str = "sha512") -> Stores:
        """Build the stores ``conf`` configures, single- or multi-store."""
        options.register_opts(conf)
        filter_ = url_filter.URLFilter.from_conf(
            conf[options.IMPORT_FILTERING_GROUP])
        backends = _enabled_backends(conf)
        if backends:
            return cls._multistore_from_conf(conf, backends, filter_,
                                             hashing_algorithm)
        group = conf[options.STORE_GROUP]
        names = dict.fromkeys(n.strip() for n in group.stores if n.strip())
        drivers = {name: load_driver(name).from_conf(group, url_filter=filter_)
                   for name in names}
        staging_dir = _file_uri_path(conf.node_staging_uri, "node_staging_uri")
        return cls(drivers, default_store=group.default_store,
                   url_filter=filter_, hashing_algorithm=hashing_algorithm,
                   staging=lambda: _file_store_at(staging_dir),
                   # Single-store Glance keeps task work files beside the
                   # staged data; one directory per kind keeps them apart.
                   tasks_work=lambda: _file_store_at(
                       os.path.join(staging_dir, "tasks_work")))

    @classmethod
    def _multistore_from_conf(cls, conf: cfg.ConfigOpts,
                              backends: Mapping[str, str],
                              filter_: url_filter.URLFilter,
                              hashing_algorithm: str) -> Stores:
        drivers, descriptions, weights = {}, {}, {}
        for backend, store_type in backends.items():
            driver_class = load_driver(
                store_type, f"[DEFAULT] enabled_backends (store {backend!r})")
            options.register_backend_opts(conf, backend, store_type)
            group = conf[backend]
            try:
                drivers[backend] = driver_class.from_conf(group, url_filter=filter_)
            except exceptions.BadStoreConfiguration as exc:
                raise exceptions.BadStoreConfiguration(
                    f"store {backend!r} ([{backend}]): {exc}") from exc
            descriptions[backend] = group.store_description or ""
            weights[backend] = group.weight
        default = conf[options.STORE_GROUP].default_backend
        if not default:
            raise exceptions.BadStoreConfiguration(
                "[glance_store] default_backend is not set; with "
                "enabled_backends it must name one of "
                f"{', '.join(backends)}")
        if default not in backends:
            raise exceptions.BadStoreConfiguration(
                f"[glance_store] default_backend {default!r} is not enabled; "
                f"enabled_backends lists {', '.join(backends)}")
        staging_dir = conf[options.STAGING_STORE].filesystem_store_datadir
        tasks_dir = conf[options.TASKS_STORE].filesystem_store_datadir
        return cls(drivers, default_store=default, url_filter=filter_,
                   hashing_algorithm=hashing_algorithm, multistore=True,
                   descriptions=descriptions, weights=weights,
                   staging=lambda: _file_store_at(staging_dir),
                   tasks_work=lambda: _file_store_at(tasks_dir))

    @property
    def store_names(self) -> tuple[str, ...]:
        """The configured store ids, in configuration order."""
        return tuple(self._drivers)

    @property
    def default_store(self) -> str:
        """The store uploads go to when none is named."""
        return self._default_store

    @property
    def multistore(self) -> bool:
        """Whether [DEFAULT] enabled_backends configured these stores."""
        return self._multistore

    @property
    def staging(self) -> Driver:
        """The file store of data staged for import (never listed)."""
        return self._staging.get()

    @property
    def tasks_work(self) -> Driver:
        """The file store of task work files (never listed)."""
        return self._tasks_work.get()

    def weight(self, store_id: str) -> int:
        """How strongly downloads prefer ``store_id``; 0 when unset or unknown."""
        return self._weights.get(store_id, 0)

    def describe(self) -> list[StoreInfo]:
        """Every configured store, in configuration order."""
        return [StoreInfo(id=name, type=driver.name,
                          description=self._descriptions.get(name, ""),
                          weight=self.weight(name),
                          default=name == self._default_store,
                          properties=dict(driver.properties()))
                for name, driver in self._drivers.items()]

    def driver(self, store: str) -> Driver:
        """The driver of a configured store; UnknownStore otherwise."""
        try:
            return self._drivers[store]
        except KeyError:
            raise exceptions.UnknownStore(
                f"store {store!r} is not configured; configured stores: "
                f"{', '.join(self._drivers)}") from None

    def store_for(self, location: str, store: str | None = None) -> str:
        """The id of the store that serves ``location``.

        ``store`` (from the location's metadata) wins when it is configured;
        an id no longer configured (a store renamed, or single-store ids after
        a move to multi-store) falls back to the location itself.
        """
        if store is not None and store in self._drivers:
            return store
        scheme, sep, _ = location.partition("://") if isinstance(
            location, str) else ("", "", "")
        if not sep or not scheme:
            raise exceptions.BadStoreURI(f"{location!r} is not a location URI")
        candidates = self._by_scheme.get(scheme.lower())
        if not candidates:
            raise exceptions.UnknownScheme(
                f"no configured store serves {scheme}:// locations")
        if len(candidates) == 1:
            return candidates[0]
        for name in candidates:
            if self._drivers[name].owns(location):
                return name
        raise exceptions.UnknownStore(
            f"none of the stores {', '.join(candidates)} holds "
            f"{url_filter.redact(location)}")

    def driver_for(self, location: str, store: str | None = None) -> Driver:
        """The driver that serves ``location`` (see ``store_for``)."""
        return self._drivers[self.store_for(location, store)]

    def add(self, image_id: str, stream: Readable, size: int | None = None,
            checksum: str | None = None, cap: int | None = None,
            store: str | None = None) -> AddResult:
        """Stream ``stream`` into a store, verified before it is committed."""
        name = store or self._default_store
        driver = self.driver(name)
        if Capability.WRITE not in driver.capabilities:
            raise exceptions.ReadOnlyStore(
                f"store {name!r} cannot hold uploads; use one of "
                f"{', '.join(self._writable())}")
        with VerifyingReader(stream, size=size, checksum=checksum, cap=cap,
                             hashing_algorithm=self._hashing_algorithm
                             ) as reader:
            stored = driver.add(image_id, reader)
            digest = reader.digest
        if digest is None:
            driver.delete(stored.location)
            raise exceptions.GlanceStoreError(
                f"the {name!r} driver returned before reading all image "
                f"data; the data was removed")
        return AddResult(location=stored.location, size=digest.size,
                         checksum=digest.checksum,
                         os_hash_algo=digest.os_hash_algo,
                         os_hash_value=digest.os_hash_value, store=name,
                         metadata=stored.metadata)

    def get(self, location: str, offset: int = 0,
            length: int | None = None, store: str | None = None) -> ImageData:
        """Stream the image at ``location`` from ``offset``; close it after."""
        return self.driver_for(location, store).get(location, offset, length)

    def get_size(self, location: str, store: str | None = None) -> int:
        """The size in bytes of the image at ``location``."""
        return self.driver_for(location, store).get_size(location)

    def delete(self, location: str, store: str | None = None) -> None:
        """Remove the image at ``location``; NotFound if already gone."""
        driver = self.driver_for(location, store)
        if Capability.WRITE not in driver.capabilities:
            raise exceptions.ReadOnlyStore(
                f"store {driver.name!r} cannot delete {location}")
        driver.delete(location)

    def discard_partial(self, image_id: str, store: str | None = None) -> int:
        """Remove what dead uploads of ``image_id`` left in ``store``, or in every store."""
        names = [store] if store is not None else self._writable()
        return sum(self.driver(name).discard_partial(image_id) for name in names
                   if Capability.WRITE in self.driver(name).capabilities)

    def check_url(self, url: str) -> url_filter.CheckedURL:
        """Check a remote URL; raise URLNotAllowed if it is refused."""
        return url_filter.check_url(url, self._url_filter)

    def _writable(self) -> list[str]:
        return [name for name, driver in self._drivers.items()
                if Capability.WRITE in driver.capabilities]


def _enabled_backends(conf: cfg.ConfigOpts) -> dict[str, str]:
    """[DEFAULT] enabled_backends as {id: type}, checked; {} in single-store mode."""
    try:
        backends = conf.enabled_backends or {}
    except (cfg.ConfigFileValueError, ValueError) as exc:
        # oslo.config refuses a repeated id ("Duplicate key fast") and a
        # pair without a colon while parsing; say what the option wants.
        raise exceptions.BadStoreConfiguration(
            f"[DEFAULT] enabled_backends is not valid ({exc}): write "
            f"ID:TYPE pairs separated by commas, each ID once") from exc
    checked = {}
    for backend, store_type in backends.items():
        backend, store_type = backend.strip(), (store_type or "").strip()
        if backend in options.RESERVED_STORES:
            raise exceptions.BadStoreConfiguration(
                f"[DEFAULT] enabled_backends: {backend!r} is a reserved "
                f"store name ({', '.join(options.RESERVED_STORES)}); give the "
                f"store another id")
        if not SAFE_NAME.fullmatch(backend) or backend.startswith("os_glance_"):
            raise exceptions.BadStoreConfiguration(
                f"[DEFAULT] enabled_backends: {backend!r} is not a usable "
                f"store id (letters, digits, '.', '_', '-'; not starting "
                f"with 'os_glance_')")
        if backend in checked or backend in (options.DEFAULT_GROUP,
                                             options.STORE_GROUP,
                                             options.IMPORT_FILTERING_GROUP):
            raise exceptions.BadStoreConfiguration(
                f"[DEFAULT] enabled_backends: store id {backend!r} is used "
                f"twice or names another section")
        if store_type not in DRIVERS:
            raise exceptions.BadStoreConfiguration(
                f"[DEFAULT] enabled_backends: store {backend!r} has unknown "
                f"type {store_type!r}; known types: "
                f"{', '.join(sorted(DRIVERS))}")
        checked[backend] = store_type
    return checked


def _file_uri_path(uri: str, option: str) -> str:
    """The directory a file:// URI option names."""
    parts = urllib.parse.urlsplit(uri or "")
    if parts.scheme != "file" or parts.netloc not in ("", "localhost") \
            or not parts.path.startswith("/"):
        raise exceptions.BadStoreConfiguration(
            f"{option} {uri!r} is not a file:///absolute/path URI")
    return urllib.parse.unquote(parts.path)


def _file_store_at(path: str) -> Driver:
    from glance_store.drivers.filesystem import FilesystemDriver

    return FilesystemDriver.at(path)


def _no_extra_rules():
    # The parameter of Stores.__init__ hides the module's name there.
    return url_filter.URLFilter()
