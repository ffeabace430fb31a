"""glance-all: both daemons on the embedded default, in the foreground."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import requests

from tests import daemons
from tests.waiting import poll_until


def test_glance_all_serves_and_ctrl_c_stops_both(tmp_path):
    api_port, registry_port = daemons.free_port(), daemons.free_port()
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "glance_api.all", "--data-dir", str(data),
         "--api-port", str(api_port), "--registry-port", str(registry_port)],
        cwd=str(daemons.REPO_ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env=dict(os.environ, PYTHONPATH=str(daemons.REPO_ROOT)),
        start_new_session=True)
    try:
        output = ""
        while "serving" not in output:
            line = proc.stdout.readline()
            assert line, "glance-all exited early:\n" + output
            output += line
        assert "http://127.0.0.1:%d/" % api_port in output, output
        url = "http://127.0.0.1:%d" % api_port
        created = requests.post(url + "/v1/images", data=iter([b"hello"]), headers={
            "x-image-meta-name": "first", "x-image-meta-disk_format": "raw",
            "x-image-meta-container_format": "bare",
            "Content-Type": "application/octet-stream"})
        assert created.status_code == 201, created.text
        image_id = created.json()["image"]["id"]
        assert (data / "images" / image_id).read_bytes() == b"hello"
        assert (data / "glance.sqlite").exists()
        listed = requests.get(url + "/v1/images/detail").json()["images"]
        assert [i["id"] for i in listed] == [image_id]
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        proc.wait(60)

    def port_closed(port):
        try:
            requests.get("http://127.0.0.1:%d/" % port, timeout=1)
        except requests.ConnectionError:
            return True
        return False

    assert poll_until(lambda: port_closed(api_port) and port_closed(registry_port))
