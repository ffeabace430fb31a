"""The ``glance`` command's member-* commands against a real registry + api pair."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from tests.pairs import Glance
from tests.pairs import database

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """One pair on SQLite for the whole module."""
    pair = Glance(tmp_path_factory.mktemp("cli-members"),
                  database(request, tmp_path_factory, "sqlite"))
    yield pair
    pair.stop()


@pytest.fixture
def glance(server, tmp_path):
    """Run ``python -m glance_cli`` with a token and the pair's URL."""

    def _run(*args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env["PYTHONPATH"] = str(REPO_ROOT)
        # A terminal on stdin, so image-create reserves instead of reading data.
        leader, follower = pty.openpty()
        try:
            return subprocess.run([sys.executable, "-m", "glance_cli",
                                   "--os-image-api-version", "1", "--os-image-url",
                                   server.url, "--os-auth-token", "x", *args],
                                  cwd=tmp_path, env=env, stdin=follower,
                                  capture_output=True, text=True, timeout=60)
        finally:
            os.close(leader)
            os.close(follower)

    return _run


@pytest.fixture
def image(glance) -> str:
    """A fresh queued image's id."""
    proc = glance("image-create", "--name", "shared " + uuid.uuid4().hex[:6])
    assert proc.returncode == 0, proc.stderr
    return next(line.split("|")[2].strip() for line in proc.stdout.splitlines()
                if line.startswith("| id "))


def rows(output: str) -> list[list[str]]:
    """A list table's rows, header included."""
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in output.splitlines() if line.startswith("|")]


def test_member_create_list_and_delete(glance, server, image):
    tenant = "tenant-" + uuid.uuid4().hex[:6]
    assert glance("member-create", image, tenant, "--can-share").returncode == 0
    assert glance("member-create", image, "plain-" + tenant).returncode == 0
    listed = glance("member-list", "--image-id", image)
    assert listed.returncode == 0, listed.stderr
    table = rows(listed.stdout)
    assert table[0] == ["Image ID", "Member ID", "Can Share"]
    # A member who may not share shows a blank, as the classic client printed.
    assert sorted(table[1:]) == sorted([[image, tenant, "True"],
                                        [image, "plain-" + tenant, ""]])

    shared = rows(glance("member-list", "--tenant-id", tenant).stdout)
    assert shared[1:] == [[image, tenant, "True"]]

    assert glance("member-delete", image, tenant).returncode == 0
    left = requests.get(server.url + "/v1/images/%s/members" % image).json()["members"]
    assert left == [{"member_id": "plain-" + tenant, "can_share": False}]


def test_member_create_again_changes_can_share(glance, server, image):
    assert glance("member-create", image, "t1", "--can-share").returncode == 0
    assert glance("member-create", image, "t1").returncode == 0
    members = requests.get(server.url + "/v1/images/%s/members" % image).json()["members"]
    assert members == [{"member_id": "t1", "can_share": False}]


def test_member_commands_resolve_image_names(glance, server):
    name = "by name " + uuid.uuid4().hex[:6]
    assert glance("image-create", "--name", name).returncode == 0
    assert glance("member-create", name, "t2").returncode == 0
    listed = glance("image-list", "--all-tenants", "--name", name).stdout
    image_id = rows(listed)[1][0]
    assert rows(glance("member-list", "--image-id", image_id).stdout)[1:] == [
        [image_id, "t2", ""]]


def test_member_delete_of_a_non_member_fails(glance, image):
    proc = glance("member-delete", image, "stranger")
    assert proc.returncode == 1
    assert proc.stderr.startswith("HTTP 404 Not Found: ")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_member_create_on_an_unknown_image_fails(glance):
    proc = glance("member-create", "no such image", "t1")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "No image with a name or ID of 'no such image' exists."


@pytest.mark.parametrize("args", [[], ["--image-id", "a", "--tenant-id", "b"]],
                         ids=["neither", "both"])
def test_member_list_needs_exactly_one_filter(glance, args):
    proc = glance("member-list", *args)
    assert proc.returncode == 2
    assert "--image-id" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
