"""Static check of all Python in the repo (pyflakes rules through ruff): a name used but never
defined, in a script that no test runs, fails here instead of after a 30-minute benchmark."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT


def _ruff() -> list[str]:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is missing: it is in the dev extra (bash scripts/setup.sh installs it)")
    return [found]


def test_no_undefined_names_or_unused_imports():
    r = subprocess.run([*_ruff(), "check", "--no-cache", "--output-format", "concise",
                        "src", "scripts", "benchmarks", "tests"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_check_catches_an_undefined_name(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    return psnr_cell(1)\n")
    r = subprocess.run([*_ruff(), "check", "--no-cache", "--select", "F", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "F821" in r.stdout
