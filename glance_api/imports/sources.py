"""Where each import method's bytes come from.

- glance-direct: the staging area (the client staged them).
- web-download: a URL, read through glance_store's http driver, which
  checks the URL and every redirect against ``[import_filtering_opts]``
  (loopback and private addresses refused unless allowed) and connects
  only to the addresses it checked: the same rules as v1 copy-from.
- copy-image: the image's own data, from the store that holds it.
- glance-download: another region's Glance, found in the caller's Keystone
  service catalog, read with the caller's token.

Each opener returns a ``glance_store.driver.ImageData`` (a context manager
with ``size``); ``ChunkStream`` turns it into the file-like source the
upload path reads.
"""

from __future__ import annotations

import json
import logging

import urllib3

from glance_api.exceptions import BadRequest
from glance_api.imports.request import FILTER_REFUSED
from glance_store import exceptions as store_exc
from glance_store import options as store_options
from glance_store import url_filter
from glance_store.driver import ImageData
from glance_store.drivers.http import HttpDriver
from glance_store.reader import CHUNK_SIZE

LOG = logging.getLogger(__name__)
REMOTE_TIMEOUT = urllib3.Timeout(connect=10.0, read=60.0)


class WebSource:
    """Opens web-download URLs under the operator's import filter."""

    def __init__(self, conf, resolver=url_filter.resolve):
        store_options.register_opts(conf)
        self.filter = url_filter.URLFilter.from_conf(
            conf[store_options.IMPORT_FILTERING_GROUP])
        group = conf[store_options.STORE_GROUP]
        self._resolver = resolver
        self._driver = HttpDriver(self.filter, ca_file=group.https_ca_certificates_file,
                                  insecure=group.https_insecure, resolver=resolver)

    def check(self, uri: str) -> None:
        """400 with Glance's message unless ``uri`` may be fetched now."""
        if not uri.lower().startswith(("http://", "https://")):
            raise BadRequest(FILTER_REFUSED % url_filter.redact(uri))
        try:
            url_filter.check_url(uri, self.filter, self._resolver)
        except store_exc.URLNotAllowed as exc:
            raise BadRequest(FILTER_REFUSED % url_filter.redact(uri)) from exc

    def open(self, uri: str) -> ImageData:
        """Stream the data at ``uri`` (redirects re-checked by the driver)."""
        return self._driver.get(uri)


def open_copy(stores, image: dict) -> ImageData:
    """The active image's data from the first of its locations that opens."""
    failures = []
    for loc in image.get("locations") or []:
        if loc.get("status", "active") != "active":
            continue
        store = (loc.get("metadata") or {}).get("store")
        try:
            return stores.get(loc["url"], store=store)
        except store_exc.GlanceStoreError as exc:
            failures.append(str(exc))
    raise store_exc.NotFound("no location of image %s could be read: %s"
                             % (image["id"], "; ".join(failures) or "it has none"))


def catalog_endpoint(catalog: list, region: str, interface: str) -> str | None:
    """The image service's ``interface`` URL in ``region`` of a Keystone catalog.

    keystonemiddleware passes X-Service-Catalog in the v2 shape
    (``{"region", "publicURL", ...}`` per endpoint) even for v3 tokens; the
    v3 shape (``{"region_id", "interface", "url"}``) is read as well.
    """
    for service in catalog or []:
        if not isinstance(service, dict) or service.get("type") != "image":
            continue
        for endpoint in service.get("endpoints") or []:
            if not isinstance(endpoint, dict) or \
                    (endpoint.get("region_id") or endpoint.get("region")) != region:
                continue
            if endpoint.get("interface") == interface and endpoint.get("url"):
                return endpoint["url"]
            if endpoint.get(interface + "URL"):
                return endpoint[interface + "URL"]
    return None


def parse_catalog(header: str | None) -> list:
    """The catalog of an X-Service-Catalog header; empty when absent or bad."""
    try:
        catalog = json.loads(header or "[]")
    except ValueError:
        return []
    return catalog if isinstance(catalog, list) else []


def open_remote_glance(endpoint: str, image_id: str, token: str) -> tuple[dict, ImageData]:
    """Another Glance's image document and a stream of its data."""
    base = endpoint.rstrip("/")
    if base.endswith("/v2"):
        base = base[:-3]
    http = urllib3.PoolManager(timeout=REMOTE_TIMEOUT, retries=False)
    headers = {"X-Auth-Token": token, "Accept": "application/json"}
    try:
        answer = http.request("GET", "%s/v2/images/%s" % (base, image_id), headers=headers)
        if answer.status != 200:
            raise store_exc.NotFound("the remote Glance answered %d for image %s"
                                     % (answer.status, image_id))
        document = json.loads(answer.data)
        if document.get("status") != "active":
            raise store_exc.NotFound("the remote image %s is %s, not active"
                                     % (image_id, document.get("status")))
        response = http.request("GET", "%s/v2/images/%s/file" % (base, image_id),
                                headers=headers, preload_content=False)
    except urllib3.exceptions.HTTPError as exc:
        http.clear()
        raise store_exc.RemoteServiceUnavailable(
            "the remote Glance could not be read: %s" % exc) from exc
    if response.status != 200:
        response.release_conn()
        raise store_exc.RemoteServiceUnavailable(
            "the remote Glance answered %d for the data of image %s"
            % (response.status, image_id))

    def chunks():
        try:
            while True:
                chunk = response.read(CHUNK_SIZE)
                if not chunk:
                    return
                yield chunk
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise store_exc.RemoteServiceUnavailable(
                "reading the remote image failed: %s" % exc) from exc

    size = document.get("size")
    return document, ImageData(chunks(), size if isinstance(size, int) else -1,
                               close=response.release_conn)
