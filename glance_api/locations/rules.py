"""Which locations may be added to an image, and the hashes a caller vouches for.

A location must name data a configured store serves and can read (no
scheme the stores cannot serve is accepted), checked by asking that store
for the data's size. http(s) URLs also pass the import filter
(``[import_filtering_opts]``, and never an internal address unless allowed)
before any connection. Only callers the ``service_api`` rule (or admin)
trusts may add locations other than http(s): a file, Swift or S3 location
in this service's own stores could name another project's image data.
"""

from __future__ import annotations

import dataclasses
import hashlib

from glance_api.exceptions import BadRequest
from glance_api.exceptions import Conflict
from glance_api.exceptions import Forbidden
from glance_api.exceptions import TooLarge
from glance_api.locations.redaction import safe_url
from glance_api.locations.redaction import scrub
from glance_store import Capability
from glance_store import exceptions as store_exc

EXTERNAL_SCHEMES = ("http", "https")
MAX_URL_LENGTH = 255  # the image schema's limit for a location url
# The fixed-length algorithms hashlib always has (shake_* have no fixed size).
HASH_ALGORITHMS = ("sha512", "sha384", "sha256", "sha224", "sha1", "md5",
                   "sha3_512", "sha3_384", "sha3_256", "sha3_224", "blake2b",
                   "blake2s")
VALIDATION_KEYS = ("os_hash_algo", "os_hash_value")


@dataclasses.dataclass(frozen=True)
class CheckedLocation:
    """A location a store serves: its URL, the store's id and the data's size."""

    url: str
    store: str
    size: int

    def record(self, metadata: dict | None = None) -> dict:
        """The registry's form of this location, its store id in the metadata."""
        return {"url": self.url, "metadata": dict(metadata or {}, store=self.store)}


@dataclasses.dataclass(frozen=True)
class ValidationData:
    """The hash a caller says an added location's data has."""

    os_hash_algo: str
    os_hash_value: str


def scheme_of(url: str) -> str:
    """The lower-cased scheme of ``url`` ("" when it has none)."""
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep else ""


def check_url_shape(url) -> str:
    """A location URL that is a string a store could hold; 400 otherwise."""
    if not isinstance(url, str) or not url:
        raise BadRequest("A location needs a 'url' string.")
    if len(url) > MAX_URL_LENGTH:
        raise BadRequest("Invalid location: a location URL is at most %d characters."
                         % MAX_URL_LENGTH)
    if any(c <= " " or c == "\x7f" for c in url) or not scheme_of(url):
        raise BadRequest("Invalid location: %s is not a URL." % safe_url(url))
    return url


def check_location(stores, url, *, any_scheme: bool, size_cap: int) -> CheckedLocation:
    """``url`` if a configured store serves it and can read its data; its size.

    ``any_scheme``: the caller may name data in this service's own stores
    (the service role, admins); everyone else only http(s) URLs.
    """
    url = check_url_shape(url)
    scheme = scheme_of(url)
    if not any_scheme and scheme not in EXTERNAL_SCHEMES:
        raise Forbidden("Only services may add %s:// locations; an image owner may "
                        "add http(s) locations only." % scheme)
    try:
        if scheme in EXTERNAL_SCHEMES:
            stores.check_url(url)
        store = _store_for(stores, url, any_scheme)
        driver = stores.driver(store)
        if Capability.READ not in driver.capabilities or not driver.owns(url):
            raise store_exc.BadStoreURI("store %s cannot read it" % store)
        size = stores.get_size(url, store=store)
    except store_exc.NotFound:
        raise BadRequest("Invalid location: there is no image data at %s."
                         % safe_url(url)) from None
    except store_exc.GlanceStoreError as exc:
        raise BadRequest("Invalid location %s: %s" % (safe_url(url), scrub(str(exc), url))
                         ) from None
    if size > size_cap:
        raise TooLarge("The data at %s is %d bytes, more than image_size_cap (%d)."
                       % (safe_url(url), size, size_cap))
    return CheckedLocation(url=url, store=store, size=size)


def _store_for(stores, url: str, any_scheme: bool) -> str:
    try:
        return stores.store_for(url)
    except store_exc.UnknownScheme:
        if any_scheme:
            raise
        # Glance: end users may add locations only where an http store is on.
        raise Forbidden("Adding locations is for services only: no store here "
                        "serves %s:// locations." % scheme_of(url)) from None


def digest_size(algorithm: str) -> int:
    """Bytes in a digest of ``algorithm``; ValueError for one not offered."""
    if algorithm not in HASH_ALGORITHMS:
        raise ValueError(algorithm)
    return hashlib.new(algorithm).digest_size


def is_hex_digest(value, size: int) -> bool:
    """Whether ``value`` is ``size`` bytes written as hexadecimal digits."""
    if not isinstance(value, str) or len(value) != 2 * size:
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


def parse_validation_data(value) -> ValidationData | None:
    """The validation_data of POST /locations (None when empty); 400 if malformed."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise BadRequest("validation_data must be an object.")
    unknown = sorted(set(value) - set(VALIDATION_KEYS))
    if unknown:
        raise BadRequest("validation_data takes only os_hash_algo and os_hash_value, "
                         "not %s." % ", ".join(map(str, unknown)))
    missing = [key for key in VALIDATION_KEYS if key not in value]
    if missing:
        raise BadRequest("validation_data needs %s." % " and ".join(missing))
    algorithm, digest = value["os_hash_algo"], value["os_hash_value"]
    try:
        size = digest_size(algorithm)
    except (ValueError, TypeError):
        raise BadRequest("os_hash_algo %r is not one of: %s."
                         % (algorithm, ", ".join(HASH_ALGORITHMS))) from None
    if not is_hex_digest(digest, size):
        raise BadRequest("os_hash_value is not a %s digest (%d hexadecimal digits)."
                         % (algorithm, 2 * size))
    return ValidationData(algorithm, digest.lower())


def check_vouched_hashes(image: dict, validation: ValidationData | None) -> None:
    """A caller's hash may not contradict one the image already has (409)."""
    if validation is None:
        return
    for key in VALIDATION_KEYS:
        current = image.get(key)
        if current and current != getattr(validation, key):
            raise Conflict("%s is already set with a different value" % key)
