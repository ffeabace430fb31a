"""glance_store: image data storage for an OpenStack-Glance-compatible service.

A standalone library: it imports neither Flask nor Peewee, and a store
driver's module (and its client library) is imported only when configured.

    glance_store.register_opts(conf)
    stores = glance_store.Stores.from_conf(conf, hashing_algorithm="sha512")
    result = stores.add(image_id, stream, size=None)
    with stores.get(result.location) as data:
        for chunk in data: ...
"""

from glance_store import exceptions
from glance_store.driver import Capability, Driver, ImageData, Stored
from glance_store.options import list_opts, register_opts
from glance_store.reader import CHUNK_SIZE, VerifyingReader
from glance_store.stores import AddResult, Stores
from glance_store.url_filter import CheckedURL, URLFilter, check_url

__all__ = [
    "AddResult", "CHUNK_SIZE", "Capability", "CheckedURL", "Driver",
    "ImageData", "Stored", "Stores", "URLFilter", "VerifyingReader",
    "check_url", "exceptions", "list_opts", "register_opts",
]
