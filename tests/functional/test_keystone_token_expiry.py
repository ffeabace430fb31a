"""A long upload outlives the user's token (a real Glance bug, fixed by design).

The api validates the user's token once, when the request arrives, and
calls the registry with its own service token, which keystoneauth1 renews.
Here Keystone issues 15-second tokens and the upload pauses until Keystone
rejects the user's token before sending its last bytes; the activation
that follows still reaches the registry. (With tokens this short every
registry call logs in afresh: keystoneauth renews a token that has under
two minutes left.)
"""

from __future__ import annotations

import datetime
import hashlib
import os

import pytest
import requests

from tests.keystone import Keystone
from tests.pairs import Glance
from tests.pairs import database
from tests.required import unavailable
from tests.waiting import poll_until

LIFETIME = 15  # seconds a token lives; the api must see it while valid


@pytest.fixture(scope="module")
def short_keystone(tmp_path_factory):
    try:
        server = Keystone.start(tmp_path_factory.mktemp("keystone-short"),
                                expiration=LIFETIME)
    except Exception as exc:  # install, bootstrap or start: any of them
        unavailable("Keystone could not be set up: %s" % exc)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def glance(request, tmp_path_factory, short_keystone):
    pair = Glance(tmp_path_factory.mktemp("expiry-pair"),
                  database(request, tmp_path_factory, "sqlite"),
                  keystone=short_keystone.authtoken_section(),
                  service_token=lambda: short_keystone.token("glance"))
    yield pair
    pair.stop()


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def test_an_upload_becomes_active_after_the_users_token_expired(glance, short_keystone):
    first, last = os.urandom(64 * 1024), os.urandom(64 * 1024 + 5)
    # Warm the api's middleware (its own token, discovery) so the user's
    # token is validated promptly when the upload arrives.
    warm = requests.get(glance.url + "/v1/images",
                        headers={"X-Auth-Token": short_keystone.token("bob")})
    assert warm.status_code == 200
    token = short_keystone.token("alice")
    expires = short_keystone.expires_at(token)
    paced = []

    def body():
        yield first
        # Deterministic pacing: hold the last bytes until the token's expiry
        # has passed and Keystone itself refuses it to a fresh validation.
        past = poll_until(lambda: _utcnow() > expires, timeout=LIFETIME * 2)
        paced.append(past and poll_until(lambda: not short_keystone.is_valid(
            token, short_keystone.token("glance")), timeout=LIFETIME))
        yield last

    resp = requests.post(glance.url + "/v1/images", data=body(), headers={
        "X-Auth-Token": token, "x-image-meta-name": "slow",
        "x-image-meta-disk_format": "raw", "x-image-meta-container_format": "bare",
        "Content-Type": "application/octet-stream"})
    assert paced == [True], "Keystone never expired the token"
    assert resp.status_code == 201, resp.text
    image = resp.json()["image"]
    assert image["status"] == "active"
    assert image["checksum"] == hashlib.md5(first + last).hexdigest()
    assert glance.registry_get(image["id"])["status"] == "active"

    # The expired token itself is refused now; a fresh one reads the image.
    stale = requests.head(glance.url + "/v1/images/" + image["id"],
                          headers={"X-Auth-Token": token})
    assert stale.status_code == 401
    fresh = requests.get(glance.url + "/v1/images/" + image["id"],
                         headers={"X-Auth-Token": short_keystone.token("alice")})
    assert fresh.content == first + last
