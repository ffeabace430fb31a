"""An operator's policy.yaml decides, end to end: the registry does not
second-guess a decision the api's policy made."""

from __future__ import annotations

import pytest
import requests

from tests.pairs import Glance
from tests.pairs import database


@pytest.fixture(scope="module")
def glance(request, tmp_path_factory, real_keystone):
    base = tmp_path_factory.mktemp("policy-pair")
    policy = base / "policy.yaml"
    policy.write_text('"publicize_image": "role:member"\n'
                      '"delete_image": "role:admin"\n')
    pair = Glance(base, database(request, tmp_path_factory, "sqlite"),
                  keystone=real_keystone.authtoken_section(),
                  service_token=lambda: real_keystone.token("glance"),
                  sections={"oslo_policy": {"policy_file": str(policy)}})
    yield pair
    pair.stop()


@pytest.fixture(scope="module")
def tokens(real_keystone):
    return {user: real_keystone.token(user) for user in ("alice", "bob")}


def test_a_role_granted_publicize_image_can_publicize(glance, tokens):
    resp = requests.post(glance.url + "/v1/images", headers={
        "X-Auth-Token": tokens["alice"], "x-image-meta-name": "shared-with-all",
        "x-image-meta-is_public": "true"})
    assert resp.status_code == 201, resp.text
    image = resp.json()["image"]
    assert image["is_public"] is True
    assert glance.registry_get(image["id"])["visibility"] == "public"
    seen = requests.head(glance.url + "/v1/images/" + image["id"],
                         headers={"X-Auth-Token": tokens["bob"]})
    assert seen.headers["x-image-meta-is_public"] == "True"


def test_a_rule_tightened_by_the_operator_binds_even_the_owner(glance, tokens):
    resp = requests.post(glance.url + "/v1/images", headers={
        "X-Auth-Token": tokens["alice"], "x-image-meta-name": "kept"})
    image_id = resp.json()["image"]["id"]
    refused = requests.delete(glance.url + "/v1/images/" + image_id,
                              headers={"X-Auth-Token": tokens["alice"]})
    assert refused.status_code == 403
    assert glance.registry_get(image_id)["status"] == "queued"
