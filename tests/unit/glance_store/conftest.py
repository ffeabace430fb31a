"""Small honest fakes and real local servers for the glance_store tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import subprocess
import tempfile

import pytest

from glance_store.drivers.filesystem import FilesystemDriver
from tests.image_server import serving


class Source:
    """A caller's upload stream: returns at most ``piece`` bytes per read.

    With ``fail_on_read=N`` the Nth read raises ``error`` instead, like a
    client that disconnects mid-upload.
    """

    def __init__(self, data: bytes, piece: int | None = None,
                 fail_on_read: int | None = None,
                 error: BaseException | None = None) -> None:
        self._data = memoryview(data)
        self._piece = piece
        self._fail_on_read = fail_on_read
        self.error = error or ConnectionResetError("client went away")
        self.reads = 0
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self.reads == self._fail_on_read:
            raise self.error
        if size < 0:
            size = len(self._data)
        if self._piece:
            size = min(size, self._piece)
        chunk, self._data = self._data[:size], self._data[size:]
        self.bytes_read += len(chunk)
        return bytes(chunk)


class FailingDiskDriver(FilesystemDriver):
    """A file driver whose disk fails with ``err`` past ``capacity`` bytes.

    Used only where the real failure cannot be produced (no tmpfs mount).
    """

    def __init__(self, datadirs, *, err: int, capacity: int, **kwargs):
        super().__init__(datadirs, **kwargs)
        self._err = err
        self._capacity = capacity

    def _write(self, fd: int, chunk: bytes) -> None:
        if len(chunk) > self._capacity:
            raise OSError(self._err, os.strerror(self._err))
        self._capacity -= len(chunk)
        super()._write(fd, chunk)

    def _free_space(self, datadir: str) -> int:
        return self._capacity


@pytest.fixture
def source():
    """The Source class: ``source(data, piece=, fail_on_read=, error=)``."""
    return Source


@pytest.fixture
def failing_disk_driver():
    """The FailingDiskDriver class (injected errno, for when mounts fail)."""
    return FailingDiskDriver


def all_files(*dirs) -> list[str]:
    """Every file under ``dirs``, hidden ones included."""
    return sorted(os.path.join(root, name) for d in dirs
                  for root, _, names in os.walk(d) for name in names)


@pytest.fixture
def list_files():
    """all_files(*dirs): every file under the directories, hidden included."""
    return all_files


@pytest.fixture
def datadir(tmp_path):
    path = tmp_path / "images"
    path.mkdir()
    return str(path)


@pytest.fixture
def file_driver(datadir):
    return FilesystemDriver([(datadir, 0)])


@contextlib.contextmanager
def _tmpfs(options: str):
    """Mount a tmpfs with ``options``; yield its path, or None if we cannot."""
    path = tempfile.mkdtemp(prefix="glance-store-tmpfs-")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", path],
        capture_output=True, check=False)
    try:
        yield path if result.returncode == 0 else None
    finally:
        if result.returncode == 0:
            subprocess.run(["umount", path], check=True)
        os.rmdir(path)


@pytest.fixture
def tiny_tmpfs():
    """A real 1 MiB filesystem, or None where mounting is not permitted."""
    with _tmpfs("size=1m,mode=0755") as path:
        yield path


@pytest.fixture
def readonly_tmpfs():
    """A real read-only filesystem, or None where mounting is not permitted."""
    with _tmpfs("ro,size=1m,mode=0755") as path:
        yield path


@pytest.fixture
def unwritable_dir():
    """A directory the test may not write to, whether it runs as root or not.

    Root ignores permission bits, so as root the fixture also drops the
    effective uid to 'nobody' for the duration of the test.
    """
    parent = tempfile.mkdtemp(prefix="glance-store-denied-")
    os.chmod(parent, 0o755)
    path = os.path.join(parent, "images")
    os.mkdir(path, 0o555)
    os.chmod(path, 0o555)
    as_root = os.geteuid() == 0
    if as_root:
        os.seteuid(65534)
    try:
        yield path
    finally:
        if as_root:
            os.seteuid(0)
        shutil.rmtree(parent)


@pytest.fixture
def image_server():
    """A threaded HTTP server on 127.0.0.1 serving ``images``."""
    with serving() as server:
        yield server


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory):
    """A self-signed certificate for images.test: (cert path, key path)."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
         "-subj", "/CN=images.test", "-addext",
         "subjectAltName=DNS:images.test", "-keyout", str(key),
         "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


@pytest.fixture
def tls_image_server(tls_cert):
    """The image server speaking https with the images.test certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_cert)
    with serving(context) as server:
        yield server


@pytest.fixture(scope="session")
def s3_client(swift_cluster):
    """One boto3 client for the cluster's s3api (building one costs ~0.5 s)."""
    import boto3
    import botocore.config

    return boto3.session.Session().client(
        "s3", endpoint_url=swift_cluster.s3_endpoint,
        aws_access_key_id=swift_cluster.user,
        aws_secret_access_key=swift_cluster.key, region_name="us-east-1",
        config=botocore.config.Config(s3={"addressing_style": "path"}))
