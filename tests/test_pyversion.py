"""An unsupported Python is one line and exit code 2, before any other module of the lab can fail on it."""
import glob
import os
import shutil
import subprocess

import pytest

from common import pyversion
from tests.helpers import REPO


@pytest.mark.parametrize("version", [(3, 11, 0), (3, 12, 1), (3, 13, 9)])
def test_the_supported_pythons_pass(version):
    assert pyversion.unsupported(version) is None


@pytest.mark.parametrize("version, why", [
    ((3, 10, 13), r"Keras 3\.13\+, NumPy 2\.3\+ and matplotlib 3\.11 need 3\.11 or later"),
    ((2, 7, 18), r"need 3\.11 or later"),
    ((3, 14, 0), r"TensorFlow 2\.21 has no wheel for 3\.14"),
])
def test_an_unsupported_python_says_which_ones_are_and_why(version, why):
    message = pyversion.unsupported(version)
    shown = ".".join(map(str, version))
    assert message.startswith(f"Python {shown} is not supported: the lab needs Python 3.11 to 3.13 (")
    assert __import__("re").search(why, message) and "\n" not in message


def test_this_python_is_supported():
    """The suite runs on a supported Python, or the check would stop every command of it."""
    assert pyversion.unsupported() is None


def test_check_python_exits_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        pyversion.check_python((3, 9, 0))
    assert stop.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def old_pythons() -> list:
    """Interpreters older than the range on this machine (PATH, pyenv), one per version, each one that
    really starts (pyenv's shims on PATH may not): each a real first-run check."""
    candidates = [shutil.which(name) for name in ("python2.7", *(f"python3.{m}" for m in range(6, pyversion.OLDEST[1])))]
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python")))
    found = {}
    for path in filter(None, candidates):
        try:
            done = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                  capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        version = tuple(int(part) for part in done.stdout.strip().split(".")) if done.returncode == 0 else None
        if version and version < pyversion.OLDEST:
            found.setdefault(version, path)
    return [found[version] for version in sorted(found)]


OLD = old_pythons()


@pytest.mark.skipif(not OLD, reason="no Python older than 3.11 on this machine")
@pytest.mark.parametrize("python", OLD)
def test_an_old_python_reads_the_module_and_stops_in_one_line(python):
    """Imported by itself, as an old Python meets it first (Python 2.7 and 3.6 included)."""
    code = "import sys; sys.path.insert(0, 'common'); import pyversion; pyversion.check_python(); print('ran on')"
    done = subprocess.run([python, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == "", (done.stdout, done.stderr)
    assert done.stderr.startswith("error: Python ") and done.stderr.count("\n") == 1, done.stderr


@pytest.mark.skipif(not OLD, reason="no Python older than 3.11 on this machine")
def test_a_command_on_an_old_python_stops_in_one_line_through_the_package(tmp_path):
    """``python -m common.doctor`` checks first, before the modules that old Pythons cannot run
    (argparse.BooleanOptionalAction is 3.9+, ``from __future__ import annotations`` 3.7+)."""
    python = OLD[-1]  # the newest unsupported one: the others fail even earlier
    done = subprocess.run([python, "-m", "common.doctor"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.startswith("error: Python "), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
