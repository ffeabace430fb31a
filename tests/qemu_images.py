"""Small real disk images, made by the real qemu-img (and genisoimage), for the
format-inspection tests: clean ones of every format Glance inspects, and the
hostile ones an upload must refuse.

Each image is (disk_format it is uploaded as, its bytes). The tools are
installed with apt-get when missing (CI runs as root); where that is not
possible the tests skip, except under CI, which must run them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.required import unavailable

TOOLS = {"qemu-img": "qemu-utils", "genisoimage": "genisoimage"}
SIZE = "1M"  # virtual size: the files stay a few hundred KiB at most

CLEAN = ("raw", "qcow2", "vmdk-monolithicSparse", "vmdk-streamOptimized", "vhd", "vhdx",
         "vdi", "iso")
HOSTILE = ("qcow2-backing-file", "qcow2-data-file", "vmdk-monolithicFlat", "vmdk-parent",
           "raw-as-qcow2", "random-as-qcow2", "qcow2-as-vmdk")
VIRTUAL_SIZE = {"qcow2": 1 << 20, "vmdk-monolithicSparse": 1 << 20,
                "vmdk-streamOptimized": 1 << 20, "vhdx": 1 << 20, "vdi": 1 << 20}
"""virtual_size the inspector reads from the header (raw: the size)."""


def ensure_tools() -> None:
    """Install qemu-img and genisoimage if missing; skip (fail under CI) if impossible."""
    missing = [pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None]
    if not missing:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            unavailable("cannot install %s: %s" % (" ".join(missing), exc))
        if done.returncode != 0:
            unavailable("cannot install %s: %s" % (" ".join(missing), done.stderr[-500:]))


def _qemu_img(*args: str, cwd: Path) -> None:
    subprocess.run(["qemu-img", "create", "-q", *args], cwd=cwd, check=True,
                   capture_output=True, timeout=60)


def build(name: str, workdir: Path) -> tuple[str, bytes]:
    """The image called ``name`` (CLEAN or HOSTILE): (its disk_format, its bytes)."""
    work = workdir / name
    work.mkdir(parents=True, exist_ok=True)
    kind, _, variant = name.partition("-")
    if name == "raw":
        _qemu_img("-f", "raw", "disk", SIZE, cwd=work)
    elif name in ("qcow2", "vdi", "vhdx"):
        _qemu_img("-f", name, "disk", SIZE, cwd=work)
    elif name == "vhd":
        _qemu_img("-f", "vpc", "disk", SIZE, cwd=work)
    elif kind == "vmdk" and variant != "parent":
        _qemu_img("-f", "vmdk", "-o", "subformat=" + variant, "disk", SIZE, cwd=work)
    elif name == "vmdk-parent":
        _qemu_img("-f", "vmdk", "base.vmdk", SIZE, cwd=work)
        _qemu_img("-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", "disk", cwd=work)
    elif name == "iso":
        (work / "tree").mkdir(exist_ok=True)
        (work / "tree" / "hello.txt").write_text("hello\n")
        subprocess.run(["genisoimage", "-quiet", "-o", "disk", "tree"], cwd=work,
                       check=True, capture_output=True, timeout=60)
    elif name == "qcow2-backing-file":
        _qemu_img("-f", "qcow2", "base.qcow2", SIZE, cwd=work)
        _qemu_img("-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "disk", cwd=work)
    elif name == "qcow2-data-file":
        _qemu_img("-f", "qcow2", "-o", "data_file=disk.data", "disk", SIZE, cwd=work)
    elif name == "raw-as-qcow2":
        return "qcow2", build("raw", workdir)[1]
    elif name == "random-as-qcow2":
        return "qcow2", os.urandom(256 * 1024)
    elif name == "qcow2-as-vmdk":
        return "vmdk", build("qcow2", workdir)[1]
    else:
        raise ValueError("no image called %r" % name)
    return kind, (work / "disk").read_bytes()


def build_all(names, workdir: Path) -> dict[str, tuple[str, bytes]]:
    """Every named image, tools installed first."""
    ensure_tools()
    return {name: build(name, workdir) for name in names}
