"""What ``POST /v2/images/{id}/import`` asks for, checked before anything
changes (spec v2 section 9.3); pure functions of the body and the stores."""

from __future__ import annotations

import dataclasses

from glance_api.exceptions import BadRequest
from glance_api.exceptions import Conflict
from glance_store.driver import Capability

GLANCE_DIRECT = "glance-direct"
WEB_DOWNLOAD = "web-download"
COPY_IMAGE = "copy-image"
GLANCE_DOWNLOAD = "glance-download"
METHODS = (GLANCE_DIRECT, WEB_DOWNLOAD, COPY_IMAGE, GLANCE_DOWNLOAD)
# Glance 33's default enabled_import_methods.
DEFAULT_METHODS = [GLANCE_DIRECT, WEB_DOWNLOAD, COPY_IMAGE]
FILTER_REFUSED = "URI for web-download does not pass filtering: %s"


@dataclasses.dataclass(frozen=True)
class ImportRequest:
    """One import, as asked for: the method, its arguments and the target stores."""

    method: str
    targets: tuple[str, ...]
    all_stores_must_succeed: bool = True
    uri: str | None = None
    glance_region: str | None = None
    glance_image_id: str | None = None
    glance_service_interface: str = "public"

    def as_input(self, image_id: str) -> dict:
        """The task input recorded for this import (Glance's shape)."""
        method = {"name": self.method}
        for key in ("uri", "glance_region", "glance_image_id"):
            if getattr(self, key) is not None:
                method[key] = getattr(self, key)
        if self.method == GLANCE_DOWNLOAD:
            method["glance_service_interface"] = self.glance_service_interface
        return {"image_id": image_id, "backend": list(self.targets),
                "import_req": {"method": method, "stores": list(self.targets),
                               "all_stores_must_succeed": self.all_stores_must_succeed}}


def writable_stores(stores) -> list[str]:
    """The stores an import may write to, in configuration order."""
    return [name for name in stores.store_names
            if Capability.WRITE in stores.driver(name).capabilities]


def method_name(body: object, enabled: list[str]) -> str:
    """The import method ``body`` names; 400 unless it is one that is enabled."""
    if not isinstance(body, dict) or not isinstance(body.get("method"), dict) \
            or not body["method"].get("name"):
        raise BadRequest("Import request requires a 'method' field.")
    name = body["method"]["name"]
    if not isinstance(name, str) or name not in enabled or name not in METHODS:
        raise BadRequest("Unknown import method name '%s'." % name)
    return name


def parse(body: object, *, enabled: list[str], stores, header_store: str | None,
          held_by: tuple[str, ...] = ()) -> ImportRequest:
    """The import ``body`` asks for; 400 or 409 with Glance's messages when it
    cannot be done. ``held_by``: stores that already hold the image's data."""
    name = method_name(body, enabled)
    method = body["method"]
    must_succeed = _flag(body, "all_stores_must_succeed", True)
    targets = _targets(body, stores, header_store)
    if name == COPY_IMAGE:
        targets = tuple(t for t in targets if t not in held_by)
        if not targets:
            raise Conflict("Image is already present at every store asked for.")
    fields = {}
    if name == WEB_DOWNLOAD:
        uri = method.get("uri")
        if not isinstance(uri, str) or not uri:
            raise BadRequest(FILTER_REFUSED % (uri or ""))
        fields["uri"] = uri
    if name == GLANCE_DOWNLOAD:
        fields.update(_glance_download_fields(method))
    return ImportRequest(name, targets, must_succeed, **fields)


def _flag(body: dict, key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise BadRequest("'%s' must be true or false." % key)
    return value


def _targets(body: dict, stores, header_store: str | None) -> tuple[str, ...]:
    writable = writable_stores(stores)
    if _flag(body, "all_stores", False):
        if body.get("stores"):
            raise BadRequest("Specify either 'stores' or 'all_stores', not both.")
        return tuple(writable)
    asked = body.get("stores")
    if asked is None:
        asked = [header_store] if header_store else [stores.default_store]
    if not isinstance(asked, list) or not asked \
            or not all(isinstance(s, str) and s for s in asked):
        raise BadRequest("'stores' must be a list of store identifiers.")
    for store in asked:
        if store not in writable:
            raise Conflict("Store for identifier %s not found" % store)
    return tuple(dict.fromkeys(asked))


def _glance_download_fields(method: dict) -> dict:
    fields = {}
    for key in ("glance_region", "glance_image_id"):
        value = method.get(key)
        if not isinstance(value, str) or not value:
            raise BadRequest("The glance-download method needs '%s'." % key)
        fields[key] = value
    interface = method.get("glance_service_interface", "public")
    if interface not in ("public", "internal", "admin"):
        raise BadRequest("glance_service_interface must be public, internal or admin.")
    fields["glance_service_interface"] = interface
    return fields
