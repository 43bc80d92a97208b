"""Atomic file writes: a crash, Ctrl-C, SIGTERM or a full disk never leaves a half-written output.

Every new file or folder is written beside its target under a temporary name,
``.<name>.<pid>.<random>.tmp``, and renamed over the target only once it is
complete (``os.replace`` is atomic on POSIX and Windows). ``replace_together``
does this for a set (a model's figures, ten worst and record): all of them
are written before any is renamed, so the previous set stays whole until the
new one is complete, and a failure leaves it as it was. Temporary names carry
their writer's process id: the next write of the same target removes those
a killed process left behind. An OSError while writing (a full disk, a path
component that is a file, a read-only folder) becomes a one-line UserError
naming the target.

New files and folders are created by ordinary ``open`` and ``mkdir``, so they
follow the user's umask (tempfile's mkstemp and mkdtemp would make them 0600
and 0700).
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import threading
from pathlib import Path
from common.errors import UserError, reason


def temporary_path(path) -> Path:
    """A fresh temporary name beside ``path`` (nothing is created): .<name>.<pid>.<random>.tmp."""
    path = Path(path)
    return path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def _writer_running(temporary_name: str) -> bool:
    """Whether the process named in a temporary name still runs (on this machine)."""
    try:
        pid = int(temporary_name[:temporary_name.rindex(".tmp")].split(".")[-2])
    except (ValueError, IndexError):
        return False  # not one of our names (or the random-only names of older versions): nobody's
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove(path: Path) -> None:
    """Best effort: what cannot be removed now (a read-only folder) the next write's remove_stale removes."""
    if not os.path.lexists(path):
        return
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def remove_stale(folder, name=None) -> None:
    """Remove the temporary files and folders in ``folder`` (of target ``name``, or all) whose writer is gone."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    # .tmp.keras: Keras saves a model only to a name ending in .keras (keras_lab.save_model)
    for entry in [*folder.glob(".*.tmp"), *folder.glob(".*.tmp.keras")]:
        if name is not None and not entry.name.lstrip(".").startswith(f"{name}."):
            continue
        if not _writer_running(entry.name):
            _remove(entry)


def _why(path: Path, exc: OSError) -> str:
    """Why ``path`` cannot be written: a component of it that is a file, or what the system said."""
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    return f"{blocker} is a file, not a folder" if blocker else reason(exc)


def _fault(path, exc: OSError) -> UserError:
    return UserError(f"{path}: cannot be written ({_why(Path(path), exc)}); nothing was replaced")


def _move_into_place(pairs: list) -> None:
    """Rename each (temporary, target) over its target, in order; if one fails, put the old targets back."""
    done = []  # (target, the old target moved aside, or None)
    try:
        for tmp, path in pairs:
            aside = None
            if path.exists() or path.is_symlink():  # kept until every rename has worked
                aside = temporary_path(path)
                os.replace(path, aside)
            done.append((path, aside))
            os.replace(tmp, path)
    except OSError as exc:
        for restored, aside in reversed(done):
            _remove(restored)  # the new one, if it got there
            if aside is not None:
                os.replace(aside, restored)
        raise _fault(path, exc) from None
    for _, aside in done:
        if aside is not None:
            _remove(aside)


@contextlib.contextmanager
def _staged(paths: list):
    """Yield a temporary path for each of ``paths``; once the block has written them all, rename them over
    ``paths`` together. An exception in the block leaves every target as it was; an OSError is a UserError."""
    paths = [Path(p) for p in paths]
    tmps = [temporary_path(path) for path in paths]
    try:
        for path in paths:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                remove_stale(path.parent, path.name)
            except OSError as exc:
                raise _fault(path, exc) from None
        try:
            yield tmps
        except OSError as exc:
            raise _fault(", ".join(map(str, paths)), exc) from None
        _move_into_place(list(zip(tmps, paths)))
    finally:
        for tmp in tmps:
            _remove(tmp)  # those never renamed


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path`` (not created); rename it to ``path`` once the block has written it."""
    with _staged([path]) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_dir(path):
    """Yield a fresh temporary folder; once the block has filled it, it replaces ``path`` whole.

    Used for ten_worst/<ex>/<fw>/<model>/ and each checkpoint, so a re-run never mixes its files
    with those of an earlier run.
    """
    with _staged([path]) as (tmp,):
        tmp.mkdir()
        yield tmp


def replace_together(files: dict) -> None:
    """Write a set of outputs, then replace the old ones together.

    ``files``: {kind: (target path, write)}, where ``write(tmp)`` creates ``tmp`` (a file, or a folder it
    makes). Targets are renamed in the dict's order once every ``write`` has returned: put the one whose
    presence says the set is complete (a record) last.
    """
    targets = [Path(path) for path, _ in files.values()]
    with _staged(targets) as tmps:
        for (path, write), tmp in zip(files.values(), tmps):
            try:
                write(tmp)
            except OSError as exc:
                raise _fault(path, exc) from None


def write_json(path, obj) -> None:
    try:  # strict JSON: NaN and Infinity are not JSON, and strict parsers refuse them
        text = json.dumps(obj, indent=1, sort_keys=False, allow_nan=False) + "\n"
    except ValueError as exc:
        raise UserError(f"{path}: not written: it would hold a NaN or infinite number ({exc})") from None
    write_text(path, text)


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def check_writable(folder, what: str = "") -> None:
    """Fail now, in one line, not after hours of training, if nothing can be written in ``folder``: write a file
    in it, or in the nearest of its parents that exists (nothing is created). ``what`` begins the message."""
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.parents) if p.exists() or p.is_symlink())
    probe = temporary_path(existing / "write-test")
    try:
        if not existing.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(existing))
        remove_stale(existing, "write-test")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"{what}{folder}: not writable ({_why(probe, exc)})") from None


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a batch scheduler's time limit), handled as Ctrl-C is: cleanup, then a resume hint."""


def _raise_terminated(signum, frame):
    raise Terminated


def terminate_as_interrupt() -> None:
    """Make SIGTERM unwind like Ctrl-C, so temporary files are removed and the command to resume is printed.

    Python's default for SIGTERM ends the process at once, skipping every ``finally``.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


def interrupt_name(interrupt: KeyboardInterrupt) -> str:
    """How a stop message names the interrupt: "interrupted" (Ctrl-C) or "terminated (SIGTERM)"."""
    return "terminated (SIGTERM)" if isinstance(interrupt, Terminated) else "interrupted"


def interrupt_exit_code(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal's number, as a shell reports a process the signal ended."""
    return 128 + (signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)


@contextlib.contextmanager
def interrupts_deferred():
    """Hold Ctrl-C and SIGTERM until the block ends, so a run's figures and record are written as a set."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = {sig: signal.signal(sig, lambda signum, frame: received.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        raise Terminated if signal.SIGTERM in received else KeyboardInterrupt
