"""The fault matrix's data path: uploads that go wrong on their way into a store.

Each case breaks one upload (the client goes away at 0, 50 or 99 % of the
body; the declared size, Content-Length or checksum do not match the body;
the size cap or the storage quota is crossed mid-stream; the store is full
or read-only) through one api (v1 or v2) of a pair on one database
(SQLite, PostgreSQL) and one store (file, Swift). Once the api has
recovered on its own, the image must be where its api's failure policy
puts it (v1 ``killed``, v2 ``queued``, and then open to a second upload),
no byte of it may remain in the store (partial files and segments
included), the recovery tool must find no orphan, no 5xx may be unexplained
(the client's or the api's own log), and the service must still take and
return an image whole. Every image the api accepted on the way must read
back byte-identical. Every case is one row of the campaign's fault table.

Not applicable, and recorded as such: a checksum mismatch through v2 (v2
takes no checksum from the client), and a full Swift store (the test
cluster has no quota middleware; its disks are a shared /dev/shm).

The default run takes each fault once, rotating over the combinations so
that every database, store and api appears; the full campaign
(``GLANCE_CAMPAIGN=full``) runs the whole cross product.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import socket
import uuid
from typing import Callable

import pytest
import requests

from tests.reliability import report
from tests.reliability.rig import MIB
from tests.reliability.rig import QUOTA
from tests.reliability.rig import QUOTA_PROJECT
from tests.reliability.rig import SIZE_CAP
from tests.reliability.rig import TIMEOUT
from tests.reliability.rig import Accepted
from tests.reliability.rig import Rig
from tests.reliability.rig import upload_whole
from tests.waiting import poll_until

DATABASES = ("sqlite", "postgresql")
STORES = ("file", "swift")
APIS = ("v1", "v2")
BODY = 3 * MIB  # three Swift segments: a fault mid-body strands some if anything does
PIECE = 256 * 1024
FAILED_STATUS = {"v1": "killed", "v2": "queued"}  # each api's failure policy


@dataclasses.dataclass
class Attempt:
    """What a fault case did: its image, the answers its client read, and the
    uploads the api accepted (a fault upload should never be one)."""

    image_id: str
    answers: list[int] = dataclasses.field(default_factory=list)
    accepted: list[Accepted] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)  # seen during the fault


@dataclasses.dataclass(frozen=True)
class Fault:
    """One row of the matrix: how to break an upload, and what the client should read."""

    name: str
    run: Callable[[Rig, str], Attempt]
    answer: int | None  # None: the client leaves before any answer
    explained_5xx: str = ""  # why a 5xx of this answer is the right one
    not_applicable: Callable[[str, str], str] = lambda store, api: ""


# --- a client that stops when the case says -------------------------------

class RawUpload:
    """An upload written by hand on a socket, so the case decides when the
    client stops sending, and whether it stays to read the answer."""

    def __init__(self, url: str, method: str, path: str, headers: dict,
                 length: int | None):
        host, port = url.split("//")[1].split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
        framing = ("Transfer-Encoding: chunked" if length is None
                   else "Content-Length: %d" % length)
        head = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%s" % (host, port), framing,
                "Content-Type: application/octet-stream"]
        head += ["%s: %s" % item for item in headers.items()]
        self.chunked = length is None
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())

    def send(self, data: bytes) -> None:
        for start in range(0, len(data), PIECE):
            piece = data[start:start + PIECE]
            self.sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if self.chunked else piece)

    def stop_and_read_answer(self) -> int:
        """Say the body is over (half-close), then read the answer's status;
        0 when the api closed without one."""
        # The api may have answered and shut its side already: its answer
        # is still there to read.
        with contextlib.suppress(OSError):
            if self.chunked:
                self.sock.sendall(b"0\r\n\r\n")
            self.sock.shutdown(socket.SHUT_WR)
        try:
            line = self.sock.makefile("rb").readline()
        finally:
            self.close()
        return int(line.split()[1]) if line.startswith(b"HTTP/") else 0

    def close(self) -> None:
        self.sock.close()


def _raw_upload(rig: Rig, api: str, length: int | None, owner: str | None = None,
                **headers) -> tuple[RawUpload, str]:
    """A raw upload of a new image (of project ``owner``) through ``api``: v1
    creates the image with the body, v2 creates it first and PUTs the body."""
    if api == "v1":
        image_id = str(uuid.uuid4())
        meta = {"x-image-meta-id": image_id, "x-image-meta-name": "fault",
                "x-image-meta-disk_format": "raw", "x-image-meta-container_format": "bare"}
        if owner:
            meta["x-image-meta-owner"] = owner
        return RawUpload(rig.url, "POST", "/v1/images", {**meta, **headers}, length), image_id
    image_id = rig.create_v2(**({"owner": owner} if owner else {}))
    return RawUpload(rig.url, "PUT", "/v2/images/%s/file" % image_id, headers,
                     length), image_id


def _answered(rig: Rig, api: str, attempt: Attempt, code: int, data: bytes) -> Attempt:
    attempt.answers.append(code)
    if code in (200, 201, 204):
        attempt.accepted.append(rig.read_back(api, attempt.image_id, data))
    return attempt


# --- the faults ------------------------------------------------------------

def disconnect_at(percent: int, chunked: bool = False) -> Callable[[Rig, str], Attempt]:
    """The client declares the whole body (or sends it chunked), sends
    ``percent`` of it and closes."""

    def run(rig: Rig, api: str) -> Attempt:
        data = os.urandom(BODY)
        sent = BODY * percent // 100
        upload, image_id = _raw_upload(rig, api, None if chunked else BODY)
        try:
            assert poll_until(lambda: rig.status(image_id) == "saving"), \
                "the upload never started"
            upload.send(data[:sent])
            # The bytes sent must have reached the store before the client
            # leaves, or the case would not test what it says.
            visible = sent // MIB * MIB if rig.store == "swift" else max(0, sent - MIB)
            assert poll_until(lambda: rig.bytes_left(image_id) >= visible), \
                "the store never held the %d bytes sent" % visible
        finally:
            upload.close()
        return Attempt(image_id)

    return run


def declared_size_mismatch(rig: Rig, api: str) -> Attempt:
    """The declared image size (x-image-meta-size, x-openstack-image-size) is
    half the body that comes with it."""
    data = os.urandom(BODY)
    header = "x-image-meta-size" if api == "v1" else "x-openstack-image-size"
    upload, image_id = _raw_upload(rig, api, BODY, **{header: str(BODY // 2)})
    upload.send(data)
    return _answered(rig, api, Attempt(image_id), upload.stop_and_read_answer(), data)


def content_length_mismatch(rig: Rig, api: str) -> Attempt:
    """Content-Length promises more than the client sends before it says it is done."""
    data = os.urandom(BODY)
    upload, image_id = _raw_upload(rig, api, BODY + MIB)
    upload.send(data)
    return _answered(rig, api, Attempt(image_id), upload.stop_and_read_answer(), data)


def checksum_mismatch(rig: Rig, api: str) -> Attempt:
    """v1's x-image-meta-checksum names other bytes than the body's."""
    data = os.urandom(BODY)
    wrong = hashlib.md5(data + b"!").hexdigest()
    upload, image_id = _raw_upload(rig, api, BODY, **{"x-image-meta-checksum": wrong})
    upload.send(data)
    return _answered(rig, api, Attempt(image_id), upload.stop_and_read_answer(), data)


def chunked_beyond(size: int, owner: str | None = None) -> Callable[[Rig, str], Attempt]:
    """A chunked body (no size known in advance) of ``size`` bytes."""

    def run(rig: Rig, api: str) -> Attempt:
        data = os.urandom(size)
        upload, image_id = _raw_upload(rig, api, None, owner=owner)
        with contextlib.suppress(OSError):  # the api may stop reading early
            upload.send(data)
        return _answered(rig, api, Attempt(image_id), upload.stop_and_read_answer(), data)

    return run


def quota_crossed(rig: Rig, api: str) -> Attempt:
    """A chunked body crosses the project's storage quota; then an image that
    fits must still be taken, or the failed upload kept its hold on the quota."""
    attempt = chunked_beyond(QUOTA + MIB, owner=QUOTA_PROJECT)(rig, api)
    data = os.urandom(QUOTA - MIB)
    fitting = upload_whole(rig, api, data, owner=QUOTA_PROJECT)
    if fitting is None:
        attempt.problems.append("an image within the quota was refused afterwards")
    else:
        attempt.accepted.append(rig.read_back(api, fitting, data))
        requests.delete(rig.url + "/v1/images/" + fitting, timeout=TIMEOUT)
    return attempt


def store_full(declared: bool) -> Callable[[Rig, str], Attempt]:
    """The file store's tmpfs has 1 MiB of room for a 3 MiB image, sent with
    its size declared (refused up front) or chunked (found full mid-stream)."""

    def run(rig: Rig, api: str) -> Attempt:
        with rig.remounted("size=1m"):
            if not declared:
                return chunked_beyond(BODY)(rig, api)
            data = os.urandom(BODY)
            upload, image_id = _raw_upload(rig, api, BODY)
            with contextlib.suppress(OSError):  # the api may refuse before the body
                upload.send(data)
            return _answered(rig, api, Attempt(image_id), upload.stop_and_read_answer(), data)

    return run


def store_read_only(rig: Rig, api: str) -> Attempt:
    """The store turned read-only: the file store's tmpfs remounted ro, the
    Swift container's write ACL taken from the api's user."""
    with rig.read_only():
        attempt = chunked_beyond(MIB)(rig, api)
        # A load balancer must route away from an api whose file store cannot
        # take writes (the health check does not probe remote stores).
        health = requests.get(rig.url + "/healthcheck", timeout=TIMEOUT).status_code
        if rig.store == "file" and health != 503:
            attempt.problems.append("/healthcheck answered %d while the store was "
                                    "read-only" % health)
    return attempt


def _v1_only(store: str, api: str) -> str:
    return "" if api == "v1" else "v2 takes no checksum from the client"


def _file_only(store: str, api: str) -> str:
    if store == "file":
        return ""
    return ("the test cluster has no quota middleware and shares /dev/shm: no honest "
            "way to fill only this container")


FAULTS = [
    Fault("disconnect at 0 %", disconnect_at(0), None),
    Fault("disconnect at 50 %", disconnect_at(50), None),
    Fault("disconnect at 99 %", disconnect_at(99), None),
    # A chunked body is read by another reader than one with a Content-Length.
    Fault("disconnect at 50 %, chunked", disconnect_at(50, chunked=True), None),
    Fault("declared size != body", declared_size_mismatch, 400),
    Fault("Content-Length > body", content_length_mismatch, 400),
    Fault("checksum mismatch", checksum_mismatch, 400, not_applicable=_v1_only),
    Fault("size cap crossed mid-stream", chunked_beyond(SIZE_CAP + 2 * MIB), 413),
    Fault("quota crossed mid-stream", quota_crossed, 413),
    Fault("store full, chunked", store_full(declared=False), 413,
          not_applicable=_file_only),
    Fault("store full, size declared", store_full(declared=True), 413,
          not_applicable=_file_only),
    Fault("store read-only", store_read_only, 503,
          explained_5xx="503: the store refuses writes; the service is otherwise up"),
]
# Rotated over by the default run: each database, store and api appears.
COMBINATIONS = [("sqlite", "file", "v1"), ("postgresql", "swift", "v2"),
                ("sqlite", "swift", "v1"), ("postgresql", "file", "v2"),
                ("sqlite", "file", "v2"), ("postgresql", "swift", "v1"),
                ("sqlite", "swift", "v2"), ("postgresql", "file", "v1")]


def cases(full: bool) -> list:
    """(fault, database, store, api) to run: all of them, or each fault once."""
    if full:
        return [pytest.param(f, d, s, a, id="%s-%s-%s-%s" % (f.name, d, s, a))
                for f in FAULTS for d in DATABASES for s in STORES for a in APIS]
    chosen = []
    for number, fault in enumerate(FAULTS):
        for turn in range(len(COMBINATIONS)):
            d, s, a = COMBINATIONS[(number + turn) % len(COMBINATIONS)]
            if not fault.not_applicable(s, a):
                chosen.append(pytest.param(fault, d, s, a,
                                           id="%s-%s-%s-%s" % (fault.name, d, s, a)))
                break
    return chosen


@pytest.mark.parametrize("fault,database,store,api", cases(report.full()))
def test_an_upload_fault_leaves_no_bytes_no_stuck_image_and_a_healthy_service(
        request, fault_rig, fault, database, store, api):
    columns = {"database": database, "store": store, "api": api}
    why_not = fault.not_applicable(store, api)
    if why_not:
        report.record("faults", fault.name, **columns, status="n/a", outcome="n/a: " + why_not)
        return
    rig = fault_rig(request, database, store)
    mark, held_before = rig.log_mark(), set(rig.files_left())
    try:
        attempt = fault.run(rig, api)
    except AssertionError as exc:  # the fault could not be staged: still a row
        report.record("faults", fault.name, **columns, status="?",
                      outcome="not staged: %s" % str(exc).splitlines()[0])
        raise
    status = rig.settle(attempt.image_id)
    left = rig.bytes_left(attempt.image_id)
    scan = rig.orphans()
    # A 503 of the health check during the fault is its right answer, checked apart.
    server_5xx = [line for line in rig.server_errors_since(mark)
                  if " /healthcheck " not in line]
    problems = list(attempt.problems)
    if api == "v2" and status == "queued":
        problems += _retry_takes(rig, attempt)
    healthy, probe = rig.healthy(api)
    accepted = attempt.accepted + ([probe] if probe else [])

    if fault.answer is not None and attempt.answers != [fault.answer]:
        problems.append("answered %s, not %d" % (attempt.answers, fault.answer))
    if status != FAILED_STATUS[api]:
        problems.append("image %s, not %s" % (status, FAILED_STATUS[api]))
    if left:
        problems.append("%d bytes left in the store" % left)
    if scan.orphans:
        problems.append("orphans: %s" % "; ".join(scan.orphans))
    client_5xx = [code for code in attempt.answers if code >= 500]
    problems += _unexplained(fault, client_5xx, server_5xx)
    if not healthy:
        problems.append("unhealthy afterwards")
    if any(not each.identical for each in accepted):
        problems.append("an accepted image does not read back as sent")
    orphans = len(scan.orphans) if store not in scan.unchecked else "unchecked"
    report.record("faults", fault.name, **columns,
                  answer=attempt.answers[0] if attempt.answers else "gone",
                  status=status, bytes_left=left, orphans=orphans,
                  errors_5xx=len(client_5xx), healthy="yes" if healthy else "no",
                  read_back="%d/%d identical" % (sum(a.identical for a in accepted),
                                                 len(accepted)),
                  outcome="; ".join(problems) or (
                      "ok (%s)" % fault.explained_5xx if client_5xx else "ok"))
    assert not problems, problems
    # The case's image failed and the probe and retried images were deleted:
    # nothing else the case wrote (another image's partial file or segment) is left.
    assert set(rig.files_left()) <= held_before


def _unexplained(fault: Fault, client_5xx: list[int], server_5xx: list[str]) -> list[str]:
    """5xx answers the fault does not explain, whether the client read them or
    only the api's log has them (a client that left reads nothing)."""
    unexplained = [code for code in client_5xx if not fault.explained_5xx]
    unexplained += [line for line in server_5xx
                    if not fault.explained_5xx or " %d " % fault.answer not in line]
    if unexplained:
        return ["unexplained 5xx: %s" % unexplained]
    if len(server_5xx) != len(client_5xx):
        return ["the api logged %d 5xx, the client read %d"
                % (len(server_5xx), len(client_5xx))]
    return []


def _retry_takes(rig: Rig, attempt: Attempt) -> list[str]:
    """v2 puts a failed upload's image back to queued so that the upload can be
    tried again: it must then take the bytes (the image is deleted after)."""
    image = requests.get(rig.url + "/v2/images/" + attempt.image_id, timeout=TIMEOUT).json()
    problems = ["the requeued image still shows %s" % key
                for key in ("size", "checksum", "os_hash_value") if image.get(key)]
    data = os.urandom(64 * 1024)
    resp = requests.put(rig.url + "/v2/images/%s/file" % attempt.image_id, data=data,
                        headers={"Content-Type": "application/octet-stream"},
                        timeout=TIMEOUT)
    if resp.status_code != 204:
        problems.append("a second upload into the requeued image got %d" % resp.status_code)
    else:
        attempt.accepted.append(rig.read_back("v2", attempt.image_id, data))
    requests.delete(rig.url + "/v2/images/" + attempt.image_id, timeout=TIMEOUT)
    return problems


@pytest.mark.parametrize("store", STORES)
def test_the_rig_sees_partial_bytes_and_the_tool_calls_them_orphans(
        request, fault_rig, store):
    """The instruments themselves: bytes a crashed upload would leave are
    counted, and the recovery tool names them where it can list the store."""
    rig = fault_rig(request, "sqlite", store)
    upload, image_id = _raw_upload(rig, "v1", BODY)
    assert poll_until(lambda: rig.status(image_id) == "saving")
    upload.close()
    assert rig.settle(image_id) == "killed"
    if store == "file":
        planted = rig.datadir / (".%s.%s.part" % (image_id, "ab" * 8))
        planted.write_bytes(b"p" * 1000)
        try:
            assert rig.bytes_left(image_id) == 1000
            scan = rig.orphans()
            assert [line for line in scan.orphans if image_id in line] == scan.orphans
            assert len(scan.orphans) == 1
        finally:
            planted.unlink()
    else:
        admin = rig.swift.connection()
        admin.put_object(rig.container, image_id + "-00001", b"p" * 1000)
        assert rig.bytes_left(image_id) == 1000
        scan = rig.orphans()
        assert "swift" not in scan.unchecked
        assert len(scan.orphans) == 1 and image_id + "-00001" in scan.orphans[0]
        rig.orphans(delete=True)
        assert rig.bytes_left(image_id) == 0
        assert rig.orphans().orphans == []
    assert rig.files_left() == []
