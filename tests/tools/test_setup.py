"""The README's setup on a machine with Python and nothing else (issue 26): no apt-get, dpkg,
sudo or npm on the PATH. It must finish, say what it left out, and leave a working CLI."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from conftest import ROOT

MISSING = {"apt-get", "apt", "dpkg", "sudo", "npm", "node", "chromium"}


@pytest.mark.slow
def test_setup_needs_only_python(tmp_path):
    bin_dir = tmp_path / "bin"  # every command of the PATH, less the ones this machine lacks
    bin_dir.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(folder) or folder.startswith(str(ROOT)):
            continue
        for name in os.listdir(folder):
            target = os.path.join(folder, name)
            if name not in MISSING and not (bin_dir / name).exists() and os.access(target, os.X_OK):
                (bin_dir / name).symlink_to(target)
    tree = tmp_path / "clearzoom"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    for rel in files.stdout.splitlines():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, tree / rel)
    (tree.parent / "shared").symlink_to(ROOT.parent / "shared")
    env = {**os.environ, "PATH": str(bin_dir)}  # the registries' settings (proxies, pip) stay
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(["bash", "scripts/setup.sh"], cwd=tree, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "no apt-get as root here" in done.stdout and "no npm here" in done.stdout
    models = subprocess.run(
        [str(tree / ".venv/bin/clearzoom"), "models"], capture_output=True, text=True, env=env
    )
    assert models.returncode == 0 and "clearzoom-jpeg" in models.stdout
