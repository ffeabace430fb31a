"""The noauth default stays light: Keystone libraries load only for keystone."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
from glance_api.cmd import parse_config
from glance_api.app import create_app
import glance_registry.app
create_app(parse_config([]))
heavy = sorted(m for m in ("keystonemiddleware", "keystoneauth1") if m in sys.modules)
print(",".join(heavy))
"""


def test_a_noauth_api_imports_no_keystone_library(tmp_path):
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                         cwd=tmp_path, check=True,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert out.stdout.strip() == ""
