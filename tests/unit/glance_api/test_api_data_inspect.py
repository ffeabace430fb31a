"""Format inspection while bytes stream: real images made by qemu-img pass or
are refused, the [image_format] rules bend the verdict, hostile or garbage
headers only ever meet the module's own refusal, and through the uploader a
refusal leaves no bytes and the image where the failure policy says."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import string

import flask
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from oslo_config import cfg

from glance_api import errors
from glance_api import options
from glance_api.data.inspect import Detector
from glance_api.data.inspect import FormatRules
from glance_api.data.inspect import InspectingStream
from glance_api.data.inspect import check_allowed_formats
from glance_api.data.upload import KILL
from glance_api.data.upload import REQUEUE
from glance_api.data.upload import Uploader
from glance_api.exceptions import BadRequest
from glance_api.exceptions import ImageRefused
from glance_common.context import RequestContext
from tests import qemu_images
from tests.unit.glance_api.api_support import FakeRegistry
from tests.unit.glance_api.api_support import file_stores

ALICE = RequestContext.build("alice", "tenant-a", ["member"])
DEFAULT = FormatRules()
INSPECTED_FORMATS = ("qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso")

REFUSALS = {
    "qcow2-backing-file": (False, "Image failed safety checks: Image has a backing file"),
    "qcow2-data-file": (False, "Image failed safety checks: Image has data_file set"),
    "vmdk-monolithicFlat": (False, "Image failed safety checks: VMDK create type "
                                   "monolithicflat is not allowed"),
    "vmdk-parent": (False, "Image failed safety checks: VMDK image has a parent"),
    "raw-as-qcow2": (True, "Image disk_format qcow2 does not match stream data raw"),
    "random-as-qcow2": (True, "Image disk_format qcow2 does not match stream data raw"),
    "qcow2-as-vmdk": (True, "Image disk_format vmdk does not match stream data qcow2"),
}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Every clean and hostile image: {name: (disk_format, bytes)}."""
    return qemu_images.build_all(qemu_images.CLEAN + qemu_images.HOSTILE,
                                 tmp_path_factory.mktemp("qemu-images"))


def stream_through(data: bytes, disk_format: str, container_format: str = "bare",
                   rules: FormatRules = DEFAULT, chunk: int = 65536) -> InspectingStream:
    """Read ``data`` to its end through an InspectingStream, as a store does."""
    stream = InspectingStream(io.BytesIO(data), disk_format, container_format, rules)
    while stream.read(chunk):
        pass
    return stream


# -- real images --------------------------------------------------------------

@pytest.mark.parametrize("name", qemu_images.CLEAN)
@pytest.mark.parametrize("chunk", [511, 65536, 1 << 20])
def test_a_clean_image_passes_with_its_format_and_virtual_size(images, name, chunk):
    disk_format, data = images[name]
    inspected = stream_through(data, disk_format, chunk=chunk).inspected
    assert inspected.format == disk_format
    expected = qemu_images.VIRTUAL_SIZE.get(name, len(data) if name == "raw" else None)
    if expected is not None:
        assert inspected.virtual_size == expected
    else:
        assert inspected.virtual_size > 0


@pytest.mark.parametrize("name", qemu_images.HOSTILE)
@pytest.mark.parametrize("chunk", [511, 65536])
def test_a_hostile_image_is_refused_saying_why(images, name, chunk):
    disk_format, data = images[name]
    mismatch, message = REFUSALS[name]
    with pytest.raises(ImageRefused) as refused:
        stream_through(data, disk_format, chunk=chunk)
    assert refused.value.mismatch is mismatch
    assert refused.value.message.startswith(message)


def test_zero_bytes_labelled_qcow2_are_refused_and_zero_raw_bytes_pass():
    with pytest.raises(ImageRefused, match="qcow2 does not match stream data raw"):
        stream_through(b"", "qcow2")
    assert stream_through(b"", "raw").inspected.virtual_size == 0


def test_a_hostile_header_is_refused_long_before_the_end(images):
    _, head = images["qcow2-backing-file"]
    source = io.BytesIO(head + bytes(32 << 20))
    stream = InspectingStream(source, "qcow2", "bare", DEFAULT)
    with pytest.raises(ImageRefused):
        while stream.read(512 * 1024):
            pass
    assert source.tell() <= 1 << 20


# -- what the rules allow ----------------------------------------------------

@pytest.mark.parametrize("name", ["qcow2", "random-as-qcow2", "raw"])
def test_raw_takes_any_safe_bytes_with_their_size_as_virtual_size(images, name):
    data = images[name][1]
    assert stream_through(data, "raw").inspected.virtual_size == len(data)


@pytest.mark.parametrize("name", ["qcow2-backing-file", "vmdk-parent"])
def test_a_qcow2_or_vmdk_that_reads_other_files_is_refused_even_labelled_raw(images, name):
    # A compute host that inspects what it boots would follow the backing
    # file of an image that only claims to be raw (CVE-2024-32498's family).
    with pytest.raises(ImageRefused, match="labelled raw"):
        stream_through(images[name][1], "raw")


@pytest.mark.parametrize("disk_format", ["ami", "ari", "aki", "ploop"])
def test_formats_no_inspector_reads_take_any_bytes(images, disk_format):
    data = images["qcow2-backing-file"][1]
    assert stream_through(data, disk_format, disk_format).inspected.virtual_size is None


@pytest.mark.parametrize("container", ["ovf", "ova", "docker", "compressed"])
def test_a_container_other_than_bare_skips_the_match_but_not_the_safety_checks(
        images, container):
    assert stream_through(images["raw"][1], "qcow2", container).inspected.format == "raw"
    with pytest.raises(ImageRefused, match="backing file"):
        stream_through(images["qcow2-backing-file"][1], "qcow2", container)


def test_with_the_match_not_required_only_the_safety_checks_refuse(images):
    rules = FormatRules(require_match=False)
    assert stream_through(images["raw"][1], "qcow2", rules=rules).inspected.format == "raw"
    with pytest.raises(ImageRefused, match="data_file"):
        stream_through(images["qcow2-data-file"][1], "qcow2", rules=rules)


def test_vmdk_create_types_can_be_narrowed(images):
    rules = FormatRules(vmdk_allowed_types=("monolithicSparse",))
    assert stream_through(images["vmdk-monolithicSparse"][1], "vmdk", rules=rules).inspected
    with pytest.raises(ImageRefused, match="streamoptimized is not allowed"):
        stream_through(images["vmdk-streamOptimized"][1], "vmdk", rules=rules)


def test_a_text_descriptor_claiming_a_sparse_type_is_refused():
    descriptor = (b'# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n'
                  b'createType="monolithicSparse"\nRW 2048 SPARSE "glance.sqlite"\n')
    with pytest.raises(ImageRefused, match="extents are other files"):
        stream_through(descriptor, "vmdk")


def test_options_are_registered_with_glance_names_and_read_into_rules():
    conf = cfg.ConfigOpts()
    options.register_opts(conf)
    conf([], default_config_files=[])
    assert FormatRules.from_conf(conf) == DEFAULT
    conf.set_override("disk_formats", ["raw", "qcow2"], group="image_format")
    conf.set_override("container_formats", ["bare"], group="image_format")
    check_allowed_formats(conf, {"disk_format": "qcow2", "container_format": "bare"})
    with pytest.raises(BadRequest, match="Invalid disk format 'vmdk' for image."):
        check_allowed_formats(conf, {"disk_format": "vmdk"})
    with pytest.raises(BadRequest, match="Invalid container format 'ovf' for image."):
        check_allowed_formats(conf, {"container_format": "ovf"})


# -- status -------------------------------------------------------------------

@pytest.mark.parametrize("path, mismatch, code", [
    ("/v2/images/x/file", True, 415), ("/v2/images/x/file", False, 400),
    ("/v1/images", True, 400), ("/v1/images", False, 400)])
def test_v2_answers_a_mismatch_with_415_and_everything_else_is_400(path, mismatch, code):
    app = flask.Flask(__name__)
    errors.install(app)

    @app.put(path)
    def refuse():
        raise ImageRefused("Image disk_format qcow2 does not match stream data raw",
                           mismatch=mismatch)

    resp = app.test_client().put(path, headers={"Accept": "application/json"})
    assert resp.status_code == code
    assert "does not match stream data raw" in resp.get_data(as_text=True)


# -- through the uploader -----------------------------------------------------

def _uploader(registry, datadir):
    class Quiet:
        def image_event(self, *args):
            pass

    return Uploader(registry, file_stores(datadir), Quiet(), storage_quota=0,
                    size_cap=1 << 40, heartbeat_interval=3600.0)


@pytest.mark.parametrize("policy", [KILL, REQUEUE])
@pytest.mark.parametrize("name", ["qcow2-backing-file", "raw-as-qcow2"])
def test_a_refused_upload_leaves_no_bytes_and_the_image_as_the_policy_says(
        images, tmp_path, policy, name):
    registry, datadir = FakeRegistry(), tmp_path / "images"
    datadir.mkdir()
    disk_format, data = images[name]
    image = registry.add(owner="tenant-a", disk_format=disk_format)
    with pytest.raises(ImageRefused):
        _uploader(registry, datadir).upload(ALICE, image, io.BytesIO(data),
                                            size=len(data), on_failure=policy)
    assert registry.images[image["id"]]["status"] == policy.status
    assert list(datadir.iterdir()) == []


def test_a_clean_upload_is_active_with_the_virtual_size_of_its_header(images, tmp_path):
    registry, datadir = FakeRegistry(), tmp_path / "images"
    datadir.mkdir()
    image = registry.add(owner="tenant-a", disk_format="qcow2")
    data = images["qcow2"][1]
    active = _uploader(registry, datadir).upload(ALICE, image, io.BytesIO(data))
    assert (active["status"], active["size"], active["virtual_size"]) == (
        "active", len(data), 1 << 20)


# -- hostile and broken headers: only ever our refusal --------------------------

@contextlib.contextmanager
def time_limit(seconds: float):
    """TimeoutError if the block runs longer: a hang fails the example."""
    def _expired(signum, frame):
        raise TimeoutError("inspection ran over %s s" % seconds)

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@st.composite
def damaged(draw, images):
    """A real image's header, truncated and with some bytes replaced, or garbage
    (binary, or text as a VMDK descriptor is, then binary)."""
    names = sorted(images)
    name = draw(st.sampled_from(names + ["garbage", "text"]))
    if name == "garbage":
        data = bytearray(draw(st.binary(max_size=4096)))
    elif name == "text":
        text = draw(st.text(string.printable, min_size=1, max_size=64))
        data = bytearray(text.encode() * draw(st.integers(1, 40))
                         + draw(st.binary(max_size=512)))
    else:
        whole = images[name][1]
        data = bytearray(whole[:draw(st.integers(0, min(len(whole), 200 * 1024)))])
        for _ in range(draw(st.integers(0, 8))):
            if data:
                at = draw(st.integers(0, len(data) - 1))
                data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data += draw(st.binary(max_size=2048))
    return bytes(data)


def test_broken_headers_only_ever_meet_the_refusal(images):
    @settings(max_examples=300, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=damaged(images), disk_format=st.sampled_from(INSPECTED_FORMATS),
           container=st.sampled_from(["bare", "ovf"]), chunk=st.integers(16, 70000))
    def check(data, disk_format, container, chunk):
        with time_limit(10):
            try:
                stream = stream_through(data, disk_format, container, chunk=chunk)
            except ImageRefused:
                return
        assert stream.inspected is not None

    check()


def test_the_detector_keeps_only_header_regions_whatever_it_reads(images):
    detector = Detector()
    for data in (images["vmdk-streamOptimized"][1], os.urandom(8 << 20)):
        for at in range(0, len(data), 512 * 1024):
            detector.feed(data[at:at + 512 * 1024])
    assert detector.held < 2 << 20
