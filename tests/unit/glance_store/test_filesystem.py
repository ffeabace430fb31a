"""The file driver: safe names, atomic writes, distinct failures, datadirs."""

from __future__ import annotations

import errno
import os
import socket
import stat

import pytest
from oslo_config import cfg

from glance_store import Stores
from glance_store import exceptions
from glance_store import options
from glance_store.drivers.filesystem import FilesystemDriver
from glance_store.drivers.filesystem import parse_datadirs
from glance_store.reader import VerifyingReader

MIB = 1024 * 1024


def add(driver, image_id, stream, **kwargs):
    with VerifyingReader(stream, **kwargs) as reader:
        return driver.add(image_id, reader)


def test_an_image_is_a_file_named_by_its_id_in_the_datadir(
        file_driver, datadir, source, list_files):
    stored = add(file_driver, "abc-123", source(b"data"))

    assert stored.location == f"file://{datadir}/abc-123"
    assert list_files(datadir) == [os.path.join(datadir, "abc-123")]
    with open(os.path.join(datadir, "abc-123"), "rb") as f:
        assert f.read() == b"data"


@pytest.mark.parametrize("image_id", [
    "../escape", "a/b", "/etc/passwd", ".hidden", "..", "", "x\x00y",
    "a" * 256, "sp ace", "tab\t"])
def test_an_unsafe_image_id_is_refused_and_nothing_is_written(
        file_driver, datadir, source, list_files, image_id):
    with pytest.raises(exceptions.InvalidImageId):
        add(file_driver, image_id, source(b"data"))

    assert list_files(os.path.dirname(datadir)) == []


def test_an_image_id_already_stored_is_a_duplicate(file_driver, source):
    add(file_driver, "img", source(b"first"))

    with pytest.raises(exceptions.Duplicate):
        add(file_driver, "img", source(b"second"))


@pytest.mark.parametrize("location", [
    "file:///etc/passwd", "file://{datadir}/../escape",
    "file://otherhost{datadir}/img", "http://{datadir}/img",
    "file://{datadir}/img?x=1", "file://{datadir}"])
def test_a_location_outside_the_datadirs_is_refused(
        file_driver, datadir, location):
    location = location.format(datadir=datadir)

    with pytest.raises(exceptions.BadStoreURI):
        file_driver.get(location)
    with pytest.raises(exceptions.BadStoreURI):
        file_driver.delete(location)


def test_a_symlink_out_of_the_datadir_is_refused(file_driver, datadir,
                                                 tmp_path):
    (tmp_path / "secret").write_bytes(b"secret")
    os.symlink(tmp_path / "secret", os.path.join(datadir, "link"))

    with pytest.raises(exceptions.BadStoreURI):
        file_driver.get(f"file://{datadir}/link")


def test_a_datadir_path_needing_quoting_round_trips(tmp_path, source):
    datadir = tmp_path / "my images #1"
    datadir.mkdir()
    driver = FilesystemDriver([(str(datadir), 0)])

    stored = add(driver, "img", source(b"data"))

    assert "%20" in stored.location
    with driver.get(stored.location) as data:
        assert b"".join(data) == b"data"


def test_get_offers_the_open_file_positioned_at_the_offset(
        file_driver, source):
    stored = add(file_driver, "img", source(b"0123456789"))

    with file_driver.get(stored.location, offset=3, length=4) as data:
        assert data.size == 4
        assert data.fileobj.tell() == 3
        left, right = socket.socketpair()
        with left, right:
            sent = os.sendfile(left.fileno(), data.fileobj.fileno(), None,
                               data.size)
            assert right.recv(16) == b"3456"[:sent]
    assert data.fileobj.closed


def test_new_files_get_the_configured_permissions(datadir, source):
    driver = FilesystemDriver([(datadir, 0)], file_perm=0o640)

    add(driver, "img", source(b"data"))

    mode = stat.S_IMODE(os.stat(os.path.join(datadir, "img")).st_mode)
    assert mode == 0o640


def test_by_default_new_files_are_private_to_the_service(file_driver,
                                                         datadir, source):
    add(file_driver, "img", source(b"data"))

    mode = stat.S_IMODE(os.stat(os.path.join(datadir, "img")).st_mode)
    assert mode == 0o600


def test_an_interrupt_mid_write_leaves_no_file(file_driver, datadir, source,
                                               list_files):
    stream = source(b"x" * 3 * MIB, piece=MIB, fail_on_read=2,
                    error=KeyboardInterrupt())

    with pytest.raises(KeyboardInterrupt):
        add(file_driver, "img", stream)

    assert list_files(datadir) == []


# --- A full disk --------------------------------------------------------

def full_disk_driver(tiny_tmpfs, failing_disk_driver, tmp_path):
    """The real 1 MiB tmpfs, or an injected ENOSPC where mounts fail."""
    if tiny_tmpfs:
        return FilesystemDriver([(tiny_tmpfs, 0)]), tiny_tmpfs
    datadir = str(tmp_path)
    return failing_disk_driver([(datadir, 0)], err=errno.ENOSPC,
                               capacity=MIB), datadir


def test_a_full_disk_is_storage_full_and_leaves_no_file(
        tiny_tmpfs, failing_disk_driver, tmp_path, source, list_files):
    driver, datadir = full_disk_driver(tiny_tmpfs, failing_disk_driver,
                                       tmp_path)

    with pytest.raises(exceptions.StorageFull, match="full") as raised:
        add(driver, "img", source(b"x" * 3 * MIB), chunk_size=256 * 1024)

    assert raised.value.__cause__.errno == errno.ENOSPC
    assert list_files(datadir) == []


def test_a_declared_size_beyond_free_space_fails_before_writing(
        tiny_tmpfs, failing_disk_driver, tmp_path, source, list_files):
    driver, datadir = full_disk_driver(tiny_tmpfs, failing_disk_driver,
                                       tmp_path)
    stream = source(b"x" * 3 * MIB)

    with pytest.raises(exceptions.StorageFull):
        add(driver, "img", stream, size=3 * MIB)

    assert stream.reads == 0
    assert list_files(datadir) == []


# --- Writes denied ------------------------------------------------------

def test_an_unwritable_directory_is_write_denied_and_leaves_no_file(
        unwritable_dir, source, list_files):
    driver = FilesystemDriver([(unwritable_dir, 0)])

    with pytest.raises(exceptions.StorageWriteDenied) as raised:
        add(driver, "img", source(b"data"))

    assert raised.value.__cause__.errno == errno.EACCES
    assert list_files(unwritable_dir) == []


def test_a_read_only_filesystem_is_write_denied(
        readonly_tmpfs, failing_disk_driver, tmp_path, source, list_files):
    if readonly_tmpfs:
        driver, datadir = FilesystemDriver([(readonly_tmpfs, 0)]), \
            readonly_tmpfs
    else:
        datadir = str(tmp_path)
        driver = failing_disk_driver([(datadir, 0)], err=errno.EROFS,
                                     capacity=0)

    with pytest.raises(exceptions.StorageWriteDenied):
        add(driver, "img", source(b"data"))

    assert list_files(datadir) == []


@pytest.mark.parametrize("err, expected", [
    (errno.ENOSPC, exceptions.StorageFull),
    (errno.EDQUOT, exceptions.StorageFull),
    (errno.EACCES, exceptions.StorageWriteDenied),
    (errno.EPERM, exceptions.StorageWriteDenied),
    (errno.EROFS, exceptions.StorageWriteDenied),
    (errno.EIO, exceptions.GlanceStoreError)])
def test_a_write_failing_after_the_first_chunk_leaves_no_file(
        failing_disk_driver, tmp_path, source, list_files, err, expected):
    driver = failing_disk_driver([(str(tmp_path), 0)], err=err,
                                 capacity=MIB)

    with pytest.raises(expected) as raised:
        add(driver, "img", source(b"x" * 3 * MIB), chunk_size=MIB)

    assert raised.value.__cause__.errno == err
    assert list_files(tmp_path) == []


def test_full_and_denied_are_distinct_errors():
    assert not issubclass(exceptions.StorageFull,
                          exceptions.StorageWriteDenied)
    assert not issubclass(exceptions.StorageWriteDenied,
                          exceptions.StorageFull)


# --- Several data directories -------------------------------------------

def test_datadirs_entries_parse_as_dir_and_priority():
    assert parse_datadirs(["/a:100", "/b", " /c:d:5 "]) == [
        ("/a", 100), ("/b", 0), ("/c:d", 5)]
    with pytest.raises(exceptions.BadStoreConfiguration):
        parse_datadirs(["/a:high"])


def test_the_highest_priority_directory_receives_new_images(tmp_path,
                                                            source):
    low, high = tmp_path / "low", tmp_path / "high"
    low.mkdir(), high.mkdir()
    driver = FilesystemDriver([(str(low), 100), (str(high), 200)])

    stored = add(driver, "img", source(b"data"))

    assert stored.location == f"file://{high}/img"


def test_a_directory_without_room_is_passed_over(
        tiny_tmpfs, failing_disk_driver, tmp_path, source):
    roomy = tmp_path / "roomy"
    roomy.mkdir()
    if tiny_tmpfs:
        driver = FilesystemDriver([(tiny_tmpfs, 200), (str(roomy), 100)])
    else:
        small = tmp_path / "small"
        small.mkdir()

        class SmallFirst(FilesystemDriver):
            def _free_space(self, datadir):
                return MIB if datadir == str(small) else 100 * MIB

        driver = SmallFirst([(str(small), 200), (str(roomy), 100)])

    stored = add(driver, "img", source(b"x" * 2 * MIB), size=2 * MIB)

    assert stored.location == f"file://{roomy}/img"


def test_images_in_any_configured_directory_stay_readable(tmp_path, source):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    (one / "old").write_bytes(b"old image")
    driver = FilesystemDriver([(str(one), 0), (str(two), 10)])

    with driver.get(f"file://{one}/old") as data:
        assert b"".join(data) == b"old image"
    with pytest.raises(exceptions.Duplicate):
        add(driver, "old", source(b"again"))


def test_from_conf_creates_missing_datadirs(tmp_path):
    conf = cfg.ConfigOpts()
    options.register_opts(conf)
    conf([])
    conf.set_override("stores", ["file"], "glance_store")
    conf.set_override("filesystem_store_datadirs",
                      [f"{tmp_path}/a:1", f"{tmp_path}/b:2"], "glance_store")
    conf.set_override("filesystem_store_file_perm", 644, "glance_store")

    stores = Stores.from_conf(conf)

    assert stores.driver("file").datadirs == [
        (f"{tmp_path}/a", 1), (f"{tmp_path}/b", 2)]
    assert os.path.isdir(tmp_path / "a") and os.path.isdir(tmp_path / "b")


def test_discard_partial_removes_what_a_killed_upload_left(
        tmp_path, source, list_files):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    driver = FilesystemDriver([(str(one), 0), (str(two), 10)])
    (one / ".img.0123abcd.part").write_bytes(b"partial")
    (two / ".img.4567cdef.part").write_bytes(b"partial")
    (two / ".img-2.89abcdef.part").write_bytes(b"another image's")
    add(driver, "img", source(b"complete"))

    assert driver.discard_partial("img") == 2

    assert list_files(one, two) == [str(two / ".img-2.89abcdef.part"),
                                    str(two / "img")]


def test_discard_partial_refuses_an_unsafe_image_id(file_driver):
    with pytest.raises(exceptions.InvalidImageId):
        file_driver.discard_partial("*")


def test_a_temporary_file_removed_mid_upload_is_a_store_error(
        file_driver, datadir, source, list_files):
    class Sweeper:
        """A stream during whose reading the partial file is swept away."""

        def __init__(self):
            self.reads = 0

        def read(self, n):
            self.reads += 1
            if self.reads == 2:
                file_driver.discard_partial("img")
            return b"x" if self.reads <= 2 else b""

    with pytest.raises(exceptions.GlanceStoreError, match="removed") as raised:
        add(file_driver, "img", Sweeper(), chunk_size=1)

    assert not isinstance(raised.value, exceptions.NotFound)
    assert list_files(datadir) == []
