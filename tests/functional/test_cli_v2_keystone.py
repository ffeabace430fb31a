"""This project's ``glance`` on v2 behind a real Keystone: projects, roles and
member status, as users of several projects meet them.

Users (tests/keystone.py): alice (tenant-a, member), bob (tenant-b, member),
carol (tenant-c, reader only). The command logs in with a password and finds
the image endpoint in Keystone's catalog (tests/clients.py), then chooses v2
from the api's /versions.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.clients import Clouds
from tests.clients import rows
from tests.clients import table

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cloud(request, tmp_path_factory):
    clouds = Clouds(request, tmp_path_factory, "cli-v2-ks-")
    yield clouds("sqlite")
    clouds.stop()


@pytest.fixture
def glance(cloud):
    def _glance(user: str, *args: str) -> subprocess.CompletedProcess:
        env = dict(cloud.env(user), PYTHONPATH=str(REPO_ROOT))
        leader, follower = pty.openpty()
        try:
            return subprocess.run([sys.executable, "-m", "glance_cli", *args], env=env,
                                  stdin=follower, capture_output=True, text=True,
                                  timeout=120, cwd=str(cloud.home))
        finally:
            os.close(leader)
            os.close(follower)
    return _glance


def ok(proc) -> str:
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def one_line_error(proc) -> str:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_a_member_answers_a_share_with_member_update(glance, cloud):
    bob_project = cloud.project_id("tenant-b")
    name = "cli-shared-" + uuid.uuid4().hex[:6]
    image_id = table(ok(glance("alice", "image-create", "--name", name,
                               "--visibility", "shared")))["id"]
    created = rows(ok(glance("alice", "member-create", name, bob_project)))
    assert created == [{"Image ID": image_id, "Member ID": bob_project, "Status": "pending"}]
    assert image_id not in ok(glance("bob", "image-list"))

    # Only the member answers: the owner's attempt is refused and changes nothing.
    refused = one_line_error(glance("alice", "member-update", image_id, bob_project,
                                    "accepted"))
    assert refused.startswith("HTTP 403 Forbidden")
    accepted = rows(ok(glance("bob", "member-update", image_id, bob_project, "accepted")))
    assert accepted[0]["Status"] == "accepted"
    assert image_id in ok(glance("bob", "image-list"))
    assert image_id in ok(glance("bob", "image-list", "--member-status", "accepted"))

    ok(glance("bob", "member-update", image_id, bob_project, "rejected"))
    assert image_id not in ok(glance("bob", "image-list"))
    assert image_id in ok(glance("bob", "image-list", "--member-status", "rejected"))
    listed = rows(ok(glance("alice", "member-list", "--image-id", image_id)))
    assert [(r["Member ID"], r["Status"]) for r in listed] == [(bob_project, "rejected")]


def test_another_project_s_private_image_stays_out_of_reach(glance, cloud):
    name = "cli-private-" + uuid.uuid4().hex[:6]
    image_id = cloud.create("alice", name=name, visibility="private")["id"]
    assert one_line_error(glance("bob", "image-show", name)) == (
        "No image with a name or ID of '%s' exists." % name)
    assert one_line_error(glance("bob", "image-show", image_id)) == (
        "No image with a name or ID of '%s' exists." % image_id)
    assert ok(glance("bob", "image-list", "--visibility", "all")).count(image_id) == 0
    proc = glance("bob", "image-delete", image_id)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "No image with an ID of '%s' exists." % image_id
    assert one_line_error(glance("bob", "image-deactivate", image_id)).startswith(
        "HTTP 404 Not Found")
    assert cloud.show("alice", image_id)["status"] == "queued"


def test_a_reader_cannot_create_and_a_member_cannot_publicize(glance, cloud):
    assert one_line_error(glance("carol", "image-create", "--name", "nope")).startswith(
        "HTTP 403 Forbidden")
    line = one_line_error(glance("alice", "image-create", "--name", "pub",
                                 "--visibility", "public"))
    assert line.startswith("HTTP 403 Forbidden") and "publicize_image" in line
