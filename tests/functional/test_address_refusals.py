"""Every spelling of a loopback or private address is refused by every way of
making glance-api fetch a URL, and nothing but loopback is ever contacted.

The api runs under tests/netguard (through PYTHONPATH): its resolver knows
only the names the test stubs, and a connect() to anything outside loopback
fails before the system call and is logged. So a filter that let an
address through would show up in the log, not on the network. The api's
import filter is the default one (no allow-list): what refuses these
addresses is the rule every deployment gets, "never an internal address".
The positive control and the first hop of every redirect is ``public.test``,
a stubbed name resolving to a stand-in public address that the netguard
routes to the local image server on 127.0.0.1.

Methods: v1 ``x-glance-api-copy-from`` (background), v1
``x-image-meta-location``, v2 web-download import, v2 ``POST
/v2/images/{id}/locations`` (by the owner, http only, and by a user with
the service role, who may name any scheme), the v2 PATCH ``add
/locations/-`` (show_multiple_locations) and the legacy ``POST /v2/tasks``
import (``import_from``), all behind a real Keystone.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
import requests

from tests.image_server import serving
from tests.keystone import PASSWORD
from tests.pairs import Glance
from tests.pairs import database
from tests.reliability.report import record
from tests.waiting import poll_until

NETGUARD = Path(__file__).resolve().parent.parent / "netguard"
DATA = os.urandom(64 * 1024 + 11)
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
# A global address no test may reach; the netguard routes it to the image server.
PUBLIC_ADDRESS = "11.22.33.44"
STUBS = {
    "public.test": [PUBLIC_ADDRESS],
    "loopback.test": ["127.0.0.1"],
    "private.test": ["10.20.30.40"],
    "metadata.test": ["169.254.169.254"],
    "ula.test": ["fd12:3456:789a::1"],
    "mixed.test": [PUBLIC_ADDRESS, "192.168.1.1"],  # one bad answer is enough
    "mapped.test": ["::ffff:10.0.0.1"],
}
# (label, host part of the URL): each must be refused before any connection.
SPELLINGS = [
    ("loopback", "127.0.0.1"),
    ("loopback other", "127.0.0.2"),
    ("decimal", "2130706433"),
    ("octal", "0177.0.0.1"),
    ("octal whole", "017700000001"),
    ("hex", "0x7f000001"),
    ("hex dotted", "0x7f.0.0.1"),
    ("short", "127.1"),
    ("trailing dot", "127.0.0.1."),
    ("zero", "0.0.0.0"),
    ("zero short", "0"),
    ("private 10", "10.0.0.1"),
    ("private short", "10.1"),
    ("private 172", "172.16.5.4"),
    ("private 192", "192.168.0.1"),
    ("private hex", "0xa000001"),
    ("link-local metadata", "169.254.169.254"),
    ("cgnat", "100.64.0.1"),
    ("ipv6 loopback", "[::1]"),
    ("ipv6 loopback long", "[0:0:0:0:0:0:0:1]"),
    ("ipv6 unspecified", "[::]"),
    ("ipv6 ula", "[fd00::1]"),
    ("ipv6 link-local", "[fe80::1]"),
    ("ipv4-mapped private", "[::ffff:10.0.0.1]"),
    ("ipv4-mapped loopback", "[::ffff:127.0.0.1]"),
    ("ipv4-mapped hex", "[::ffff:a00:1]"),
    ("nat64 private", "[64:ff9b::10.0.0.1]"),
    ("name to loopback", "loopback.test"),
    ("name to private", "private.test"),
    ("name to metadata", "metadata.test"),
    ("name to ula", "ula.test"),
    ("name to mapped", "mapped.test"),
    ("name with one private answer", "mixed.test"),
]
# Where a redirect from the public server may point: each must be refused.
REDIRECTS = [
    ("redirect to private", "http://10.0.0.1/disk"),
    ("redirect to metadata", "http://169.254.169.254/latest/meta-data/"),
    ("redirect to decimal loopback", "http://2130706433/disk"),
    ("redirect to mapped", "http://[::ffff:10.0.0.1]/disk"),
    ("redirect to name", "http://private.test/disk"),
    ("redirect to ipv6 ula", "http://[fd00::1]/disk"),
]


@pytest.fixture(scope="module")
def source():
    with serving() as server:
        server.images["disk"] = DATA
        yield server


@pytest.fixture(scope="module")
def site(request, tmp_path_factory, real_keystone, source):
    """A Keystone-guarded pair whose api and registry run under the netguard."""
    base = tmp_path_factory.mktemp("address-refusals")
    log = base / "netguard.log"
    env = {"PYTHONPATH": os.pathsep.join(
               [str(NETGUARD)] + ([os.environ["PYTHONPATH"]]
                                  if os.environ.get("PYTHONPATH") else [])),
           "GLANCE_NETGUARD_LOG": str(log),
           "GLANCE_NETGUARD_HOSTS": json.dumps(STUBS),
           "GLANCE_NETGUARD_ROUTES": json.dumps({"%s:80" % PUBLIC_ADDRESS: source.port})}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        pair = Glance(base, database(request, tmp_path_factory, "sqlite"),
                      keystone=real_keystone.authtoken_section(),
                      service_token=lambda: real_keystone.token("glance"),
                      show_multiple_locations=True)
    try:
        tokens = {"alice": real_keystone.token("alice"),
                  "admin": real_keystone.token("admin", "admin"),
                  "service": real_keystone.token(
                      _add_service_user(real_keystone, "tenant-a"), "tenant-a")}
        yield Site(pair, log, tokens)
    finally:
        pair.stop()


def _add_service_user(keystone, project: str) -> str:
    """A new user with the service role in ``project`` (as Nova or Cinder holds)."""
    name = "netguard-service-" + uuid.uuid4().hex[:8]
    admin = {"X-Auth-Token": keystone.token("admin", "admin")}
    project_id = keystone.ids["projects"][project]
    resp = requests.post(keystone.auth_url + "/users", headers=admin, timeout=30, json={
        "user": {"name": name, "password": PASSWORD, "domain_id": "default",
                 "default_project_id": project_id}})
    resp.raise_for_status()
    role = requests.get(keystone.auth_url + "/roles", headers=admin, timeout=30,
                        params={"name": "service"}).json()["roles"][0]["id"]
    requests.put("%s/projects/%s/users/%s/roles/%s" % (
        keystone.auth_url, project_id, resp.json()["user"]["id"], role),
        headers=admin, timeout=30).raise_for_status()
    return name


class Site:
    """The guarded pair, its netguard log, and calls to it (as alice unless told)."""

    def __init__(self, glance: Glance, log: Path, tokens: dict):
        self.glance, self.log, self.tokens = glance, log, tokens

    def call(self, method: str, path: str, as_: str = "alice", **kw) -> requests.Response:
        headers = dict(kw.pop("headers", {}), **{"X-Auth-Token": self.tokens[as_]})
        return requests.request(method, self.glance.url + path, headers=headers,
                                timeout=60, **kw)

    def events(self) -> list[list[str]]:
        return [line.split("\t") for line in self.log.read_text().splitlines()]

    def outside(self) -> list[list[str]]:
        """Every attempt to reach an address beyond loopback (the routed one aside)."""
        return [e for e in self.events() if e[0] in ("connect", "sendto")]

    def unknown_names(self) -> list[str]:
        return [e[1] for e in self.events() if e[0] == "unknown-name"]

    def v2_image(self) -> str:
        resp = self.call("POST", "/v2/images", json={
            "name": "refusals", "disk_format": "raw", "container_format": "bare"})
        assert resp.status_code == 201, resp.text
        return resp.json()["id"]

    def v2_status(self, image_id: str) -> dict:
        return self.call("GET", "/v2/images/" + image_id).json()

    def v1_status(self, image_id: str) -> str | None:
        return self.call("HEAD", "/v1/images/" + image_id).headers.get(
            "x-image-meta-status")

    def stored(self, image_id: str) -> list[str]:
        """Files of ``image_id`` in the store or the staging area."""
        found = []
        for directory in (self.glance.images_dir, self.glance.base / "staging"):
            if os.path.isdir(directory):
                found += [f for f in os.listdir(directory) if image_id in f]
        return found


def _url(host: str) -> str:
    return "http://%s/images/disk" % host


def _redirect(target: str) -> str:
    """A URL on the public stand-in that answers 302 to ``target``."""
    return "http://public.test/to?url=" + requests.utils.quote(target, safe="")


# --- one attempt per method: each returns "refused" or what went wrong -------

def _v1_copy_from(site: Site, url: str) -> str:
    image_id = str(uuid.uuid4())
    resp = site.call("POST", "/v1/images", headers={
        "x-image-meta-id": image_id, "x-image-meta-name": "copy",
        "x-image-meta-disk_format": "raw", "x-image-meta-container_format": "bare",
        "x-glance-api-copy-from": url})
    if 400 <= resp.status_code < 500:
        if site.v1_status(image_id) is not None:
            return "refused with %d but image %s recorded" % (resp.status_code, image_id)
        return "refused"
    if resp.status_code != 201:
        return "answered %d: %s" % (resp.status_code, resp.text[:200])
    # Accepted for a background copy: it must end killed with nothing stored.
    if not poll_until(lambda: site.v1_status(image_id) in ("killed", "active"), 30):
        return "copy never ended: %s" % site.v1_status(image_id)
    if site.v1_status(image_id) != "killed" or site.stored(image_id):
        return "copy ended %s, stored %s" % (site.v1_status(image_id), site.stored(image_id))
    return "refused"


def _v1_location(site: Site, url: str) -> str:
    image_id = str(uuid.uuid4())
    resp = site.call("POST", "/v1/images", headers={
        "x-image-meta-id": image_id, "x-image-meta-name": "location",
        "x-image-meta-disk_format": "raw", "x-image-meta-container_format": "bare",
        "x-image-meta-location": url})
    if not 400 <= resp.status_code < 500:
        return "answered %d: %s" % (resp.status_code, resp.text[:200])
    status = site.v1_status(image_id)
    if status not in (None, "killed"):
        return "refused with %d but image left %s" % (resp.status_code, status)
    return "refused"


def _v2_web_download(site: Site, url: str) -> str:
    image_id = site.v2_image()
    resp = site.call("POST", "/v2/images/%s/import" % image_id,
                     json={"method": {"name": "web-download", "uri": url}})
    if 400 <= resp.status_code < 500:
        image = site.v2_status(image_id)
        if image["status"] != "queued" or site.stored(image_id):
            return "refused with %d but image %s" % (resp.status_code, image["status"])
        return "refused"
    if resp.status_code != 202:
        return "answered %d: %s" % (resp.status_code, resp.text[:200])

    def ended():
        image = site.v2_status(image_id)
        return image["status"] == "active" or image.get("os_glance_failed_import")

    if not poll_until(ended, 30):
        return "import never ended: %s" % site.v2_status(image_id)["status"]
    image = site.v2_status(image_id)
    if image["status"] != "queued" or site.stored(image_id):
        return "import ended %s, stored %s" % (image["status"], site.stored(image_id))
    return "refused"


def _v2_add_location(site: Site, url: str) -> str:
    image_id = site.v2_image()
    resp = site.call("POST", "/v2/images/%s/locations" % image_id, json={"url": url})
    return _location_outcome(site, image_id, resp)


def _v2_service_location(site: Site, url: str) -> str:
    image_id = site.v2_image()
    resp = site.call("POST", "/v2/images/%s/locations" % image_id, as_="service",
                     json={"url": url})
    return _location_outcome(site, image_id, resp)


def _v2_legacy_task(site: Site, url: str) -> str:
    resp = site.call("POST", "/v2/tasks", as_="admin", json={"type": "import", "input": {
        "import_from": url, "import_from_format": "raw",
        "image_properties": {"name": "task", "container_format": "bare"}}})
    if 400 <= resp.status_code < 500:
        return "refused"
    if resp.status_code != 201:
        return "answered %d: %s" % (resp.status_code, resp.text[:200])
    path = "/v2/tasks/" + resp.json()["id"]

    def task() -> dict:
        return site.call("GET", path, as_="admin").json()

    if not poll_until(lambda: task()["status"] in ("success", "failure"), 30):
        return "task never ended: %s" % task()["status"]
    ended = task()
    image_id = (ended.get("result") or {}).get("image_id")
    if ended["status"] != "failure":
        return "task ended %s" % ended["status"]
    if image_id and (site.v2_status(image_id)["status"] == "active"
                     or site.stored(image_id)):
        return "task failed but image %s has data" % image_id
    return "refused"


def _v2_patch_location(site: Site, url: str) -> str:
    image_id = site.v2_image()
    resp = site.call("PATCH", "/v2/images/" + image_id, headers=PATCH, json=[
        {"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}}])
    return _location_outcome(site, image_id, resp)


def _location_outcome(site: Site, image_id: str, resp: requests.Response) -> str:
    if not 400 <= resp.status_code < 500:
        return "answered %d: %s" % (resp.status_code, resp.text[:200])
    image = site.v2_status(image_id)
    if image["status"] != "queued" or image.get("locations"):
        return "refused with %d but image %s with locations %s" % (
            resp.status_code, image["status"], image.get("locations"))
    return "refused"


METHODS = [
    ("v1 copy-from", _v1_copy_from),
    ("v1 location", _v1_location),
    ("v2 web-download", _v2_web_download),
    ("v2 add-location", _v2_add_location),
    ("v2 add-location as a service", _v2_service_location),
    ("v2 patch location", _v2_patch_location),
    ("v2 legacy import task", _v2_legacy_task),
]


def test_the_netguard_is_armed_and_the_public_stand_in_serves(site):
    """The positive control: without it a refusal proves nothing."""
    assert any(e[0] == "armed" for e in site.events()), site.events()
    image_id = site.v2_image()
    resp = site.call("POST", "/v2/images/%s/import" % image_id,
                     json={"method": {"name": "web-download", "uri": _url("public.test")}})
    assert resp.status_code == 202, resp.text
    assert poll_until(lambda: site.v2_status(image_id)["status"] == "active", 30), \
        site.v2_status(image_id)
    assert site.call("GET", "/v2/images/%s/file" % image_id).content == DATA
    assert ["routed", PUBLIC_ADDRESS, "80"] in site.events()
    assert site.outside() == []


@pytest.mark.parametrize("method, attempt", METHODS, ids=[m[0] for m in METHODS])
def test_every_spelling_of_an_internal_address_is_refused(site, method, attempt):
    before = len(site.events())
    outcomes = {label: attempt(site, _url(host)) for label, host in SPELLINGS}
    failed = {label: outcome for label, outcome in outcomes.items() if outcome != "refused"}
    new = site.events()[before:]
    outside = [e for e in new if e[0] in ("connect", "sendto")]
    unknown = [e[1] for e in new if e[0] == "unknown-name"]
    record("security", "addresses: " + method, spellings=len(SPELLINGS),
           refused=len(SPELLINGS) - len(failed), contacted_outside=len(outside),
           dns_lookups=len(unknown))
    assert failed == {}
    assert outside == []
    # Every spelling is an address literal or a stubbed name: a lookup that
    # would have gone to DNS means some code resolved a name of its own.
    assert unknown == []


@pytest.mark.parametrize("method, attempt", METHODS, ids=[m[0] for m in METHODS])
def test_a_redirect_from_a_public_server_into_an_internal_address_is_refused(
        site, method, attempt):
    before = len(site.events())
    outcomes = {label: attempt(site, _redirect(target)) for label, target in REDIRECTS}
    failed = {label: outcome for label, outcome in outcomes.items() if outcome != "refused"}
    new = site.events()[before:]
    outside = [e for e in new if e[0] in ("connect", "sendto")]
    record("security", "addresses: %s, redirected" % method, spellings=len(REDIRECTS),
           refused=len(REDIRECTS) - len(failed), contacted_outside=len(outside))
    assert failed == {}
    assert outside == []
    # The public hop itself was made: the refusal came at the redirect.
    assert any(e[0] == "routed" for e in new)
