"""The sample configs under etc/ are generated from the code's options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["glance-api", "glance-registry"])
def test_sample_config_is_fresh(name, tmp_path):
    out = tmp_path / (name + ".conf")
    subprocess.run([sys.executable, "-m", "oslo_config.generator", "--config-file",
                    str(ROOT / "etc" / "oslo-config-generator" / (name + ".conf")),
                    "--output-file", str(out)], check=True, cwd=ROOT)
    committed = (ROOT / "etc" / (name + ".conf")).read_text()
    assert out.read_text() == committed, (
        "etc/%s.conf is stale: run 'tox -e genconfig' and commit it" % name)
