"""Fault matrix, processes half: daemons killed and dependencies gone mid-traffic.

Each case breaks one thing under real daemons, brings it back, and then
checks what an operator would: where the images it hit ended (never stuck
in ``saving``), the bytes left in the store for them, the orphans
``glance-scrubber --orphans`` finds, every 5xx (a 503 while a dependency is
down is explained; anything else is not), that the service is healthy
again, and that every image uploaded before the fault reads back
byte-identical. One row per case goes to the ``faults`` table.

The default run tries each fault once, rotating the database and API
version from fault to fault; ``GLANCE_CAMPAIGN=full`` tries every
combination.

Dependencies that other tests share (Swift's proxy, RabbitMQ, Keystone)
are made to vanish through a forwarder (tests/reliability/forwarder.py)
the api is pointed at, never by stopping the shared service; PostgreSQL
is restarted as a private server of this module's own.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import threading
import time
import uuid

import pytest
import requests
import urllib3

from tests import rabbit
from tests.pairs import Glance
from tests.pairs import database
from tests.pairs import migrate
from tests.reliability import processes as p
from tests.reliability.forwarder import Forwarder
from tests.reliability.report import full
from tests.reliability.report import record
from tests.required import unavailable
from tests.waiting import poll_until

DATABASES = ("sqlite", "postgresql")
APIS = ("v1", "v2")
# In this order the default run needs one Swift-backed pair, not two: both
# Swift faults fall on SQLite, one through each API.
FAULTS = ("registry-kill-upload", "registry-kill-list", "api-worker-kill-upload",
          "api-master-kill-upload", "swift-kill-upload", "rabbitmq-down",
          "swift-kill-download", "keystone-down", "postgresql-restart")
KIB = 1024
MIB = 1024 * KIB
HEARTBEAT = 1  # seconds: an abandoned upload is swept after four of them


def matrix(fault: str) -> list[tuple[str, str]]:
    """The (database, api) pairs a fault is tried on in this run."""
    if full():
        return [(db, api) for db in DATABASES for api in APIS]
    turn = FAULTS.index(fault)
    return [(DATABASES[turn % 2], APIS[(turn // 2) % 2])]


def _ids(combos) -> list[str]:
    """Test ids: database-api."""
    return ["%s-%s" % combo for combo in combos]


def conclude(fault: str, *, pair: Glance, tally: p.Tally, database: str, store: str,
             api: str, hit: dict[str, str], good: dict[str, bytes],
             bytes_left: int | None = None, status: str | None = None,
             checks: dict[str, bool] | None = None, headers: dict | None = None) -> None:
    """Take the case's figures, record its row, and require the targets.

    ``hit`` maps the images the fault struck to the status each must end
    in; ``good`` the images answered 201/204 to their data; ``checks`` are
    the case's own further requirements, by name; ``headers`` go with the
    downloads (a token).
    """
    finals = {image_id: p.status_of(pair, image_id) for image_id in hit}
    left = p.file_bytes(pair, hit) if bytes_left is None else bytes_left
    # An empty .part file holds no bytes but is left behind all the same.
    files_left = [entry.name for entry in p.store_files(pair, hit)]
    found = p.orphans(pair)
    is_healthy = p.healthy(pair)
    wrong = p.reads_back(pair, good, headers)
    unexplained = tally.unexplained
    failed = [name for name, ok in {
        "final status": finals == hit, "bytes left": left == 0,
        "files left": not files_left, "orphans": found == 0,
        "unexplained 5xx": not unexplained, "healthy": is_healthy,
        "earlier images intact": not wrong, **(checks or {})}.items() if not ok]
    record("faults", fault, database=database, store=store, api=api,
           status=status or ",".join(sorted(set(finals.values()))) or "-",
           bytes_left=left, orphans=found, errors_5xx=tally.errors_5xx,
           unexplained_5xx=len(unexplained), healthy=is_healthy,
           outcome="pass" if not failed else "FAIL: " + ", ".join(failed))
    assert not failed, {"failed": failed, "finals": finals, "expected": hit,
                        "bytes_left": left, "files_left": files_left, "orphans": found,
                        "wrong": wrong, "unexplained": unexplained}


# --- pairs -------------------------------------------------------------------

class Pairs:
    """One pair per database for the module, started when first asked for,
    and started afresh if a case left it broken."""

    def __init__(self, request, tmp_path_factory, name: str, options=None, **fixed):
        """``options(db)`` gives each pair's Glance options, or ``fixed`` does."""
        self._request, self._factory = request, tmp_path_factory
        self._name, self._options = name, options or (lambda db: dict(fixed))
        self._pairs: dict[str, Glance] = {}

    def on(self, db: str) -> Glance:
        """The healthy pair on ``db``."""
        pair = self._pairs.get(db)
        if pair is not None and not p.healthy(pair):
            pair.stop()
            pair = None
        if pair is None:
            url = database(self._request, self._factory, db)
            pair = Glance(self._factory.mktemp("%s-%s" % (self._name, db)), url,
                          **self._options(db))
            self._pairs[db] = pair
        return pair

    def stop(self) -> None:
        """Stop every pair started."""
        for pair in self._pairs.values():
            pair.stop()


@pytest.fixture(scope="module")
def pairs(request, tmp_path_factory):
    """Pairs on file stores whose abandoned uploads are swept within seconds."""
    made = Pairs(request, tmp_path_factory, "faults", upload_heartbeat_interval=HEARTBEAT)
    yield made
    made.stop()


@pytest.fixture
def uploads():
    """Raw uploads of the case, closed at its end even when it fails: an open
    one would hold a daemon's graceful stop for its whole timeout."""
    started: list[p.RawUpload] = []
    yield started
    for upload in started:
        upload.close()


# --- registry killed ---------------------------------------------------------

def _start_upload(pair: Glance, api: str, uploads: list) -> p.RawUpload:
    """An upload that has reached ``saving`` with bytes in the store."""
    image_id = str(uuid.uuid4()) if api == "v1" else p.create(pair, api)
    upload = p.RawUpload(pair.url, api, image_id)
    uploads.append(upload)
    upload.send(os.urandom(64 * KIB))
    assert poll_until(lambda: p.status_of(pair, image_id) == "saving")
    assert poll_until(lambda: p.store_files(pair, [image_id]) != [])
    return upload


def _good_upload(pair: Glance, api: str, tally: p.Tally) -> dict[str, bytes]:
    data = os.urandom(100 * KIB + 7)
    image_id, status = p.upload(pair, api, data, tally)
    assert p.uploaded(status, api), status
    return {image_id: data}


@pytest.mark.parametrize("db,api", matrix("registry-kill-upload"),
                         ids=_ids(matrix("registry-kill-upload")))
def test_registry_killed_mid_upload_is_503_then_swept(pairs, uploads, db, api):
    pair = pairs.on(db)
    tally = p.Tally()
    good = _good_upload(pair, api, tally)
    upload = _start_upload(pair, api, uploads)

    tally.down()
    started = time.monotonic()
    p.kill_group(pair.registry)
    upload.send(os.urandom(64 * KIB))
    answered = upload.finish()
    tally.note("upload while the registry is dead", started, answered)
    pair.restart_registry()
    assert poll_until(lambda: p.healthy(pair))
    tally.up()

    assert answered == 503
    assert p.settled(pair, upload.image_id, p.failure_status(api))
    conclude("registry-kill-upload", pair=pair, tally=tally, database=db, store="file",
             api=api, hit={upload.image_id: p.failure_status(api)}, good=good)


def _page(pair: Glance, api: str, name: str, marker: str | None, tally: p.Tally):
    """One page of 5 images named ``name``: (status, ids)."""
    params = {"name": name, "limit": 5}
    if marker:
        params["marker"] = marker
    path = "/v1/images/detail" if api == "v1" else "/v2/images"
    resp = tally.call("GET", pair.url + path, params=params)
    if resp.status_code != 200:
        return resp.status_code, []
    images = resp.json()["images"]
    return 200, [image["id"] for image in images]


@pytest.mark.parametrize("db,api", matrix("registry-kill-list"),
                         ids=_ids(matrix("registry-kill-list")))
def test_registry_killed_mid_list_is_503_and_the_listing_resumes(pairs, db, api):
    pair = pairs.on(db)
    tally = p.Tally()
    name = "listed-%s" % secrets.token_hex(4)
    created = {pair.registry_create({"name": name, "status": "active", "size": 0,
                                     "visibility": "public", **p.RAW})["id"]
               for _ in range(12)}
    status, seen = _page(pair, api, name, None, tally)
    assert status == 200 and len(seen) == 5

    stop = threading.Event()
    background: list[int] = []

    def keep_listing():
        while not stop.is_set():
            background.append(_page(pair, api, name, None, tally)[0])

    lister = threading.Thread(target=keep_listing, daemon=True)
    tally.down()
    lister.start()
    try:
        assert poll_until(lambda: len(background) >= 3)
        p.kill_group(pair.registry)
        during, _ = _page(pair, api, name, seen[-1], tally)
        pair.restart_registry()
        assert poll_until(lambda: p.healthy(pair))
    finally:
        stop.set()
        lister.join(p.TIMEOUT)
    tally.up()

    marker = seen[-1]
    while True:
        status, ids = _page(pair, api, name, marker, tally)
        assert status == 200
        if not ids:
            break
        seen += ids
        marker = ids[-1]
    whole = sorted(seen) == sorted(created)
    conclude("registry-kill-list", pair=pair, tally=tally, database=db, store="file",
             api=api, hit={}, good={},
             status="page during outage %s; listed %d/%d" % (during, len(set(seen)),
                                                             len(created)),
             checks={"503 during outage": during == 503, "whole listing": whole,
                     "background only 200/503": set(background) <= {200, 503}})


# --- api killed --------------------------------------------------------------

@pytest.mark.parametrize("db,api", matrix("api-worker-kill-upload"),
                         ids=_ids(matrix("api-worker-kill-upload")))
def test_api_worker_killed_mid_upload_is_replaced_and_the_upload_swept(pairs, uploads, db, api):
    pair = pairs.on(db)
    tally = p.Tally()
    good = _good_upload(pair, api, tally)
    upload = _start_upload(pair, api, uploads)

    started = time.monotonic()
    killed = p.kill_workers(pair.api)
    answered = upload.finish()
    tally.note("upload on the killed worker", started, answered)
    assert poll_until(lambda: p.workers_replaced(pair.api, killed))
    assert poll_until(lambda: p.healthy(pair))

    assert answered is None  # the connection died with its worker
    assert p.settled(pair, upload.image_id, p.failure_status(api))
    conclude("api-worker-kill-upload", pair=pair, tally=tally, database=db, store="file",
             api=api, hit={upload.image_id: p.failure_status(api)}, good=good)


@pytest.mark.parametrize("db,api", matrix("api-master-kill-upload"),
                         ids=_ids(matrix("api-master-kill-upload")))
def test_api_master_killed_mid_upload_is_swept_after_restart(pairs, uploads, db, api):
    pair = pairs.on(db)
    tally = p.Tally()
    good = _good_upload(pair, api, tally)
    upload = _start_upload(pair, api, uploads)

    started = time.monotonic()
    p.kill_group(pair.api)
    answered = upload.finish()
    tally.note("upload on the killed api", started, answered)
    # Nobody is left to clean up until an api runs again.
    assert p.status_of(pair, upload.image_id) == "saving"
    assert p.store_files(pair, [upload.image_id]) != []
    pair.api = p.restart(pair.api)

    assert answered is None
    assert p.settled(pair, upload.image_id, p.failure_status(api))
    conclude("api-master-kill-upload", pair=pair, tally=tally, database=db, store="file",
             api=api, hit={upload.image_id: p.failure_status(api)}, good=good)


# --- Swift's proxy gone ------------------------------------------------------

@pytest.fixture(scope="module")
def swift_pairs(request, tmp_path_factory):
    """Pairs storing in Swift through a forwarder to the session's proxy.

    The proxy is shared by the whole run, so it is the forwarder that is
    stopped: to the api that is a proxy killed (connections reset, new ones
    refused). tempauth builds the storage URL from the Host the api sent,
    so object requests go through the forwarder too.
    """
    cluster = request.getfixturevalue("swift_cluster")
    forwarder = Forwarder(cluster.ports["proxy"])

    def options(db: str) -> dict:
        return {"upload_heartbeat_interval": HEARTBEAT, "image_size_cap": 64 * MIB,
                "sections": {"glance_store": {
                    "stores": "file,http,swift", "default_store": "swift",
                    "filesystem_store_datadir": str(tmp_path_factory.mktemp("unused")),
                    "swift_store_auth_address": forwarder.url + "/auth/v1.0",
                    "swift_store_auth_version": "1",
                    "swift_store_user": cluster.user, "swift_store_key": cluster.key,
                    "swift_store_container": "glance-faults-%s-%s" % (
                        db, secrets.token_hex(4)),
                    "swift_store_create_container_on_put": "true",
                    "swift_store_large_object_size": "1",
                    "swift_store_large_object_chunk_size": "1"}}}

    made = Pairs(request, tmp_path_factory, "swift", options)
    try:
        yield made, forwarder, cluster
    finally:
        forwarder.start()  # whatever a failed case left, the api may clean up
        made.stop()
        forwarder.stop()


def swift_bytes(cluster, pair: Glance, image_ids) -> int:
    """Bytes Swift holds in the pair's container for ``image_ids`` (segments too)."""
    from swiftclient import client

    container = pair.sections["glance_store"]["swift_store_container"]
    try:
        _, objects = cluster.connection().get_container(container, full_listing=True)
    except client.ClientException as exc:
        if exc.http_status == 404:
            return 0
        raise
    return sum(entry["bytes"] for entry in objects
               if any(entry["name"].startswith(i) for i in image_ids))


def swift_objects(cluster, pair: Glance, image_id: str) -> int:
    """How many objects (segments, manifest) Swift holds for ``image_id``."""
    container = pair.sections["glance_store"]["swift_store_container"]
    return len([name for name in cluster.list_container(container)
                if name.startswith(image_id)])


@pytest.mark.parametrize("db,api", matrix("swift-kill-upload"),
                         ids=_ids(matrix("swift-kill-upload")))
def test_swift_proxy_gone_mid_upload_is_503_and_leaves_no_segments(
        swift_pairs, uploads, db, api):
    made, forwarder, cluster = swift_pairs
    pair = made.on(db)
    tally = p.Tally()
    good = _good_upload(pair, api, tally)
    image_id = str(uuid.uuid4()) if api == "v1" else p.create(pair, api)
    upload = p.RawUpload(pair.url, api, image_id)
    uploads.append(upload)
    for _ in range(5):  # 1.25 MiB: the first 1 MiB segment is stored whole
        upload.send(os.urandom(256 * KIB))
    assert poll_until(lambda: swift_objects(cluster, pair, image_id) > 0)

    tally.down()
    started = time.monotonic()
    mark = len(pair.api.log_text())
    forwarder.stop()
    upload.send(os.urandom(256 * KIB))
    answered = upload.finish()
    tally.note("upload while Swift is gone", started, answered)
    # Swift stays away until the api's retry of the removal has failed once:
    # by then no other removal (the upload's own, or the sweep's when the
    # failing upload outlived its heartbeats) is still trying, so once Swift
    # is back only the retry can remove the segments.
    assert poll_until(lambda: any(
        image_id in line and "failed again" in line
        for line in pair.api.log_text()[mark:].splitlines()), timeout=p.RECOVERY)
    forwarder.start()
    assert poll_until(lambda: p.healthy(pair))
    tally.up()

    assert p.settled(pair, image_id, p.failure_status(api))
    # The api could not remove the segments while Swift was gone: it retries
    # (glance_api.data.leftovers) on its sweep's passes once Swift is back.
    poll_until(lambda: swift_bytes(cluster, pair, [image_id]) == 0, timeout=p.RECOVERY)
    left = swift_bytes(cluster, pair, [image_id])
    conclude("swift-kill-upload", pair=pair, tally=tally, database=db, store="swift",
             api=api, hit={image_id: p.failure_status(api)}, good=good,
             bytes_left=left, status="%s, answered %s" % (
                 p.status_of(pair, image_id), answered),
             checks={"503 while Swift is gone": answered == 503})


@pytest.mark.parametrize("db,api", matrix("swift-kill-download"),
                         ids=_ids(matrix("swift-kill-download")))
def test_swift_proxy_gone_mid_download_cuts_it_short_and_serves_after(
        swift_pairs, db, api):
    made, forwarder, cluster = swift_pairs
    pair = made.on(db)
    tally = p.Tally()
    data = os.urandom(12 * MIB + 5)
    image_id, status = p.upload(pair, api, data, tally)
    assert p.uploaded(status, api), status
    path = ("/v1/images/%s" if api == "v1" else "/v2/images/%s/file") % image_id

    started = time.monotonic()
    resp = requests.get(pair.url + path, stream=True, timeout=p.TIMEOUT)
    assert resp.status_code == 200
    got = resp.raw.read(256 * KIB)
    tally.down()
    forwarder.stop()
    try:
        while chunk := resp.raw.read(64 * KIB):
            got += chunk
    except (urllib3.exceptions.HTTPError, OSError):
        cut = True  # the api gave up on the body mid-way: all it can do after a 200
    else:
        cut = False
    finally:
        resp.close()
    tally.note("download while Swift went away", started, resp.status_code)
    during = tally.call("GET", pair.url + path).status_code
    forwarder.start()
    assert poll_until(lambda: p.healthy(pair))
    tally.up()

    outcome = "cut at %d of %d bytes" % (len(got), len(data)) if cut else "whole"
    conclude("swift-kill-download", pair=pair, tally=tally, database=db, store="swift",
             api=api, hit={}, good={image_id: data},
             bytes_left=0, status="download %s; %s while gone" % (outcome, during),
             checks={"cut short or whole, never wrong": data.startswith(got)
                     and (cut or got == data),
                     "503 while Swift is gone": during == 503})


# --- RabbitMQ gone -----------------------------------------------------------

@pytest.fixture(scope="module")
def rabbit_pairs(request, tmp_path_factory):
    """Pairs notifying through a forwarder to the machine's RabbitMQ."""
    rabbit.require_broker()
    forwarder = Forwarder(rabbit.PORT)
    topic = "glance_faults_%s" % secrets.token_hex(4)
    made = Pairs(request, tmp_path_factory, "rabbit", upload_heartbeat_interval=HEARTBEAT,
                 transport_url="rabbit://guest:guest@127.0.0.1:%d/" % forwarder.port,
                 control_exchange=topic, sections={"oslo_messaging_notifications": {
                     "driver": "messagingv2", "topics": topic}})
    try:
        yield made, forwarder
    finally:
        made.stop()
        forwarder.stop()
        _remove_from_broker(topic)


def _remove_from_broker(topic: str) -> None:
    """Delete the queues and exchange the api declared on the shared broker."""
    import kombu

    # RabbitMQ deletes idempotently: a queue never declared is no error.
    with kombu.Connection("amqp://guest:guest@%s:%d//" % (rabbit.HOST, rabbit.PORT)) as conn:
        channel = conn.channel()
        for priority in rabbit.PRIORITIES:
            channel.queue_delete("%s.%s" % (topic, priority))
        channel.exchange_delete(topic)


@pytest.mark.parametrize("db,api", matrix("rabbitmq-down"), ids=_ids(matrix("rabbitmq-down")))
def test_rabbitmq_gone_leaves_uploads_and_deletes_working(rabbit_pairs, db, api):
    made, forwarder = rabbit_pairs
    pair = made.on(db)
    tally = p.Tally()
    good: dict[str, bytes] = {}

    def round_trip(keep: bool = False) -> bool:
        data = os.urandom(64 * KIB + 1)
        image_id, status = p.upload(pair, api, data, tally)
        if not p.uploaded(status, api):
            return False
        if keep:
            good[image_id] = data
            return True
        return p.deleted(p.delete(pair, api, image_id, tally), api)

    sent = forwarder.sent
    assert round_trip(keep=True)
    assert poll_until(lambda: forwarder.sent > sent)  # it does publish through us

    tally.down()
    forwarder.stop()
    while_down = [round_trip() for _ in range(3)] + [round_trip(keep=True)]
    # Stopping reset every connection: publishing again takes a new one,
    # which the queued events may open the moment the broker is back, so
    # count from before the start.
    connected = forwarder.accepted
    forwarder.start()
    tally.up()
    after = round_trip()
    resumed = poll_until(lambda: forwarder.accepted > connected)
    conclude("rabbitmq-down", pair=pair, tally=tally, database=db, store="file", api=api,
             hit={}, good=good,
             status="%d/%d round trips while down; publishing resumed: %s" % (
                 sum(while_down), len(while_down), resumed),
             checks={"uploads and deletes while down": all(while_down),
                     "round trip after": after, "publishing resumed": resumed,
                     "no 5xx": tally.errors_5xx == 0})


# --- Keystone gone -----------------------------------------------------------

@pytest.fixture(scope="module")
def keystone_pairs(request, tmp_path_factory):
    """A Keystone of this module's own whose catalog names a forwarder, and
    pairs validating tokens through it.

    Not the session's Keystone: auth_token validates at the identity
    endpoint of the catalog, which must name the forwarder for stopping it
    to take Keystone away.
    """
    from tests.keystone import Keystone

    try:
        server = Keystone.start(tmp_path_factory.mktemp("keystone-faults"))
    except Exception as exc:  # noqa: BLE001  install, bootstrap or start
        unavailable("Keystone could not be set up: %s" % exc)
    forwarder = Forwarder(int(server.url.rsplit(":", 1)[1]))
    try:
        _point_catalog_at(server, forwarder.url + "/v3/")
        auth_url = forwarder.url + "/v3"
        made = Pairs(request, tmp_path_factory, "keystone",
                     upload_heartbeat_interval=HEARTBEAT,
                     keystone=server.authtoken_section(www_authenticate_uri=auth_url,
                                                       auth_url=auth_url),
                     service_token=lambda: server.token("glance"))
        try:
            yield made, forwarder, server
        finally:
            forwarder.start()
            made.stop()
    finally:
        forwarder.stop()
        server.stop()


def _point_catalog_at(server, url: str) -> None:
    admin = {"X-Auth-Token": server.token("admin", "admin")}
    resp = requests.get(server.auth_url + "/endpoints", headers=admin, timeout=30)
    resp.raise_for_status()
    for endpoint in resp.json()["endpoints"]:
        requests.patch(server.auth_url + "/endpoints/" + endpoint["id"], headers=admin,
                       json={"endpoint": {"url": url}}, timeout=30).raise_for_status()


@pytest.mark.parametrize("db,api", matrix("keystone-down"), ids=_ids(matrix("keystone-down")))
def test_keystone_gone_keeps_cached_tokens_and_refuses_new_ones_with_503(
        keystone_pairs, db, api):
    made, forwarder, server = keystone_pairs
    pair = made.on(db)
    tally = p.Tally()
    alice = {"X-Auth-Token": server.token("alice")}
    good = _good_upload_as(pair, api, tally, alice)
    assert p.listing(pair, api, tally, alice).status_code == 200
    bob = {"X-Auth-Token": server.token("bob")}  # the api has never seen it

    tally.down()
    forwarder.stop()
    cached_list = p.listing(pair, api, tally, alice).status_code
    data = os.urandom(32 * KIB)
    cached_id, cached_upload = p.upload(pair, api, data, tally, alice)
    new_token = p.listing(pair, api, tally, bob).status_code
    forwarder.start()
    assert poll_until(lambda: p.healthy(pair))
    tally.up()
    after = p.listing(pair, api, tally, bob).status_code

    if p.uploaded(cached_upload, api):
        good[cached_id] = data
    conclude("keystone-down", pair=pair, tally=tally, database=db, store="file", api=api,
             hit={}, good=good, headers=alice,
             status="cached token %s/%s, new token %s, after %s" % (
                 cached_list, cached_upload, new_token, after),
             checks={"cached token lists": cached_list == 200,
                     "cached token uploads": p.uploaded(cached_upload, api),
                     "new token 503": new_token == 503, "new token after": after == 200})


def _good_upload_as(pair: Glance, api: str, tally: p.Tally, headers: dict) -> dict:
    data = os.urandom(100 * KIB + 7)
    image_id, status = p.upload(pair, api, data, tally, headers)
    assert p.uploaded(status, api), status
    return {image_id: data}


# --- PostgreSQL restarted ----------------------------------------------------

@pytest.fixture(scope="module")
def private_postgres():
    """A PostgreSQL server of the module's own, which a case may restart."""
    try:
        server = p.PrivatePostgres()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        unavailable("cannot run a private PostgreSQL: %s" % exc)
    yield server
    server.close()


@pytest.mark.parametrize("api", APIS if full() else [matrix("postgresql-restart")[0][1]])
def test_postgresql_restarted_mid_traffic_daemons_reconnect(
        private_postgres, tmp_path_factory, api):
    url = private_postgres.create_database()
    migrate(url)
    pair = Glance(tmp_path_factory.mktemp("pg-restart"), url,
                  upload_heartbeat_interval=HEARTBEAT)
    try:
        _restart_mid_traffic(private_postgres, pair, api)
    finally:
        pair.stop()


def _pids(pair: Glance) -> dict[str, set[int]]:
    """The live processes of each daemon (master and workers): a crash, even
    one its master recovered from, changes them."""
    return {d.name: ({d.process.pid} | set(p.children(d.process.pid)))
            if d.process.poll() is None else set() for d in (pair.registry, pair.api)}


def _restart_mid_traffic(server: p.PrivatePostgres, pair: Glance, api: str) -> None:
    tally = p.Tally()
    good: dict[str, bytes] = {}
    hung: list[str] = []
    stop = threading.Event()

    def traffic():
        while not stop.is_set():
            data = os.urandom(16 * KIB + len(good))
            try:
                image_id, status = p.upload(pair, api, data, tally)
                if p.uploaded(status, api):
                    good[image_id] = data
                p.listing(pair, api, tally, limit=5)
            except AssertionError as exc:  # Tally's hang
                hung.append(str(exc))
                return

    pids = _pids(pair)
    worker = threading.Thread(target=traffic, daemon=True)
    worker.start()
    try:
        assert poll_until(lambda: len(good) >= 2)
        tally.down()
        server.stop("fast")
        during_list = p.listing(pair, api, tally).status_code
        _, during_upload = p.upload(pair, api, b"x" * 1024, tally)
        server.start()
        assert poll_until(lambda: p.healthy(pair), timeout=p.RECOVERY)
        tally.up()
        before = len(good)
        resumed = poll_until(lambda: len(good) >= before + 2, timeout=p.RECOVERY)
    finally:
        stop.set()
        worker.join(p.TIMEOUT * 2)
    stuck_cleared = poll_until(lambda: not p.in_flight(pair), timeout=p.RECOVERY)
    alive = _pids(pair) == pids
    conclude("postgresql-restart", pair=pair, tally=tally, database="postgresql",
             store="file", api=api, hit={}, good=good,
             status="list %s, upload %s while down; %d uploads ok" % (
                 during_list, during_upload, len(good)),
             checks={"503 while down": during_list == 503 and during_upload == 503,
                     "traffic resumed": resumed, "nothing hung": not hung,
                     "daemons kept running": alive,
                     "none stuck in saving": stuck_cleared})


@pytest.mark.skipif(not full(), reason="campaign only: the driver's own test "
                    "(tests/unit/glance_store/test_swift.py) covers it in the default run")
def test_a_v2_image_uploaded_again_after_swift_went_away_reads_back_exactly(
        swift_pairs, uploads):
    """Segments a dead upload left must not join the next upload's image.

    Swift's Glance-style manifest names a prefix, ``<id>-``: every segment
    with it is part of the image. A v2 upload that failed goes back to
    queued and may be uploaded again with fewer segments, so a segment the
    failed attempt left beyond them would be served as part of the image
    (the api answered 503 to every download of it, the sizes disagreeing,
    before glance_store's swift driver removed such segments first).
    """
    made, forwarder, cluster = swift_pairs
    pair = made.on("sqlite")
    tally = p.Tally()
    image_id = p.create(pair, "v2")
    upload = p.RawUpload(pair.url, "v2", image_id)
    uploads.append(upload)
    for _ in range(13):  # 3.25 MiB: three whole segments stored
        upload.send(os.urandom(256 * KIB))
    assert poll_until(lambda: swift_objects(cluster, pair, image_id) >= 3)
    forwarder.stop()
    try:
        upload.send(os.urandom(256 * KIB))
        upload.finish()
    finally:
        forwarder.start()
    assert p.settled(pair, image_id, "queued")

    data = os.urandom(MIB + MIB // 2)  # two segments this time
    resp = tally.call("PUT", pair.url + "/v2/images/%s/file" % image_id, data=iter([data]),
                      headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == 204, resp.text
    served = requests.get(pair.url + "/v2/images/%s/file" % image_id, timeout=p.TIMEOUT)
    record("faults", "swift-kill-upload, then v2 upload again", database="sqlite",
           store="swift", api="v2", status="served %d of %d bytes" % (
               len(served.content), len(data)),
           bytes_left=swift_bytes(cluster, pair, [image_id]) - len(data), orphans=0,
           errors_5xx=tally.errors_5xx, unexplained_5xx=len(tally.unexplained),
           healthy=p.healthy(pair),
           outcome="pass" if served.content == data else "FAIL: image corrupted")
    assert served.status_code == 200
    assert len(served.content) == len(data)
    assert served.content == data
