"""glance_store: image data storage for an OpenStack-Glance-compatible service.

A standalone library: it imports neither Flask nor Peewee, and a store
driver's module (and its client library) is imported only when configured.

    glance_store.register_opts(conf)
    stores = glance_store.Stores.from_conf(conf, hashing_algorithm="sha512")
    result = stores.add(image_id, stream, size=None)       # result.store: its id
    with stores.get(result.location, store=result.store) as data:
        for chunk in data: ...

Single-store ([glance_store] stores) and multi-store ([DEFAULT]
enabled_backends, several stores per type) configurations are both read by
``Stores.from_conf``; see glance_store.stores.
"""

from glance_store import exceptions
from glance_store.driver import Capability
from glance_store.driver import Driver
from glance_store.driver import ImageData
from glance_store.driver import Stored
from glance_store.options import list_opts
from glance_store.options import register_opts
from glance_store.reader import CHUNK_SIZE
from glance_store.reader import VerifyingReader
from glance_store.stores import AddResult
from glance_store.stores import StoreInfo
from glance_store.stores import Stores
from glance_store.url_filter import CheckedURL
from glance_store.url_filter import URLFilter
from glance_store.url_filter import check_url

__all__ = [
    "AddResult", "CHUNK_SIZE", "Capability", "CheckedURL", "Driver",
    "ImageData", "StoreInfo", "Stored", "Stores", "URLFilter", "VerifyingReader",
    "check_url", "exceptions", "list_opts", "register_opts",
]
