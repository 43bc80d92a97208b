"""Windows has no fcntl: nothing on the run path may need it, and the lock still keeps a model to one run.

Windows itself is not available here; what can be checked is that every module imports with ``fcntl``
missing (as on Windows), that two real processes exclude each other, and that the Windows branch calls
``msvcrt.locking`` as Windows expects (with a stand-in msvcrt).
"""
import os
import subprocess
import sys
import types

import pytest

from common import lock
from common.errors import UserError
from tests.helpers import PYTHON, REPO

WITHOUT_FCNTL = "import sys; sys.modules['fcntl'] = None\n"  # `import fcntl` now raises ImportError


def run_python(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_every_common_module_imports_without_fcntl():
    names = sorted(p.stem for p in (REPO / "common").glob("*.py") if p.stem != "__init__")
    assert "lock" in names and "experiment" in names and "cli" in names
    code = WITHOUT_FCNTL + "import importlib\n" + "".join(
        f"importlib.import_module('common.{name}')\n" for name in names) + "print('imported', len(sys.modules))"
    done = run_python(code)
    assert done.returncode == 0 and "imported" in done.stdout, done.stderr[-2000:]


@pytest.mark.parametrize("folder, module", [("pytorch", "torch_lab"), ("keras", "keras_lab")])
def test_each_lab_imports_without_fcntl(folder, module):
    """The labs import their framework and the common modules they use; one process per framework."""
    code = (WITHOUT_FCNTL + f"sys.path.insert(0, {str(REPO / folder)!r})\n"
            f"import {module}, common.experiment, common.lock\nprint('imported {module}')")
    done = run_python(code)
    assert done.returncode == 0 and f"imported {module}" in done.stdout, done.stderr[-2000:]


def test_nothing_in_the_run_path_imports_fcntl_at_module_level():
    """The same rule as source: a top-level `import fcntl` anywhere in common/, keras/ or pytorch/ fails on
    Windows even where no test imports it."""
    import ast
    offenders = []
    for folder in ("common", "keras", "pytorch"):
        for path in (REPO / folder).glob("*.py"):
            for node in ast.parse(path.read_text(encoding="utf-8")).body:  # module level only
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                if any(name.split(".")[0] == "fcntl" for name in names):
                    offenders.append(f"{folder}/{path.name}:{node.lineno}")
    assert offenders == []


HOLDER = """
import sys
from common import lock
with lock.held(sys.argv[1], "ex1 pytorch model1"):
    print("held", flush=True)
    sys.stdin.readline()  # hold until the test says so
print("released", flush=True)
"""

SECOND = """
import sys
from common import lock
from common.errors import UserError
try:
    with lock.held(sys.argv[1], "ex1 pytorch model1"):
        print("got it")
except UserError as exc:
    print("refused:", exc)
"""


def second_run(path) -> str:
    done = subprocess.run([PYTHON, "-c", SECOND, str(path)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def start_holder(path) -> subprocess.Popen:
    holder = subprocess.Popen([PYTHON, "-c", HOLDER, str(path)], cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_process_is_refused_while_the_first_holds_the_model(tmp_path):
    path = tmp_path / "checkpoints" / "ex1" / "pytorch" / "model1" / "lock"
    holder = start_holder(path)
    try:
        answer = second_run(path)
        assert answer.startswith(f"refused: ex1 pytorch model1 is being run by process {holder.pid} on "), answer
        assert f"(it holds {path})" in answer
        assert second_run(tmp_path / "checkpoints" / "ex1" / "pytorch" / "model2" / "lock") == "got it"
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
    finally:
        holder.kill()
        holder.wait(timeout=30)
        holder.stdout.close()
        holder.stdin.close()
    assert second_run(path) == "got it"


def test_a_killed_holder_leaves_the_lock_free(tmp_path):
    path = tmp_path / "lock"
    holder = start_holder(path)
    holder.kill()  # what Popen.kill() or a crash does: no cleanup runs in the holder
    holder.wait(timeout=30)
    holder.stdout.close()
    holder.stdin.close()
    assert second_run(path) == "got it"


class StandInMsvcrt(types.ModuleType):
    """Windows' msvcrt as far as the lock uses it: a byte range per file, held by one handle."""
    LK_NBLCK = 2

    def __init__(self):
        super().__init__("msvcrt")
        self.held = {}  # (file identity, offset) -> fd
        self.calls = []

    def locking(self, fd, mode, nbytes):
        offset = os.lseek(fd, 0, os.SEEK_CUR)
        self.calls.append((mode, offset, nbytes))
        key = (os.fstat(fd).st_ino, offset)
        if self.held.get(key, fd) != fd:
            raise PermissionError(13, "Permission denied")
        self.held[key] = fd


def test_on_windows_the_lock_is_msvcrt_on_a_byte_past_the_holder_line(tmp_path, monkeypatch):
    msvcrt = StandInMsvcrt()
    monkeypatch.setitem(sys.modules, "msvcrt", msvcrt)
    monkeypatch.setitem(sys.modules, "fcntl", None)  # as on Windows: the POSIX branch would fail
    monkeypatch.setattr(lock, "WINDOWS", True)
    path = tmp_path / "lock"
    with lock.held(path, "ex2 keras model7"):
        assert msvcrt.calls == [(msvcrt.LK_NBLCK, lock.WINDOWS_LOCKED_BYTE, 1)]
        assert len(path.read_text().encode()) < lock.WINDOWS_LOCKED_BYTE  # the holder's line stays readable
        with pytest.raises(UserError, match=rf"ex2 keras model7 is being run by process {os.getpid()} on "):
            with lock.held(path, "ex2 keras model7"):
                pass


def test_a_file_system_without_locks_runs_unguarded_with_a_note(tmp_path, monkeypatch, capsys):
    """flock fails with ENOLCK on some network and FUSE mounts (--out on a mounted drive): the run goes on."""
    import errno
    import fcntl

    def no_locks(handle, operation):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))
    monkeypatch.setattr(fcntl, "flock", no_locks)
    with lock.held(tmp_path / "lock", "ex1 keras lab3"):
        assert f"process {os.getpid()}" in (tmp_path / "lock").read_text()
    err = capsys.readouterr().err
    assert err == (f"note: {tmp_path / 'lock'}: this file system has no locks (No locks available), so a second "
                   f"run of ex1 keras lab3 into this folder would not be stopped\n")
