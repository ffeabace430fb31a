"""The 'swift' driver: image data as objects in an OpenStack Swift container.

Locations are ``swift+http://<auth address>/<container>/<object>`` (or
``swift+https://`` when the auth address is https), where ``<auth address>``
is swift_store_auth_address without its scheme, e.g.
``swift+https://keystone.example.com:5000/v3/glance/<image id>``. Glance
wrote the account's credentials into the location
(``swift+http://user:key@auth/container/obj``); we never do, and the
configured account is always the one used. Glance's locations are still
read: credentials in them are ignored, as is the reference name of a
``swift+config://`` location.

An image of at most swift_store_large_object_size bytes is one object named
after the image id. A larger image, or one of unknown size that outgrows
one segment, is laid out as Glance laid it out, so either can read what the
other wrote: segments ``<image id>-00001``, ``-00002``, ... in the same
container, then an empty manifest object ``<image id>`` with
``X-Object-Manifest: <container>/<image id>-`` (a Dynamic Large Object).
Segments are streamed from the reader through a length-limited view, so
memory stays flat whatever the image size.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import re
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import requests.exceptions
import urllib3.exceptions
from swiftclient import client as swiftclient

from glance_store import exceptions
from glance_store.driver import SAFE_NAME
from glance_store.driver import Capability
from glance_store.driver import Driver
from glance_store.driver import ImageData
from glance_store.driver import Listed
from glance_store.driver import Stored
from glance_store.driver import check_image_id
from glance_store.driver import check_range
from glance_store.drivers import object_store
from glance_store.reader import CHUNK_SIZE
from glance_store.reader import VerifyingReader
from glance_store.url_filter import redact

LOG = logging.getLogger(__name__)

MB = 1024 * 1024
TIMEOUT = 60.0
"""Seconds to wait for a connection or for the next bytes of a response."""
LISTING_PAGE = 1000
"""Objects asked for per container listing request (Swift's own cap is 10000)."""

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
_TRANSPORT_ERRORS = (requests.exceptions.RequestException,
                     urllib3.exceptions.HTTPError, http.client.HTTPException,
                     OSError)


@contextlib.contextmanager
def _swift_errors(doing: str, writing: bool = False) -> Iterator[None]:
    """Translate swiftclient's and the transport's errors while ``doing``."""
    try:
        yield
    except swiftclient.ClientException as exc:
        status = exc.http_status
        reason = (f"{status} {exc.http_reason or ''}".strip() if status
                  else str(exc))
        raise exceptions.status_error(
            status, doing, writing, service="Swift", reason=reason,
            full_hint="the cluster is full or the object is larger than its "
                      "max_file_size (lower swift_store_large_object_size "
                      "and _chunk_size)",
            access_hint="swift_store_user, swift_store_key and the "
                        "account's rights on the container") from exc
    except _TRANSPORT_ERRORS as exc:
        raise exceptions.RemoteServiceUnavailable(
            f"{doing} failed: cannot talk to Swift: {exc}") from exc


class _Segment:
    """A file-like view of at most ``limit`` bytes of the reader.

    swiftclient streams it into one PUT. Whatever the reader raises is
    kept in ``error``: the HTTP stack may wrap or swallow it, and the
    caller must get the reader's exception unchanged. There is no seek(),
    so swiftclient never replays a half-sent body.
    """

    def __init__(self, source: VerifyingReader, limit: int) -> None:
        self._source = source
        self.remaining = limit
        self.sent = 0
        self.error: BaseException | None = None

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        want = self.remaining if size is None or size < 0 else min(
            size, self.remaining)
        try:
            data = self._source.read(want)
        except BaseException as exc:
            self.error = exc
            raise
        self.remaining -= len(data)
        self.sent += len(data)
        return data


class _Download:
    """An image body from Swift that resumes with a ranged GET if it breaks."""

    def __init__(self, driver: SwiftDriver, container: str, obj: str,
                 start: int, count: int, etag: str | None) -> None:
        self._driver = driver
        self._container = container
        self._obj = obj
        self._position = start
        self._end = start + count
        self._etag = etag
        self._body: Any = None
        self._body = self._open()

    def _open(self) -> Any:
        headers = {"Range": f"bytes={self._position}-{self._end - 1}"}
        doing = f"reading {self._container}/{self._obj}"
        with _swift_errors(doing):
            resp_headers, body = self._driver.connection().get_object(
                self._container, self._obj, resp_chunk_size=CHUNK_SIZE,
                headers=headers)
        try:
            match = _CONTENT_RANGE.fullmatch(
                resp_headers.get("content-range", ""))
            if match is None or int(match.group(1)) != self._position:
                raise exceptions.RemoteServiceUnavailable(
                    f"{doing}: asked for bytes from {self._position}, Swift "
                    f"answered Content-Range "
                    f"{resp_headers.get('content-range')!r}")
            etag = resp_headers.get("etag")
            if self._etag and etag and etag != self._etag:
                raise exceptions.RemoteServiceUnavailable(
                    f"{doing}: the object changed while it was read (etag "
                    f"{self._etag} became {etag})")
        except BaseException:
            body.close()
            raise
        return body

    def __iter__(self) -> Iterator[bytes]:
        resumed = 0
        while self._position < self._end:
            try:
                for chunk in self._body:
                    chunk = chunk[:self._end - self._position]
                    self._position += len(chunk)
                    yield chunk
                    if self._position >= self._end:
                        return
                failure: BaseException = exceptions.RemoteServiceUnavailable(
                    f"Swift ended {self._container}/{self._obj} "
                    f"{self._end - self._position} bytes early")
            except _TRANSPORT_ERRORS as exc:
                failure = exc
            if resumed >= self._driver.retry_get_count:
                raise exceptions.RemoteServiceUnavailable(
                    f"reading {self._container}/{self._obj} broke at byte "
                    f"{self._position} and {resumed} resumptions failed: "
                    f"{failure}") from failure
            resumed += 1
            LOG.warning("reading %s/%s broke at byte %d (%s); resuming "
                        "(%d of %d)", self._container, self._obj,
                        self._position, failure, resumed,
                        self._driver.retry_get_count)
            self._body.close()
            self._body = self._open()

    def close(self) -> None:
        if self._body is not None:
            self._body.close()


class SwiftDriver(Driver):
    """Stores images as objects, or Glance-style segments, in one container."""

    name = "swift"
    schemes = ("swift+http", "swift+https", "swift", "swift+config")
    capabilities = (Capability.READ | Capability.WRITE | Capability.RANGED
                    | Capability.LIST)

    def __init__(self, *, auth_address: str, user: str, key: str,
                 auth_version: str = "1", container: str = "glance",
                 create_container: bool = False,
                 large_object_size: int = 5120 * MB,
                 chunk_size: int = 200 * MB, retry_get_count: int = 3,
                 os_options: dict[str, str] | None = None,
                 cacert: str | None = None, insecure: bool = False,
                 retries: int = 3, timeout: float = TIMEOUT) -> None:
        parts = urllib.parse.urlsplit(auth_address or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise exceptions.BadStoreConfiguration(
                f"swift_store_auth_address {auth_address!r} is not an "
                f"http(s) URL")
        if not user or key is None:
            raise exceptions.BadStoreConfiguration(
                "the swift store needs swift_store_user and swift_store_key")
        if not SAFE_NAME.fullmatch(container or ""):
            raise exceptions.BadStoreConfiguration(
                f"swift_store_container {container!r} is not a plain name "
                f"(letters, digits, '.', '_', '-')")
        object_store.check_sizes("swift", large_object_size, chunk_size)
        self._auth_address = auth_address
        self._auth_base = (parts.netloc.lower()
                           + parts.path.rstrip("/")).rstrip("/")
        self._scheme = "swift+" + parts.scheme
        self._user = user
        self._key = key
        self._auth_version = auth_version
        self._container = container
        self._create_container = create_container
        self._large_object_size = large_object_size
        self._chunk_size = chunk_size
        self.retry_get_count = retry_get_count
        self._os_options = dict(os_options or {})
        self._cacert = cacert
        self._insecure = insecure
        self._retries = retries
        self._timeout = timeout
        self._local = threading.local()

    @classmethod
    def from_conf(cls, group: Any, **context: Any) -> SwiftDriver:
        """Build from the swift_store_* options."""
        user = group.swift_store_user or ""
        os_options: dict[str, str] = {
            "endpoint_type": group.swift_store_endpoint_type,
            "service_type": group.swift_store_service_type,
        }
        if group.swift_store_region:
            os_options["region_name"] = group.swift_store_region
        if group.swift_store_endpoint:
            os_options["object_storage_url"] = group.swift_store_endpoint
        if group.swift_store_auth_version != "1":
            # Glance's 'project:user' form names the project to scope to.
            project, sep, name = user.partition(":")
            if sep:
                user = name
                os_options["project_name"] = project
                os_options["tenant_name"] = project
            if group.swift_store_auth_version == "3":
                os_options["user_domain_name"] = \
                    group.swift_store_user_domain_name
                os_options["project_domain_name"] = \
                    group.swift_store_project_domain_name
        return cls(
            auth_address=group.swift_store_auth_address, user=user,
            key=group.swift_store_key,
            auth_version=group.swift_store_auth_version,
            container=group.swift_store_container,
            create_container=group.swift_store_create_container_on_put,
            large_object_size=group.swift_store_large_object_size * MB,
            chunk_size=group.swift_store_large_object_chunk_size * MB,
            retry_get_count=group.swift_store_retry_get_count,
            os_options=os_options, cacert=group.swift_store_cacert,
            insecure=group.swift_store_auth_insecure)

    def connection(self) -> swiftclient.Connection:
        """This thread's swiftclient connection (they are not thread-safe)."""
        conn = getattr(self._local, "connection", None)
        if conn is None:
            conn = swiftclient.Connection(
                authurl=self._auth_address, user=self._user, key=self._key,
                auth_version=self._auth_version,
                os_options=dict(self._os_options), cacert=self._cacert,
                insecure=self._insecure, retries=self._retries,
                starting_backoff=0.5, max_backoff=4, timeout=self._timeout)
            self._local.connection = conn
        return conn

    # --- writing --------------------------------------------------------

    def add(self, image_id: str, reader: VerifyingReader) -> Stored:
        """Stream the image into one object, or into segments + manifest."""
        obj = check_image_id(image_id, "a Swift object")
        self._prepare_container(obj)
        # A manifest takes every object named <obj>-*: segments an earlier
        # attempt left (Swift was gone when it failed) would join this image.
        self._remove_segments(obj)
        written: list[str] = []
        try:
            self._write(obj, reader, reader.declared_size, written)
        except BaseException:
            self._remove_quietly(written)
            raise
        return Stored(location=self._location(self._container, obj))

    def _write(self, obj: str, source: VerifyingReader, size: int | None,
               written: list[str]) -> None:
        """Write ``obj``, appending every name it touches to ``written``."""
        if size is not None and size <= self._large_object_size:
            written.append(obj)
            self._put(obj, _Segment(source, size), size)
            self._check_end(source, obj)
            return
        number = 1
        while True:
            segment = f"{obj}-{number:05d}"
            length = self._chunk_size if size is None else min(
                self._chunk_size, size - (number - 1) * self._chunk_size)
            written.append(segment)
            view = _Segment(source, length)
            self._put(segment, view, length if size is not None else None)
            if view.remaining > 0 or source.at_end():
                break
            number += 1
        self._check_end(source, obj)
        if size is None and number == 1:
            # Unknown size, but it fit in one segment: keep Glance's plain
            # layout for an image of this size (a server-side copy).
            written.append(obj)
            with _swift_errors(f"saving {self._container}/{obj}",
                               writing=True):
                self.connection().put_object(
                    self._container, obj, None, content_length=0,
                    headers={"X-Copy-From":
                             f"/{self._container}/{segment}"})
            written.remove(segment)
            self._delete_object(segment)
            return
        written.append(obj)
        with _swift_errors(f"writing the manifest {self._container}/{obj}",
                           writing=True):
            self.connection().put_object(
                self._container, obj, b"", content_length=0,
                headers={"X-Object-Manifest": f"{self._container}/{obj}-"})

    def _put(self, name: str, view: _Segment, length: int | None) -> None:
        conn = self.connection()
        # The body cannot be replayed, so a failed PUT must fail at once
        # rather than back off first; other requests keep their retries.
        conn.retries, retries = 0, conn.retries
        try:
            with _swift_errors(f"writing {self._container}/{name}",
                               writing=True):
                conn.put_object(self._container, name, view,
                                content_length=length, chunk_size=CHUNK_SIZE)
        except BaseException:
            if view.error is not None:
                # The reader's own failure (size, checksum, cap), which the
                # Swift client reported as a broken upload.
                raise view.error  # noqa: B904
            raise
        finally:
            conn.retries = retries
        if view.error is not None:
            raise view.error

    @staticmethod
    def _check_end(source: VerifyingReader, obj: str) -> None:
        # Reaching the end makes the reader verify size and checksum.
        if not source.at_end():
            raise exceptions.SizeMismatch(
                f"received more than the declared size of {obj}")

    def _prepare_container(self, obj: str) -> None:
        object_store.ensure_container(
            self._head_container,
            self._put_container if self._create_container else None,
            f"the Swift container {self._container!r} does not exist; "
            f"create it or set swift_store_create_container_on_put = true")
        with object_store.expect_absent(
                f"image data for {obj} already exists in the Swift "
                f"container {self._container}"), \
                _swift_errors(f"checking for {self._container}/{obj}"):
            self.connection().head_object(self._container, obj)

    def _head_container(self) -> None:
        with _swift_errors(f"checking the container {self._container}",
                           writing=True):
            self.connection().head_container(self._container)

    def _put_container(self) -> None:
        with _swift_errors(f"creating the container {self._container}",
                           writing=True):
            self.connection().put_container(self._container)

    # --- reading --------------------------------------------------------

    def get(self, location: str, offset: int = 0,
            length: int | None = None) -> ImageData:
        """Stream the object (or manifest) with a ranged GET from offset."""
        container, obj = self._parse(location)
        headers = self._head(container, obj)
        count = check_range(self._size(headers, location), offset, length)
        if count == 0:
            return ImageData(iter(()), 0)
        download = _Download(self, container, obj, offset, count,
                             headers.get("etag"))
        return ImageData(iter(download), count, close=download.close)

    def get_size(self, location: str) -> int:
        """The object's Content-Length (a manifest's is the whole image)."""
        container, obj = self._parse(location)
        return self._size(self._head(container, obj), location)

    def _head(self, container: str, obj: str) -> dict[str, str]:
        with _swift_errors(f"reading {container}/{obj}"):
            return self.connection().head_object(container, obj)

    @staticmethod
    def _size(headers: dict[str, str], location: str) -> int:
        try:
            return int(headers["content-length"])
        except (KeyError, ValueError):
            raise exceptions.RemoteServiceUnavailable(
                f"Swift gave no usable Content-Length for {redact(location)}"
            ) from None

    # --- deleting -------------------------------------------------------

    def delete(self, location: str) -> None:
        """Remove the object; for a manifest, its segments too."""
        container, obj = self._parse(location)
        headers = self._head(container, obj)
        if headers.get("x-static-large-object", "").lower() == "true":
            with _swift_errors(f"deleting {container}/{obj}", writing=True):
                self.connection().delete_object(
                    container, obj, query_string="multipart-manifest=delete")
            return
        self._delete_object(obj, container)
        manifest = headers.get("x-object-manifest")
        if manifest:
            # The manifest goes first: a failure below leaves unreferenced
            # segments, which discard_partial removes, never a short image.
            seg_container, _, prefix = urllib.parse.unquote(
                manifest).partition("/")
            for name in self._list(seg_container, prefix):
                try:
                    self._delete_object(name, seg_container)
                except exceptions.NotFound:
                    continue

    def owns(self, location: str) -> bool:
        """Whether ``location`` is an object of this cluster in this container."""
        try:
            container, _ = self._parse(location)
        except exceptions.BadStoreURI:
            return False
        return container == self._container

    def properties(self) -> dict[str, Any]:
        """The container and segmenting sizes (bytes), as Glance shows them."""
        return {"container": self._container,
                "large_object_size": self._large_object_size,
                "large_object_chunk_size": self._chunk_size}

    def discard_partial(self, image_id: str) -> int:
        """Remove segments of ``image_id`` that no manifest refers to."""
        obj = check_image_id(image_id, "a Swift object")
        try:
            self._head(self._container, obj)
        except exceptions.NotFound:
            pass
        else:
            return 0
        return self._remove_segments(obj)

    def _remove_segments(self, obj: str) -> int:
        """Remove every segment named for ``obj``; how many there were."""
        removed = 0
        pattern = re.compile(re.escape(obj) + r"-\d{5,}")
        for name in self._list(self._container, f"{obj}-"):
            if pattern.fullmatch(name):
                try:
                    self._delete_object(name)
                except exceptions.NotFound:
                    continue
                removed += 1
        return removed

    def listing(self, prefix: str = "") -> Iterator[Listed]:
        """Every object of the container whose name starts with ``prefix``,
        a page at a time, so a large container is never held in memory."""
        marker = ""
        while True:
            try:
                with _swift_errors(f"listing {self._container}/{prefix}*"):
                    _, page = self.connection().get_container(
                        self._container, prefix=prefix or None,
                        marker=marker or None, limit=LISTING_PAGE)
            except exceptions.NotFound:
                return  # no container yet: nothing was ever written
            for entry in page:
                yield Listed(entry["name"], int(entry.get("bytes", 0)),
                             self._location(self._container, entry["name"]))
            if len(page) < LISTING_PAGE:
                return
            marker = page[-1]["name"]

    def _list(self, container: str, prefix: str) -> list[str]:
        try:
            with _swift_errors(f"listing {container}/{prefix}*"):
                _, objects = self.connection().get_container(
                    container, prefix=prefix, full_listing=True)
        except exceptions.NotFound:
            return []
        return [entry["name"] for entry in objects]

    def _delete_object(self, name: str, container: str | None = None) -> None:
        container = container or self._container
        with _swift_errors(f"deleting {container}/{name}", writing=True):
            self.connection().delete_object(container, name)

    def _remove_quietly(self, names: list[str]) -> None:
        """Remove what a failed add wrote; never mask the add's error."""
        for name in reversed(names):
            with object_store.cleanup(
                    f"could not remove {self._container}/{name} after a "
                    f"failed upload (discard_partial removes it later)"), \
                    contextlib.suppress(exceptions.NotFound):
                self._delete_object(name)

    # --- locations ------------------------------------------------------

    def _location(self, container: str, obj: str) -> str:
        return f"{self._scheme}://{self._auth_base}/{container}/{obj}"

    def _parse(self, location: str) -> tuple[str, str]:
        """(container, object) of a location in this cluster."""
        return object_store.parse_location(
            location, schemes=self.schemes,
            form="a swift+http(s)://<auth address>/<container>/<object>",
            base=self._auth_base, base_name="the Swift auth address",
            any_base=("swift+config",))
