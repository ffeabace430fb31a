"""Policy: Glance's rule names, their defaults, and an operator's overrides."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from glance_api import policy
from glance_common.context import RequestContext

ROOT = Path(__file__).resolve().parents[3]
ALICE = RequestContext.build("alice", "tenant-a", ["member", "reader"])
BOB = RequestContext.build("bob", "tenant-b", ["member"])
ADMIN = RequestContext.build("admin", "admin", ["Admin"])
NO_PROJECT = RequestContext.build("loner", None, ["member"])
ALICES = {"id": "i1", "owner": "tenant-a", "visibility": "shared"}
OWNERLESS = {"id": "i2", "owner": None, "visibility": "shared"}
V1_RULES = ["add_image", "get_image", "get_images", "modify_image", "publicize_image",
            "delete_image", "download_image", "upload_image", "copy_from", "add_member",
            "get_member", "get_members", "modify_member", "delete_member",
            "manage_image_cache", "get_image_location", "set_image_location",
            "delete_image_location"]


@pytest.fixture
def rules(make_conf):
    return policy.Policy(make_conf({"auth_strategy": "noauth"}))


def test_every_v1_rule_name_has_a_default():
    assert set(V1_RULES) <= {rule.name for rule in policy.list_rules()}


@pytest.mark.parametrize("action", ["modify_image", "delete_image"])
def test_owners_and_admins_change_and_delete_images(rules, action):
    assert rules.check(ALICE, action, ALICES)
    assert rules.check(ADMIN, action, ALICES)
    assert not rules.check(BOB, action, ALICES)


@pytest.mark.parametrize("ctx", [NO_PROJECT, ALICE])
def test_an_ownerless_image_is_changed_by_admins_only(rules, ctx):
    assert not rules.check(ctx, "modify_image", OWNERLESS)
    assert rules.check(ADMIN, "modify_image", OWNERLESS)


def test_only_admins_publicize_and_manage_the_cache(rules):
    for action in ("publicize_image", "manage_image_cache"):
        assert rules.check(ADMIN, action)
        assert not rules.check(ALICE, action, ALICES)


READER = RequestContext.build("carol", "tenant-c", ["reader"])


@pytest.mark.parametrize("action", ["get_image", "get_images", "download_image"])
def test_reading_any_image_one_can_see_is_allowed_visibility_decides(rules, action):
    assert rules.check(BOB, action, ALICES)


@pytest.mark.parametrize("action", ["add_image", "upload_image", "add_member",
                                    "delete_member", "deactivate", "reactivate",
                                    "communitize_image"])
def test_writing_is_for_the_owning_projects_members_and_admins(rules, action):
    assert rules.check(ALICE, action, ALICES)
    assert rules.check(ADMIN, action, ALICES)
    assert not rules.check(BOB, action, ALICES)


@pytest.mark.parametrize("action", ["add_image", "modify_image", "delete_image",
                                    "upload_image", "download_image"])
def test_a_reader_reads_and_never_writes(rules, action):
    own = {"id": "i3", "owner": "tenant-c", "visibility": "private"}
    assert rules.check(READER, "get_image", own)
    assert rules.check(READER, "get_images")
    assert not rules.check(READER, action, own)


def test_members_are_listed_by_the_owner_or_the_member_and_answered_by_the_member(rules):
    shared_with_bob = dict(ALICES, member_id="tenant-b")
    assert rules.check(ALICE, "get_members", ALICES)
    assert rules.check(BOB, "get_members", shared_with_bob)
    assert not rules.check(BOB, "get_members", ALICES)
    assert rules.check(BOB, "modify_member", shared_with_bob)
    assert not rules.check(ALICE, "modify_member", shared_with_bob)


def test_an_unknown_rule_name_is_a_bug_not_a_permission(rules):
    from oslo_policy import policy as oslo

    with pytest.raises(oslo.PolicyNotRegistered):
        rules.check(ADMIN, "no_such_rule")


def test_an_operator_overrides_any_rule_in_policy_yaml(make_conf, tmp_path):
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text('"publicize_image": "role:member"\n'
                           '"download_image": "!"\n')
    conf = make_conf({"auth_strategy": "noauth"},
                     oslo_policy={"policy_file": str(policy_file)})
    rules = policy.Policy(conf)
    assert rules.check(ALICE, "publicize_image")
    assert not rules.check(ADMIN, "download_image", ALICES)
    assert rules.check(BOB, "get_image", ALICES)  # untouched rules keep defaults
    assert not rules.check(BOB, "modify_image", ALICES)


def test_the_sample_policy_file_is_generated_from_the_defaults(tmp_path):
    out = tmp_path / "policy.yaml"
    generator = Path(sys.executable).parent / "oslopolicy-sample-generator"
    subprocess.run([str(generator), "--config-file",
                    str(ROOT / "etc" / "oslo-policy-generator" / "policy.conf"),
                    "--output-file", str(out)], check=True, cwd=ROOT)
    assert out.read_text() == (ROOT / "etc" / "policy.yaml").read_text(), (
        "etc/policy.yaml is stale: run 'tox -e genconfig' and commit it")


SERVICE = RequestContext.build("nova", "service", ["service"])


@pytest.mark.parametrize("action", ["stores_info_detail", "delete_image_location"])
def test_store_details_and_removing_a_stores_copy_are_for_admins_and_services(rules, action):
    assert rules.check(ADMIN, action, ALICES)
    assert rules.check(SERVICE, action, ALICES)
    assert not rules.check(ALICE, action, ALICES)  # not even the owner
    assert not rules.check(READER, action, ALICES)


# Remembered decisions: exact, and forgotten when the policy file changes.


def _counting(rules, monkeypatch) -> list:
    made = []
    decide = rules._decide

    def counted(ctx, action, target):
        made.append(action)
        return decide(ctx, action, target)

    monkeypatch.setattr(rules, "_decide", counted)
    return made


def test_a_decision_is_remembered_per_caller_rule_and_the_target_values_rules_read(
        rules, monkeypatch):
    made = _counting(rules, monkeypatch)
    other_image_same_owner = dict(ALICES, id="i9", name="another", size=5)
    assert rules.check(ALICE, "modify_image", ALICES)
    assert rules.check(ALICE, "modify_image", other_image_same_owner)
    assert len(made) == 1  # id, name, size: no rule reads them
    # Whatever a rule reads changes the decision, and is never mixed up.
    assert not rules.check(BOB, "modify_image", ALICES)
    assert not rules.check(ALICE, "modify_image", dict(ALICES, owner="tenant-b"))
    assert not rules.check(ALICE, "modify_image", OWNERLESS)
    assert rules.check(ADMIN, "modify_image", OWNERLESS)
    assert not rules.check(ALICE, "delete_member", OWNERLESS)
    assert rules.check(BOB, "get_members", dict(ALICES, member_id="tenant-b"))
    assert not rules.check(BOB, "get_members", dict(ALICES, member_id="tenant-c"))
    assert len(made) == 8
    # Asked again, each is answered the same without evaluating.
    assert not rules.check(BOB, "modify_image", ALICES)
    assert rules.check(BOB, "get_members", dict(ALICES, member_id="tenant-b"))
    assert rules.check(ALICE, "modify_image", ALICES)
    assert len(made) == 8


def test_the_same_project_with_other_roles_is_another_caller(rules):
    reader_of_a = RequestContext.build("alice", "tenant-a", ["reader"])
    assert rules.check(ALICE, "modify_image", ALICES)
    assert not rules.check(reader_of_a, "modify_image", ALICES)
    assert rules.check(reader_of_a, "get_image", ALICES)


def test_a_changed_policy_file_replaces_remembered_decisions(make_conf, tmp_path,
                                                             monkeypatch):
    import os

    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text('"get_image": "role:member"\n')
    conf = make_conf({"auth_strategy": "noauth"},
                     oslo_policy={"policy_file": str(policy_file)})
    rules = policy.Policy(conf)
    assert rules.check(BOB, "get_image", ALICES)
    assert not rules.check(READER, "get_image", ALICES)
    policy_file.write_text('"get_image": "role:reader"\n')
    stat = policy_file.stat()
    os.utime(policy_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    # Within the interval the loaded rules stand; at its end the file is read.
    assert rules.check(BOB, "get_image", ALICES)
    monkeypatch.setattr(policy, "RELOAD_CHECK_INTERVAL", 0.0)
    assert not rules.check(BOB, "get_image", ALICES)
    assert rules.check(READER, "get_image", ALICES)


def test_rules_with_checks_that_may_read_anything_are_never_remembered():
    from oslo_policy import _parser

    plain = _parser.parse_rule("rule:a or (role:%(role)s and not project_id:%(owner)s)")
    assert policy._target_keys([plain]) == ("owner", "role")
    remote = _parser.parse_rule("role:admin or http://127.0.0.1/check")
    assert policy._target_keys([plain, remote]) is None


def test_a_rule_sending_the_target_elsewhere_is_asked_every_time(make_conf, tmp_path,
                                                                  monkeypatch):
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text('"get_image": "role:admin or http://127.0.0.1:9/check"\n')
    conf = make_conf({"auth_strategy": "noauth"},
                     oslo_policy={"policy_file": str(policy_file)})
    rules = policy.Policy(conf)
    made = _counting(rules, monkeypatch)
    assert rules.check(ADMIN, "get_image", ALICES)
    assert rules.check(ADMIN, "get_image", ALICES)
    assert made == ["get_image", "get_image"]
