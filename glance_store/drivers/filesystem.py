"""The 'file' driver: image data as files in one or more local directories.

An upload goes to a hidden temporary file beside its final name, is
fsynced, and is renamed into place only once the reader has verified every
byte; on any failure the temporary file is removed. Locations are
``file:///<datadir>/<image_id>`` and are only honoured inside a configured
data directory.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import logging
import os
import secrets
import urllib.parse
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any

from glance_store import exceptions
from glance_store.driver import Capability
from glance_store.driver import Driver
from glance_store.driver import ImageData
from glance_store.driver import Stored
from glance_store.driver import check_image_id
from glance_store.driver import check_range
from glance_store.drivers.writeback import Writeback
from glance_store.reader import CHUNK_SIZE
from glance_store.reader import VerifyingReader

LOG = logging.getLogger(__name__)

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}


def _storage_error(exc: OSError, doing: str) -> exceptions.GlanceStoreError:
    """Translate an OSError of a write-side operation."""
    reason = exc.strerror or str(exc)
    if exc.errno in _FULL:
        return exceptions.StorageFull(
            f"the image store is full ({reason}) while {doing}; free space "
            f"or add a data directory")
    if exc.errno in _DENIED:
        return exceptions.StorageWriteDenied(
            f"the image store may not write ({reason}) while {doing}; check "
            f"the data directory's ownership, permissions and mount options")
    return exceptions.GlanceStoreError(f"{doing} failed: {reason}")


@contextlib.contextmanager
def _storage_errors(doing: str) -> Iterator[None]:
    try:
        yield
    except FileNotFoundError as exc:
        # Mid-upload, a vanished file is the store's fault, not the caller's.
        raise exceptions.GlanceStoreError(
            f"{doing} failed: {exc.strerror}; was the file removed "
            f"meanwhile?") from exc
    except OSError as exc:
        raise _storage_error(exc, doing) from exc


@contextlib.contextmanager
def _read_errors(doing: str) -> Iterator[None]:
    try:
        yield
    except FileNotFoundError as exc:
        raise exceptions.NotFound(f"no image data while {doing}") from exc
    except OSError as exc:
        raise exceptions.GlanceStoreError(
            f"{doing} failed: {exc.strerror or exc}") from exc


def parse_datadirs(entries: Sequence[str]) -> list[tuple[str, int]]:
    """Parse filesystem_store_datadirs entries "DIR[:PRIORITY]"."""
    parsed = []
    for entry in entries:
        path, sep, priority = entry.strip().rpartition(":")
        if not sep:
            path, priority = priority, "0"
        try:
            parsed.append((path.strip(), int(priority)))
        except ValueError:
            raise exceptions.BadStoreConfiguration(
                f"filesystem_store_datadirs entry {entry!r} is not "
                f"DIR:PRIORITY with an integer priority") from None
    return parsed


def _octal_perm(value: int) -> int:
    try:
        return int(str(value), 8)
    except ValueError:
        raise exceptions.BadStoreConfiguration(
            f"filesystem_store_file_perm {value} is not octal digits "
            f"like 640") from None


class FilesystemDriver(Driver):
    """Stores images as files in prioritised local directories."""

    name = "file"
    schemes = ("file",)
    capabilities = Capability.READ | Capability.WRITE | Capability.RANGED

    def __init__(self, datadirs: Sequence[tuple[str, int]], *,
                 file_perm: int = 0o600, chunk_size: int = CHUNK_SIZE) -> None:
        if not datadirs:
            raise exceptions.BadStoreConfiguration(
                "the file store needs at least one data directory")
        self._datadirs = [(os.path.realpath(path), priority)
                          for path, priority in datadirs]
        paths = [path for path, _ in self._datadirs]
        if len(set(paths)) != len(paths):
            raise exceptions.BadStoreConfiguration(
                f"a data directory is listed twice in {paths}")
        self._file_perm = file_perm
        self._chunk_size = chunk_size

    @classmethod
    def from_conf(cls, group: Any, **context: Any) -> FilesystemDriver:
        """Build from filesystem_store_* options; create missing datadirs."""
        if group.filesystem_store_datadirs:
            datadirs = parse_datadirs(group.filesystem_store_datadirs)
        else:
            datadirs = [(group.filesystem_store_datadir, 0)]
        for path, _ in datadirs:
            try:
                os.makedirs(path, exist_ok=True)
            except OSError as exc:
                raise exceptions.BadStoreConfiguration(
                    f"cannot create image data directory {path}: "
                    f"{exc.strerror}") from exc
        perm = group.filesystem_store_file_perm
        return cls(datadirs,
                   file_perm=_octal_perm(perm) if perm else 0o600,
                   chunk_size=group.filesystem_store_chunk_size)

    @classmethod
    def at(cls, path: str) -> FilesystemDriver:
        """A driver for one directory, created if missing (staging areas)."""
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise exceptions.BadStoreConfiguration(
                f"cannot create directory {path}: {exc.strerror}") from exc
        return cls([(path, 0)])

    @property
    def datadirs(self) -> list[tuple[str, int]]:
        """The data directories and their priorities."""
        return list(self._datadirs)

    def add(self, image_id: str, reader: VerifyingReader) -> Stored:
        """Write to a temporary file, fsync, rename into place on success."""
        check_image_id(image_id, "a file")
        self._check_absent(image_id)
        datadir = self._choose_datadir(reader.declared_size or 0)
        path = os.path.join(datadir, image_id)
        tmp = os.path.join(datadir, f".{image_id}.{secrets.token_hex(8)}.part")
        with _storage_errors(f"creating {tmp}"):
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | os.O_CLOEXEC, self._file_perm)
        committed = False
        try:
            # The reader is iterated outside _storage_errors: its own
            # exceptions (and the caller's stream's) must pass unchanged.
            writeback = Writeback(fd)
            for chunk in reader:
                with _storage_errors(f"writing {tmp}"):
                    self._write(fd, chunk)
                    writeback.wrote(len(chunk))
            with _storage_errors(f"saving {path}"):
                os.fchmod(fd, self._file_perm)
                os.fsync(fd)
                fd, closing = -1, fd
                os.close(closing)
                self._check_absent(image_id)
                os.rename(tmp, path)
                committed = True
                self._fsync_dir(datadir)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            _remove_quietly(path if committed else tmp)
            raise
        return Stored(location=self._location(path))

    def _write(self, fd: int, chunk: bytes | bytearray | memoryview) -> None:
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view):]

    @staticmethod
    def _fsync_dir(path: str) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def get(self, location: str, offset: int = 0,
            length: int | None = None) -> ImageData:
        """Open the file; ImageData.fileobj is it, positioned at ``offset``."""
        path = self._path(location)
        with _read_errors(f"opening {path}"):
            fileobj = open(path, "rb", buffering=0)
        try:
            with _read_errors(f"reading {path}"):
                count = check_range(os.fstat(fileobj.fileno()).st_size,
                                    offset, length)
                fileobj.seek(offset)
        except BaseException:
            fileobj.close()
            raise
        return ImageData(self._chunks(fileobj, path, count), count,
                         fileobj=fileobj, close=fileobj.close)

    def _chunks(self, fileobj: Any, path: str, count: int) -> Iterator[bytes]:
        while count > 0:
            with _read_errors(f"reading {path}"):
                chunk = fileobj.read(min(self._chunk_size, count))
            if not chunk:
                raise exceptions.GlanceStoreError(
                    f"{path} ended {count} bytes early; was it truncated?")
            count -= len(chunk)
            yield chunk

    def get_size(self, location: str) -> int:
        """The file's size."""
        path = self._path(location)
        with _read_errors(f"reading the size of {path}"):
            return os.stat(path).st_size

    def delete(self, location: str) -> None:
        """Remove the file; NotFound if it is gone."""
        path = self._path(location)
        try:
            os.unlink(path)
        except FileNotFoundError as exc:
            raise exceptions.NotFound(f"no image data at {location}") from exc
        except OSError as exc:
            raise _storage_error(exc, f"deleting {path}") from exc

    def owns(self, location: str) -> bool:
        """Whether ``location`` names a file directly in one of the datadirs."""
        try:
            self._path(location)
        except exceptions.BadStoreURI:
            return False
        return True

    def properties(self) -> dict[str, Any]:
        """The data directory (the first, if several) and read chunk size, as Glance shows them."""
        return {"data_dir": self._datadirs[0][0], "chunk_size": self._chunk_size,
                "thin_provisioning": False}

    def discard_partial(self, image_id: str) -> int:
        """Remove ``.<image_id>.*.part`` files a killed upload left."""
        check_image_id(image_id, "a file")
        removed = 0
        for datadir, _ in self._datadirs:
            pattern = f".{glob.escape(image_id)}.*.part"
            for path in glob.glob(os.path.join(glob.escape(datadir),
                                               pattern)):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise _storage_error(
                        exc, f"removing partial data {path}") from exc
                removed += 1
        return removed

    def _check_absent(self, image_id: str) -> None:
        for datadir, _ in self._datadirs:
            if os.path.lexists(os.path.join(datadir, image_id)):
                raise exceptions.Duplicate(
                    f"image data for {image_id} already exists in {datadir}")

    def _choose_datadir(self, size: int) -> str:
        """Highest priority with room for ``size``, then most free space."""
        free = {datadir: self._free_space(datadir)
                for datadir, _ in self._datadirs}
        for priority in sorted({p for _, p in self._datadirs}, reverse=True):
            roomy = [d for d, p in self._datadirs
                     if p == priority and free[d] >= size]
            if roomy:
                return max(roomy, key=free.__getitem__)
        raise exceptions.StorageFull(
            f"no data directory has {size} bytes free for the image "
            f"(most free: {max(free.values())} bytes)")

    @staticmethod
    def _free_space(datadir: str) -> int:
        with _storage_errors(f"checking free space in {datadir}"):
            stat = os.statvfs(datadir)
        return stat.f_bavail * stat.f_frsize

    @staticmethod
    def _location(path: str) -> str:
        return "file://" + urllib.parse.quote(path)

    def _path(self, location: str) -> str:
        """The file a location names, if it lies directly in a datadir."""
        parts = urllib.parse.urlsplit(location)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost") \
                or parts.query or parts.fragment:
            raise exceptions.BadStoreURI(
                f"{location!r} is not a file:///path location")
        path = os.path.realpath(urllib.parse.unquote(parts.path))
        if os.path.dirname(path) not in {d for d, _ in self._datadirs}:
            raise exceptions.BadStoreURI(
                f"{location!r} is not inside a configured data directory")
        return path


def _remove_quietly(path: str) -> None:
    """Remove ``path`` if present; cleanup must not mask the real error."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        # Log and go on raising the error that brought us here; a leftover
        # ".part" file is hidden and never served.
        LOG.error("could not remove partial image data %s: %s", path, exc)
