"""The 'http' driver: read-only image data at remote http(s) URLs.

Every request, and every redirect hop, goes through ``url_filter.check_url``
and then connects to one of the addresses that check resolved and approved
(with the original host name kept for the Host header, TLS SNI and
certificate checks), so a DNS answer cannot change between check and use.
Redirects are followed here, never by the HTTP library, and proxies from
the environment are ignored.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

import urllib3
import urllib3.exceptions

from glance_store import exceptions
from glance_store.driver import Capability
from glance_store.driver import Driver
from glance_store.driver import ImageData
from glance_store.driver import check_range
from glance_store.reader import CHUNK_SIZE
from glance_store.url_filter import CheckedURL
from glance_store.url_filter import Resolver
from glance_store.url_filter import URLFilter
from glance_store.url_filter import check_url
from glance_store.url_filter import redact
from glance_store.url_filter import resolve

MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0

_REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_HEAD_REFUSED = {403, 405, 501}
_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)")


@contextlib.contextmanager
def _remote_errors(url: str) -> Iterator[None]:
    """Translate connection-level failures talking to ``url``."""
    try:
        yield
    except urllib3.exceptions.SSLError as exc:
        raise exceptions.RemoteServiceUnavailable(
            f"TLS with {redact(url)} failed: {exc}") from exc
    except urllib3.exceptions.TimeoutError as exc:
        raise exceptions.RemoteServiceUnavailable(
            f"{redact(url)} did not answer in time: {exc}") from exc
    except (urllib3.exceptions.HTTPError, http.client.HTTPException,
            OSError) as exc:
        raise exceptions.RemoteServiceUnavailable(
            f"talking to {redact(url)} failed: {exc}") from exc


class _Exchange:
    """One open response and the connection pool it came from."""

    def __init__(self, url: str, pool: urllib3.HTTPConnectionPool,
                 response: urllib3.BaseHTTPResponse) -> None:
        self.url = url
        self.pool = pool
        self.response = response

    @property
    def status(self) -> int:
        return self.response.status

    def header(self, name: str) -> str | None:
        return self.response.headers.get(name)

    def close(self) -> None:
        try:
            self.response.close()
        finally:
            self.pool.close()


class HttpDriver(Driver):
    """Reads images from http(s) URLs the URL filter allows."""

    name = "http"
    schemes = ("http", "https")
    capabilities = Capability.READ | Capability.RANGED

    def __init__(self, url_filter: URLFilter, *, ca_file: str | None = None,
                 insecure: bool = False,
                 connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT,
                 max_redirects: int = MAX_REDIRECTS,
                 resolver: Resolver = resolve) -> None:
        self._filter = url_filter
        self._ca_file = ca_file
        self._insecure = insecure
        self._timeout = urllib3.Timeout(connect=connect_timeout,
                                        read=read_timeout)
        self._max_redirects = max_redirects
        self._resolver = resolver

    @classmethod
    def from_conf(cls, group: Any, *, url_filter: URLFilter,
                  **context: Any) -> HttpDriver:
        """Build from https_* options and the shared URL filter."""
        return cls(url_filter, ca_file=group.https_ca_certificates_file,
                   insecure=group.https_insecure)

    def get(self, location: str, offset: int = 0,
            length: int | None = None) -> ImageData:
        """Stream the remote image, asking for a byte range if needed."""
        if length == 0:
            check_range(self.get_size(location), offset, length)
            return ImageData(iter(()), 0)
        headers = {}
        if offset or length is not None:
            last = "" if length is None else str(offset + length - 1)
            headers["Range"] = f"bytes={offset}-{last}"
        exchange = self._open("GET", location, headers)
        try:
            count, skip = self._body_range(exchange, offset, length)
        except BaseException:
            exchange.close()
            raise
        return ImageData(self._chunks(exchange, skip, count), count,
                         close=exchange.close)

    def _body_range(self, exchange: _Exchange, offset: int,
                    length: int | None) -> tuple[int, int]:
        """(bytes to yield, leading bytes to discard) of a GET response."""
        if exchange.status == 206:
            match = _CONTENT_RANGE.fullmatch(exchange.header(
                "Content-Range") or "")
            if not match or match.group(1) is None \
                    or int(match.group(1)) != offset:
                raise exceptions.RemoteServiceUnavailable(
                    f"{redact(exchange.url)} answered a range request with "
                    f"Content-Range {exchange.header('Content-Range')!r}")
            served = int(match.group(2)) - offset + 1
            return (served if length is None else min(served, length)), 0
        self._check_status(exchange)
        size = self._content_length(exchange)
        if size is None:
            raise exceptions.RemoteServiceUnavailable(
                f"{redact(exchange.url)} sent no Content-Length; the image size is "
                f"unknown")
        # The server ignored the Range header: skip to the offset.
        return check_range(size, offset, length), offset

    def _chunks(self, exchange: _Exchange, skip: int,
                count: int) -> Iterator[bytes]:
        with _remote_errors(exchange.url):
            while skip:
                skipped = exchange.response.read(min(skip, CHUNK_SIZE))
                if not skipped:
                    break
                skip -= len(skipped)
            while count > 0:
                chunk = exchange.response.read(min(count, CHUNK_SIZE))
                if not chunk:
                    raise exceptions.RemoteServiceUnavailable(
                        f"{redact(exchange.url)} ended {count} bytes early")
                count -= len(chunk)
                yield chunk

    def get_size(self, location: str) -> int:
        """Size from HEAD, or from a one-byte ranged GET if HEAD is refused."""
        exchange = self._open("HEAD", location, {})
        try:
            if exchange.status not in _HEAD_REFUSED:
                self._check_status(exchange)
                size = self._content_length(exchange)
                if size is not None:
                    return size
        finally:
            exchange.close()
        exchange = self._open("GET", location, {"Range": "bytes=0-0"})
        try:
            return self._size_from_ranged_get(exchange)
        finally:
            exchange.close()

    def _size_from_ranged_get(self, exchange: _Exchange) -> int:
        if exchange.status in (206, 416):
            match = _CONTENT_RANGE.fullmatch(
                exchange.header("Content-Range") or "")
            if match and match.group(3) != "*":
                return int(match.group(3))
        else:
            self._check_status(exchange)
            size = self._content_length(exchange)
            if size is not None:
                return size
        raise exceptions.RemoteServiceUnavailable(
            f"{redact(exchange.url)} does not tell the image size (no usable "
            f"Content-Length or Content-Range)")

    def _open(self, method: str, location: str,
              headers: dict[str, str]) -> _Exchange:
        """Send the request, following allowed redirects ourselves."""
        self._check_scheme(location)
        url = location
        for _ in range(self._max_redirects + 1):
            checked = check_url(url, self._filter, self._resolver)
            exchange = self._request(checked, method, headers)
            if exchange.status not in _REDIRECT_STATUSES:
                return exchange
            target = exchange.header("Location")
            exchange.close()
            if not target:
                raise exceptions.RemoteServiceUnavailable(
                    f"{redact(url)} redirected without a Location")
            url = urllib.parse.urljoin(url, target)
        raise exceptions.TooManyRedirects(
            f"{redact(location)} redirected more than {self._max_redirects} times")

    def _request(self, checked: CheckedURL, method: str,
                 headers: dict[str, str]) -> _Exchange:
        """Send one request to the first checked address that connects."""
        parts = urllib.parse.urlsplit(checked.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query
                                        else "")
        headers = {"Host": parts.netloc.rpartition("@")[2],
                   "Accept-Encoding": "identity",
                   "User-Agent": "glance-store", **headers}
        if parts.username is not None:
            credentials = (f"{urllib.parse.unquote(parts.username)}:"
                           f"{urllib.parse.unquote(parts.password or '')}")
            headers["Authorization"] = "Basic " + base64.b64encode(
                credentials.encode()).decode("ascii")
        failures = []
        for address in checked.addresses:
            pool = self._pool(checked, address)
            try:
                with _remote_errors(checked.url):
                    response = pool.urlopen(
                        method, target, headers=headers, redirect=False,
                        retries=False, preload_content=False,
                        decode_content=False, assert_same_host=False)
            except exceptions.RemoteServiceUnavailable as exc:
                pool.close()
                if not isinstance(exc.__cause__,
                                  urllib3.exceptions.ConnectTimeoutError):
                    raise
                failures.append(f"{address}: {exc.__cause__}")
                continue
            except BaseException:
                pool.close()
                raise
            return _Exchange(checked.url, pool, response)
        raise exceptions.RemoteServiceUnavailable(
            f"cannot connect to {redact(checked.url)}: {'; '.join(failures)}")

    def _pool(self, checked: CheckedURL,
              address: str) -> urllib3.HTTPConnectionPool:
        if checked.scheme == "https":
            return urllib3.HTTPSConnectionPool(
                address, checked.port, timeout=self._timeout,
                cert_reqs="CERT_NONE" if self._insecure else "CERT_REQUIRED",
                ca_certs=self._ca_file,
                assert_hostname=False if self._insecure else checked.host,
                server_hostname=checked.host)
        return urllib3.HTTPConnectionPool(address, checked.port,
                                          timeout=self._timeout)

    @staticmethod
    def _check_scheme(location: str) -> None:
        scheme = urllib.parse.urlsplit(location).scheme.lower()
        if scheme not in HttpDriver.schemes:
            raise exceptions.BadStoreURI(
                f"{location!r} is not an http or https URL")

    @staticmethod
    def _check_status(exchange: _Exchange) -> None:
        if exchange.status in (404, 410):
            raise exceptions.NotFound(f"{redact(exchange.url)} answered "
                                      f"{exchange.status}: no image there")
        if exchange.status == 416:
            raise exceptions.InvalidRange(
                f"{redact(exchange.url)} cannot serve the requested range")
        if not 200 <= exchange.status < 300:
            raise exceptions.RemoteServiceUnavailable(
                f"{redact(exchange.url)} answered {exchange.status} "
                f"{exchange.response.reason or ''}".rstrip())

    @staticmethod
    def _content_length(exchange: _Exchange) -> int | None:
        value = exchange.header("Content-Length")
        return int(value) if value and value.isdigit() else None
