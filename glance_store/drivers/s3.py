"""The 's3' driver: image data as objects in an S3 bucket.

Locations are ``s3://<host>/<bucket>/<key>`` for an http s3_store_host and
``s3+https://<host>/<bucket>/<key>`` for an https one; the key is the image
id. Glance wrote the access and secret keys into the location
(``s3://access:secret@host/bucket/key``); we never do, and always use the
configured keys. Glance's locations are still read (any credentials in
them are ignored); a location naming another host is refused.

An image of at most s3_store_large_object_size bytes is one PUT; a larger
one, or one of unknown size that outgrows its first part, is a multipart
upload. Parts start at s3_store_large_object_chunk_size and grow (see
``part_size``) so that an image of unknown length up to S3's 5 TiB object
limit fits its 10,000-part limit (from the default 10 MB first parts).
Each part is spooled to a temporary file (held in memory up to
SPOOL_IN_MEMORY bytes) before it is sent, which keeps memory bounded and
lets the client sign and retry the part. Nothing becomes visible until
the reader has verified every byte; on any failure the multipart upload is
aborted, so S3 keeps no parts.
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
import urllib.parse
from collections.abc import Iterator
from typing import IO
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from glance_store import exceptions
from glance_store.driver import Capability
from glance_store.driver import Driver
from glance_store.driver import ImageData
from glance_store.driver import Stored
from glance_store.driver import check_image_id
from glance_store.driver import check_range
from glance_store.drivers import object_store
from glance_store.reader import CHUNK_SIZE
from glance_store.reader import VerifyingReader

MiB = 1024 * 1024
MB = MiB  # Glance's "MB" options are mebibytes
MAX_PART = 5 * 1024 * MiB
MAX_PARTS = 10_000
PARTS_PER_DOUBLING = 1000
"""An upload of unknown size doubles its part size every this many parts."""
SPOOL_IN_MEMORY = 16 * MiB
TIMEOUT = 60.0
RESUMES = 3
"""How many times a download that breaks resumes (a ranged GET from the
byte where it broke) before it fails."""
LOG = logging.getLogger(__name__)
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
# A body that broke while it was read (a GET that fails to open is not
# retried here: botocore already retried it).
_BROKEN_READS = (botocore.exceptions.HTTPClientError,
                 botocore.exceptions.ConnectionError,
                 botocore.exceptions.IncompleteReadError)

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# S3 names some answers by their code alone (EntityTooLarge comes as a 400).
_CODE_STATUS = {
    "InvalidRange": 416,
    **dict.fromkeys(("EntityTooLarge", "QuotaExceeded",
                     "InsufficientStorage"), 507),
    **dict.fromkeys(("NoSuchKey", "NoSuchBucket", "NotFound",
                     "NoSuchUpload"), 404),
}


def part_size(number: int, first: int, size: int | None = None) -> int:
    """The size of part ``number`` (from 1) of a multipart upload.

    With a known ``size`` every part has one size, at least ``first`` and
    large enough for MAX_PARTS parts to hold it. With an unknown size the
    parts double every PARTS_PER_DOUBLING parts, up to MAX_PART: 10,000
    parts hold ``first`` * 1000 * (2**10 - 1) bytes, 9.7 TiB from the
    default 10 MiB start and 4.8 TiB from S3's 5 MiB minimum.
    """
    if size is not None:
        needed = -(-size // MAX_PARTS)
        return min(MAX_PART, max(first, -(-needed // MiB) * MiB))
    return min(MAX_PART, first << ((number - 1) // PARTS_PER_DOUBLING))


def capacity(first: int, parts: int = MAX_PARTS) -> int:
    """The most bytes ``parts`` parts of an unknown-size upload can hold."""
    return sum(part_size(n, first) for n in range(1, parts + 1))


@contextlib.contextmanager
def _s3_errors(doing: str, writing: bool = False) -> Iterator[None]:
    """Translate botocore's errors while ``doing``."""
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get(
            "HTTPStatusCode")
        raise exceptions.status_error(
            _CODE_STATUS.get(code, status), doing, writing, service="S3",
            reason=f"{status} {code}".strip(),
            full_hint="the store is full or the object too large",
            access_hint="s3_store_access_key, s3_store_secret_key and the "
                        "bucket's policy") from exc
    except (botocore.exceptions.ConnectionError,
            botocore.exceptions.HTTPClientError) as exc:
        raise exceptions.RemoteServiceUnavailable(
            f"{doing} failed: cannot talk to S3: {exc}") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise exceptions.GlanceStoreError(f"{doing} failed: {exc}") from exc


def _spool(reader: VerifyingReader, limit: int) -> tuple[IO[bytes], int]:
    """The next at most ``limit`` bytes of ``reader`` in a rewound spool."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
    count = 0
    try:
        while count < limit:
            data = reader.read(min(CHUNK_SIZE, limit - count))
            if not data:
                break
            spool.write(data)
            count += len(data)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool, count


class _Download:
    """An object's bytes from S3 that resume with a ranged GET if they break.

    Every GET is pinned to the ETag the download started with, and each
    answer must start at the byte asked for, so a resumed body neither
    repeats nor skips a byte, nor mixes two versions of the object.
    """

    def __init__(self, client: Any, bucket: str, key: str, etag: str,
                 start: int, count: int, resumes: int) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._etag = etag
        self._position = start
        self._end = start + count
        self._resumes = resumes
        self._doing = f"reading {bucket}/{key}"
        self._body: Any = None
        self._body = self._open()

    def _open(self) -> Any:
        with _s3_errors(self._doing):
            answer = self._client.get_object(
                Bucket=self._bucket, Key=self._key, IfMatch=self._etag,
                Range=f"bytes={self._position}-{self._end - 1}")
        body = answer["Body"]
        match = _CONTENT_RANGE.fullmatch(answer.get("ContentRange") or "")
        if match is None or int(match.group(1)) != self._position:
            body.close()
            raise exceptions.RemoteServiceUnavailable(
                f"{self._doing}: asked for bytes from {self._position}, S3 "
                f"answered Content-Range {answer.get('ContentRange')!r}")
        return body

    def __iter__(self) -> Iterator[bytes]:
        resumed = 0
        while self._position < self._end:
            try:
                for chunk in self._body.iter_chunks(CHUNK_SIZE):
                    chunk = chunk[:self._end - self._position]
                    self._position += len(chunk)
                    yield chunk
                    if self._position >= self._end:
                        return
                failure: BaseException = exceptions.RemoteServiceUnavailable(
                    f"S3 ended {self._bucket}/{self._key} "
                    f"{self._end - self._position} bytes early")
            except _BROKEN_READS as exc:
                failure = exc
            except botocore.exceptions.BotoCoreError as exc:
                raise exceptions.GlanceStoreError(
                    f"{self._doing} failed: {exc}") from exc
            if resumed >= self._resumes:
                raise exceptions.RemoteServiceUnavailable(
                    f"{self._doing} broke at byte {self._position} and "
                    f"{resumed} resumptions failed: {failure}") from failure
            resumed += 1
            LOG.warning("%s broke at byte %d (%s); resuming (%d of %d)",
                        self._doing, self._position, failure, resumed,
                        self._resumes)
            self._body.close()
            self._body = self._open()

    def close(self) -> None:
        """Release the connection of the current GET."""
        if self._body is not None:
            self._body.close()


class S3Driver(Driver):
    """Stores images as objects, multipart when large, in one bucket."""

    name = "s3"
    schemes = ("s3", "s3+http", "s3+https")
    capabilities = Capability.READ | Capability.WRITE | Capability.RANGED

    def __init__(self, *, host: str, access_key: str, secret_key: str,
                 bucket: str, create_bucket: bool = False,
                 url_format: str = "auto", region: str = "",
                 large_object_size: int = 100 * MB,
                 chunk_size: int = 10 * MB, cacert: str | None = None,
                 client: Any = None, resumes: int = RESUMES) -> None:
        if not host:
            raise exceptions.BadStoreConfiguration(
                "the s3 store needs s3_store_host")
        url = host if "://" in host else f"http://{host}"
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise exceptions.BadStoreConfiguration(
                f"s3_store_host {host!r} is not a host or an http(s) URL")
        if not access_key or not secret_key:
            raise exceptions.BadStoreConfiguration(
                "the s3 store needs s3_store_access_key and "
                "s3_store_secret_key")
        if not _BUCKET.fullmatch(bucket or ""):
            raise exceptions.BadStoreConfiguration(
                f"s3_store_bucket {bucket!r} is not a valid bucket name "
                f"(3-63 lowercase letters, digits, '.' and '-')")
        object_store.check_sizes("s3", large_object_size, chunk_size)
        self._endpoint = url.rstrip("/")
        self._base = (parts.netloc.lower() + parts.path).rstrip("/")
        self._scheme = "s3+https" if parts.scheme == "https" else "s3"
        self._bucket = bucket
        self._create_bucket = create_bucket
        self._region = region
        self._large_object_size = large_object_size
        self._chunk_size = chunk_size
        self._resumes = resumes
        self._client = client or boto3.session.Session().client(
            "s3", endpoint_url=self._endpoint,
            aws_access_key_id=access_key, aws_secret_access_key=secret_key,
            region_name=region or "us-east-1",
            verify=cacert if cacert else True,
            config=botocore.config.Config(
                s3={"addressing_style": url_format},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=TIMEOUT, read_timeout=TIMEOUT))

    @classmethod
    def from_conf(cls, group: Any, **context: Any) -> S3Driver:
        """Build from the s3_store_* options."""
        return cls(host=group.s3_store_host,
                   access_key=group.s3_store_access_key,
                   secret_key=group.s3_store_secret_key,
                   bucket=group.s3_store_bucket,
                   create_bucket=group.s3_store_create_bucket_on_put,
                   url_format=group.s3_store_bucket_url_format,
                   region=group.s3_store_region_name,
                   large_object_size=group.s3_store_large_object_size * MB,
                   chunk_size=group.s3_store_large_object_chunk_size * MB,
                   cacert=group.s3_store_cacert)

    @property
    def client(self) -> Any:
        """The boto3 S3 client (thread-safe)."""
        return self._client

    # --- writing --------------------------------------------------------

    def add(self, image_id: str, reader: VerifyingReader) -> Stored:
        """One PUT, or a multipart upload that is aborted on any failure."""
        key = check_image_id(image_id, "an S3 object")
        self._prepare_bucket(key)
        size = reader.declared_size
        if size is not None and size <= self._large_object_size:
            first = size
        else:
            first = part_size(1, self._chunk_size, size)
        spool, count = _spool(reader, first)
        with spool:
            if reader.at_end():
                self._put(key, spool, count)
                return Stored(location=self._location(key))
            self._multipart(key, reader, size, spool, count)
        return Stored(location=self._location(key))

    def _put(self, key: str, body: IO[bytes], count: int) -> None:
        with _s3_errors(f"writing {self._bucket}/{key}", writing=True):
            self._client.put_object(Bucket=self._bucket, Key=key, Body=body,
                                    ContentLength=count)

    def _multipart(self, key: str, reader: VerifyingReader, size: int | None,
                   spool: IO[bytes], count: int) -> None:
        doing = f"uploading {self._bucket}/{key}"
        with _s3_errors(doing, writing=True):
            upload_id = self._client.create_multipart_upload(
                Bucket=self._bucket, Key=key)["UploadId"]
        try:
            done = [self._upload_part(key, upload_id, 1, spool, count)]
            while not reader.at_end():
                number = len(done) + 1
                if number > MAX_PARTS:
                    raise exceptions.SizeLimitExceeded(
                        f"{doing}: more than {MAX_PARTS} parts")
                next_spool, count = _spool(
                    reader, part_size(number, self._chunk_size, size))
                with next_spool:
                    done.append(self._upload_part(key, upload_id, number,
                                                  next_spool, count))
            with _s3_errors(doing, writing=True):
                self._client.complete_multipart_upload(
                    Bucket=self._bucket, Key=key, UploadId=upload_id,
                    MultipartUpload={"Parts": done})
        except BaseException:
            self._abort_quietly(key, upload_id)
            raise

    def _upload_part(self, key: str, upload_id: str, number: int,
                     body: IO[bytes], count: int) -> dict[str, Any]:
        with _s3_errors(f"uploading part {number} of {self._bucket}/{key}",
                        writing=True):
            answer = self._client.upload_part(
                Bucket=self._bucket, Key=key, UploadId=upload_id,
                PartNumber=number, Body=body, ContentLength=count)
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def _abort_quietly(self, key: str, upload_id: str) -> None:
        """Abort a failed upload; never mask the failure that caused it."""
        with object_store.cleanup(
                f"could not abort the multipart upload {upload_id} of "
                f"{self._bucket}/{key} (discard_partial aborts it later)"), \
                _s3_errors(f"aborting the upload of {self._bucket}/{key}"):
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=key, UploadId=upload_id)

    def _prepare_bucket(self, key: str) -> None:
        object_store.ensure_container(
            self._head_bucket,
            self._put_bucket if self._create_bucket else None,
            f"the S3 bucket {self._bucket!r} does not exist; create it or "
            f"set s3_store_create_bucket_on_put = true")
        with object_store.expect_absent(
                f"image data for {key} already exists in the S3 bucket "
                f"{self._bucket}"):
            self._head(self._bucket, key)

    def _head_bucket(self) -> None:
        with _s3_errors(f"checking the bucket {self._bucket}", writing=True):
            self._client.head_bucket(Bucket=self._bucket)

    def _put_bucket(self) -> None:
        kwargs: dict[str, Any] = {}
        if self._region and self._region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {
                "LocationConstraint": self._region}
        with _s3_errors(f"creating the bucket {self._bucket}", writing=True):
            self._client.create_bucket(Bucket=self._bucket, **kwargs)

    # --- reading --------------------------------------------------------

    def get(self, location: str, offset: int = 0,
            length: int | None = None) -> ImageData:
        """Stream the object with a ranged GET pinned to its ETag."""
        bucket, key = self._parse(location)
        head = self._head(bucket, key)
        count = check_range(head["ContentLength"], offset, length)
        if count == 0:
            return ImageData(iter(()), 0)
        download = _Download(self._client, bucket, key, head["ETag"], offset,
                             count, self._resumes)
        return ImageData(iter(download), count, close=download.close)

    def get_size(self, location: str) -> int:
        """The object's size."""
        return self._head(*self._parse(location))["ContentLength"]

    def _head(self, bucket: str, key: str) -> dict[str, Any]:
        with _s3_errors(f"reading {bucket}/{key}"):
            return self._client.head_object(Bucket=bucket, Key=key)

    # --- deleting -------------------------------------------------------

    def delete(self, location: str) -> None:
        """Remove the object; NotFound if it is gone."""
        bucket, key = self._parse(location)
        self._head(bucket, key)
        with _s3_errors(f"deleting {bucket}/{key}", writing=True):
            self._client.delete_object(Bucket=bucket, Key=key)

    def owns(self, location: str) -> bool:
        """Whether ``location`` is an object of this host in this bucket."""
        try:
            bucket, _ = self._parse(location)
        except exceptions.BadStoreURI:
            return False
        return bucket == self._bucket

    def properties(self) -> dict[str, Any]:
        """The bucket and multipart sizes (bytes), as Glance shows them."""
        return {"bucket": self._bucket,
                "s3_store_large_object_size": self._large_object_size,
                "s3_store_large_object_chunk_size": self._chunk_size}

    def discard_partial(self, image_id: str) -> int:
        """Abort multipart uploads of ``image_id`` a dead process left."""
        key = check_image_id(image_id, "an S3 object")
        with _s3_errors(f"listing the uploads in {self._bucket}"):
            pages = self._client.get_paginator(
                "list_multipart_uploads").paginate(Bucket=self._bucket,
                                                   Prefix=key)
            uploads = [upload for page in pages
                       for upload in page.get("Uploads", [])
                       if upload["Key"] == key]
        for upload in uploads:
            with _s3_errors(f"aborting an upload of {self._bucket}/{key}",
                            writing=True):
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=key,
                    UploadId=upload["UploadId"])
        return len(uploads)

    # --- locations ------------------------------------------------------

    def _location(self, key: str) -> str:
        return f"{self._scheme}://{self._base}/{self._bucket}/{key}"

    def _parse(self, location: str) -> tuple[str, str]:
        """(bucket, key) of a location on this S3 host."""
        return object_store.parse_location(
            location, schemes=self.schemes,
            form="an s3://<host>/<bucket>/<key>", base=self._base,
            base_name="the S3 host")
