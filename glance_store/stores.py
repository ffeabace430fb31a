"""The Stores object: the configured drivers, chosen by name or scheme.

Built once at start-up by ``Stores.from_conf`` (the only place the library
reads configuration) and shared by every request. Like a requests Session
with its mounted adapters, it finds the driver for a location by scheme,
and the driver to write with by store name.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from typing import Any

from oslo_config import cfg

from glance_store import exceptions
from glance_store import options
from glance_store import url_filter
from glance_store.driver import Capability
from glance_store.driver import Driver
from glance_store.driver import ImageData
from glance_store.reader import Readable
from glance_store.reader import VerifyingReader
from glance_store.reader import check_hashing_algorithm

# Store name -> "module:Class"; a module is imported only when configured.
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


def load_driver(name: str) -> type[Driver]:
    """Import and return the driver class registered as ``name``."""
    try:
        module_name, _, class_name = DRIVERS[name].partition(":")
    except KeyError:
        raise exceptions.BadStoreConfiguration(
            f"unknown store {name!r} in [glance_store] stores; known stores: "
            f"{', '.join(sorted(DRIVERS))}") from None
    return getattr(importlib.import_module(module_name), class_name)


class Stores:
    """The configured store drivers, and the one entry point to them."""

    def __init__(self, drivers: Mapping[str, Driver], *, default_store: str,
                 url_filter: url_filter.URLFilter | None = None,
                 hashing_algorithm: str = "sha512") -> None:
        self._drivers = dict(drivers)
        self._url_filter = url_filter if url_filter is not None else _no_extra_rules()
        self._hashing_algorithm = check_hashing_algorithm(hashing_algorithm)
        if default_store not in self._drivers:
            raise exceptions.BadStoreConfiguration(
                f"default_store {default_store!r} is not one of the "
                f"configured stores {list(self._drivers)}")
        if Capability.WRITE not in self._drivers[default_store].capabilities:
            raise exceptions.BadStoreConfiguration(
                f"default_store {default_store!r} is read-only; choose a "
                f"store that can hold uploads")
        self._default_store = default_store
        self._by_scheme: dict[str, Driver] = {}
        for name, driver in self._drivers.items():
            for scheme in driver.schemes:
                if scheme in self._by_scheme:
                    raise exceptions.BadStoreConfiguration(
                        f"stores {name!r} and "
                        f"{self._by_scheme[scheme].name!r} both claim "
                        f"{scheme}:// locations")
                self._by_scheme[scheme] = driver

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts,
                  hashing_algorithm: str = "sha512") -> Stores:
        """Build the stores named in [glance_store] from ``conf``."""
        options.register_opts(conf)
        group = conf[options.STORE_GROUP]
        filter_ = url_filter.URLFilter.from_conf(
            conf[options.IMPORT_FILTERING_GROUP])
        names = dict.fromkeys(n.strip() for n in group.stores if n.strip())
        drivers = {name: load_driver(name).from_conf(group, url_filter=filter_)
                   for name in names}
        return cls(drivers, default_store=group.default_store,
                   url_filter=filter_, hashing_algorithm=hashing_algorithm)

    @property
    def store_names(self) -> tuple[str, ...]:
        """The configured store names."""
        return tuple(self._drivers)

    @property
    def default_store(self) -> str:
        """The store uploads go to when none is named."""
        return self._default_store

    def driver(self, store: str) -> Driver:
        """The driver of a configured store; UnknownStore otherwise."""
        try:
            return self._drivers[store]
        except KeyError:
            raise exceptions.UnknownStore(
                f"store {store!r} is not configured; configured stores: "
                f"{', '.join(self._drivers)}") from None

    def driver_for(self, location: str) -> Driver:
        """The driver for ``location``'s scheme; UnknownScheme otherwise."""
        scheme, sep, _ = location.partition("://") if isinstance(
            location, str) else ("", "", "")
        if not sep or not scheme:
            raise exceptions.BadStoreURI(f"{location!r} is not a location URI")
        try:
            return self._by_scheme[scheme.lower()]
        except KeyError:
            raise exceptions.UnknownScheme(
                f"no configured store serves {scheme}:// locations") from None

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
            length: int | None = None) -> ImageData:
        """Stream the image at ``location`` from ``offset``; close it after."""
        return self.driver_for(location).get(location, offset, length)

    def get_size(self, location: str) -> int:
        """The size in bytes of the image at ``location``."""
        return self.driver_for(location).get_size(location)

    def delete(self, location: str) -> None:
        """Remove the image at ``location``; NotFound if already gone."""
        driver = self.driver_for(location)
        if Capability.WRITE not in driver.capabilities:
            raise exceptions.ReadOnlyStore(
                f"store {driver.name!r} cannot delete {location}")
        driver.delete(location)

    def discard_partial(self, image_id: str) -> int:
        """Remove what dead uploads of ``image_id`` left in every store."""
        return sum(driver.discard_partial(image_id)
                   for driver in self._drivers.values()
                   if Capability.WRITE in driver.capabilities)

    def check_url(self, url: str) -> url_filter.CheckedURL:
        """Check a remote URL; raise URLNotAllowed if it is refused."""
        return url_filter.check_url(url, self._url_filter)

    def _writable(self) -> list[str]:
        return [name for name, driver in self._drivers.items()
                if Capability.WRITE in driver.capabilities]


def _no_extra_rules():
    # The parameter of Stores.__init__ hides the module's name there.
    return url_filter.URLFilter()
