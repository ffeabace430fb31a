"""The ``glance`` command's image-* commands against a real registry + api pair.

Each test runs the command as a user would (``python -m glance_cli`` in a
subprocess) and checks what it printed, its exit status and what the server
recorded.
"""

from __future__ import annotations

import hashlib
import os
import pty
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.pairs import Glance
from tests.pairs import database

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """One pair on SQLite for the whole module."""
    # A size cap above 1.5GB lets a reserve show a human-readable "1.5GB".
    pair = Glance(tmp_path_factory.mktemp("cli"), database(request, tmp_path_factory, "sqlite"),
                  image_size_cap=4 * 1024 ** 3)
    yield pair
    pair.stop()


@pytest.fixture
def glance(server, tmp_path):
    """Run the command with the token and URL given as options."""

    def _run(*args, stdin=subprocess.DEVNULL, input=None, env=None, auth=True, text=True):
        options = ["--os-image-url", server.url, "--os-auth-token", "x"] if auth else []
        return run_cli([*options, *args], tmp_path, stdin=stdin, input=input, env=env,
                       text=text)

    return _run


def run_cli(args, cwd, stdin=subprocess.DEVNULL, input=None, env=None, text=True):
    """``python -m glance_cli ARGS``; stdin may be "tty" for a pseudo-terminal."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    environ["PYTHONPATH"] = str(REPO_ROOT)
    # These are the v1 commands; the server speaks v2 too (test_cli_v2_images.py).
    environ["OS_IMAGE_API_VERSION"] = "1"
    environ.update(env or {})
    tty = None
    if stdin == "tty":
        tty, stdin = pty.openpty()
    if input is not None:
        stdin = None
    try:
        return subprocess.run([sys.executable, "-m", "glance_cli", *args], cwd=cwd,
                              env=environ, stdin=stdin, input=input, capture_output=True,
                              text=text, timeout=60)
    finally:
        if tty is not None:
            os.close(tty)
            os.close(stdin)


def ok(proc) -> str:
    """The command's stdout, after checking it succeeded."""
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def one_line_error(proc, code: int = 1) -> str:
    """The single stderr line of a failed command (never a traceback)."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def table(output: str) -> dict[str, str]:
    """A ``Property | Value`` table as a dict."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 2 and cells[0] != "Property":
            rows[cells[0]] = cells[1]
    return rows


def list_rows(output: str) -> list[list[str]]:
    """The rows of a list table, header included."""
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in output.splitlines() if line.startswith("|")]


def create(glance, *args, stdin="tty", **kw) -> dict[str, str]:
    """Create an image (a reserve unless data is given) and return its table."""
    return table(ok(glance("image-create", "--disk-format", "raw", "--container-format",
                           "bare", *args, stdin=stdin, **kw)))


# -- image-create -------------------------------------------------------------

def test_create_uploads_a_file_with_every_metadata_option(glance, server, tmp_path):
    data = os.urandom(2 * 1024 * 1024 + 5)
    source = tmp_path / "disk.img"
    source.write_bytes(data)
    image_id = str(uuid.uuid4())
    proc = glance("image-create", "--id", image_id, "--name", "every option",
                  "--store", "file", "--disk-format", "vdi", "--container-format", "ovf",
                  "--owner", "tenant-x", "--size", str(len(data)), "--min-disk", "2",
                  "--min-ram", "512", "--checksum", hashlib.md5(data).hexdigest(),
                  "--is-public", "True", "--is-protected", "True",
                  "--property", "os_distro=ubuntu", "--property", "Hw-Arch=x86_64",
                  "--property", "note=a,b 50%", "--file", str(source), "--progress")
    shown = table(ok(proc))
    assert shown["id"] == image_id and shown["status"] == "active"
    assert shown["name"] == "every option"
    assert shown["size"] == str(len(data))
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    # ovf: a container other than bare, whose bytes are not matched against
    # the disk format (random bytes are no vdi).
    assert (shown["disk_format"], shown["container_format"]) == ("vdi", "ovf")
    assert (shown["min_disk"], shown["min_ram"]) == ("2", "512")
    assert (shown["is_public"], shown["protected"]) == ("True", "True")
    assert shown["owner"] == "tenant-x"
    assert shown["Property 'os_distro'"] == "ubuntu"
    assert shown["Property 'hw_arch'"] == "x86_64"
    assert shown["Property 'note'"] == "a,b 50%"
    # The progress bar goes to stderr only and counts the bytes to the end.
    assert "100%" in proc.stderr and "B/s" in proc.stderr
    assert "100%" not in proc.stdout
    stored = server.registry_get(image_id)
    assert stored["owner"] == "tenant-x" and stored["protected"] is True
    assert (Path(server.images_dir) / image_id).read_bytes() == data


def test_create_uploads_data_piped_on_stdin(glance):
    data = os.urandom(1024 * 1024 * 3 + 1)
    proc = glance("image-create", "--name", "piped", "--disk-format", "raw",
                  "--container-format", "bare", input=data, text=False)
    assert proc.returncode == 0, proc.stderr
    shown = table(proc.stdout.decode())
    assert shown["status"] == "active"
    assert shown["size"] == str(len(data))
    assert shown["checksum"] == hashlib.md5(data).hexdigest()


def test_create_from_a_terminal_reserves_a_queued_image(glance):
    shown = create(glance, "--name", "reserved", "--size", "1234")
    assert shown["status"] == "queued"
    assert shown["size"] == "1234"


def test_create_with_dev_null_on_stdin_makes_an_active_empty_image(glance):
    shown = create(glance, "--name", "empty", stdin=subprocess.DEVNULL)
    assert (shown["status"], shown["size"]) == ("active", "0")


def test_create_shows_sizes_human_readable(glance, tmp_path):
    source = tmp_path / "f.img"
    source.write_bytes(b"x" * (1536 * 1024))
    shown = create(glance, "--name", "human", "--file", str(source), "--human-readable")
    assert shown["size"] == "1.5MB"


def test_create_with_a_wrong_checksum_fails_and_says_why(glance, tmp_path):
    source = tmp_path / "f.img"
    source.write_bytes(b"abc")
    line = one_line_error(glance("image-create", "--name", "bad sum", "--disk-format", "raw",
                                 "--container-format", "bare", "--checksum", "0" * 32,
                                 "--file", str(source)))
    assert line.startswith("HTTP 400 Bad Request: ")
    assert "0" * 32 in line and "killed" in line


def test_create_with_an_invalid_disk_format_shows_the_servers_message(glance):
    line = one_line_error(glance("image-create", "--name", "x", "--disk-format", "qcow3",
                                 "--container-format", "bare", stdin="tty"))
    assert line == "HTTP 400 Bad Request: Invalid disk format 'qcow3' for image."


def test_create_with_an_existing_id_is_a_conflict(glance):
    image_id = create(glance, "--name", "first")["id"]
    line = one_line_error(glance("image-create", "--id", image_id, "--name", "again",
                                 stdin="tty"))
    assert line.startswith("HTTP 409 Conflict: ") and image_id in line


def test_upload_without_formats_is_refused_before_any_request(glance, tmp_path):
    source = tmp_path / "f.img"
    source.write_bytes(b"abc")
    name = "no formats %s" % uuid.uuid4().hex[:6]
    line = one_line_error(glance("image-create", "--name", name, "--file", str(source)),
                          code=2)
    assert "--disk-format and --container-format" in line
    missing = glance("image-show", name)
    assert missing.returncode == 1 and "No image with a name or ID" in missing.stderr


def test_create_from_a_missing_file_fails_locally(glance, tmp_path):
    line = one_line_error(glance("image-create", "--name", "x", "--disk-format", "raw",
                                 "--container-format", "bare", "--file",
                                 str(tmp_path / "nope.img")))
    assert "nope.img" in line and "No such file" in line


def test_more_than_one_image_source_is_a_usage_error(glance, tmp_path):
    line = one_line_error(glance("image-create", "--file", str(tmp_path / "f"),
                                 "--copy-from", "http://example.com/f"), code=2)
    assert "--file and --copy-from" in line


def test_copy_from_reaches_the_server_and_its_refusal_is_shown(glance):
    # The server's copy-from is not implemented yet: it answers 400.
    line = one_line_error(glance("image-create", "--name", "copied", "--disk-format", "raw",
                                 "--container-format", "bare", "--copy-from",
                                 "http://127.0.0.1:9/image.img", stdin="tty"))
    assert line.startswith("HTTP 400 Bad Request: ")


def test_location_refused_by_the_server_is_one_line(glance):
    # Loopback sources are refused by the server's URL filter.
    line = one_line_error(glance("image-create", "--name", "located", "--location",
                                 "http://127.0.0.1:9/image.img", "--size", "10",
                                 stdin="tty"))
    assert line.startswith("HTTP 400 Bad Request: ")


def test_unknown_store_is_refused_by_the_server(glance, tmp_path):
    source = tmp_path / "f.img"
    source.write_bytes(b"abc")
    line = one_line_error(glance("image-create", "--name", "x", "--store", "nowhere",
                                 "--disk-format", "raw", "--container-format", "bare",
                                 "--file", str(source)))
    assert line.startswith("HTTP 400 Bad Request: ") and "nowhere" in line


@pytest.mark.parametrize("args", [["--size", "big"], ["--is-public", "maybe"],
                                  ["--property", "novalue"], ["--min-ram", "-1"]])
def test_bad_option_values_are_usage_errors(glance, args):
    line = one_line_error(glance("image-create", *args, stdin="tty"), code=2)
    assert line.startswith("error: glance image-create: argument")


# -- image-show ---------------------------------------------------------------

def test_show_by_id_and_by_name(glance):
    name = "shown %s" % uuid.uuid4().hex[:6]
    image_id = create(glance, "--name", name, "--property", "k=v",
                      "--min-ram", "64")["id"]
    by_id = table(ok(glance("image-show", image_id)))
    by_name = table(ok(glance("image-show", name)))
    assert by_id == by_name
    assert by_id["id"] == image_id and by_id["name"] == name
    assert by_id["Property 'k'"] == "v" and by_id["min_ram"] == "64"
    assert "location" not in by_id


def test_show_an_ambiguous_name_lists_the_candidates(glance):
    name = "twin %s" % uuid.uuid4().hex[:6]
    first = create(glance, "--name", name)["id"]
    second = create(glance, "--name", name)["id"]
    line = one_line_error(glance("image-show", name))
    assert "Multiple images" in line and first in line and second in line


@pytest.mark.parametrize("missing", [str(uuid.uuid4()), "no such image"])
def test_show_of_an_unknown_image_fails(glance, missing):
    line = one_line_error(glance("image-show", missing))
    assert line == "No image with a name or ID of '%s' exists." % missing


def test_show_human_readable(glance):
    image_id = create(glance, "--name", "big reserve", "--size", str(3 * 1024 ** 3 // 2))["id"]
    assert table(ok(glance("image-show", image_id, "--human-readable")))["size"] == "1.5GB"


# -- image-update -------------------------------------------------------------

def test_update_merges_properties_then_purges_them(glance):
    image_id = create(glance, "--name", "before", "--property", "os_distro=ubuntu",
                      "--is-protected", "True")["id"]
    shown = table(ok(glance("image-update", image_id, "--name", "after", "--min-ram", "1024",
                            "--min-disk", "3", "--is-protected", "False",
                            "--is-public", "True", "--property", "extra=1")))
    assert shown["name"] == "after"
    assert (shown["min_ram"], shown["min_disk"]) == ("1024", "3")
    assert (shown["protected"], shown["is_public"]) == ("False", "True")
    assert shown["Property 'extra'"] == "1"
    assert shown["Property 'os_distro'"] == "ubuntu"
    purged = table(ok(glance("image-update", "after", "--purge-props",
                             "--property", "only=1")))
    assert purged["Property 'only'"] == "1"
    assert "Property 'os_distro'" not in purged and "Property 'extra'" not in purged


def test_update_uploads_a_file_to_a_queued_image(glance, tmp_path):
    image_id = create(glance, "--name", "late upload")["id"]
    data = os.urandom(1024 * 1024 + 3)
    source = tmp_path / "late.img"
    source.write_bytes(data)
    proc = glance("image-update", image_id, "--file", str(source), "--progress")
    shown = table(ok(proc))
    assert shown["status"] == "active"
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert "100%" in proc.stderr
    again = one_line_error(glance("image-update", image_id, "--file", str(source)))
    assert again == "Unable to upload image data to an image which is active."


def test_update_of_an_unknown_image_fails(glance):
    line = one_line_error(glance("image-update", "nothing by this name", "--name", "x"))
    assert "No image with a name or ID of 'nothing by this name'" in line


# -- image-list ---------------------------------------------------------------

def _batch(glance, tmp_path, count: int = 5) -> tuple[str, list[str]]:
    """``count`` active images of growing size tagged with one batch property."""
    tag = uuid.uuid4().hex[:8]
    ids = []
    for i in range(count):
        source = tmp_path / ("b%d.img" % i)
        source.write_bytes(b"x" * (1000 * (i + 1)))
        ids.append(create(glance, "--name", "%s-%d" % (tag, i), "--file", str(source),
                          "--property", "batch=" + tag)["id"])
    return tag, ids


def _listed(glance, *args) -> list[list[str]]:
    rows = list_rows(ok(glance("image-list", *args)))
    assert rows[0] == ["ID", "Name", "Disk Format", "Container Format", "Size", "Status"]
    return rows[1:]


def test_list_pages_through_every_image_in_name_order(glance, tmp_path):
    tag, ids = _batch(glance, tmp_path)
    rows = _listed(glance, "--all-tenants", "--page-size", "2", "--property-filter",
                   "batch=" + tag)
    assert [row[0] for row in rows] == ids
    assert rows[0][1:] == ["%s-0" % tag, "raw", "bare", "1000", "active"]


def test_list_filters_sort_and_human_readable(glance, tmp_path):
    tag, ids = _batch(glance, tmp_path)
    scope = ["--all-tenants", "--property-filter", "batch=" + tag]
    by_size = _listed(glance, *scope, "--sort-key", "size", "--sort-dir", "desc")
    assert [row[0] for row in by_size] == ids[::-1]
    sized = _listed(glance, *scope, "--size-min", "2000", "--size-max", "4000")
    assert [row[0] for row in sized] == ids[1:4]
    named = _listed(glance, *scope, "--name", "%s-3" % tag, "--status", "active",
                    "--disk-format", "raw", "--container-format", "bare")
    assert [row[0] for row in named] == [ids[3]]
    assert _listed(glance, *scope, "--disk-format", "qcow2") == []
    human = _listed(glance, *scope, "--human-readable", "--name", "%s-1" % tag)
    assert human[0][4] == "2kB"


def test_list_by_owner_and_visibility(glance):
    tag = uuid.uuid4().hex[:8]
    owner = "owner-" + tag
    mine = create(glance, "--name", "owned", "--owner", owner,
                  "--property", "batch=" + tag)["id"]
    public = create(glance, "--name", "public", "--is-public", "True",
                    "--property", "batch=" + tag)["id"]
    scope = ["--property-filter", "batch=" + tag]
    assert [r[0] for r in _listed(glance, *scope, "--owner", owner)] == [mine]
    assert [r[0] for r in _listed(glance, *scope, "--is-public", "True")] == [public]
    assert [r[0] for r in _listed(glance, *scope, "--is-public", "False")] == [mine]
    assert {r[0] for r in _listed(glance, *scope, "--all-tenants")} == {mine, public}


def test_default_list_shows_the_admins_images(glance):
    # noauth makes every caller an admin without a project; the images it
    # creates are its own and belong in its default listing.
    tag = uuid.uuid4().hex[:8]
    image_id = create(glance, "--name", "mine", "--property", "batch=" + tag)["id"]
    assert [r[0] for r in _listed(glance, "--property-filter", "batch=" + tag)] == [image_id]


def test_list_with_a_bad_page_size_is_a_usage_error(glance):
    line = one_line_error(glance("image-list", "--page-size", "0"), code=2)
    assert "--page-size" in line


# -- image-download -----------------------------------------------------------

def test_download_to_a_file_and_to_stdout(glance, tmp_path):
    data = os.urandom(2 * 1024 * 1024 + 9)
    source = tmp_path / "src.img"
    source.write_bytes(data)
    image_id = create(glance, "--name", "fetch me", "--file", str(source))["id"]
    out = tmp_path / "out.img"
    proc = glance("image-download", "fetch me", "--file", str(out), "--progress")
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == data
    assert "100%" in proc.stderr and "B/s" in proc.stderr
    piped = glance("image-download", image_id, text=False)
    assert piped.returncode == 0 and piped.stdout == data


def test_download_refuses_to_write_to_a_terminal(glance, server, tmp_path):
    source = tmp_path / "src.img"
    source.write_bytes(b"data")
    image_id = create(glance, "--name", "tty", "--file", str(source))["id"]
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "glance_cli", "--os-image-api-version", "1",
             "--os-image-url", server.url, "--os-auth-token", "x", "image-download",
             image_id],
            env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)), stdout=follower,
            stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    assert proc.returncode == 2
    assert "terminal" in proc.stderr and "Traceback" not in proc.stderr


def test_download_of_a_corrupted_image_fails_and_removes_the_file(glance, server, tmp_path):
    data = os.urandom(512 * 1024)
    source = tmp_path / "src.img"
    source.write_bytes(data)
    image_id = create(glance, "--name", "corrupt", "--file", str(source))["id"]
    stored = Path(server.images_dir) / image_id
    flipped = bytes([data[0] ^ 0xFF]) + data[1:]
    stored.write_bytes(flipped)
    out = tmp_path / "out.img"
    line = one_line_error(glance("image-download", image_id, "--file", str(out)))
    assert line.startswith("Corrupt image download")
    assert hashlib.md5(data).hexdigest() in line
    assert hashlib.md5(flipped).hexdigest() in line
    assert not out.exists()


def test_download_of_a_queued_image_fails(glance, tmp_path):
    image_id = create(glance, "--name", "not yet")["id"]
    out = tmp_path / "out.img"
    line = one_line_error(glance("image-download", image_id, "--file", str(out)))
    assert line.startswith("HTTP 404 Not Found: ")
    assert not out.exists()


# -- image-delete -------------------------------------------------------------

def test_delete_several_images(glance):
    first = create(glance, "--name", "doomed one")["id"]
    second = create(glance, "--name", "doomed two")["id"]
    proc = glance("image-delete", first, "doomed two")
    assert proc.returncode == 0 and proc.stderr == ""
    for image_id in (first, second):
        assert table(ok(glance("image-show", image_id)))["status"] == "deleted"


def test_delete_reports_each_failure_and_exits_non_zero(glance):
    protected = create(glance, "--name", "keep", "--is-protected", "True")["id"]
    doomed = create(glance, "--name", "go")["id"]
    missing = str(uuid.uuid4())
    proc = glance("image-delete", protected, doomed, missing)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Unable to delete image '%s': HTTP 403 Forbidden" % protected)
    assert lines[1] == ("Unable to delete image '%s': No image with a name or ID of '%s' "
                        "exists." % (missing, missing))
    assert table(ok(glance("image-show", doomed)))["status"] == "deleted"
    assert table(ok(glance("image-show", protected)))["status"] == "queued"
    again = glance("image-delete", doomed)
    assert again.returncode == 1 and "No image with an ID" in again.stderr


# -- connection and authentication --------------------------------------------

def test_token_and_url_from_the_environment_and_a_v1_url(glance, server):
    image_id = create(glance, "--name", "via env")["id"]
    proc = glance("image-show", image_id, auth=False,
                  env={"OS_IMAGE_URL": server.url + "/v1/", "OS_AUTH_TOKEN": "x"})
    assert table(ok(proc))["id"] == image_id


def test_no_credentials_is_one_line(glance):
    line = one_line_error(glance("image-list", auth=False))
    assert "--os-auth-token and --os-image-url" in line and "--os-auth-url" in line


def test_an_unreachable_server_is_one_line(glance, tmp_path):
    proc = run_cli(["--os-image-url", "http://127.0.0.1:9", "--os-auth-token", "x",
                    "image-list"], tmp_path)
    line = one_line_error(proc)
    assert line.startswith("Unable to reach the image service at http://127.0.0.1:9")


def test_unknown_command_is_a_usage_error(glance):
    line = one_line_error(glance("image-frobnicate"), code=2)
    assert "image-frobnicate" in line
